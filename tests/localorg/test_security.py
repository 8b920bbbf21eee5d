"""The local org enforces users, profiles, roles and sharing defaults as Salesforce does (demo model).

Each demo user logs in with the OAuth password grant and talks to the REST API over in-process WSGI; what
they see is checked against an oracle computed from the demo records and the role hierarchy.
"""

from __future__ import annotations

import json

import jwt
import pytest

from gateway.localorg import demo
from gateway.localorg.api import create_app
from gateway.localorg.config import LocalOrgConfig
from gateway.localorg.schema import load_schema
from gateway.localorg.security import DEMO_SECURITY_PATH, SecurityFileError, load_security, parse_security
from gateway.localorg.store import Store
from tests.support import ADMIN, EAST, MANAGER, WEST, login, make_key_and_certificate, password_form

TOKEN_URL = "/services/oauth2/token"
DATA = "/services/data/v59.0"
ACCOUNTS = 60


@pytest.fixture(scope="module")
def keys():
    return make_key_and_certificate()


@pytest.fixture(scope="module")
def demo_data():
    return demo.generate_demo_data(accounts=ACCOUNTS)


@pytest.fixture
def org(demo_data, keys):
    store = Store(load_schema(demo.DEMO_SCHEMA_PATH))
    store.load_data(demo_data)
    config = LocalOrgConfig(security=load_security(DEMO_SECURITY_PATH), jwt_certificate=keys[1].decode())
    app = create_app(config, store)
    return app, store


@pytest.fixture
def client(org):
    return org[0].test_client()


@pytest.fixture
def user_ids(demo_data):
    return {u["Username"]: u["Id"] for u in demo_data["User"]}


def as_user(client, username: str) -> dict:
    return {"Authorization": f"Bearer {login(client, username)}"}


def query(client, headers: dict, soql: str):
    return client.get(f"{DATA}/query", query_string={"q": soql}, headers=headers)


def records(client, headers: dict, soql: str) -> list[dict]:
    response = query(client, headers, soql)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["records"]


def owners_visible(username: str, user_ids: dict) -> set[str]:
    """The oracle: whose private records each demo user reaches (self + roles below in the hierarchy)."""
    return {
        ADMIN: set(user_ids.values()),
        MANAGER: {user_ids[MANAGER], user_ids[EAST]},
        EAST: {user_ids[EAST]},
        WEST: {user_ids[WEST]},
    }[username]


