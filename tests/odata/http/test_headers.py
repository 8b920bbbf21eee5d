"""Prefer and X-HTTP-Method, parsed in one place for single requests, change sets and $batch."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.odata.http.errors import ODataError
from gateway.odata.http.headers import effective_method, parse_prefer


def test_return_preference_case_spaces_and_other_preferences():
    assert parse_prefer("return=minimal").return_ == "minimal"
    assert parse_prefer("odata.maxpagesize=5, RETURN = Representation").return_ == "representation"
    assert parse_prefer('return="minimal"; x=y').return_ == "minimal"
    assert parse_prefer("respond-async").return_ is None
    assert parse_prefer(None).return_ is None
    # A preference inside a quoted value is not a preference.
    assert parse_prefer('foo="a,return=minimal"').return_ is None


def test_continue_on_error_in_both_spellings():
    assert parse_prefer("odata.continue-on-error").continue_on_error
    assert parse_prefer("return=minimal, continue-on-error").continue_on_error
    assert parse_prefer("continue-on-error=true").continue_on_error
    assert not parse_prefer("continue-on-error=false").continue_on_error
    assert not parse_prefer("odata.continue-on-errors").continue_on_error
    assert not parse_prefer("").continue_on_error


def test_max_page_size_is_the_first_valid_one():
    assert parse_prefer("odata.maxpagesize=0, maxpagesize=70").max_page_size() == (70, "maxpagesize")
    assert parse_prefer("ODATA.MAXPAGESIZE=40").max_page_size() == (40, "odata.maxpagesize")
    assert parse_prefer("odata.maxpagesize=-1, odata.maxpagesize=x").max_page_size() is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_prefer_header_parses_without_error(header):
    preferences = parse_prefer(header)
    assert all(p.name == p.name.lower() and p.name for p in preferences.items)


@pytest.mark.parametrize("method", ["PATCH", "MERGE", "PUT", "DELETE", "patch", " delete "])
def test_x_http_method_tunnels_writes_over_post(method):
    assert effective_method("POST", {"X-HTTP-Method": method}) == method.strip().upper()


def test_x_http_method_only_on_post_and_only_writes():
    assert effective_method("GET", {"X-HTTP-Method": "DELETE"}) == "GET"
    assert effective_method("post", {}) == "POST"
    for refused in ("GET", "CONNECT", "POST"):
        with pytest.raises(ODataError) as caught:
            effective_method("POST", {"X-HTTP-Method": refused})
        assert caught.value.status == 400 and caught.value.target == "X-HTTP-Method"
