"""The local org's OAuth token endpoint and session checks, over HTTP and through simple-salesforce."""

from __future__ import annotations

import base64
import hashlib
import hmac

import jwt
import pytest
import requests
from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession

from gateway.localorg.api import create_app
from gateway.localorg.config import LocalOrgConfig
from gateway.localorg.store import Store
from gateway.source.wsgi_transport import WsgiAdapter
from tests.support import make_key_and_certificate

TOKEN_URL = "/services/oauth2/token"
SOBJECTS = "/services/data/v59.0/sobjects/"
START = 1_700_000_000.0
INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


class FakeClock:
    def __init__(self, now: float = START):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def keys() -> tuple[bytes, bytes, bytes]:
    return make_key_and_certificate()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config(clock, keys) -> LocalOrgConfig:
    return LocalOrgConfig(clock=clock, token_lifetime=600, jwt_certificate=keys[1].decode(), token="FIXED")


@pytest.fixture
def client(schema, config):
    return create_app(config, Store(schema)).test_client()


def password_form(**overrides: str) -> dict:
    form = {
        "grant_type": "password",
        "username": "admin@localorg.test",
        "password": "localorg",
        "client_id": "localorg-client",
        "client_secret": "localorg-secret",
    }
    form.update(overrides)
    return form


def assertion(private_pem: bytes, **overrides: object) -> str:
    claims: dict = {
        "iss": "localorg-client",
        "sub": "admin@localorg.test",
        "aud": "https://login.salesforce.com",
        "exp": int(START) + 180,
    }
    claims.update(overrides)
    return jwt.encode(claims, private_pem, algorithm="RS256")


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# --- password grant -------------------------------------------------------------------------------


def test_password_grant_answers_salesforce_token_body(client, config):
    response = client.post(TOKEN_URL, data=password_form())

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {
        "access_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
        "refresh_token",
    }
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == "http://localhost"
    assert body["id"] == f"https://login.salesforce.com/id/{config.org_id}/{config.user_id}"
    assert body["issued_at"] == str(int(START * 1000))
    expected = hmac.new(b"localorg-secret", (body["id"] + body["issued_at"]).encode(), hashlib.sha256)
    assert body["signature"] == base64.b64encode(expected.digest()).decode()
    assert body["access_token"].startswith(config.org_id[:15] + "!")
    assert client.get(SOBJECTS, headers=bearer(body["access_token"])).status_code == 200


def test_password_grant_reports_configured_instance_url(schema, clock):
    config = LocalOrgConfig(clock=clock, instance_url="https://acme.my.salesforce.com/")
    client = create_app(config, Store(schema)).test_client()

    body = client.post(TOKEN_URL, data=password_form()).get_json()

    assert body["instance_url"] == "https://acme.my.salesforce.com"


@pytest.mark.parametrize(
    "overrides",
    [{"password": "wrong"}, {"username": "someone@else.test"}, {"password": ""}],
)
def test_password_grant_with_bad_credentials_is_invalid_grant(client, overrides):
    response = client.post(TOKEN_URL, data=password_form(**overrides))

    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid_grant", "error_description": "authentication failure"}


def test_password_grant_accepts_password_plus_security_token_only_when_token_is_set(schema, clock):
    config = LocalOrgConfig(clock=clock, security_token="SECTOK")
    client = create_app(config, Store(schema)).test_client()

    assert client.post(TOKEN_URL, data=password_form(password="localorgSECTOK")).status_code == 200
    bare = client.post(TOKEN_URL, data=password_form(password="localorg"))
    assert bare.status_code == 400
    assert bare.get_json()["error"] == "invalid_grant"


def test_password_grant_with_unknown_client_is_invalid_client_id(client):
    response = client.post(TOKEN_URL, data=password_form(client_id="nobody"))

    assert response.status_code == 400
    assert response.get_json() == {
        "error": "invalid_client_id",
        "error_description": "client identifier invalid",
    }


def test_password_grant_with_wrong_client_secret_is_invalid_client(client):
    response = client.post(TOKEN_URL, data=password_form(client_secret="nope"))

    assert response.status_code == 400
    assert response.get_json() == {
        "error": "invalid_client",
        "error_description": "invalid client credentials",
    }


@pytest.mark.parametrize("grant_type", ["authorization_code", "", "PASSWORD"])
def test_unsupported_grant_type(client, grant_type):
    response = client.post(TOKEN_URL, data=password_form(grant_type=grant_type))

    assert response.status_code == 400
    assert response.get_json() == {
        "error": "unsupported_grant_type",
        "error_description": "grant type not supported",
    }