# --- logging in --------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", [ADMIN, MANAGER, EAST, WEST])
def test_each_demo_user_logs_in_and_userinfo_names_them(client, user_ids, username):
    token = login(client, username)
    response = client.get("/services/oauth2/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    info = response.get_json()
    assert (info["preferred_username"], info["user_id"]) == (username, user_ids[username])
    assert info["sub"].endswith("/" + user_ids[username])


def test_a_wrong_password_or_unknown_user_fails_as_salesforce(client):
    for username, password in ((EAST, "nope"), ("nobody@localorg.test", "localorg")):
        response = client.post(TOKEN_URL, data=password_form(username, password))
        assert response.status_code == 400
        assert response.get_json() == {
            "error": "invalid_grant",
            "error_description": "authentication failure",
        }


def test_jwt_bearer_grant_issues_a_token_for_the_user_named_in_sub(client, keys, user_ids):
    assertion = jwt.encode(
        {"iss": "localorg-client", "sub": WEST, "aud": "https://login.salesforce.com", "exp": 4102444800},
        keys[0],
        algorithm="RS256",
    )
    response = client.post(
        TOKEN_URL, data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
    )
    assert response.status_code == 200
    headers = {"Authorization": f"Bearer {response.get_json()['access_token']}"}
    owners = {r["OwnerId"] for r in records(client, headers, "SELECT OwnerId FROM Account")}
    assert owners == {user_ids[WEST]}


def test_revoked_access_token_stops_working_and_userinfo_refuses_it(client):
    token = login(client, EAST)
    headers = {"Authorization": f"Bearer {token}"}
    assert query(client, headers, "SELECT Id FROM Account LIMIT 1").status_code == 200

    assert client.post("/services/oauth2/revoke", data={"token": token}).status_code == 200

    response = query(client, headers, "SELECT Id FROM Account LIMIT 1")
    assert response.status_code == 401
    assert response.get_json()[0]["errorCode"] == "INVALID_SESSION_ID"
    assert client.get("/services/oauth2/userinfo", headers=headers).status_code == 403
    again = client.post("/services/oauth2/revoke", data={"token": token})
    assert (again.status_code, again.get_json()["error"]) == (400, "unsupported_token_type")


def test_revoking_a_refresh_token_revokes_the_access_tokens_it_issued(client):
    body = client.post(TOKEN_URL, data=password_form(MANAGER)).get_json()
    refreshed = client.post(
        TOKEN_URL,
        data={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": "localorg-client",
        },
    ).get_json()
    assert client.post("/services/oauth2/revoke", data={"token": body["refresh_token"]}).status_code == 200
    for token in (body["access_token"], refreshed["access_token"]):
        response = query(client, {"Authorization": f"Bearer {token}"}, "SELECT Id FROM Account")
        assert response.status_code == 401


# --- reading: sharing ------------------------------------------------------------------------------


@pytest.mark.parametrize("username", [ADMIN, MANAGER, EAST, WEST])
def test_query_rows_and_counts_follow_sharing(client, demo_data, user_ids, username):
    headers = as_user(client, username)
    reachable = owners_visible(username, user_ids)
    expected = sorted(a["Id"] for a in demo_data["Account"] if a["OwnerId"] in reachable)

    rows = records(client, headers, "SELECT Id, OwnerId FROM Account ORDER BY Id")
    count = query(client, headers, "SELECT COUNT() FROM Account").get_json()["totalSize"]

    assert [r["Id"] for r in rows] == expected
    assert count == len(expected)
    assert 0 < len(expected) <= ACCOUNTS
    # Cases are Public Read Only: everyone reads all of them.
    assert len(records(client, headers, "SELECT Id FROM Case")) == len(demo_data["Case"])


def test_the_slices_differ_and_the_manager_sees_the_east_rep_but_not_the_west_rep(client, user_ids):
    seen = {
        u: {r["OwnerId"] for r in records(client, as_user(client, u), "SELECT OwnerId FROM Account")}
        for u in (MANAGER, EAST, WEST)
    }
    assert seen[MANAGER] == {user_ids[MANAGER], user_ids[EAST]}
    assert seen[EAST] == {user_ids[EAST]}
    assert seen[WEST] == {user_ids[WEST]}


def test_parent_lookups_and_child_subqueries_respect_sharing(client, demo_data, user_ids):
    headers = as_user(client, WEST)
    mine = {a["Id"] for a in demo_data["Account"] if a["OwnerId"] == user_ids[WEST]}
    cases = records(client, headers, "SELECT Id, AccountId, Account.Name FROM Case WHERE AccountId != null")
    assert cases
    for case in cases:
        # the lookup Id stays; the parent the user cannot see is null, as Salesforce returns it
        assert (case["Account"] is not None) == (case["AccountId"] in mine)

    accounts = records(client, headers, "SELECT Id, (SELECT Id, OwnerId FROM Contacts) FROM Account")
    owners = {c["OwnerId"] for a in accounts for c in (a["Contacts"] or {"records": []})["records"]}
    assert owners <= {user_ids[WEST]}
    # filtering on a parent field only matches visible parents
    visible_names = {a["Name"] for a in demo_data["Account"] if a["Id"] in mine}
    other = next(a for a in demo_data["Account"] if a["Id"] not in mine and a["Name"] not in visible_names)
    escaped = other["Name"].replace("\\", "\\\\").replace("'", "\\'")
    assert records(client, headers, f"SELECT Id FROM Case WHERE Account.Name = '{escaped}'") == []


# --- reading: field-level security ---------------------------------------------------------------


def test_a_hidden_field_is_no_such_column_in_select_where_and_order_by(client):
    headers = as_user(client, EAST)
    for soql in (
        "SELECT Id, AnnualRevenue FROM Account",
        "SELECT Id FROM Account WHERE AnnualRevenue > 0",
        "SELECT Id FROM Account ORDER BY AnnualRevenue",
        "SELECT Id, Account.AnnualRevenue FROM Contact",
    ):
        response = query(client, headers, soql)
        assert response.status_code == 400, soql
        error = response.get_json()[0]
        assert error["errorCode"] == "INVALID_FIELD"
        assert "No such column 'AnnualRevenue' on entity 'Account'" in error["message"]
    manager = as_user(client, MANAGER)
    assert query(client, manager, "SELECT Id, AnnualRevenue FROM Account").status_code == 200


def test_describe_lists_readable_fields_and_flags_what_the_user_may_write(client):
    rep = client.get(f"{DATA}/sobjects/Account/describe", headers=as_user(client, EAST)).get_json()
    admin = client.get(f"{DATA}/sobjects/Account/describe", headers=as_user(client, ADMIN)).get_json()
    rep_fields = {f["name"]: f for f in rep["fields"]}
    admin_fields = {f["name"]: f for f in admin["fields"]}

    assert set(admin_fields) - set(rep_fields) == {"AnnualRevenue"}
    assert (rep_fields["Rating"]["createable"], rep_fields["Rating"]["updateable"]) == (False, False)
    assert admin_fields["Rating"]["updateable"] is True
    assert (rep["createable"], rep["updateable"], rep["deletable"]) == (True, True, False)
    assert admin["deletable"] is True


def test_record_read_hides_fields_and_records_the_user_cannot_see(client, demo_data, user_ids):
    east_account = next(a for a in demo_data["Account"] if a["OwnerId"] == user_ids[EAST])
    path = f"{DATA}/sobjects/Account/{east_account['Id']}"

    west = client.get(path, headers=as_user(client, WEST))
    assert west.status_code == 404
    assert west.get_json()[0]["errorCode"] == "NOT_FOUND"

    east = client.get(path, headers=as_user(client, EAST)).get_json()
    assert east["Name"] == east_account["Name"] and "AnnualRevenue" not in east
    manager = client.get(path, headers=as_user(client, MANAGER)).get_json()
    assert manager["AnnualRevenue"] == east_account["AnnualRevenue"]


# --- writes --------------------------------------------------------------------------------------


def stored(store, sobject: str, record_id: str, field: str):
    return store.conn.execute(f'SELECT "{field}" FROM "{sobject}" WHERE "Id" = ?', (record_id,)).fetchone()[0]


def test_writes_check_sharing_object_permissions_and_field_security(org, demo_data, user_ids):
    app, store = org
    client = app.test_client()
    east, west, manager = as_user(client, EAST), as_user(client, WEST), as_user(client, MANAGER)
    account = next(a for a in demo_data["Account"] if a["OwnerId"] == user_ids[EAST])
    path = f"{DATA}/sobjects/Account/{account['Id']}"

    cases = [
        (west, {"Name": "West was here"}, 404, "NOT_FOUND"),  # cannot see it
        (east, {"Rating": "Hot"}, 400, "INVALID_FIELD_FOR_INSERT_UPDATE"),  # read-only for reps
        (east, {"AnnualRevenue": 1}, 400, "INVALID_FIELD"),  # hidden from reps
    ]
    for headers, body, status, code in cases:
        response = client.patch(path, json=body, headers=headers)
        assert (response.status_code, response.get_json()[0]["errorCode"]) == (status, code)
    assert stored(store, "Account", account["Id"], "Name") == account["Name"]
    assert client.delete(path, headers=west).status_code == 404
    deleted = client.delete(path, headers=east)  # reps have no Delete on Account
    assert (deleted.status_code, deleted.get_json()[0]["errorCode"]) == (
        400,
        "INSUFFICIENT_ACCESS_OR_READONLY",
    )
    assert stored(store, "Account", account["Id"], "IsDeleted") == 0

    assert client.patch(path, json={"Name": "East renamed"}, headers=east).status_code == 204
    assert client.patch(path, json={"Rating": "Hot"}, headers=manager).status_code == 204
    assert (
        stored(store, "Account", account["Id"], "Name"),
        stored(store, "Account", account["Id"], "Rating"),
    ) == (
        "East renamed",
        "Hot",
    )
    assert client.delete(path, headers=manager).status_code == 204  # above the owner in the hierarchy


def test_public_read_only_records_can_be_read_but_edited_only_by_their_owner(org, demo_data, user_ids):
    app, store = org
    client = app.test_client()
    case = next(c for c in demo_data["Case"] if c["OwnerId"] not in (user_ids[MANAGER], user_ids[EAST]))
    response = client.patch(
        f"{DATA}/sobjects/Case/{case['Id']}", json={"Subject": "x"}, headers=as_user(client, MANAGER)
    )
    assert (response.status_code, response.get_json()[0]["errorCode"]) == (
        400,
        "INSUFFICIENT_ACCESS_OR_READONLY",
    )
    assert stored(store, "Case", case["Id"], "Subject") == case["Subject"]


def test_a_created_record_is_owned_by_its_creator_and_visible_to_their_manager(client, user_ids):
    east = as_user(client, EAST)
    created = client.post(f"{DATA}/sobjects/Account", json={"Name": "East New Co"}, headers=east)
    assert created.status_code == 201
    record_id = created.get_json()["id"]
    assert (
        client.get(f"{DATA}/sobjects/Account/{record_id}", headers=east).get_json()["OwnerId"]
        == user_ids[EAST]
    )
    assert (
        client.get(f"{DATA}/sobjects/Account/{record_id}", headers=as_user(client, MANAGER)).status_code
        == 200
    )
    assert (
        client.get(f"{DATA}/sobjects/Account/{record_id}", headers=as_user(client, WEST)).status_code == 404
    )
    refused = client.post(f"{DATA}/sobjects/Account", json={"Name": "X", "AnnualRevenue": 5}, headers=east)
    assert refused.get_json()[0]["errorCode"] == "INVALID_FIELD"
    no_create = client.post(f"{DATA}/sobjects/Project__c", json={"Name": "P"}, headers=east)
    assert no_create.get_json()[0]["errorCode"] == "INSUFFICIENT_ACCESS_OR_READONLY"


def test_composite_collections_check_each_record_and_all_or_none_writes_nothing(org, demo_data, user_ids):
    app, store = org
    client = app.test_client()
    east = as_user(client, EAST)
    mine = next(a for a in demo_data["Account"] if a["OwnerId"] == user_ids[EAST])
    theirs = next(a for a in demo_data["Account"] if a["OwnerId"] == user_ids[WEST])
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Account"}, "Id": mine["Id"], "Name": "Mine"},
            {"attributes": {"type": "Account"}, "Id": theirs["Id"], "Name": "Theirs"},
        ],
    }
    results = client.patch(f"{DATA}/composite/sobjects", json=body, headers=east).get_json()
    assert results[0]["success"] is True
    assert results[1]["success"] is False
    assert stored(store, "Account", theirs["Id"], "Name") == theirs["Name"]

    body["allOrNone"] = True
    body["records"][0]["Name"] = "Mine again"
    results = client.patch(f"{DATA}/composite/sobjects", json=body, headers=east).get_json()
    assert [r["success"] for r in results] == [False, False]
    assert stored(store, "Account", mine["Id"], "Name") == "Mine"


