"""Inbound access: loopback demo anonymous, otherwise HTTP Basic (hashed passwords) or Bearer API keys."""

from __future__ import annotations

import base64

import pytest
from werkzeug.datastructures import Headers
from werkzeug.security import check_password_hash, generate_password_hash

from gateway.odata.http.access import (
    ANONYMOUS,
    Access,
    AccessConfigError,
    Principal,
    hash_password,
    is_loopback,
    parse_users,
)
from gateway.odata.http.errors import ODataError

# Cheap hashes keep the tests fast; production hashes come from hash_password (scrypt).
ALICE_HASH = generate_password_hash("correct horse", method="pbkdf2:sha256:1000")
BOB_HASH = generate_password_hash("pässwörd", method="pbkdf2:sha256:1000")
API_KEY = "k-3f9a2c7e-only-the-admin-knows"
BOTH_CHALLENGES = 'Basic realm="OData gateway", charset="UTF-8", Bearer realm="OData gateway"'


def basic(user: str, password: str, encoding: str = "utf-8") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode(encoding)).decode()}


@pytest.fixture
def access() -> Access:
    environ = {
        "GATEWAY_USERS": f"alice:{ALICE_HASH}, bob:{BOB_HASH}",
        "GATEWAY_API_KEYS": f" {API_KEY} ,other-key",
    }
    return Access.from_env(environ, embedded_demo=False, host="0.0.0.0")


def refused(access: Access, headers) -> ODataError:
    with pytest.raises(ODataError) as caught:
        access.authenticate(headers)
    assert caught.value.status == 401
    assert caught.value.code == "Unauthorized"
    return caught.value


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.8.9.10", "localhost", "LOCALHOST", "::1", "[::1]", "::ffff:127.0.0.1"]
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "::", "", "192.168.1.5", "10.0.0.1", "example.com", "localhost.example.com"]
)
def test_public_hosts(host: str) -> None:
    assert not is_loopback(host)


def test_embedded_demo_on_loopback_is_anonymous() -> None:
    access = Access.from_env({}, embedded_demo=True, host="127.0.0.1")
    assert access.authenticate({}) == ANONYMOUS
    assert access.authenticate({"Authorization": "garbage"}) == ANONYMOUS


@pytest.mark.parametrize(
    ("embedded_demo", "host", "reason"),
    [
        (True, "0.0.0.0", "host '0.0.0.0' is not loopback"),
        (True, "192.168.1.5", "host '192.168.1.5' is not loopback"),
        (False, "127.0.0.1", "a source org is configured"),
    ],
)
def test_refuses_to_start_without_credentials_unless_loopback_demo(
    embedded_demo: bool, host: str, reason: str
) -> None:
    with pytest.raises(AccessConfigError) as caught:
        Access.from_env({"GATEWAY_API_KEYS": " , "}, embedded_demo=embedded_demo, host=host)
    assert reason in str(caught.value)
    assert "GATEWAY_USERS" in str(caught.value) and "GATEWAY_API_KEYS" in str(caught.value)


def test_configured_credentials_are_enforced_even_on_the_loopback_demo() -> None:
    access = Access.from_env({"GATEWAY_API_KEYS": API_KEY}, embedded_demo=True, host="127.0.0.1")
    assert not access.anonymous
    refused(access, {})
    assert access.authenticate({"Authorization": f"Bearer {API_KEY}"}) == Principal("api-key-1", "bearer")


def test_basic_good_credentials(access: Access) -> None:
    assert access.authenticate(basic("alice", "correct horse")) == Principal("alice", "basic")
    assert access.authenticate(basic("bob", "pässwörd")) == Principal("bob", "basic")
    # Header names are case-insensitive, in Werkzeug's Headers and in plain dicts; so is the scheme.
    assert access.authenticate(Headers(basic("alice", "correct horse"))).name == "alice"
    value = basic("alice", "correct horse")["Authorization"].replace("Basic", "bAsIc")
    assert access.authenticate({"authorization": value}).name == "alice"


def test_basic_latin1_client(access: Access) -> None:
    assert access.authenticate(basic("bob", "pässwörd", encoding="latin-1")) == Principal("bob", "basic")


def test_basic_bad_credentials(access: Access) -> None:
    for headers in (
        basic("alice", "wrong"),
        basic("alice", ""),
        basic("mallory", "correct horse"),
        basic("", ""),
    ):
        error = refused(access, headers)
        assert error.message == "The user name or password is not valid"
        assert error.headers == {"WWW-Authenticate": BOTH_CHALLENGES}


def test_remembered_verification_cannot_be_reached_by_shifting_user_and_password() -> None:
    password_hash = generate_password_hash("b\0c", method="pbkdf2:sha256:1000")
    access = Access(parse_users(f"a:{password_hash}"), [])
    assert access.authenticate(basic("a", "b\0c")).name == "a"
    refused(access, basic("a\0b", "c"))


