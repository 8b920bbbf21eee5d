"""Per-user identity end to end: the gateway in front of the demo local org with its sales team.

Each user reaches the gateway with their own source-org OAuth token (pass-through) or as a mapped HTTP Basic
user (JWT bearer grant); what they get is compared with SOQL run as the same user directly on the local org.
"""

from __future__ import annotations

import base64
import tomllib
from urllib.parse import urlsplit

import pytest
from werkzeug.security import generate_password_hash

from gateway.app import create_app
from gateway.identity.config import IdentityConfigError, identity_from_env, parse_user_map
from gateway.identity.user_model import restrict_model
from gateway.identity.users import PerUserIdentity
from gateway.localorg.api import create_app as create_localorg_app
from gateway.localorg.config import LocalOrgConfig
from gateway.localorg.demo import DEMO_SCHEMA_PATH, load_demo
from gateway.localorg.schema import load_schema
from gateway.localorg.security import DEMO_SECURITY_PATH, load_security, parse_security
from gateway.localorg.store import Store
from gateway.odata.http.errors import ODataError
from gateway.odata.read.bind import bind
from gateway.odata.read.query_options import parse_query_options
from gateway.source.connection import SourceConnection
from tests.localorg.test_auth import FakeClock
from tests.support import ADMIN, EAST, MANAGER, WEST, login, make_key_and_certificate

ACCOUNTS = 60
NAMED_TOKEN = "named-admin-token"
API_KEY = "gateway-api-key-1"
USER_MAP = f"alice = {EAST}\nbob = {WEST}\n# the manager\nmgr = {MANAGER}\n"


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    """The demo local org (sales team, JWT certificate) and a per-user gateway in front of it."""
    private_pem, certificate, _ = make_key_and_certificate()
    folder = tmp_path_factory.mktemp("per-user")
    key_file = folder / "connected-app.key"
    key_file.write_bytes(private_pem)
    map_file = folder / "user-map.txt"
    map_file.write_text(USER_MAP)
    store = Store(load_schema(DEMO_SCHEMA_PATH))
    load_demo(store, accounts=ACCOUNTS)
    config = LocalOrgConfig(
        token=NAMED_TOKEN, security=load_security(DEMO_SECURITY_PATH), jwt_certificate=certificate.decode()
    )
    localorg = create_localorg_app(config, store)
    named = SourceConnection.in_process(localorg, access_token=NAMED_TOKEN)
    password_hash = generate_password_hash("pw", method="pbkdf2:sha256:1000")
    environ = {
        "GATEWAY_IDENTITY": "per-user",
        "GATEWAY_USER_MAP": str(map_file),
        "SF_CLIENT_ID": "localorg-client",
        "SF_PRIVATE_KEY_FILE": str(key_file),
        "GATEWAY_USERS": ",".join(f"{u}:{password_hash}" for u in ("alice", "bob", "mgr", "carol")),
        "GATEWAY_API_KEYS": API_KEY,
        "GATEWAY_SECRET": "per-user-test-secret-0123456789abcdef",
    }
    gateway = create_app(source=named, environ=environ, host="127.0.0.1")
    return gateway, localorg, store, named


@pytest.fixture(scope="module")
def gateway_client(org):
    return org[0].test_client()


@pytest.fixture(scope="module")
def store(org):
    return org[2]


@pytest.fixture(scope="module")
def org_client(org):
    return org[1].test_client()


