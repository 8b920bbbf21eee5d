"""The source connection against the local org: in-process, over loopback HTTP, and as a subprocess."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import make_server

from gateway.localorg import demo
from gateway.localorg.api import create_app
from gateway.localorg.config import LocalOrgConfig
from gateway.localorg.schema import load_schema
from gateway.localorg.store import Store
from gateway.source.connection import (
    IN_PROCESS_URL,
    Credentials,
    SourceConfigError,
    SourceConnection,
    SourceError,
    SourceTimeout,
    credentials_from_env,
)
from tests.support import make_key_and_certificate, start_localorg

DEMO_ACCOUNTS = 100  # 300 Contacts: enough for paging, fast to load
TOKEN = "fixed-test-token"


class Clock:
    """A clock the test moves by hand, so token expiry needs no waiting."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def jwt_keys(tmp_path_factory) -> tuple[Path, str]:
    """An RSA private key file and the PEM of a self-signed certificate for it."""
    private_pem, certificate_pem, _ = make_key_and_certificate()
    key_file = tmp_path_factory.mktemp("jwt") / "server.key"
    key_file.write_bytes(private_pem)
    return key_file, certificate_pem.decode()


@pytest.fixture(scope="module")
def demo_schema():
    return load_schema(demo.DEMO_SCHEMA_PATH)


def make_org(demo_schema, jwt_certificate: str | None = None, **settings):
    """A fresh local org app on the demo data; returns (app, config)."""
    store = Store(demo_schema, ":memory:")
    demo.load_demo(store, accounts=DEMO_ACCOUNTS)
    config = LocalOrgConfig(token=TOKEN, jwt_certificate=jwt_certificate, clock=Clock(), **settings)
    return create_app(config, store), config


@pytest.fixture()
def org(demo_schema, jwt_keys):
    return make_org(demo_schema, jwt_certificate=jwt_keys[1])


def password_connection(app, config: LocalOrgConfig) -> SourceConnection:
    return SourceConnection.in_process(
        app,
        username=config.username,
        password=config.password,
        client_id=config.client_id,
        client_secret=config.client_secret,
    )


# ----- reading --------------------------------------------------------------------------------------


def test_fixed_token_query_pages_by_next_records_url(org):
    app, _ = org
    conn = SourceConnection.in_process(app, TOKEN)
    first = conn.query("SELECT Id, LastName FROM Contact ORDER BY Id", batch_size=200)
    assert (first["totalSize"], first["done"], len(first["records"])) == (300, False, 200)
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/")
    assert type(first) is dict and type(first["records"][0]) is dict
    second = conn.query_more(first["nextRecordsUrl"], batch_size=200)
    assert (second["done"], len(second["records"])) == (True, 100)
    ids = [r["Id"] for r in first["records"] + second["records"]]
    assert len(set(ids)) == 300
    assert conn.api_calls == 2
    assert conn.api_usage == (2, 15000)
    assert conn.token_calls == 0


def test_query_too_long_for_a_url_travels_in_one_composite_call(org):
    """Salesforce refuses URIs over 16 KB (414); such a query is sent in a Composite body: same answer."""
    app, _ = org
    conn = SourceConnection.in_process(app, TOKEN)
    names = ", ".join(f"'Nobody {n}'" for n in range(1500))
    soql = f"SELECT Id, LastName FROM Contact WHERE LastName NOT IN ({names}) ORDER BY Id"
    assert len(soql) > 16_384
    first = conn.query(soql, batch_size=200)
    assert (first["totalSize"], len(first["records"])) == (300, 200)
    assert conn.api_calls == 1
    with pytest.raises(SourceError) as refused:
        conn.query(soql.replace("LastName FROM", "Nope__c FROM"))
    assert (refused.value.status, refused.value.error_code) == (400, "INVALID_FIELD")
    assert conn.api_calls == 2


def test_query_records_follows_every_batch_and_query_all_sees_deleted(org):
    app, _ = org
    conn = SourceConnection.in_process(app, TOKEN)
    assert len(list(conn.query_records("SELECT Id FROM Contact", batch_size=200))) == 300
    created = conn.create("Account", {"Name": "Soon gone"})
    conn.delete("Account", created["id"])
    soql = f"SELECT Id, IsDeleted FROM Account WHERE Id = '{created['id']}'"
    assert conn.query(soql)["totalSize"] == 0
    assert conn.query_all(soql)["records"][0]["IsDeleted"] is True


