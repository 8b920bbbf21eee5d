"""Paging tokens: signed, stateless, compact, URL-safe; nextLinks; Prefer: odata.maxpagesize."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import subprocess
import sys
from urllib.parse import parse_qsl, urlsplit

import pytest

from gateway.odata.http.errors import ODataError
from gateway.odata.http.tokens import secret_from_env
from gateway.odata.read.paging import (
    INVALID_TOKEN_MESSAGE,
    PageState,
    canonical_options,
    check_options,
    decode_token,
    encode_token,
    next_link,
    page_size,
)

SECRET = b"s3cret-shared-by-every-instance"

TYPICAL = PageState(
    path="Account",
    options={
        "$select": "Id,Name,Industry,AnnualRevenue",
        "$filter": "contains(Name,'Acme') eq true and Industry eq 'Banking'",
        "$orderby": "Name desc",
    },
    last_values=["Acme Holdings (Europe)", "001000000000123AAA"],
    served=400,
    count=100000,
)


def expect_400(token: str, secret: bytes = SECRET, message: str = INVALID_TOKEN_MESSAGE) -> None:
    with pytest.raises(ODataError) as caught:
        decode_token(token, secret)
    assert caught.value.status == 400
    assert caught.value.body() == {
        "error": {"code": "BadRequest", "message": message, "target": "$skiptoken"}
    }


def raw_bytes(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def as_token(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_round_trip_of_a_typical_state() -> None:
    token = encode_token(TYPICAL.to_dict(), SECRET)
    assert PageState.from_dict(decode_token(token, SECRET)) == TYPICAL


def test_round_trip_keeps_json_safe_values_exactly() -> None:
    state = {
        "k": [
            'O\'Brien \\ "x" 100% _ é ✓ 😀\n',
            0.1,
            -3,
            1e300,
            True,
            False,
            None,
            "2024-01-31T10:00:00.000Z",
        ],
        "n": 0,
    }
    assert decode_token(encode_token(state, SECRET), SECRET) == state


def test_another_process_with_the_same_gateway_secret_decodes_the_token() -> None:
    environ = {"GATEWAY_SECRET": "shared-by-every-instance-behind-one-url"}
    token = encode_token(TYPICAL.to_dict(), secret_from_env(environ)[0])
    program = (
        "import json, sys; from gateway.odata.read.paging import decode_token;"
        "from gateway.odata.http.tokens import secret_from_env;"
        "print(json.dumps(decode_token(sys.argv[1], secret_from_env({'GATEWAY_SECRET': sys.argv[2]})[0])))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, token, environ["GATEWAY_SECRET"]],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == TYPICAL.to_dict()


def test_token_is_url_safe_and_compact() -> None:
    token = encode_token(TYPICAL.to_dict(), SECRET)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert len(token) < 300
    # Long, repetitive states are compressed.
    long_state = PageState("Account", {"$filter": " or ".join(["Name eq 'Acme'"] * 50)}, ["x"], 200)
    assert len(encode_token(long_state.to_dict(), SECRET)) < len(json.dumps(long_state.to_dict())) / 2


def test_changing_any_byte_is_refused() -> None:
    raw = raw_bytes(encode_token(TYPICAL.to_dict(), SECRET))
    for position in range(len(raw)):
        for flip in (0x01, 0x80):
            altered = bytearray(raw)
            altered[position] ^= flip
            expect_400(as_token(bytes(altered)))


def test_changing_any_character_is_refused() -> None:
    token = encode_token({"n": 200, "k": ["Acme"]}, SECRET)
    for position, char in enumerate(token):
        replacement = "A" if char != "A" else "B"
        expect_400(token[:position] + replacement + token[position + 1 :])


def test_truncated_extended_empty_and_garbage_tokens_are_refused() -> None:
    token = encode_token(TYPICAL.to_dict(), SECRET)
    for bad in (
        token[:-1],
        token[:-4],
        token + "A",
        token + "AAAA",
        "",
        "10447",
        "not a token!",
        "é",
        "====",
        token + "=",
    ):
        expect_400(bad)


def test_token_signed_with_another_secret_is_refused() -> None:
    expect_400(encode_token(TYPICAL.to_dict(), b"the-old-secret-before-rotation"))


def test_token_of_an_older_format_version_is_refused_with_its_own_message() -> None:
    # A correctly signed token whose version byte says 0 (built by hand the way version 0 would be).
    signed = bytes([0, 0]) + b'{"n":1}'
    mac_key = hmac.new(SECRET, b"gateway.odata.paging.skiptoken", hashlib.sha256).digest()
    token = as_token(signed + hmac.new(mac_key, signed, hashlib.sha256).digest()[:16])
    with pytest.raises(ODataError) as caught:
        decode_token(token, SECRET)
    assert caught.value.status == 400
    assert "older version of the gateway" in caught.value.message
    assert "first page" in caught.value.message


def test_a_signed_token_with_a_wrong_shape_is_refused_by_page_state() -> None:
    for state in ({"n": 1}, {"p": "Account", "o": {}, "k": [], "n": -1}, {"p": 1, "o": {}, "k": [], "n": 1}):
        with pytest.raises(ODataError) as caught:
            PageState.from_dict(decode_token(encode_token(state, SECRET), SECRET))
        assert caught.value.status == 400


def test_state_that_is_not_json_safe_is_a_programming_error() -> None:
    import datetime

    with pytest.raises(TypeError):
        encode_token({"k": [datetime.date(2024, 1, 31)]}, SECRET)
    with pytest.raises(TypeError):
        encode_token({"k": [float("nan")]}, SECRET)


def test_secret_from_env() -> None:
    secret, warning = secret_from_env({"GATEWAY_SECRET": "a-long-random-value-from-the-admin"})
    assert secret == b"a-long-random-value-from-the-admin" and warning is None

    first, warning = secret_from_env({})
    assert len(first) == 32 and "GATEWAY_SECRET is not set" in warning and "restart" in warning
    second, _ = secret_from_env({"GATEWAY_SECRET": ""})
    assert second == first  # one random secret per process: every app in this process shares it

    _, warning = secret_from_env({"GATEWAY_SECRET": "short"})
    assert "short" in warning


def test_next_link_keeps_options_readable_and_escapes_what_must_be() -> None:
    params = {
        "$select": "Id,Name",
        "$filter": "Name eq 'a&b=c+d #1 100% é' and startswith(Name,'x/y?')",
        "$count": "true",
        "$top": "1000",
        "$skiptoken": "the-previous-token",
    }
    token = encode_token(TYPICAL.to_dict(), SECRET)
    link = next_link("http://gw.example:8080/odata/", "Account", params, token)

    assert link.startswith(
        "http://gw.example:8080/odata/Account?$select=Id,Name&$filter=Name%20eq%20'a%26b%3Dc%2Bd%20%231"
    )
    parts = urlsplit(link)
    assert parts.path == "/odata/Account"
    assert parts.fragment == ""
    parsed = parse_qsl(parts.query, keep_blank_values=True)
    assert parsed == [
        ("$select", "Id,Name"),
        ("$filter", "Name eq 'a&b=c+d #1 100% é' and startswith(Name,'x/y?')"),
        ("$count", "true"),
        ("$top", "1000"),
        ("$skiptoken", token),
    ]


def test_next_link_for_a_navigation_path_with_a_key() -> None:
    link = next_link("https://gw/odata", "Account('001000000000001AAA')/Contacts", {}, "tok")
    assert link == "https://gw/odata/Account('001000000000001AAA')/Contacts?$skiptoken=tok"


def test_next_link_options_must_match_the_token() -> None:
    original = {"$select": "Id,Name", "$filter": "Name eq 'x'", "$top": "26", "$count": "true"}
    signed_options = canonical_options(original)
    assert signed_options == {"$select": "Id,Name", "$filter": "Name eq 'x'"}

    # Salesforce Connect changes $top (and may change $count/$format) when following a nextLink.
    check_options(
        {**original, "$top": "301", "$count": "false", "$format": "json", "$skiptoken": "t"}, signed_options
    )

    for altered, option in (
        ({**original, "$filter": "Name eq 'y'"}, "$filter"),
        ({"$select": "Id,Name", "$top": "26"}, "$filter"),
        ({**original, "$orderby": "Name"}, "$orderby"),
    ):
        with pytest.raises(ODataError) as caught:
            check_options(altered, signed_options)
        assert caught.value.status == 400
        assert caught.value.target == option
        assert caught.value.message.startswith("nextLink was altered")


@pytest.mark.parametrize(
    ("prefer", "expected"),
    [
        (None, (200, None)),
        ("", (200, None)),
        ("odata.maxpagesize=50", (50, "odata.maxpagesize=50")),
        ("maxpagesize=25", (25, "maxpagesize=25")),
        ("return=minimal, odata.maxpagesize=1000, respond-async", (1000, "odata.maxpagesize=1000")),
        ("odata.track-changes,odata.maxpagesize = 10 ; x=y", (10, "odata.maxpagesize=10")),
        ('odata.maxpagesize="30"', (30, "odata.maxpagesize=30")),
        ("ODATA.MAXPAGESIZE=40", (40, "odata.maxpagesize=40")),
        ("odata.maxpagesize=5000", (2000, "odata.maxpagesize=2000")),
        ("odata.maxpagesize=99999999999999999999999", (2000, "odata.maxpagesize=2000")),
        ("odata.maxpagesize=1", (1, "odata.maxpagesize=1")),
        ("odata.maxpagesize=0", (200, None)),
        ("odata.maxpagesize=-5", (200, None)),
        ("odata.maxpagesize=abc", (200, None)),
        ("odata.maxpagesize=1.5", (200, None)),
        ("odata.maxpagesize=", (200, None)),
        ("odata.maxpagesize", (200, None)),
        ("odata.maxpagesize=٣", (200, None)),
        ("odata.maxpagesize=0, maxpagesize=70", (70, "maxpagesize=70")),
        ('foo="a,odata.maxpagesize=5", odata.maxpagesize=60', (60, "odata.maxpagesize=60")),
        ("respond-async, wait=10", (200, None)),
    ],
)
def test_page_size(prefer: str | None, expected: tuple[int, str | None]) -> None:
    assert page_size(prefer) == expected


def test_page_size_respects_the_configured_default_and_maximum() -> None:
    assert page_size(None, default=100, maximum=500) == (100, None)
    assert page_size("odata.maxpagesize=800", default=100, maximum=500) == (500, "odata.maxpagesize=500")