# --- the admin and the org without a model ----------------------------------------------------------


def test_the_admin_sees_exactly_what_an_org_without_a_model_shows(org, demo_data):
    app, _ = org
    client = app.test_client()
    plain_store = Store(load_schema(demo.DEMO_SCHEMA_PATH))
    plain_store.load_data(demo_data)
    plain = create_app(LocalOrgConfig(), plain_store).test_client()
    soql = "SELECT Id, Name, AnnualRevenue, Owner.Name, (SELECT Id FROM Contacts) FROM Account ORDER BY Name"
    assert records(client, as_user(client, ADMIN), soql) == records(plain, as_user(plain, ADMIN), soql)
    path = f"{DATA}/sobjects/Account/describe"
    assert (
        client.get(path, headers=as_user(client, ADMIN)).get_json()
        == plain.get(path, headers=as_user(plain, ADMIN)).get_json()
    )


# --- the file ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"defaults": {"Account": "Secret"}}, "defaults.Account is 'Secret'"),
        ({"roles": {"A": "B"}}, "unknown parent role 'B'"),
        ({"roles": {"A": "B", "B": "A"}}, "its own ancestor"),
        ({"users": {"x@y": {"profile": "Nope"}}}, "needs a profile"),
        ({"profiles": {"P": {"objects": {"Account": ["fly"]}}}}, "must list permissions"),
        ({"profiles": {"P": {"fields": {"AnnualRevenue": "none"}}}}, "must be Object.Field"),
        ({"profiles": {"P": {"fields": {"Account.Id": "none"}}}}, "cannot be restricted"),
        ({"groups": {}}, "unknown section"),
    ],
)
def test_a_bad_security_file_is_refused_naming_the_problem(data, problem):
    with pytest.raises(SecurityFileError, match=problem.replace("(", r"\(").replace(".", r"\.")):
        parse_security(data, "model.toml")