def test_describe_and_limits(org):
    app, _ = org
    conn = SourceConnection.in_process(app, TOKEN)
    names = {entry["name"] for entry in conn.describe_global()["sobjects"]}
    assert {"Account", "Contact", "Opportunity", "Case", "User"} <= names
    described = conn.describe("Contact")
    assert described["name"] == "Contact"
    assert any(f["name"] == "AccountId" and f["referenceTo"] == ["Account"] for f in described["fields"])
    limits = conn.limits()
    assert limits["DailyApiRequests"] == {"Max": 15000, "Remaining": 15000 - 3}
    assert conn.api_calls == 3 and conn.api_usage == (3, 15000)


# ----- writing --------------------------------------------------------------------------------------


def test_create_get_update_delete(org):
    app, _ = org
    conn = SourceConnection.in_process(app, TOKEN)
    created = conn.create("Account", {"Name": "Gateway Test Inc."})
    assert created["success"] is True and created["id"].startswith("001") and len(created["id"]) == 18
    assert conn.get("Account", created["id"])["Name"] == "Gateway Test Inc."
    assert conn.update("Account", created["id"], {"Name": "Renamed"}) is None
    assert conn.get("Account", created["id"])["Name"] == "Renamed"
    assert conn.delete("Account", created["id"]) is None
    with pytest.raises(SourceError) as deleted:
        conn.get("Account", created["id"])
    assert (deleted.value.status, deleted.value.error_code) == (404, "ENTITY_IS_DELETED")


def test_upsert_reports_created_then_updated(org, demo_schema):
    app, _ = org
    conn = SourceConnection.in_process(app, TOKEN)
    external_id = next(
        f["name"]
        for f in demo_schema.get("Project__c").fields
        if f.get("externalId") and f["type"] == "string"
    )
    project = {"Name": "Upserted project"}
    first = conn.upsert("Project__c", external_id, "UP/1 x", project)
    assert first["created"] is True and first["success"] is True
    second = conn.upsert("Project__c", external_id, "UP/1 x", {"Name": "Upserted again"})
    assert second["created"] is False and second["id"] == first["id"]
    assert conn.get("Project__c", first["id"])["Name"] == "Upserted again"