def test_remembered_verification_does_not_let_another_password_in(access: Access) -> None:
    assert access.authenticate(basic("alice", "correct horse")).name == "alice"
    refused(access, basic("alice", "correct horse!"))
    refused(access, basic("bob", "correct horse"))
    checks = access.password_checks
    for _ in range(5):
        assert access.authenticate(basic("alice", "correct horse")).name == "alice"
    assert access.password_checks == checks  # the slow hash ran once for alice, not on every request


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic",
        "Basic ",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon-here").decode(),
        "Basic " + base64.b64encode(b"alice:correct horse").decode()[:-2],
        "Basic é",
        "Basic \x00\xff",
        "Bearer",
        "Bearer    ",
        "Digest username=alice",
        "alice:correct horse",
        "   ",
    ],
)
def test_malformed_authorization_is_401_never_500(access: Access, authorization: str) -> None:
    error = refused(access, {"Authorization": authorization})
    assert error.headers == {"WWW-Authenticate": BOTH_CHALLENGES}
    assert error.body()["error"]["code"] == "Unauthorized"


def test_missing_credentials_body_and_challenge(access: Access) -> None:
    error = refused(access, {"Accept": "application/json"})
    assert error.body() == {
        "error": {
            "code": "Unauthorized",
            "message": "Authentication required: send HTTP Basic credentials or an API key as "
            "'Authorization: Bearer <key>'",
        }
    }
    assert error.headers == {"WWW-Authenticate": BOTH_CHALLENGES}


def test_bearer_good_and_bad(access: Access) -> None:
    assert access.authenticate({"Authorization": f"Bearer {API_KEY}"}) == Principal("api-key-1", "bearer")
    assert access.authenticate({"Authorization": "Bearer other-key"}) == Principal("api-key-2", "bearer")
    for key in (API_KEY[:-1], API_KEY + "x", API_KEY.upper(), "other-keyé", "other"):
        assert refused(access, {"Authorization": f"Bearer {key}"}).message == "The API key is not valid"


def test_only_configured_schemes_are_offered() -> None:
    keys_only = Access.from_env({"GATEWAY_API_KEYS": API_KEY}, embedded_demo=False, host="0.0.0.0")
    error = refused(keys_only, basic("alice", "correct horse"))
    assert error.headers == {"WWW-Authenticate": 'Bearer realm="OData gateway"'}
    assert "Basic authentication is not enabled" in error.message

    users_only = Access.from_env({"GATEWAY_USERS": f"alice:{ALICE_HASH}"}, embedded_demo=False, host="::")
    error = refused(users_only, {"Authorization": f"Bearer {API_KEY}"})
    assert error.headers == {"WWW-Authenticate": 'Basic realm="OData gateway", charset="UTF-8"'}
    assert "API keys are not enabled" in error.message


def test_users_file(tmp_path) -> None:
    users_file = tmp_path / "users.txt"
    users_file.write_text(f"# gateway users\n\nalice:{ALICE_HASH}\n  bob:{BOB_HASH}  \n", encoding="utf-8")
    access = Access.from_env({"GATEWAY_USERS_FILE": str(users_file)}, embedded_demo=False, host="0.0.0.0")
    assert access.authenticate(basic("bob", "pässwörd")).name == "bob"
    assert access.challenge() == 'Basic realm="OData gateway", charset="UTF-8"'

    with pytest.raises(AccessConfigError, match="in both GATEWAY_USERS and"):
        Access.from_env(
            {"GATEWAY_USERS_FILE": str(users_file), "GATEWAY_USERS": f"alice:{ALICE_HASH}"},
            embedded_demo=False,
            host="0.0.0.0",
        )
    with pytest.raises(AccessConfigError, match="GATEWAY_USERS_FILE .*missing"):
        Access.from_env(
            {"GATEWAY_USERS_FILE": str(tmp_path / "missing")}, embedded_demo=False, host="0.0.0.0"
        )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("alice:correct horse", "the password of user 'alice' is not a password hash"),
        ("alice", "expected 'user:hash'"),
        (f":{ALICE_HASH}", "expected 'user:hash'"),
        ("alice:md5$salt$abc", "is not a password hash"),
        ("alice:pbkdf2:nosuchhash:1000$salt$abc", "is not a password hash"),
        ("alice:pbkdf2:sha256:many$salt$abc", "is not a password hash"),
        ("alice:scrypt:1:2$salt$abc", "is not a password hash"),
        (f"alice:{ALICE_HASH},alice:{BOB_HASH}", "user 'alice' is listed twice"),
    ],
)
def test_bad_user_entries_fail_at_start_up(text: str, problem: str) -> None:
    with pytest.raises(AccessConfigError) as caught:
        parse_users(text)
    assert str(caught.value).startswith("GATEWAY_USERS: ")
    assert problem in str(caught.value)


def test_bad_user_file_line_is_named(tmp_path) -> None:
    with pytest.raises(AccessConfigError) as caught:
        parse_users(f"alice:{ALICE_HASH}\n# comment\nbob:plain", source="users.txt")
    assert str(caught.value).startswith("users.txt line 3: the password of user 'bob'")


def test_hash_password_makes_a_hash_the_gateway_accepts() -> None:
    password_hash = hash_password("s3cret pass")
    assert password_hash.startswith("scrypt:") and "s3cret" not in password_hash
    assert check_password_hash(password_hash, "s3cret pass")
    access = Access(parse_users(f"carol:{password_hash}"), [])
    assert access.authenticate(basic("carol", "s3cret pass")).name == "carol"
    refused(access, basic("carol", "s3cret pas"))
    with pytest.raises(ValueError):
        hash_password("")
