"""The response encoder writes exactly the bytes the standard library wrote, whatever the value."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.odata.http.json_body import dump_json


def standard(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_byte_for_byte_what_json_dumps_wrote(value):
    assert dump_json(value) == standard(value)


@pytest.mark.parametrize(
    "value",
    [
        {"small": 1e-05, "tiny": 1.5e-07, "negative": -0.00003},  # orjson writes these differently
        {"big": 2.5e16, "exact": 1e-4, "zero": -0.0},
        {"text": "looks like 3e-5 or 0.00001 but is text", "n": 1},
        {"huge": 2**80, "keys": {1: "int key"}},  # beyond what orjson encodes
        ['control \x00\x1f and line separator \u2028, é, 😀, "quoted" \\ /'],
    ],
)
def test_the_cases_orjson_writes_differently_fall_back(value):
    assert dump_json(value) == standard(value)


def test_what_the_standard_library_refuses_is_still_refused():
    with pytest.raises(TypeError):
        dump_json({"when": dt.datetime(2024, 1, 1)})