def test_composite_create_update_delete(org):
    app, _ = org
    conn = SourceConnection.in_process(app, TOKEN)
    records = [{"attributes": {"type": "Account"}, "Name": f"Batch {n}"} for n in range(3)]
    created = conn.composite("POST", records, all_or_none=True)
    assert [entry["success"] for entry in created] == [True, True, True]
    ids = [entry["id"] for entry in created]
    updates = [{"attributes": {"type": "Account"}, "Id": i, "Name": f"Batch {i[-4:]}"} for i in ids]
    assert all(entry["success"] for entry in conn.composite("PATCH", updates))
    assert all(entry["success"] for entry in conn.composite("DELETE", ids, all_or_none=True))
    rolled_back = conn.composite(
        "POST",
        [{"attributes": {"type": "Account"}, "Name": "fine"}, {"attributes": {"type": "Account"}}],
        all_or_none=True,
    )
    assert [entry["success"] for entry in rolled_back] == [False, False]
    assert rolled_back[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"


# ----- errors ---------------------------------------------------------------------------------------


def test_errors_carry_the_first_salesforce_error(org):
    app, _ = org
    conn = SourceConnection.in_process(app, TOKEN)
    with pytest.raises(SourceError) as malformed:
        conn.query("SELECT Id FROM Account WHERE Name = ''x''")
    assert (malformed.value.status, malformed.value.error_code) == (400, "MALFORMED_QUERY")
    assert malformed.value.body == [{"message": malformed.value.message, "errorCode": "MALFORMED_QUERY"}]

    with pytest.raises(SourceError) as bad_field:
        conn.query("SELECT Nope__c FROM Account")
    assert (bad_field.value.status, bad_field.value.error_code) == (400, "INVALID_FIELD")
    assert "Nope__c" in bad_field.value.message

    with pytest.raises(SourceError) as missing:
        conn.create("Contact", {"FirstName": "No last name"})
    assert (missing.value.status, missing.value.error_code) == (400, "REQUIRED_FIELD_MISSING")
    assert missing.value.fields == ["LastName"]

    with pytest.raises(SourceError) as unknown:
        conn.get("Account", "001000000000000AAA")
    assert (unknown.value.status, unknown.value.error_code) == (404, "NOT_FOUND")


def test_api_limit_exceeded_is_a_source_error(demo_schema):
    app, _ = make_org(demo_schema, api_limit=2)
    conn = SourceConnection.in_process(app, TOKEN)
    conn.limits()
    conn.limits()
    with pytest.raises(SourceError) as refused:
        conn.limits()
    assert (refused.value.status, refused.value.error_code) == (403, "REQUEST_LIMIT_EXCEEDED")
    assert refused.value.message == "TotalRequests Limit exceeded."
    assert conn.api_calls == 3
    assert conn.api_usage == (2, 2)


# ----- authentication -------------------------------------------------------------------------------


def test_password_grant(org):
    app, config = org
    conn = password_connection(app, config)
    assert conn.query("SELECT COUNT() FROM Account")["totalSize"] == DEMO_ACCOUNTS
    assert (conn.api_calls, conn.token_calls, conn.api_usage) == (1, 1, (1, 15000))


def test_password_grant_with_security_token(demo_schema):
    app, config = make_org(demo_schema, security_token="SECTOKEN")
    conn = SourceConnection.in_process(
        app,
        username=config.username,
        password=config.password,
        security_token="SECTOKEN",
        client_id=config.client_id,
        client_secret=config.client_secret,
    )
    assert conn.query("SELECT COUNT() FROM Contact")["totalSize"] == 3 * DEMO_ACCOUNTS


def test_client_credentials_grant(org):
    app, config = org
    conn = SourceConnection.in_process(app, client_id=config.client_id, client_secret=config.client_secret)
    assert conn.credentials.grant == "client_credentials"
    assert conn.query("SELECT COUNT() FROM Account")["totalSize"] == DEMO_ACCOUNTS
    assert (conn.api_calls, conn.token_calls) == (1, 1)


def test_jwt_bearer_grant(org, jwt_keys):
    app, config = org
    conn = SourceConnection.in_process(
        app, client_id=config.client_id, username=config.username, private_key_file=str(jwt_keys[0])
    )
    assert conn.credentials.grant == "jwt"
    assert conn.query("SELECT COUNT() FROM Account")["totalSize"] == DEMO_ACCOUNTS
    assert (conn.api_calls, conn.token_calls) == (1, 1)


def test_jwt_signed_by_another_key_is_refused(org, tmp_path):
    app, config = org
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "other.key"
    key_file.write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    conn = SourceConnection.in_process(
        app, client_id=config.client_id, username=config.username, private_key_file=str(key_file)
    )
    with pytest.raises(SourceError) as refused:
        conn.describe_global()
    assert (refused.value.status, refused.value.error_code) == (400, "invalid_grant")
    assert conn.api_calls == 0


def test_bad_password_is_invalid_grant(org):
    app, config = org
    conn = SourceConnection.in_process(
        app, username=config.username, password="wrong", client_id=config.client_id,
        client_secret=config.client_secret,
    )  # fmt: skip
    with pytest.raises(SourceError) as refused:
        conn.query("SELECT Id FROM Account")
    error = refused.value
    assert (error.status, error.error_code, error.message) == (400, "invalid_grant", "authentication failure")
    assert error.body == {"error": "invalid_grant", "error_description": "authentication failure"}
    assert (conn.api_calls, conn.token_calls) == (0, 1)


def test_invalid_fixed_token_raises_without_retry(org):
    app, _ = org
    conn = SourceConnection.in_process(app, "not-a-token")
    with pytest.raises(SourceError) as expired:
        conn.query("SELECT Id FROM Account")
    assert (expired.value.status, expired.value.error_code) == (401, "INVALID_SESSION_ID")
    assert expired.value.body == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    assert (conn.api_calls, conn.token_calls) == (1, 0)


def test_expired_session_is_renewed_once(demo_schema):
    app, config = make_org(demo_schema, token_lifetime=60)
    conn = password_connection(app, config)
    conn.query("SELECT COUNT() FROM Account")
    config.clock.now += 61  # the session expires
    assert conn.query("SELECT COUNT() FROM Account")["totalSize"] == DEMO_ACCOUNTS
    # login, query; expired query (401), renewal (refresh token), query again
    assert (conn.api_calls, conn.token_calls) == (3, 2)
    assert conn.api_usage == (2, 15000)


@pytest.mark.parametrize("grant", ["client_credentials", "jwt"])
def test_expired_session_is_renewed_with_the_configured_grant(demo_schema, jwt_keys, grant):
    app, config = make_org(demo_schema, jwt_certificate=jwt_keys[1], token_lifetime=60)
    if grant == "jwt":
        settings = {"username": config.username, "private_key_file": str(jwt_keys[0])}
    else:
        settings = {"client_secret": config.client_secret}
    conn = SourceConnection.in_process(app, client_id=config.client_id, **settings)
    conn.limits()
    config.clock.now += 61
    conn.limits()
    assert (conn.api_calls, conn.token_calls) == (3, 2)


def test_a_fixed_token_with_a_grant_is_renewed_when_it_stops_working(org):
    app, config = org
    conn = SourceConnection.in_process(
        app, "stale-token", client_id=config.client_id, client_secret=config.client_secret
    )
    assert conn.query("SELECT COUNT() FROM Account")["totalSize"] == DEMO_ACCOUNTS
    assert (conn.api_calls, conn.token_calls) == (2, 1)


def test_second_invalid_session_raises_and_never_loops(demo_schema):
    app, config = make_org(demo_schema, token_lifetime=0)  # every session is born expired
    conn = SourceConnection.in_process(app, client_id=config.client_id, client_secret=config.client_secret)
    with pytest.raises(SourceError) as expired:
        conn.query("SELECT Id FROM Account")
    assert (expired.value.status, expired.value.error_code) == (401, "INVALID_SESSION_ID")
    assert (conn.api_calls, conn.token_calls) == (2, 2)
    assert conn.api_usage is None


def test_concurrent_expiry_renews_the_session_once(demo_schema):
    app, config = make_org(demo_schema, token_lifetime=60)
    conn = SourceConnection.in_process(app, client_id=config.client_id, client_secret=config.client_secret)
    conn.limits()
    config.clock.now += 61
    stale = conn._client
    barrier = threading.Barrier(8)
    errors: list[Exception] = []

    def worker() -> None:
        barrier.wait()
        try:
            for _ in range(5):
                conn.query("SELECT COUNT() FROM Contact")
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert conn._client is not stale
    assert conn.token_calls == 2
    successful = 1 + 8 * 5
    assert conn.api_usage == (successful, 15000)
    assert 1 <= conn.api_calls - successful <= 8  # the 401s were sent, so they count


def test_api_usage_never_goes_backwards_when_answers_arrive_out_of_order(org):
    app, _ = org
    conn = SourceConnection.in_process(app, TOKEN)
    url = f"{IN_PROCESS_URL}/services/data/v59.0/limits/"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    first = conn.session.get(url, headers=headers)
    second = conn.session.get(url, headers=headers)
    assert (first.headers["Sforce-Limit-Info"], conn.api_usage) == ("api-usage=1/15000", (2, 15000))
    conn._after_call(
        url, 200, first.headers, first.content
    )  # the first answer handled last, as a slow thread would
    assert conn.api_usage == (2, 15000)
    second.headers["Sforce-Limit-Info"] = "api-usage=1/20"  # the limit was changed: the new one counts
    conn._after_call(url, 200, second.headers, second.content)
    assert conn.api_usage == (1, 20)


# ----- configuration --------------------------------------------------------------------------------


def test_from_env_without_sf_variables_is_none():
    assert SourceConnection.from_env({}) is None
    assert SourceConnection.from_env({"PATH": "/bin", "SF_USERNAME": "  "}) is None


def test_from_env_picks_the_grant():
    base = {"SF_CLIENT_ID": "id", "SF_LOGIN_URL": "https://login.salesforce.com"}
    assert credentials_from_env({**base, "SF_CLIENT_SECRET": "s"}).grant == "client_credentials"
    assert credentials_from_env({**base, "SF_USERNAME": "u", "SF_PASSWORD": "p"}).grant == "password"
    jwt_env = {**base, "SF_USERNAME": "u", "SF_PRIVATE_KEY_FILE": "/k.pem", "SF_PASSWORD": "p"}
    assert credentials_from_env(jwt_env).grant == "jwt"
    token_env = {"SF_INSTANCE_URL": "https://x.my.salesforce.com", "SF_ACCESS_TOKEN": "t"}
    credentials = credentials_from_env({**token_env, "SF_API_VERSION": "60.0", "SF_TIMEOUT": "5"})
    assert (credentials.grant, credentials.api_version, credentials.timeout) == (None, "60.0", 5.0)
    assert credentials_from_env(token_env).api_version == "59.0"


def test_from_env_refuses_incomplete_settings():
    with pytest.raises(SourceConfigError):
        SourceConnection.from_env({"SF_USERNAME": "u"})
    with pytest.raises(SourceConfigError):
        SourceConnection.from_env({"SF_ACCESS_TOKEN": "t"})
    with pytest.raises(SourceConfigError):
        SourceConnection.from_env({"SF_INSTANCE_URL": "https://x", "SF_ACCESS_TOKEN": "t", "SF_TIMEOUT": "x"})


def test_plain_http_only_on_loopback():
    with pytest.raises(SourceConfigError):
        SourceConnection(Credentials(instance_url="http://example.com:8500", access_token="t"))
    for url in ("http://127.0.0.1:8500", "http://localhost:8500", "http://[::1]:8500"):
        assert SourceConnection(Credentials(instance_url=url, access_token="t")) is not None


# ----- over a real socket ---------------------------------------------------------------------------


@pytest.fixture()
def served_org(org):
    """The local org on a loopback HTTP server in a thread; yields (url, config)."""
    app, config = org
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", config
    server.shutdown()
    server.server_close()


def test_loopback_http_with_every_grant(served_org, jwt_keys):
    url, config = served_org
    environments = {
        "token": {"SF_INSTANCE_URL": url, "SF_ACCESS_TOKEN": TOKEN},
        "password": {
            "SF_LOGIN_URL": url,
            "SF_USERNAME": config.username,
            "SF_PASSWORD": config.password,
            "SF_CLIENT_ID": config.client_id,
            "SF_CLIENT_SECRET": config.client_secret,
        },
        "client_credentials": {
            "SF_LOGIN_URL": url,
            "SF_CLIENT_ID": config.client_id,
            "SF_CLIENT_SECRET": config.client_secret,
        },
        "jwt": {
            "SF_LOGIN_URL": url,
            "SF_CLIENT_ID": config.client_id,
            "SF_USERNAME": config.username,
            "SF_PRIVATE_KEY_FILE": str(jwt_keys[0]),
        },
    }
    for name, environ in environments.items():
        conn = SourceConnection.from_env(environ)
        first = conn.query("SELECT Id FROM Contact", batch_size=200)
        rest = conn.query_more(first["nextRecordsUrl"])
        assert len(first["records"]) + len(rest["records"]) == 300, name
        assert conn.api_calls == 2, name
        assert conn.token_calls == (0 if name == "token" else 1), name


def test_loopback_http_session_refresh(served_org):
    url, config = served_org
    conn = SourceConnection.from_env(
        {"SF_LOGIN_URL": url, "SF_CLIENT_ID": config.client_id, "SF_CLIENT_SECRET": config.client_secret}
    )
    conn.limits()
    config.clock.now += config.token_lifetime + 1
    assert conn.limits()["DailyApiRequests"]["Max"] == 15000
    assert (conn.api_calls, conn.token_calls) == (3, 2)


def test_timeout_is_source_timeout():
    # A listening socket that never accepts: the connection lands in the backlog and no answer comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        conn = SourceConnection(
            Credentials(instance_url=f"http://127.0.0.1:{port}", access_token="t", timeout=0.2)
        )
        with pytest.raises(SourceTimeout) as timed_out:
            conn.query("SELECT Id FROM Account")
        assert (timed_out.value.status, timed_out.value.error_code) == (504, "TIMEOUT")