def test_token_endpoint_accepts_trailing_slash_and_is_not_counted(client):
    response = client.post(TOKEN_URL + "/", data=password_form())

    assert response.status_code == 200
    assert "Sforce-Limit-Info" not in response.headers
    usage = client.get(SOBJECTS, headers=bearer("FIXED")).headers["Sforce-Limit-Info"]
    assert usage == "api-usage=1/15000"


# --- client credentials -------------------------------------------------------------------------


def test_client_credentials_with_basic_auth(client):
    basic = base64.b64encode(b"localorg-client:localorg-secret").decode()

    response = client.post(
        TOKEN_URL, data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )

    assert response.status_code == 200
    body = response.get_json()
    assert "refresh_token" not in body
    assert client.get(SOBJECTS, headers=bearer(body["access_token"])).status_code == 200


def test_client_credentials_with_form_fields(client):
    form = {
        "grant_type": "client_credentials",
        "client_id": "localorg-client",
        "client_secret": "localorg-secret",
    }

    assert client.post(TOKEN_URL, data=form).status_code == 200


def test_client_credentials_with_wrong_secret_or_client(client):
    wrong_secret = {"grant_type": "client_credentials", "client_id": "localorg-client", "client_secret": "x"}
    wrong_client = {"grant_type": "client_credentials", "client_id": "x", "client_secret": "localorg-secret"}

    assert client.post(TOKEN_URL, data=wrong_secret).get_json()["error"] == "invalid_client"
    assert client.post(TOKEN_URL, data=wrong_client).get_json()["error"] == "invalid_client_id"


# --- refresh token and expiry -------------------------------------------------------------------


def test_token_expires_after_lifetime_and_refresh_token_gives_a_new_one(client, clock):
    issued = client.post(TOKEN_URL, data=password_form()).get_json()
    clock.now += 599
    assert client.get(SOBJECTS, headers=bearer(issued["access_token"])).status_code == 200

    clock.now += 1
    expired = client.get(SOBJECTS, headers=bearer(issued["access_token"]))
    assert expired.status_code == 401
    assert expired.get_json() == INVALID_SESSION

    refresh_form = {
        "grant_type": "refresh_token",
        "refresh_token": issued["refresh_token"],
        "client_id": "localorg-client",
        "client_secret": "localorg-secret",
    }
    refreshed = client.post(TOKEN_URL, data=refresh_form)
    assert refreshed.status_code == 200
    new_token = refreshed.get_json()["access_token"]
    assert new_token != issued["access_token"]
    assert refreshed.get_json()["issued_at"] == str(int(clock.now * 1000))
    assert client.get(SOBJECTS, headers=bearer(new_token)).status_code == 200
    # The refresh token stays usable (Salesforce's default refresh token policy).
    assert client.post(TOKEN_URL, data=refresh_form).status_code == 200


def test_refresh_with_unknown_token_or_other_client(client):
    issued = client.post(TOKEN_URL, data=password_form()).get_json()

    unknown = client.post(
        TOKEN_URL,
        data={"grant_type": "refresh_token", "refresh_token": "5Aep-nope", "client_id": "localorg-client"},
    )
    other_client = client.post(
        TOKEN_URL,
        data={"grant_type": "refresh_token", "refresh_token": issued["refresh_token"], "client_id": "other"},
    )

    assert unknown.status_code == 400
    assert unknown.get_json() == {
        "error": "invalid_grant",
        "error_description": "expired access/refresh token",
    }
    assert other_client.get_json()["error"] == "invalid_client_id"


def test_fixed_token_never_expires(client, clock):
    clock.now += 10 * 365 * 24 * 3600

    assert client.get(SOBJECTS, headers=bearer("FIXED")).status_code == 200


# --- JWT bearer ----------------------------------------------------------------------------------


def jwt_form(token: str) -> dict:
    return {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": token}


def test_jwt_bearer_grant_with_certificate(client, keys):
    response = client.post(TOKEN_URL, data=jwt_form(assertion(keys[0])))

    assert response.status_code == 200
    body = response.get_json()
    assert "refresh_token" not in body
    assert client.get(SOBJECTS, headers=bearer(body["access_token"])).status_code == 200


def test_jwt_bearer_grant_with_public_key_file(schema, clock, keys, tmp_path):
    key_file = tmp_path / "public.pem"
    key_file.write_bytes(keys[2])
    config = LocalOrgConfig(clock=clock, jwt_certificate=str(key_file))
    client = create_app(config, Store(schema)).test_client()

    # The exp claim as a string, as simple-salesforce sends it.
    response = client.post(TOKEN_URL, data=jwt_form(assertion(keys[0], exp=str(int(START) + 60))))

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("overrides", "error", "description"),
    [
        ({"aud": "https://evil.example.com"}, "invalid_grant", "audience is invalid"),
        ({"exp": int(START) - 1}, "invalid_grant", "expired authorization code"),
        ({"iss": "someone-else"}, "invalid_client_id", "client identifier invalid"),
        ({"sub": "nobody@localorg.test"}, "invalid_grant", "user hasn't approved this consumer"),
    ],
)
def test_jwt_bearer_grant_failures(client, keys, overrides, error, description):
    response = client.post(TOKEN_URL, data=jwt_form(assertion(keys[0], **overrides)))

    assert response.status_code == 400
    assert response.get_json() == {"error": error, "error_description": description}