def test_binding_checks_users_objects_and_fields_against_the_org(demo_data, tmp_path):
    store = Store(load_schema(demo.DEMO_SCHEMA_PATH))
    store.load_data(demo_data)
    for text, problem in (
        (
            '[users."ghost@x.test"]\nprofile = "P"\n[profiles.P]\n',
            "no User record has the Username ghost@x.test",
        ),
        ('[defaults]\nWidget = "Private"\n', "objects the schema lacks: widget"),
        ('[profiles.P.fields]\n"Account.Nope" = "none"\n', "unknown field account.nope"),
    ):
        path = tmp_path / "model.toml"
        path.write_text(text)
        with pytest.raises(SecurityFileError, match=problem):
            create_app(LocalOrgConfig(security=load_security(path)), store)
    path.write_text("[defaults\n")
    with pytest.raises(SecurityFileError, match="not valid TOML"):
        load_security(path)


def test_the_demo_model_file_is_valid_json_free_toml():
    model = load_security(DEMO_SECURITY_PATH)
    assert {u.username for u in model.users.values()} == {ADMIN, MANAGER, EAST, WEST}
    assert json.dumps(sorted(model.roles)) == json.dumps(
        sorted(["CEO", "Sales Manager", "Sales Rep East", "Sales Rep West"])
    )


def test_a_record_read_by_external_id_is_as_private_as_by_id(client, demo_data, user_ids):
    account = next(a for a in demo_data["Account"] if a["OwnerId"] == user_ids[EAST])
    path = f"{DATA}/sobjects/Account/External_Id__c/{account['External_Id__c']}"
    assert client.get(path, headers=as_user(client, WEST)).status_code == 404
    east = client.get(path, headers=as_user(client, EAST))
    assert east.status_code == 200
    assert east.get_json()["Id"] == account["Id"] and "AnnualRevenue" not in east.get_json()