def test_unreachable_org_is_a_source_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe closes
    conn = SourceConnection(Credentials(instance_url=f"http://127.0.0.1:{port}", access_token="t"))
    with pytest.raises(SourceError) as unreachable:
        conn.limits()
    assert (unreachable.value.status, unreachable.value.error_code) == (503, "UNREACHABLE")
    assert not isinstance(unreachable.value, SourceTimeout)


# ----- the done criterion ---------------------------------------------------------------------------


def test_pages_through_3000_contacts_of_a_running_localorg_in_batches_of_200():
    process, url, _ = start_localorg("--token", TOKEN)
    try:
        conn = SourceConnection.from_env({"SF_INSTANCE_URL": url, "SF_ACCESS_TOKEN": TOKEN})
        result = conn.query("SELECT Id, Name, Account.Name FROM Contact", batch_size=200)
        batches = [result]
        while not result["done"]:
            result = conn.query_more(result["nextRecordsUrl"], batch_size=200)
            batches.append(result)
        assert [len(batch["records"]) for batch in batches] == [200] * 15
        assert batches[0]["totalSize"] == 3000
        assert len({record["Id"] for batch in batches for record in batch["records"]}) == 3000
        assert conn.api_calls == 15 and conn.api_usage == (15, 15000)
    finally:
        process.terminate()
        process.wait(timeout=10)
