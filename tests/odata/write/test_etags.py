"""ETag parsing and matching (etags.py) and the stateless CSRF tokens (csrf.py)."""

from __future__ import annotations

import pytest

from gateway.odata.http import csrf, tokens
from gateway.odata.http.errors import ODataError
from gateway.odata.write.etags import check_if_match, etag_of, matches, parse_etags

RECORD = {"Id": "001000000000001AAA", "SystemModstamp": "2024-03-01T12:00:00.000+0000"}
ETAG = 'W/"2024-03-01T12:00:00.000Z"'


def test_etag_is_the_weak_systemmodstamp_as_the_read_path_shows_it():
    assert etag_of(RECORD) == ETAG
    assert etag_of({"Id": "x"}) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (ETAG, True),
        ('"2024-03-01T12:00:00.000Z"', True),  # weak comparison: W/ does not matter
        ('"other", W/"2024-03-01T12:00:00.000Z"', True),
        ("*", True),
        ('W/"2024-03-01T12:00:00.001Z"', False),
        ('""', False),
    ],
)
def test_matches(header, expected):
    assert matches(header, ETAG) is expected


def test_unquoted_tags_are_400():
    with pytest.raises(ODataError) as refused:
        parse_etags("2024-03-01")
    assert refused.value.status == 400


def test_check_if_match():
    check_if_match(None, None, "Account")
    check_if_match(ETAG, RECORD, "Account")
    check_if_match("*", RECORD, "Account")
    with pytest.raises(ODataError) as stale:
        check_if_match('W/"2020-01-01T00:00:00.000Z"', RECORD, "Account")
    assert (stale.value.status, stale.value.code, stale.value.headers["ETag"]) == (
        412,
        "PreconditionFailed",
        ETAG,
    )
    with pytest.raises(ODataError) as missing:
        check_if_match("*", None, "Account")
    assert missing.value.status == 412


def test_csrf_tokens_are_signed_bound_to_the_principal_and_expire():
    secret = b"s" * 32
    token = csrf.issue(secret, "alice", now=1000)
    assert csrf.is_valid(token, secret, "alice", now=1000 + csrf.TOKEN_LIFETIME_SECONDS - 1)
    assert not csrf.is_valid(token, secret, "alice", now=1000 + csrf.TOKEN_LIFETIME_SECONDS + 1)
    assert not csrf.is_valid(token, secret, "bob", now=1000)
    assert not csrf.is_valid(token, b"t" * 32, "alice", now=1000)
    # The expiry is signed: a token claiming a later one (or altered in any character) is refused.
    later = tokens.sign({"e": 1000 + 9999}, b"forged" * 6, csrf.PURPOSE, bound_to="alice")
    assert not csrf.is_valid(later, secret, "alice", now=1000)
    for position in range(len(token)):
        altered = token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]
        assert not csrf.is_valid(altered, secret, "alice", now=1000)
    # A skiptoken signed with the same secret is not a CSRF token.
    assert not csrf.is_valid(
        tokens.sign({"e": 10**9}, secret, "gateway.odata.paging.skiptoken"), secret, "alice"
    )
    for junk in ("", "Fetch", ".", "abc.def", "1" * 40 + ".x"):
        assert not csrf.is_valid(junk, secret, "alice", now=1000)


def test_csrf_enabled_by_environment():
    assert (
        csrf.enabled({"GATEWAY_CSRF": "on"})
        and not csrf.enabled({})
        and not csrf.enabled({"GATEWAY_CSRF": "off"})
    )
