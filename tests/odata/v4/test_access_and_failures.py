"""Inbound access, the cost of warm metadata, and how source failures reach the client.

The gateway runs on a demo local org reached through the source connection; failures are real (the local
org's API limit, a broken publication), not mocked.
"""

from __future__ import annotations

import base64

import pytest

from gateway.app import create_app
from gateway.odata.http.access import hash_password
from gateway.odata.model.publication import PublicationError
from gateway.source.connection import SourceConnection, SourceTimeout
from gateway.source.embedded import embedded_source


@pytest.fixture(scope="module")
def small_org():
    return embedded_source(50)


def basic(user: str, password: str) -> dict:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_basic_and_bearer_are_required_off_the_loopback_demo(small_org):
    source, _ = small_org
    environ = {"GATEWAY_USERS": f"connect:{hash_password('s3cret')}", "GATEWAY_API_KEYS": "key-1"}
    client = create_app(source=source, environ=environ, host="0.0.0.0").test_client()
    refused = client.get("/odata/Account")
    assert refused.status_code == 401
    assert "Basic" in refused.headers["WWW-Authenticate"]
    assert refused.get_json()["error"]["code"] == "Unauthorized"
    assert client.get("/odata/Account", headers=basic("connect", "wrong")).status_code == 401
    assert client.get("/odata/Account", headers=basic("connect", "s3cret")).status_code == 200
    assert client.get("/odata/Account", headers={"Authorization": "Bearer key-1"}).status_code == 200
    assert client.get("/odata/Account", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/odata/$metadata", headers={"Authorization": "Basic !!!"}).status_code == 401


def test_a_real_source_without_credentials_refuses_to_start(small_org):
    source, _ = small_org
    with pytest.raises(Exception, match="GATEWAY_USERS"):
        create_app(source=source, environ={}, host="127.0.0.1")


def test_warm_metadata_and_planning_cost_no_api_call(small_org):
    source, _ = small_org
    client = create_app(source=source, environ={}, host="127.0.0.1", embedded=True).test_client()
    client.get("/odata/$metadata")
    before = source.api_calls
    assert client.get("/odata/$metadata").status_code == 200
    assert client.get("/odata/").status_code == 200
    assert source.api_calls == before
    client.get("/odata/Account?$top=1")
    assert source.api_calls == before + 1  # the query itself, no describe


def test_api_limit_exhausted_is_503_with_retry_after():
    """With no reserve kept (GATEWAY_API_RESERVE=0) the org's own refusal comes through; the governor's
    refusal at the reserve is tested in tests/operation/test_app.py."""
    source, _ = embedded_source(20, api_limit=12)
    environ = {"GATEWAY_API_RESERVE": "0"}
    client = create_app(source=source, environ=environ, host="127.0.0.1", embedded=True).test_client()
    statuses = [client.get("/odata/Account?$top=1").status_code for _ in range(15)]
    assert statuses[0] == 200
    last = client.get("/odata/Account?$top=1")
    assert last.status_code == 503
    assert last.headers["Retry-After"]
    error = last.get_json()["error"]
    assert error["details"][0]["code"] == "REQUEST_LIMIT_EXCEEDED"


def test_source_error_is_502_with_the_salesforce_code(small_org, tmp_path):
    """A publication naming a field the source lost: Salesforce's INVALID_FIELD comes back as 502."""
    source, store = small_org
    client = create_app(source=source, environ={}, host="127.0.0.1", embedded=True).test_client()
    with store.lock:
        store.conn.execute('ALTER TABLE "Account" RENAME COLUMN "Rating" TO "Rating_gone"')
    try:
        # The local org's describe still lists Rating, so this mimics a field dropped behind our back.
        response = client.get("/odata/Account?$select=Rating&$top=1")
    finally:
        with store.lock:
            store.conn.execute('ALTER TABLE "Account" RENAME COLUMN "Rating_gone" TO "Rating"')
    assert response.status_code == 502, response.get_json()
    assert response.get_json()["error"]["details"][0]["code"]


class SlowSource:
    """A source whose queries time out, as SourceConnection reports a timeout."""

    def __init__(self, inner: SourceConnection):
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def query(self, soql: str, batch_size: int | None = None) -> dict:
        raise SourceTimeout(504, "TIMEOUT", "Read timed out")


def test_source_timeout_is_504(small_org):
    source, _ = small_org
    client = create_app(source=SlowSource(source), environ={}, host="127.0.0.1", embedded=True).test_client()
    response = client.get("/odata/Account")
    assert response.status_code == 504
    assert response.get_json()["error"]["details"][0]["code"] == "TIMEOUT"


def test_bad_publication_fails_at_start_up_naming_file_and_line(small_org, tmp_path):
    source, _ = small_org
    bad = tmp_path / "bad.toml"
    bad.write_text('[[entity_set]]\nsobject = "Account"\nfields = ["Name", "Nope__c"]\n')
    with pytest.raises(PublicationError) as error:
        create_app(source=source, environ={}, host="127.0.0.1", embedded=True, metadata_path=bad)
    assert "bad.toml" in str(error.value) and ":3" in str(error.value) and "Nope__c" in str(error.value)


def test_no_client_input_produces_a_500(small_org):
    source, _ = small_org
    client = create_app(source=source, environ={}, host="127.0.0.1", embedded=True).test_client()
    nasty = [
        "/odata/Account?$filter=" + "(" * 300,
        "/odata/Account?$filter=Name eq '\\'",
        "/odata/Account?$filter=Name eq '%00'",
        "/odata/Account?$orderby=,,,",
        "/odata/Account?$select=Name,,",
        "/odata/Account?$expand=Contacts($select=)",
        "/odata/Account?$top=-1",
        "/odata/Account?$top=99999999999999999999",
        "/odata/Account?$skiptoken=%%%",
        "/odata/Account('')",
        "/odata/Account('x'')",
        "/odata/Account(Id=)",
        "/odata/Account('001')/Nope",
        "/odata/Account/$value",
        "/odata/Account?$filter=CreatedDate gt 2024-13-45T00:00:00Z",
        "/odata/Account?$filter=year(Name) eq 2020",
        "/odata/Account?$format=xml",
        "/odata/Account?$filter=Name in ()",
    ]
    for url in nasty:
        response = client.get(url)
        assert response.status_code < 500 or response.status_code == 501, (url, response.status_code)
        if response.status_code >= 400:
            assert response.get_json()["error"]["message"], url