@pytest.fixture(scope="module")
def tokens(org_client):
    return {u: login(org_client, u) for u in (ADMIN, MANAGER, EAST, WEST)}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def basic(user: str, password: str = "pw") -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def soql_ids(org_client, token: str, soql: str) -> list[str]:
    """The oracle: the same question asked of the local org directly, as the same user."""
    response = org_client.get("/services/data/v59.0/query", query_string={"q": soql}, headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    return [r["Id"] for r in response.get_json()["records"]]


def odata(gateway_client, path: str, headers: dict, **params: str):
    return gateway_client.get(f"/odata/{path}", query_string=params, headers=headers)


def owned_by(store: Store, username: str) -> str:
    """An Account owned by the user."""
    (record_id,) = store.conn.execute(
        'SELECT a."Id" FROM "Account" a JOIN "User" u ON u."Id" = a."OwnerId" '
        'WHERE u."Username" = ? AND a."IsDeleted" = 0 ORDER BY a."Id" LIMIT 1',
        (username,),
    ).fetchone()
    return record_id


def stored(store: Store, record_id: str, field: str):
    return store.conn.execute(f'SELECT "{field}" FROM "Account" WHERE "Id" = ?', (record_id,)).fetchone()[0]


# --- rows, counts and fields per user ----------------------------------------------------------------


@pytest.mark.parametrize("username", [ADMIN, MANAGER, EAST, WEST])
def test_the_same_request_gives_each_user_their_own_rows_and_count(
    gateway_client, org_client, tokens, username
):
    response = odata(
        gateway_client,
        "Account",
        bearer(tokens[username]),
        **{"$select": "Id,Name", "$orderby": "Id", "$count": "true"},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    expected = soql_ids(org_client, tokens[username], "SELECT Id FROM Account ORDER BY Id")
    assert [row["Id"] for row in body["value"]] == expected
    assert body["@odata.count"] == len(expected)
    count = odata(gateway_client, "Account/$count", bearer(tokens[username]))
    assert count.get_data(as_text=True) == str(len(expected))


def test_two_users_get_different_slices_and_the_admin_gets_everything(gateway_client, tokens):
    def ids(username: str) -> set[str]:
        body = odata(gateway_client, "Account", bearer(tokens[username]), **{"$select": "Id"}).get_json()
        return {row["Id"] for row in body["value"]}

    east, west, manager, admin = ids(EAST), ids(WEST), ids(MANAGER), ids(ADMIN)
    assert east and west and not east & west
    assert east < manager and not west & manager
    assert len(admin) == ACCOUNTS


def test_mapped_basic_users_read_as_their_source_user(gateway_client, org_client, tokens):
    for gateway_user, username in (("alice", EAST), ("bob", WEST)):
        body = odata(
            gateway_client, "Opportunity", basic(gateway_user), **{"$select": "Id", "$orderby": "Id"}
        ).get_json()
        expected = soql_ids(org_client, tokens[username], "SELECT Id FROM Opportunity ORDER BY Id")
        assert [row["Id"] for row in body["value"]] == expected


def test_a_field_hidden_from_the_user_is_null_and_cannot_be_filtered_or_sorted(gateway_client, store, tokens):
    rep, manager = bearer(tokens[EAST]), bearer(tokens[MANAGER])
    rows = odata(gateway_client, "Account", rep, **{"$select": "Name,AnnualRevenue"}).get_json()["value"]
    assert rows and all(row["AnnualRevenue"] is None for row in rows)
    assert all(row["Name"] for row in rows)
    seen = odata(gateway_client, "Account", manager, **{"$select": "AnnualRevenue"}).get_json()["value"]
    assert any(row["AnnualRevenue"] is not None for row in seen)

    for option, value in (("$filter", "AnnualRevenue gt 0"), ("$orderby", "AnnualRevenue desc")):
        refused = odata(gateway_client, "Account", rep, **{option: value})
        assert refused.status_code == 403
        error = refused.get_json()["error"]
        assert "AnnualRevenue" in error["message"] and error["target"] == "AnnualRevenue"
        assert odata(gateway_client, "Account", manager, **{option: value}).status_code == 200

    record_id = owned_by(store, EAST)
    assert odata(gateway_client, f"Account('{record_id}')/AnnualRevenue", rep).status_code == 204
    assert (
        odata(gateway_client, f"Account('{record_id}')/AnnualRevenue", manager).get_json()["value"]
        is not None
    )
    single = odata(gateway_client, f"Account('{record_id}')", rep).get_json()
    assert single["AnnualRevenue"] is None and single["Id"] == record_id


def test_metadata_and_service_document_use_the_named_connection(gateway_client, tokens):
    rep = odata(gateway_client, "$metadata", bearer(tokens[WEST]))
    key = odata(gateway_client, "$metadata", bearer(API_KEY))
    assert rep.status_code == key.status_code == 200
    assert rep.get_data() == key.get_data()
    assert b'Name="AnnualRevenue"' in rep.get_data()
    assert odata(gateway_client, "", basic("carol")).status_code == 200


# --- reading and writing single records ----------------------------------------------------------------


def test_a_rep_cannot_read_or_write_a_record_the_manager_can(gateway_client, store, tokens):
    record_id = owned_by(store, EAST)
    path = f"Account('{record_id}')"
    name = stored(store, record_id, "Name")

    assert odata(gateway_client, path, bearer(tokens[WEST])).status_code == 404
    assert odata(gateway_client, path, bearer(tokens[MANAGER])).status_code == 200
    for method in (gateway_client.patch, gateway_client.delete):
        kwargs = {"json": {"Name": "West was here"}} if method == gateway_client.patch else {}
        response = method(f"/odata/{path}", headers=bearer(tokens[WEST]), **kwargs)
        assert response.status_code == 404, response.get_json()
    assert stored(store, record_id, "Name") == name and stored(store, record_id, "IsDeleted") == 0

    changed = gateway_client.patch(
        f"/odata/{path}", json={"Name": "Managed"}, headers=bearer(tokens[MANAGER])
    )
    assert changed.status_code == 204
    assert stored(store, record_id, "Name") == "Managed"


def test_writes_to_fields_the_user_cannot_edit_are_403_naming_the_field(gateway_client, store, tokens):
    record_id = owned_by(store, EAST)
    path = f"/odata/Account('{record_id}')"
    before = (stored(store, record_id, "Rating"), stored(store, record_id, "AnnualRevenue"))
    for body, field in (
        ({"Rating": "Hot" if before[0] != "Hot" else "Cold"}, "Rating"),
        ({"AnnualRevenue": 1}, "AnnualRevenue"),
    ):
        response = gateway_client.patch(path, json=body, headers=bearer(tokens[EAST]))
        assert response.status_code == 403, response.get_json()
        error = response.get_json()["error"]
        assert error["target"] == field and field in error["message"]
    created = gateway_client.post(
        "/odata/Account", json={"Name": "X", "AnnualRevenue": 5}, headers=bearer(tokens[EAST])
    )
    assert created.status_code == 403
    assert (stored(store, record_id, "Rating"), stored(store, record_id, "AnnualRevenue")) == before

    # what a user interface sends back (the values it read, hidden ones as null) passes
    read = odata(
        gateway_client,
        f"Account('{record_id}')",
        bearer(tokens[EAST]),
        **{"$select": "Name,Rating,AnnualRevenue"},
    ).get_json()
    edit = {"Name": "East edit", "Rating": read["Rating"], "AnnualRevenue": None}
    assert gateway_client.patch(path, json=edit, headers=bearer(tokens[EAST])).status_code == 204
    assert stored(store, record_id, "Name") == "East edit"
    assert stored(store, record_id, "AnnualRevenue") == before[1]


def test_a_visible_record_the_user_may_not_edit_is_403_with_the_source_code(gateway_client, store, tokens):
    (project_id,) = store.conn.execute('SELECT "Id" FROM "Project__c" ORDER BY "Id" LIMIT 1').fetchone()
    response = gateway_client.patch(
        f"/odata/Project__c('{project_id}')", json={"Name": "Rep edit"}, headers=bearer(tokens[WEST])
    )
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "INSUFFICIENT_ACCESS_OR_READONLY"


def test_a_created_record_belongs_to_the_user_who_created_it(gateway_client, store, tokens):
    created = gateway_client.post(
        "/odata/Account", json={"Name": "West Startup"}, headers=bearer(tokens[WEST])
    )
    assert created.status_code == 201, created.get_json()
    record_id = created.get_json()["Id"]
    (owner,) = store.conn.execute(
        'SELECT u."Username" FROM "Account" a JOIN "User" u ON u."Id" = a."OwnerId" WHERE a."Id" = ?',
        (record_id,),
    ).fetchone()
    assert owner == WEST
    assert odata(gateway_client, f"Account('{record_id}')", bearer(tokens[EAST])).status_code == 404


# --- tokens: invalid, revoked, paging --------------------------------------------------------------------


def test_an_invalid_token_is_401_invalid_token_so_salesforce_refreshes_it(gateway_client):
    for path in ("Account", "$metadata"):
        response = odata(gateway_client, path, bearer("00D000000000001!not-a-token"))
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_a_revoked_token_stops_working_within_the_check_bound(org, org_client):
    gateway, *_ = org
    state = gateway.extensions["odata_gateway"]
    clock = FakeClock()
    original = state.identity
    state.identity = PerUserIdentity(
        original.config, original.named_source, clock=clock, wrap_source=original.wrap_source
    )
    try:
        _revoke_and_check(gateway, org_client, state, clock)
    finally:
        state.identity = original


def _revoke_and_check(gateway, org_client, state, clock) -> None:
    client = gateway.test_client()
    token = login(org_client, EAST)
    assert odata(client, "Account", bearer(token), **{"$select": "Id"}).status_code == 200
    assert odata(client, "$metadata", bearer(token)).status_code == 200
    checks = state.identity.token_checks

    assert org_client.post("/services/oauth2/revoke", data={"token": token}).status_code == 200

    # a call that reaches the source fails at once; the remembered check alone lasts at most its bound
    data = odata(client, "Account", bearer(token), **{"$select": "Id"})
    assert data.status_code == 401 and 'error="invalid_token"' in data.headers["WWW-Authenticate"]
    assert odata(client, "$metadata", bearer(token)).status_code == 200
    assert state.identity.token_checks == checks
    clock.now += state.identity.config.token_check_seconds + 1
    assert state.identity.config.token_check_seconds <= 60
    assert odata(client, "$metadata", bearer(token)).status_code == 401


def test_a_next_link_is_bound_to_the_user_not_to_the_token(gateway_client, org_client, tokens):
    first = odata(
        gateway_client,
        "Account",
        {**bearer(tokens[MANAGER]), "Prefer": "odata.maxpagesize=3"},
        **{"$select": "Id"},
    )
    next_link = first.get_json()["@odata.nextLink"]
    path = next_link.split("/odata/", 1)[1]

    other = gateway_client.get(f"/odata/{path}", headers=bearer(tokens[EAST]))
    assert other.status_code in (400, 403)
    assert "value" not in (other.get_json() or {})
    mapped_other = gateway_client.get(f"/odata/{path}", headers=basic("alice"))
    assert mapped_other.status_code in (400, 403)

    refreshed = login(org_client, MANAGER)  # a new token of the same user, as after a refresh
    same_user = gateway_client.get(f"/odata/{path}", headers=bearer(refreshed))
    assert same_user.status_code == 200
    everything = odata(gateway_client, "Account", bearer(tokens[MANAGER]), **{"$select": "Id"}).get_json()
    pages = first.get_json()["value"] + same_user.get_json()["value"]
    assert [row["Id"] for row in pages] == [row["Id"] for row in everything["value"]]
    by_map = gateway_client.get(f"/odata/{path}", headers=basic("mgr"))
    assert by_map.status_code == 200


# --- who may do what ------------------------------------------------------------------------------------


def test_api_keys_and_unmapped_users_may_read_metadata_only(gateway_client):
    for headers, hint in ((bearer(API_KEY), "API keys"), (basic("carol"), "GATEWAY_USER_MAP")):
        assert odata(gateway_client, "$metadata", headers).status_code == 200
        assert odata(gateway_client, "", headers).status_code == 200
        refused = odata(gateway_client, "Account", headers)
        assert refused.status_code == 403
        assert hint in refused.get_json()["error"]["message"]
    anonymous = odata(gateway_client, "Account", {})
    assert anonymous.status_code == 401
    assert "Bearer" in anonymous.headers["WWW-Authenticate"]
    assert odata(gateway_client, "Account", basic("alice", "wrong")).status_code == 401


def test_per_user_api_cost_one_describe_per_object_once_then_one_call_per_page(org, org_client):
    gateway, localorg, _, _ = org
    accounting = localorg.extensions["localorg"].accounting
    client = gateway.test_client()
    state = gateway.extensions["odata_gateway"]
    original = state.identity
    # a fresh identity: no user served yet
    state.identity = PerUserIdentity(original.config, original.named_source, wrap_source=original.wrap_source)
    try:
        token = login(org_client, ADMIN)
        objects = {s.sobject for s in state.model().entity_sets.values()}
        before = accounting.used
        assert odata(client, "Account", bearer(token), **{"$select": "Id", "$top": "5"}).status_code == 200
        assert accounting.used - before == len(objects) + 1
        before = accounting.used
        assert odata(client, "Contact", bearer(login(org_client, ADMIN)), **{"$top": "5"}).status_code == 200
        assert accounting.used - before == 1
    finally:
        state.identity = original


def test_named_mode_is_unchanged(org, tokens):
    _, _, store, named = org
    (accounts,) = store.conn.execute('SELECT COUNT(*) FROM "Account" WHERE "IsDeleted" = 0').fetchone()
    app = create_app(source=named, environ={"GATEWAY_API_KEYS": API_KEY}, host="127.0.0.1")
    client = app.test_client()
    everything = odata(client, "Account", bearer(API_KEY), **{"$select": "Id,AnnualRevenue"})
    assert len(everything.get_json()["value"]) == accounts
    assert any(row["AnnualRevenue"] is not None for row in everything.get_json()["value"])
    # a source token is not a credential of a named gateway
    assert odata(client, "Account", bearer(tokens[EAST])).status_code == 401


# --- configuration ------------------------------------------------------------------------------------


def test_identity_settings_are_checked_at_start_up(tmp_path):
    assert not identity_from_env({}).per_user
    assert parse_user_map("# c\n\na = x@y\n b =  z@y \n") == {"a": "x@y", "b": "z@y"}
    map_file = tmp_path / "map"
    map_file.write_text("a = x@y\n")
    for environ, problem in (
        ({"GATEWAY_IDENTITY": "everyone"}, "GATEWAY_IDENTITY must be"),
        ({"GATEWAY_USER_MAP": str(map_file)}, "only used with GATEWAY_IDENTITY=per-user"),
        ({"GATEWAY_IDENTITY": "per-user", "GATEWAY_USER_MAP": str(map_file)}, "needs SF_CLIENT_ID"),
        ({"GATEWAY_IDENTITY": "per-user", "GATEWAY_USER_MAP": str(tmp_path / "none")}, "GATEWAY_USER_MAP"),
    ):
        with pytest.raises(IdentityConfigError, match=problem):
            identity_from_env(environ)
    for text in ("a x@y", "a =", "a = x\na = y"):
        with pytest.raises(IdentityConfigError):
            parse_user_map(text)


def test_the_v2_face_serves_each_user_their_own_rows(gateway_client, org_client, tokens):
    for username in (EAST, WEST):
        response = gateway_client.get(
            "/odata/v2/Account",
            query_string={"$select": "Id", "$orderby": "Id", "$format": "json"},
            headers=bearer(tokens[username]),
        )
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        rows = response.get_json()["d"]
        rows = rows["results"] if isinstance(rows, dict) else rows
        expected = soql_ids(org_client, tokens[username], "SELECT Id FROM Account ORDER BY Id")
        assert [row["Id"] for row in rows] == expected
    refused = gateway_client.get("/odata/v2/Account", headers=bearer(API_KEY))
    assert refused.status_code == 403
    assert gateway_client.get("/odata/v2/$metadata", headers=bearer(API_KEY)).status_code == 200


# --- caches, sessions and batches per user ------------------------------------------------------------


def test_the_result_cache_never_serves_one_users_page_to_another(org, org_client, tokens, tmp_path):
    _, localorg, _, named = org
    accounting = localorg.extensions["localorg"].accounting
    environ = {
        "GATEWAY_IDENTITY": "per-user",
        "GATEWAY_CACHE_TTL": "60",
        "GATEWAY_SECRET": "cache-test-secret-0123456789",
    }
    client = create_app(source=named, environ=environ, host="127.0.0.1").test_client()
    params = {"$select": "Id", "$orderby": "Id", "$top": "50"}

    def ids(username: str) -> list[str]:
        response = odata(client, "Account", bearer(tokens[username]), **params)
        assert response.status_code == 200, response.get_json()
        return [row["Id"] for row in response.get_json()["value"]]

    east = ids(EAST)
    before = accounting.used
    assert ids(EAST) == east  # the same user's repeat comes from the cache
    assert accounting.used == before
    west = ids(WEST)  # the same request by another user goes to the source as that user
    assert accounting.used > before
    assert west == soql_ids(org_client, tokens[WEST], "SELECT Id FROM Account ORDER BY Id LIMIT 50")
    assert not set(west) & set(east)


def test_a_mapped_users_expired_session_is_renewed_by_the_jwt_grant(org, gateway_client, org_client, tokens):
    gateway, *_ = org
    assert odata(gateway_client, "Contact", basic("bob"), **{"$top": "1"}).status_code == 200
    user = gateway.extensions["odata_gateway"].identity.mapped_user("bob")
    session = user.source.inner._access_token  # the session the gateway obtained for rep.west
    assert org_client.post("/services/oauth2/revoke", data={"token": session}).status_code == 200

    response = odata(gateway_client, "Account", basic("bob"), **{"$select": "Id", "$orderby": "Id"})
    assert response.status_code == 200
    expected = soql_ids(org_client, tokens[WEST], "SELECT Id FROM Account ORDER BY Id")
    assert [row["Id"] for row in response.get_json()["value"]] == expected
    assert user.source.inner._access_token != session


def test_a_batch_runs_every_part_as_the_user(gateway_client, store, tokens):
    east_record, west_record = owned_by(store, EAST), owned_by(store, WEST)
    name = stored(store, east_record, "Name")
    requests = [
        {"id": "mine", "method": "GET", "url": f"Account('{west_record}')?$select=Name,AnnualRevenue"},
        {"id": "theirs", "method": "GET", "url": f"Account('{east_record}')"},
        {
            "id": "w",
            "atomicityGroup": "g",
            "method": "PATCH",
            "url": f"Account('{east_record}')",
            "body": {"Name": "X"},
        },
    ]
    response = gateway_client.post("/odata/$batch", json={"requests": requests}, headers=bearer(tokens[WEST]))
    assert response.status_code == 200
    answers = {a["id"]: a for a in response.get_json()["responses"]}
    assert answers["mine"]["status"] == 200 and answers["mine"]["body"]["AnnualRevenue"] is None
    assert answers["theirs"]["status"] == 404
    assert answers["w"]["status"] == 404
    assert stored(store, east_record, "Name") == name


def test_an_object_the_user_cannot_read_is_403_not_a_source_error(org):
    gateway, *_ = org
    named = gateway.extensions["odata_gateway"].model()
    describes = {
        s.sobject: {"fields": [{"name": n} for n in s.properties]} for s in named.entity_sets.values()
    }
    model = restrict_model(named, lambda sobject: None if sobject == "Case" else describes[sobject])
    with pytest.raises(ODataError) as refused:
        bind(model.entity_set("Case"), model, parse_query_options({}))
    assert (refused.value.status, refused.value.target) == (403, "Case")
    with pytest.raises(ODataError) as expanded:
        bind(model.entity_set("Account"), model, parse_query_options({"$expand": "Cases"}))
    assert expanded.value.status == 403
    assert bind(model.entity_set("Account"), model, parse_query_options({"$select": "Name"})).select


def _gateway_hiding(*sobjects: str):
    """A per-user gateway on a small demo org whose Sales Rep profile has no access at all to ``sobjects``;
    the West rep's bearer header, made after a first request builds their model (their describes), so what
    follows measures only itself. Returns (gateway client, local org, store, West rep's headers)."""
    security = tomllib.loads(DEMO_SECURITY_PATH.read_text())
    for sobject in sobjects:
        del security["profiles"]["Sales Rep"]["objects"][sobject]
    store = Store(load_schema(DEMO_SCHEMA_PATH))
    load_demo(store, accounts=5)
    config = LocalOrgConfig(token=NAMED_TOKEN, security=parse_security(security))
    localorg = create_localorg_app(config, store)
    named = SourceConnection.in_process(localorg, access_token=NAMED_TOKEN)
    environ = {"GATEWAY_IDENTITY": "per-user", "GATEWAY_SECRET": "unreadable-object-secret-0123456789"}
    client = create_app(source=named, environ=environ, host="127.0.0.1").test_client()
    west = bearer(login(localorg.test_client(), WEST))
    assert odata(client, f"Account('{owned_by(store, WEST)}')/Name", west).status_code == 200
    return client, localorg, store, west


def test_a_property_of_an_object_the_user_cannot_read_is_403_without_a_source_call():
    """``Case('id')/Subject`` by a user whose profile has no access to Case at all is refused like a read or
    an expansion of Case (403 naming the set), on both faces, before any call reaches the source org."""
    client, localorg, store, west = _gateway_hiding("Case")
    (case_id,) = store.conn.execute('SELECT "Id" FROM "Case" LIMIT 1').fetchone()
    accounting = localorg.extensions["localorg"].accounting

    for path in (f"Case('{case_id}')/Subject", f"Case('{case_id}')/Subject/$value"):
        before = accounting.used
        response = odata(client, path, west)
        assert response.status_code == 403, response.get_data(as_text=True)
        assert response.get_json()["error"]["target"] == "Case"
        assert accounting.used == before
    v2 = client.get(f"/odata/v2/Case('{case_id}')/Subject", headers=west)
    assert v2.status_code == 403 and b"Forbidden" in v2.data
    # the same user's reads of Case are refused the same way; the admin still reads the property
    assert odata(client, "Case", west).status_code == 403
    admin = bearer(login(localorg.test_client(), ADMIN))
    subject = store.conn.execute('SELECT "Subject" FROM "Case" WHERE "Id" = ?', (case_id,)).fetchone()[0]
    assert odata(client, f"Case('{case_id}')/Subject", admin).get_json()["value"] == subject


def test_navigation_from_an_object_the_user_cannot_read_is_403_without_a_source_call():
    """``Case('id')/Account`` (single-valued) and ``Contact('id')/Cases`` (collection, also by an alternate
    key and with ``/$count``) by a user whose profile cannot read Case nor Contact at all: 403 naming the
    unreadable set the path starts from, on both faces, before any call reaches the source org."""
    client, localorg, store, west = _gateway_hiding("Case", "Contact")
    with_account = 'SELECT "Id" FROM "Case" WHERE "AccountId" IS NOT NULL LIMIT 1'
    (case_id,) = store.conn.execute(with_account).fetchone()
    (contact_id,) = store.conn.execute('SELECT "Id" FROM "Contact" LIMIT 1').fetchone()
    accounting = localorg.extensions["localorg"].accounting
    paths = {
        f"Case('{case_id}')/Account": "Case",
        f"Case('{case_id}')/Contact": "Case",
        f"Contact('{contact_id}')/Account": "Contact",
        f"Contact('{contact_id}')/Cases": "Contact",
        f"Contact('{contact_id}')/Cases/$count": "Contact",
    }
    for path, unreadable in paths.items():
        before = accounting.used
        response = odata(client, path, west)
        assert response.status_code == 403, (path, response.get_data(as_text=True))
        assert response.get_json()["error"]["target"] == unreadable
        assert accounting.used == before, path
        before = accounting.used
        v2 = client.get(f"/odata/v2/{path.replace('/$count', '')}", headers=west)
        assert v2.status_code == 403 and b"Forbidden" in v2.data, (path, v2.data)
        assert accounting.used == before, path
    # the admin still navigates from the same records
    admin = bearer(login(localorg.test_client(), ADMIN))
    account_id = store.conn.execute('SELECT "AccountId" FROM "Case" WHERE "Id" = ?', (case_id,)).fetchone()[0]
    assert odata(client, f"Case('{case_id}')/Account", admin).get_json()["Id"] == account_id
    assert odata(client, f"Contact('{contact_id}')/Cases", admin).status_code == 200


# --- delta links (change tracking) -----------------------------------------------------------------

TRACK_CHANGES = {"Prefer": "odata.track-changes"}


def follow_link(client, link: str, headers: dict):
    parts = urlsplit(link)
    return client.get(parts.path + "?" + parts.query, headers=headers)


def test_each_user_follows_their_own_changes_and_cannot_use_anothers_delta_link(
    gateway_client, tokens, store
):
    links = {}
    for user in (EAST, WEST):
        response = gateway_client.get(
            "/odata/Account?$top=0", headers={**TRACK_CHANGES, **bearer(tokens[user])}
        )
        assert response.status_code == 200, response.get_json()
        links[user] = response.get_json()["@odata.deltaLink"]
    east_record, west_record = owned_by(store, EAST), owned_by(store, WEST)
    store.update("Account", east_record, {"Name": "Changed for the east"})
    store.update("Account", west_record, {"Name": "Changed for the west"})

    east = follow_link(gateway_client, links[EAST], bearer(tokens[EAST])).get_json()["value"]
    west = follow_link(gateway_client, links[WEST], bearer(tokens[WEST])).get_json()["value"]
    assert [e["Id"] for e in east] == [east_record]
    assert [e["Id"] for e in west] == [west_record]

    stolen = follow_link(gateway_client, links[EAST], bearer(tokens[WEST]))
    assert stolen.status_code == 400
    assert stolen.get_json()["error"]["target"] == "$deltatoken"