def test_jwt_signed_by_another_key_is_invalid_assertion(client):
    other_private, _, _ = make_key_and_certificate()

    response = client.post(TOKEN_URL, data=jwt_form(assertion(other_private)))

    assert response.get_json() == {"error": "invalid_grant", "error_description": "invalid assertion"}


@pytest.mark.parametrize("token", ["", "not.a.jwt", "abc"])
def test_malformed_assertion_is_invalid_assertion(client, token):
    response = client.post(TOKEN_URL, data=jwt_form(token))

    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid_grant", "error_description": "invalid assertion"}


def test_jwt_grant_without_configured_certificate(schema, clock, keys):
    client = create_app(LocalOrgConfig(clock=clock), Store(schema)).test_client()

    response = client.post(TOKEN_URL, data=jwt_form(assertion(keys[0])))

    assert response.get_json() == {"error": "invalid_grant", "error_description": "invalid assertion"}


# --- the session check on API resources ---------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer"}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic FIXED"}],
)
def test_api_resources_need_a_valid_session(client, headers):
    response = client.get(SOBJECTS, headers=headers)

    assert response.status_code == 401
    assert response.get_json() == INVALID_SESSION
    assert "Sforce-Limit-Info" not in response.headers


def test_oauth_scheme_is_accepted_like_bearer(client):
    assert client.get(SOBJECTS, headers={"Authorization": "OAuth FIXED"}).status_code == 200


def test_version_list_needs_no_session(client):
    response = client.get("/services/data/")

    assert response.status_code == 200
    assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in response.get_json()


def test_unknown_version_checks_the_session_first(client):
    assert client.get("/services/data/v99.0/sobjects").status_code == 401
    assert client.get("/services/data/v99.0/sobjects", headers=bearer("FIXED")).status_code == 404


# --- through simple-salesforce ------------------------------------------------------------------


@pytest.fixture
def http_session(schema, config) -> requests.Session:
    """A requests session whose https:// requests reach the local org in-process."""
    session = requests.Session()
    session.mount("https://", WsgiAdapter(create_app(config, Store(schema))))
    return session


def test_simple_salesforce_password_login(http_session):
    session_id, instance = SalesforceLogin(
        username="admin@localorg.test",
        password="localorg",
        consumer_key="localorg-client",
        consumer_secret="localorg-secret",
        session=http_session,
    )

    sf = Salesforce(instance=instance, session_id=session_id, session=http_session)
    assert instance == "login.salesforce.com"
    assert [o["name"] for o in sf.describe()["sobjects"]] == ["Account", "Contact", "Widget__c"]


def test_simple_salesforce_bad_password(http_session):
    with pytest.raises(SalesforceAuthenticationFailed) as failure:
        SalesforceLogin(
            username="admin@localorg.test",
            password="wrong",
            consumer_key="localorg-client",
            consumer_secret="localorg-secret",
            session=http_session,
        )
    assert failure.value.code == "invalid_grant"


def test_simple_salesforce_jwt_login(http_session, keys):
    session_id, _ = SalesforceLogin(
        username="admin@localorg.test",
        consumer_key="localorg-client",
        privatekey=keys[0].decode(),
        session=http_session,
    )

    sf = Salesforce(instance="localorg.test", session_id=session_id, session=http_session)
    assert sf.Account.describe()["name"] == "Account"


def test_simple_salesforce_client_credentials_login(http_session):
    session_id, instance = SalesforceLogin(
        consumer_key="localorg-client",
        consumer_secret="localorg-secret",
        domain="acme.my",
        session=http_session,
    )

    assert instance == "acme.my.salesforce.com"
    sf = Salesforce(instance=instance, session_id=session_id, session=http_session)
    assert sf.limits()["DailyApiRequests"]["Max"] == 15000


def test_simple_salesforce_sees_expired_session(http_session):
    sf = Salesforce(instance="localorg.test", session_id="not-a-session", session=http_session)

    with pytest.raises(SalesforceExpiredSession) as failure:
        sf.describe()
    assert failure.value.content == INVALID_SESSION
