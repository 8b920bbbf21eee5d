"""Single-entity writes through the gateway on the embedded demo local org, over raw HTTP (WSGI).

Every test checks what the local org holds afterwards, read directly from its store, and the API calls the
request cost on the gateway's source connection. A refused or failed write must leave the table exactly
as it was.
"""

from __future__ import annotations

import gzip
import json

import pytest

from gateway.app import create_app
from gateway.localorg.api import create_app as create_localorg_app
from gateway.localorg.config import LocalOrgConfig
from gateway.localorg.demo import DEMO_SCHEMA_PATH, load_demo
from gateway.localorg.schema import load_schema
from gateway.localorg.store import Store
from gateway.source.connection import SourceConnection, SourceTimeout
from tests.support import embedded_gateway


@pytest.fixture(scope="module")
def demo():
    return embedded_gateway(30)


@pytest.fixture()
def client(demo):
    return demo[0].test_client()


@pytest.fixture()
def source(demo):
    return demo[1]


@pytest.fixture()
def store(demo):
    return demo[2]


def table(store: Store, sobject: str) -> list[tuple]:
    """Every row of a local org table, deleted ones included: the ground truth."""
    with store.lock:
        return store.conn.execute(f'SELECT * FROM "{sobject}" ORDER BY "Id"').fetchall()


def row(store: Store, sobject: str, record_id: str) -> dict:
    with store.lock:
        cursor = store.conn.execute(f'SELECT * FROM "{sobject}" WHERE "Id" = ?', (record_id,))
        values = cursor.fetchone()
        return dict(zip([c[0] for c in cursor.description], values, strict=True)) if values else {}


def an_id(store: Store, sobject: str) -> str:
    with store.lock:
        return store.conn.execute(f'SELECT "Id" FROM "{sobject}" WHERE "IsDeleted" = 0 LIMIT 1').fetchone()[0]


def error_of(response) -> dict:
    return response.get_json()["error"]


class Calls:
    """API calls a block of requests cost."""

    def __init__(self, source):
        self.source = source
        self.start = source.api_calls

    @property
    def made(self) -> int:
        return self.source.api_calls - self.start


def new_account(client, **values) -> dict:
    response = client.post("/odata/Account", json={"Name": "Write test", **values})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- create -----------------------------------------------------------------------------------------------


def test_post_creates_with_entity_location_and_etag_for_two_calls(client, source, store):
    calls = Calls(source)
    response = client.post(
        "/odata/Project__c",
        json={
            "Name": "Apollo",
            "Kickoff__c": "2024-01-31T10:30:00+02:00",
            "Start_Date__c": "2024-02-29",
            "Budget__c": "1234.56",
            "Team_Size__c": 7,
            "Is_Billable__c": True,
            "Tags__c": None,
        },
    )
    assert response.status_code == 201, response.get_json()
    assert calls.made == 2  # create + read back
    body = response.get_json()
    record_id = body["Id"]
    url = f"http://localhost/odata/Project__c('{record_id}')"
    assert response.headers["Location"] == url == response.headers["OData-EntityId"]
    assert body["@odata.context"] == "http://localhost/odata/$metadata#Project__c/$entity"
    assert response.headers["ETag"] == body["@odata.etag"] == f'W/"{body["SystemModstamp"]}"'
    stored = row(store, "Project__c", record_id)
    assert stored["Kickoff__c"] == "2024-01-31T08:30:00.000Z"  # offset converted to UTC
    assert stored["Start_Date__c"] == "2024-02-29"
    assert stored["Budget__c"] == 1234.56 and stored["Team_Size__c"] == 7 and stored["Is_Billable__c"] == 1
    assert body["Kickoff__c"] == "2024-01-31T08:30:00.000Z" and body["Budget__c"] == 1234.56


def test_prefer_return_minimal_creates_for_one_call(client, source, store):
    calls = Calls(source)
    response = client.post("/odata/Account", json={"Name": "Minimal"}, headers={"Prefer": "return=minimal"})
    assert response.status_code == 204 and response.data == b""
    assert calls.made == 1
    assert response.headers["Preference-Applied"] == "return=minimal"
    record_id = response.headers["OData-EntityId"].split("'")[1]
    assert row(store, "Account", record_id)["Name"] == "Minimal"


REFUSALS = [
    # (entity set, body, status, error.target, error.code)
    ("Account", {"Name": "x", "Nope__c": 1}, 400, "Nope__c", "InvalidValue"),
    ("Account", {"Name": "x", "Sic": "1234"}, 400, "Sic", "InvalidValue"),  # unpublished
    ("Account", {"Name": "x", "CreatedDate": "2024-01-01T00:00:00Z"}, 400, "CreatedDate", "ReadOnlyProperty"),
    ("Contact", {"LastName": "x", "OwnerId": "005000000000001AAA"}, 400, "OwnerId", "ReadOnlyProperty"),
    ("Account", {"Name": "x", "NumberOfEmployees": 2**31}, 400, "NumberOfEmployees", "InvalidValue"),
    ("Account", {"Name": "x", "NumberOfEmployees": 1.5}, 400, "NumberOfEmployees", "InvalidValue"),
    ("Account", {"Name": "x", "NumberOfEmployees": "5"}, 400, "NumberOfEmployees", "InvalidValue"),
    ("Account", {"Name": None}, 400, "Name", "InvalidValue"),
    ("Account", {"Name": "x" * 256}, 400, "Name", "InvalidValue"),
    ("Account", {"Name": 5}, 400, "Name", "InvalidValue"),
    ("Contact", {"LastName": "x", "Birthdate": "31/01/2024"}, 400, "Birthdate", "InvalidValue"),
    ("Contact", {"LastName": "x", "Birthdate": "2023-02-29"}, 400, "Birthdate", "InvalidValue"),
    ("Contact", {"LastName": "x", "DoNotCall": "true"}, 400, "DoNotCall", "InvalidValue"),
    ("Contact", {"LastName": "x", "DoNotCall": None}, 400, "DoNotCall", "InvalidValue"),
    ("Contact", {"LastName": "x", "AccountId": "not-an-id"}, 400, "AccountId", "InvalidValue"),
    ("Project__c", {"Name": "x", "Kickoff__c": "2024-01-31T10:00:00"}, 400, "Kickoff__c", "InvalidValue"),
    ("Project__c", {"Name": "x", "Budget__c": "1e20"}, 400, "Budget__c", "InvalidValue"),
    ("Project__c", {"Name": "x", "Budget__c": "abc"}, 400, "Budget__c", "InvalidValue"),
    ("Project__c", {"Name": "x", "Status__c": "Sleeping"}, 400, "Status__c", "InvalidValue"),
    ("Contact", {"FirstName": "No last name"}, 400, "LastName", "Required"),
    ("Opportunity", {"Name": "x", "StageName": "Prospecting"}, 400, "CloseDate", "Required"),
    ("User", {"LastName": "x"}, 405, "User", "MethodNotAllowed"),
    ("Case", {"Subject": "x"}, 405, "Case", "MethodNotAllowed"),
]


@pytest.mark.parametrize(("entity_set", "body", "status", "target", "code"), REFUSALS)
def test_bad_creates_are_refused_before_any_call(
    client, source, store, entity_set, body, status, target, code
):
    sobject = entity_set
    before = table(store, sobject)
    calls = Calls(source)
    response = client.post(f"/odata/{entity_set}", json=body)
    assert response.status_code == status, response.get_json()
    error = error_of(response)
    assert (error["target"], error["code"]) == (target, code)
    assert target in error["message"]
    assert calls.made == 0
    assert table(store, sobject) == before


def test_every_problem_is_a_detail(client, source, store):
    before = table(store, "Contact")
    body = {"Nope": 1, "Birthdate": "x", "Email": "a" * 81, "CreatedDate": "2024-01-01"}
    # json.dumps keeps the order (the test client's json= sorts keys); details follow the body's order.
    response = client.post("/odata/Contact", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    error = error_of(response)
    assert error["target"] == "Nope"
    assert [(d["target"], d["code"]) for d in error["details"]] == [
        ("Nope", "InvalidValue"),
        ("Birthdate", "InvalidValue"),
        ("Email", "InvalidValue"),
        ("CreatedDate", "InvalidValue"),  # not an Edm.DateTimeOffset: a type problem comes first
        ("LastName", "Required"),
    ]
    assert table(store, "Contact") == before


@pytest.mark.parametrize(
    ("raw", "message"),
    [(b"", "empty"), (b"{not json", "not valid JSON"), (b"[1, 2]", "JSON object")],
)
def test_malformed_bodies_are_400(client, store, raw, message):
    before = table(store, "Account")
    response = client.post("/odata/Account", data=raw, content_type="application/json")
    assert response.status_code == 400
    assert message in error_of(response)["message"]
    assert table(store, "Account") == before


def test_salesforce_refusals_map_to_400_with_the_salesforce_code(client, source, store):
    before = table(store, "Contact")
    calls = Calls(source)
    response = client.post("/odata/Contact", json={"LastName": "x", "Email": "not an address"})
    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], error["target"]) == ("INVALID_EMAIL_ADDRESS", "Email")
    assert error["details"] == [
        {
            "code": "INVALID_EMAIL_ADDRESS",
            "message": "Email: invalid email address: not an address",
            "target": "Email",
        }
    ]
    missing_account = "001" + "9" * 12 + "AAA"
    response = client.post("/odata/Contact", json={"LastName": "x", "AccountId": missing_account})
    assert response.status_code == 400
    assert (error_of(response)["code"], error_of(response)["target"]) == (
        "INVALID_CROSS_REFERENCE_KEY",
        "AccountId",
    )
    assert calls.made == 2
    assert table(store, "Contact") == before


def test_decimals_as_strings_and_numbers_keep_their_value(client, store):
    body = client.post(
        "/odata/Opportunity",
        json={"Name": "D", "StageName": "Prospecting", "CloseDate": "2024-12-31", "Amount": "0.10"},
        headers={"Content-Type": "application/json;IEEE754Compatible=true"},
    ).get_json()
    assert row(store, "Opportunity", body["Id"])["Amount"] == 0.1
    body = client.post(
        "/odata/Opportunity",
        json={"Name": "D", "StageName": "Prospecting", "CloseDate": "2024-12-31", "Amount": 99999.99},
    ).get_json()
    assert row(store, "Opportunity", body["Id"])["Amount"] == 99999.99


# --- what may be written --------------------------------------------------------------------------------


def test_read_only_gateway_refuses_writes_with_405(source, store, tmp_path):
    (tmp_path / "read_only.toml").write_text('[[entity_set]]\nsobject = "Account"\nfields = ["Name"]\n')
    app = create_app(metadata_path=tmp_path, source=source, environ={}, host="127.0.0.1", embedded=True)
    before = table(store, "Account")
    calls = Calls(source)
    client = app.test_client()
    response = client.post("/odata/Account", json={"Name": "x"})
    assert response.status_code == 405
    assert error_of(response)["code"] == "ReadOnlyGateway"
    assert "read-only" in error_of(response)["message"] and response.headers["Allow"] == "GET"
    record_id = an_id(store, "Account")
    assert client.delete(f"/odata/Account('{record_id}')").status_code == 405
    assert client.patch(f"/odata/Account('{record_id}')", json={"Name": "y"}).status_code == 405
    assert calls.made == 0 and table(store, "Account") == before


def test_methods_a_set_does_not_allow_are_405_with_allow(client, store):
    user = an_id(store, "User")
    response = client.patch(f"/odata/User('{user}')", json={"Title": "x"})
    assert response.status_code == 405 and response.headers["Allow"] == "GET"
    response = client.delete(f"/odata/Case('{an_id(store, 'Case')}')")
    assert response.status_code == 405 and response.headers["Allow"] == "GET"
    response = client.post(f"/odata/Account('{an_id(store, 'Account')}')", json={"Name": "x"})
    assert response.status_code == 405 and response.headers["Allow"] == "GET, PATCH, PUT, DELETE"
    response = client.delete("/odata/Account")
    assert response.status_code == 405 and response.headers["Allow"] == "GET, POST"


def test_allow_is_what_the_publication_allows_for_that_set(client, source, store, tmp_path):
    # POST on an entity: the Allow header names the methods this set's entities really accept.
    (tmp_path / "update_only.toml").write_text(
        '[[entity_set]]\nsobject = "Account"\nfields = ["Name"]\nwritable = ["Name"]\ninsertable = false\n'
    )
    update_only = create_app(
        metadata_path=tmp_path, source=source, environ={}, host="127.0.0.1", embedded=True
    )
    account = an_id(store, "Account")
    response = update_only.test_client().post(f"/odata/Account('{account}')", json={"Name": "x"})
    assert response.status_code == 405 and response.headers["Allow"] == "GET, PATCH, PUT"
    response = update_only.test_client().delete("/odata/Account")
    assert response.status_code == 405 and response.headers["Allow"] == "GET"
    response = client.post(f"/odata/User('{an_id(store, 'User')}')", json={"Title": "x"})
    assert response.status_code == 405 and response.headers["Allow"] == "GET"
    response = client.delete("/odata/User")
    assert response.status_code == 405 and response.headers["Allow"] == "GET"
    response = client.post(f"/odata/Account('{an_id(store, 'Account')}')/Name/$value", data="x")
    assert response.status_code == 405 and response.headers["Allow"] == "GET"
    # The service document and $metadata answer GET only, with an OData error body.
    for path in ("/odata/", "/odata/$metadata"):
        response = client.post(path)
        assert response.status_code == 405 and response.headers["Allow"] == "GET"
        assert error_of(response)["code"] == "MethodNotAllowed"


def test_metadata_declares_what_may_be_written(client):
    xml = client.get("/odata/$metadata").get_data(as_text=True)
    account = xml[
        xml.index('<EntitySet Name="Account"') : xml.index(
            "</EntitySet>", xml.index('<EntitySet Name="Account"')
        )
    ]
    assert '<PropertyValue Property="Deletable" Bool="true"/>' in account
    assert "Core.AlternateKeys" in account and "External_Id__c" in account
    user = xml[
        xml.index('<EntitySet Name="User"') : xml.index("</EntitySet>", xml.index('<EntitySet Name="User"'))
    ]
    assert '<PropertyValue Property="Insertable" Bool="false"/>' in user
    assert '<PropertyValue Property="Updatable" Bool="false"/>' in user


# --- update, replace, delete ------------------------------------------------------------------------------


def test_patch_changes_only_the_fields_sent_for_one_call(client, source, store):
    record_id = new_account(client, Industry="Energy", Phone="123")["Id"]
    before = row(store, "Account", record_id)
    calls = Calls(source)
    response = client.patch(f"/odata/Account('{record_id}')", json={"Phone": "456"})
    assert response.status_code == 204 and response.data == b""
    assert calls.made == 1
    after = row(store, "Account", record_id)
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {"Phone", "LastModifiedDate", "SystemModstamp"}
    assert after["Phone"] == "456" and after["Industry"] == "Energy"


def test_patch_with_return_representation_is_200_with_the_new_etag(client, source, store):
    created = new_account(client)
    calls = Calls(source)
    response = client.patch(
        f"/odata/Account('{created['Id']}')",
        json={"Name": "Renamed"},
        headers={"Prefer": "return=representation"},
    )
    assert response.status_code == 200 and calls.made == 2
    body = response.get_json()
    assert (
        body["Name"] == "Renamed"
        and response.headers["ETag"] == body["@odata.etag"] != created["@odata.etag"]
    )
    assert response.headers["Preference-Applied"] == "return=representation"
    assert row(store, "Account", created["Id"])["Name"] == "Renamed"


def test_put_replaces_unsent_updatable_fields_with_null(client, store):
    record_id = new_account(client, Industry="Energy", Phone="123", NumberOfEmployees=5)["Id"]
    response = client.put(f"/odata/Account('{record_id}')", json={"Name": "Replaced", "Phone": "9"})
    assert response.status_code == 204
    after = row(store, "Account", record_id)
    assert (after["Name"], after["Phone"], after["Industry"], after["NumberOfEmployees"]) == (
        "Replaced",
        "9",
        None,
        None,
    )
    # Name is required: a PUT without it is refused and changes nothing.
    response = client.put(f"/odata/Account('{record_id}')", json={"Phone": "1"})
    assert response.status_code == 400 and error_of(response)["target"] == "Name"
    assert row(store, "Account", record_id) == after


def test_merge_and_tunnelled_methods(client, source, store):
    record_id = new_account(client)["Id"]
    response = client.open(f"/odata/Account('{record_id}')", method="MERGE", json={"Site": "merged"})
    assert response.status_code == 204 and row(store, "Account", record_id)["Site"] == "merged"
    for method in ("PATCH", "MERGE", "PUT"):
        response = client.post(
            f"/odata/Account('{record_id}')", json={"Name": method}, headers={"X-HTTP-Method": method}
        )
        assert response.status_code == 204 and row(store, "Account", record_id)["Name"] == method
    assert row(store, "Account", record_id)["Site"] is None  # the PUT replaced it
    calls = Calls(source)
    response = client.post(f"/odata/Account('{record_id}')", headers={"X-HTTP-Method": "DELETE"})
    assert response.status_code == 204 and calls.made == 1
    assert row(store, "Account", record_id)["IsDeleted"] == 1
    response = client.post("/odata/Account", json={"Name": "x"}, headers={"X-HTTP-Method": "CONNECT"})
    assert response.status_code == 400 and error_of(response)["target"] == "X-HTTP-Method"


def test_delete_then_404(client, source, store):
    record_id = new_account(client)["Id"]
    calls = Calls(source)
    assert client.delete(f"/odata/Account('{record_id}')").status_code == 204
    assert calls.made == 1
    assert row(store, "Account", record_id)["IsDeleted"] == 1
    assert client.get(f"/odata/Account('{record_id}')").status_code == 404
    for response in (
        client.delete(f"/odata/Account('{record_id}')"),
        client.patch(f"/odata/Account('{record_id}')", json={"Name": "x"}),
    ):
        assert response.status_code == 404
        assert error_of(response)["code"] == "ENTITY_IS_DELETED"
    unknown = "001" + "8" * 12 + "AAA"
    response = client.delete(f"/odata/Account('{unknown}')")
    assert response.status_code == 404 and error_of(response)["code"] == "NOT_FOUND"
    assert client.delete("/odata/Account('short')").status_code == 404


# --- UI edits: all fields sent, read-only ones unchanged ---------------------------------------------------


def ui_entity(client, store) -> dict:
    """A demo Account as a UI reads it (every field); demo records have owners, unlike records the local
    org creates (it does not default OwnerId to the user as Salesforce does)."""
    entity = client.get(f"/odata/Account('{an_id(store, 'Account')}')").get_json()
    return {k: v for k, v in entity.items() if not k.startswith("@")}


def test_ui_edit_with_unchanged_read_only_fields_succeeds_for_two_calls(client, source, store):
    entity = ui_entity(client, store)
    entity["Name"] = "Edited in the UI"
    calls = Calls(source)
    response = client.patch(f"/odata/Account('{entity['Id']}')", json=entity)
    assert response.status_code == 204, response.get_json()
    assert calls.made == 2  # read the current record once, then update
    assert row(store, "Account", entity["Id"])["Name"] == "Edited in the UI"


def test_ui_edit_that_changes_a_read_only_field_is_refused(client, source, store):
    entity = ui_entity(client, store)
    before = table(store, "Account")
    entity.update(Name="Changed", CreatedDate="2020-01-01T00:00:00Z")
    calls = Calls(source)
    response = client.patch(f"/odata/Account('{entity['Id']}')", json=entity)
    assert response.status_code == 400
    assert (error_of(response)["target"], error_of(response)["code"]) == ("CreatedDate", "ReadOnlyProperty")
    assert calls.made == 1  # the read; no write
    assert table(store, "Account") == before
    response = client.patch(f"/odata/Account('{entity['Id']}')", json={"Id": "001" + "7" * 12 + "AAA"})
    assert response.status_code == 400 and error_of(response)["target"] == "Id"
    assert table(store, "Account") == before


# --- ETags ----------------------------------------------------------------------------------------------


def test_if_match_current_etag_updates_and_stale_etag_is_412(client, source, store):
    created = new_account(client)
    url = f"/odata/Account('{created['Id']}')"
    calls = Calls(source)
    response = client.patch(url, json={"Name": "v2"}, headers={"If-Match": created["@odata.etag"]})
    assert response.status_code == 204 and calls.made == 2  # read the ETag, update
    before = table(store, "Account")
    for method in ("PATCH", "PUT", "DELETE"):
        kwargs = {} if method == "DELETE" else {"json": {"Name": "v3"}}
        response = client.open(url, method=method, headers={"If-Match": created["@odata.etag"]}, **kwargs)
        assert response.status_code == 412, method
        assert error_of(response)["code"] == "PreconditionFailed"
        assert response.headers["ETag"] == client.get(url).headers["ETag"]
    assert table(store, "Account") == before
    calls = Calls(source)
    assert client.patch(url, json={"Name": "v4"}, headers={"If-Match": "*"}).status_code == 204
    assert calls.made == 1  # '*' only needs the entity to exist, which the update itself checks
    current = client.get(url).headers["ETag"]
    assert client.delete(url, headers={"If-Match": f'"x", {current}'}).status_code == 204
    assert row(store, "Account", created["Id"])["IsDeleted"] == 1


def test_if_none_match_on_get_is_304_when_unchanged(client, source):
    created = new_account(client)
    url = f"/odata/Account('{created['Id']}')"
    response = client.get(url, headers={"If-None-Match": created["@odata.etag"]})
    assert response.status_code == 304 and response.data == b""
    assert response.headers["ETag"] == created["@odata.etag"]
    client.patch(url, json={"Name": "changed"})
    response = client.get(url, headers={"If-None-Match": created["@odata.etag"]})
    assert response.status_code == 200 and response.get_json()["Name"] == "changed"
    assert client.get(url, headers={"If-None-Match": "*"}).status_code == 304


# --- upsert by external ID ----------------------------------------------------------------------------------


def test_upsert_by_external_id_creates_once_then_updates_one_call_each(client, source, store):
    url = "/odata/Account(External_Id__c='UPSERT-1')"
    calls = Calls(source)
    response = client.patch(url, json={"Name": "First"}, headers={"Prefer": "return=minimal"})
    assert response.status_code == 204 and calls.made == 1
    record_id = response.headers["Location"].split("'")[1]
    for name in ("Second", "Third"):  # a retried write never duplicates
        calls = Calls(source)
        response = client.patch(url, json={"Name": name})
        assert response.status_code == 204 and calls.made == 1
    with store.lock:
        rows = store.conn.execute("SELECT Id, Name FROM Account WHERE External_Id__c = 'UPSERT-1'").fetchall()
    assert rows == [(record_id, "Third")]
    response = client.put("/odata/Account(External_Id__c='UPSERT-2')", json={"Name": "Made by PUT"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["External_Id__c"] == "UPSERT-2" and response.headers["ETag"] == body["@odata.etag"]
    response = client.patch(
        "/odata/Account(External_Id__c='UPSERT-2')",
        json={"Phone": "77"},
        headers={"Prefer": "return=representation"},
    )
    assert response.status_code == 200 and response.get_json()["Phone"] == "77"


def test_upsert_refusals_change_nothing(client, source, store):
    before = table(store, "Account")
    calls = Calls(source)
    response = client.patch(
        "/odata/Account(External_Id__c='UPSERT-X')", json={"Name": "x", "External_Id__c": "Y"}
    )
    assert response.status_code == 400 and error_of(response)["target"] == "External_Id__c"
    response = client.patch("/odata/Account(Name='x')", json={"Name": "x"})
    assert response.status_code == 400 and error_of(response)["target"] == "Name"
    assert calls.made == 0
    response = client.patch(
        "/odata/Account(External_Id__c='UPSERT-NONE')", json={"Name": "x"}, headers={"If-Match": "*"}
    )
    assert response.status_code == 412  # If-Match: it must exist, so no create
    assert table(store, "Account") == before


def test_delete_by_external_id(client, source, store):
    record_id = (
        client.patch(
            "/odata/Project__c(Project_Code__c='DEL-1')",
            json={"Name": "Doomed"},
            headers={"Prefer": "return=minimal"},
        )
        .headers["Location"]
        .split("'")[1]
    )
    calls = Calls(source)
    assert client.delete("/odata/Project__c(Project_Code__c='DEL-1')").status_code == 204
    assert calls.made == 2  # find the Id, delete
    assert row(store, "Project__c", record_id)["IsDeleted"] == 1
    assert client.delete("/odata/Project__c(Project_Code__c='DEL-1')").status_code == 404


# --- lookups and related entities ---------------------------------------------------------------------------


def test_odata_bind_sets_the_lookup(client, store):
    account = new_account(client)["Id"]
    response = client.post(
        "/odata/Contact",
        json={"LastName": "Bound", "Account@odata.bind": f"http://localhost/odata/Account('{account}')"},
    )
    assert response.status_code == 201
    assert row(store, "Contact", response.get_json()["Id"])["AccountId"] == account
    other = new_account(client)["Id"]
    contact = response.get_json()["Id"]
    response = client.patch(
        f"/odata/Contact('{contact}')", json={"Account@odata.bind": f"Account('{other}')"}
    )
    assert response.status_code == 204 and row(store, "Contact", contact)["AccountId"] == other


def test_unsupported_related_writes_are_501_and_change_nothing(client, source, store):
    before = (table(store, "Account"), table(store, "Contact"))
    calls = Calls(source)
    deep = client.post("/odata/Account", json={"Name": "Deep", "Contacts": [{"LastName": "x"}]})
    assert deep.status_code == 501 and error_of(deep)["target"] == "Contacts"
    assert "Deep insert" in error_of(deep)["message"]
    by_alternate = client.post(
        "/odata/Contact", json={"LastName": "x", "Account@odata.bind": "Account(External_Id__c='A')"}
    )
    assert by_alternate.status_code == 501
    wrong_set = client.post(
        "/odata/Contact", json={"LastName": "x", "Account@odata.bind": "Contact('003000000000001AAA')"}
    )
    assert wrong_set.status_code == 400 and error_of(wrong_set)["target"] == "Account"
    collection = client.post(
        "/odata/Account", json={"Name": "x", "Contacts@odata.bind": ["Contact('003000000000001AAA')"]}
    )
    assert collection.status_code == 501
    assert calls.made == 0
    assert (table(store, "Account"), table(store, "Contact")) == before


def test_a_write_to_a_member_other_than_a_post_to_a_collection_is_501_on_both_faces(client, source, store):
    """One rule (``operations.child_navigation``) for both faces: only POST Set('id')/<collection> writes
    to a member of an entity; anything else is 501 naming the member, with no call and nothing written."""
    account = new_account(client)["Id"]
    before = (table(store, "Account"), table(store, "Contact"))
    calls = Calls(source)
    for prefix in ("/odata", "/odata/v2"):
        for method, member in (
            ("PATCH", "Name"),
            ("POST", "Owner"),
            ("DELETE", "Contacts"),
            ("PUT", "Contacts"),
        ):
            response = client.open(
                f"{prefix}/Account('{account}')/{member}",
                method=method,
                json={"LastName": "x"},
                headers={"Accept": "application/json"},
            )
            assert response.status_code == 501, (prefix, method, member, response.get_data(as_text=True))
            assert b"$ref" in response.data and member.encode() in response.data
    assert calls.made == 0
    assert (table(store, "Account"), table(store, "Contact")) == before


def test_post_to_a_navigation_collection_creates_a_linked_child(client, store):
    account = new_account(client)["Id"]
    response = client.post(f"/odata/Account('{account}')/Contacts", json={"LastName": "Child"})
    assert response.status_code == 201
    assert row(store, "Contact", response.get_json()["Id"])["AccountId"] == account
    before = table(store, "Contact")
    other = new_account(client)["Id"]
    response = client.post(
        f"/odata/Account('{account}')/Contacts", json={"LastName": "x", "AccountId": other}
    )
    assert response.status_code == 400 and error_of(response)["target"] == "AccountId"
    assert table(store, "Contact") == before


# --- what Salesforce Connect sends -------------------------------------------------------------------------


def test_gzip_request_bodies_are_accepted(client, store):
    data = gzip.compress(json.dumps({"Name": "Compressed"}).encode())
    response = client.post(
        "/odata/Account", data=data, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
    )
    assert response.status_code == 201
    assert row(store, "Account", response.get_json()["Id"])["Name"] == "Compressed"
    before = table(store, "Account")
    response = client.post(
        "/odata/Account",
        data=b"not gzip",
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and "decompressed" in error_of(response)["message"]
    response = client.post("/odata/Account", data=b"{}", headers={"Content-Encoding": "br"})
    assert response.status_code == 415
    assert table(store, "Account") == before


def test_csrf_token_exchange(source, store):
    app = create_app(source=source, environ={"GATEWAY_CSRF": "on"}, host="127.0.0.1", embedded=True)
    client = app.test_client()
    before = table(store, "Account")
    calls = Calls(source)
    refused = client.post("/odata/Account", json={"Name": "x"})
    assert refused.status_code == 403 and refused.headers["X-CSRF-Token"] == "Required"
    assert "X-CSRF-Token: Fetch" in error_of(refused)["message"]
    forged = client.post("/odata/Account", json={"Name": "x"}, headers={"X-CSRF-Token": "9999999999.abc"})
    assert forged.status_code == 403
    tunnelled = client.post(
        f"/odata/Account('{an_id(store, 'Account')}')", headers={"X-HTTP-Method": "DELETE"}
    )
    assert tunnelled.status_code == 403
    assert calls.made == 0 and table(store, "Account") == before
    token = client.get("/odata/", headers={"X-CSRF-Token": "Fetch"}).headers["X-CSRF-Token"]
    assert "X-CSRF-Token" not in client.get("/odata/").headers
    response = client.post("/odata/Account", json={"Name": "With token"}, headers={"X-CSRF-Token": token})
    assert response.status_code == 201
    assert row(store, "Account", response.get_json()["Id"])["Name"] == "With token"


# --- a failing source --------------------------------------------------------------------------------------


class TimingOutWrites:
    """A source whose writes time out, as SourceConnection reports a timeout."""

    def __init__(self, inner: SourceConnection):
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def update(self, *args, **kwargs):
        raise SourceTimeout(504, "TIMEOUT", "Read timed out")

    create = upsert = delete = update


def test_source_timeout_on_a_write_is_504_and_nothing_changes(source, store):
    app = create_app(source=TimingOutWrites(source), environ={}, host="127.0.0.1", embedded=True)
    client = app.test_client()
    before = table(store, "Account")
    record_id = an_id(store, "Account")
    for response in (
        client.post("/odata/Account", json={"Name": "x"}),
        client.patch(f"/odata/Account('{record_id}')", json={"Name": "x"}),
        client.delete(f"/odata/Account('{record_id}')"),
    ):
        assert response.status_code == 504
        assert error_of(response)["code"] == "SourceTimeout"
    assert table(store, "Account") == before


def test_expired_session_is_renewed_once_during_a_write():
    store = Store(load_schema(DEMO_SCHEMA_PATH))
    load_demo(store, accounts=5)
    now = [1_700_000_000.0]
    config = LocalOrgConfig(clock=lambda: now[0], token_lifetime=60)
    source = SourceConnection.in_process(
        create_localorg_app(config, store),
        username=config.username,
        password=config.password,
        client_id=config.client_id,
        client_secret=config.client_secret,
    )
    app = create_app(source=source, environ={}, host="127.0.0.1", embedded=True)
    now[0] += 61  # the session the gateway started with has expired
    calls = Calls(source)
    response = app.test_client().post(
        "/odata/Account", json={"Name": "After renewal"}, headers={"Prefer": "return=minimal"}
    )
    assert response.status_code == 204
    assert calls.made == 2  # refused once (401), renewed, created
    record_id = response.headers["Location"].split("'")[1]
    assert row(store, "Account", record_id)["Name"] == "After renewal"


# --- round trips on every writable demo set -------------------------------------------------------------

ROUND_TRIPS = {
    "Account": ({"Name": "Round trip", "Industry": "Energy"}, {"Name": "Round trip 2"}),
    "Contact": ({"LastName": "Trip", "Birthdate": "1990-05-17"}, {"Title": "Chief Traveller"}),
    "Opportunity": (
        {"Name": "Trip", "StageName": "Prospecting", "CloseDate": "2025-01-31", "Amount": 10.5},
        {"StageName": "Closed Won", "Amount": "2000.25"},
    ),
    "Project__c": (
        {"Name": "Trip", "Kickoff__c": "2024-06-01T09:00:00-05:00", "Tags__c": None},
        {"Allocation__c": 12.5, "True_Up__c": True},
    ),
}


@pytest.mark.parametrize("entity_set", sorted(ROUND_TRIPS))
def test_round_trip(client, source, store, entity_set):
    create, update = ROUND_TRIPS[entity_set]
    calls = Calls(source)
    created = client.post(f"/odata/{entity_set}", json=create)
    assert created.status_code == 201, created.get_json()
    record_id = created.get_json()["Id"]
    read = client.get(f"/odata/{entity_set}('{record_id}')").get_json()
    for name, value in create.items():
        stored = read[name]
        if name == "Kickoff__c":
            value = "2024-06-01T14:00:00.000Z"
        assert stored == value, name
    assert client.patch(f"/odata/{entity_set}('{record_id}')", json=update).status_code == 204
    read = client.get(f"/odata/{entity_set}('{record_id}')").get_json()
    for name, value in update.items():
        assert str(read[name]) == str(value), name
    assert client.delete(f"/odata/{entity_set}('{record_id}')").status_code == 204
    assert client.get(f"/odata/{entity_set}('{record_id}')").status_code == 404
    assert row(store, entity_set, record_id)["IsDeleted"] == 1
    assert calls.made == 2 + 1 + 1 + 1 + 1 + 1  # create+read back, read, update, read, delete, read


# --- python-odata, a real OData V4 client ------------------------------------------------------------------


def test_python_odata_creates_saves_and_deletes(demo, source, store):
    """python-odata sends every property on create (read-only ones as null) and the changed ones on save."""
    import requests
    from odata import ODataService

    from gateway.source.wsgi_transport import WsgiAdapter

    app = demo[0]
    session = requests.Session()
    session.mount("http://gateway.test/", WsgiAdapter(app))
    service = ODataService("http://gateway.test/odata/", reflect_entities=True, session=session)
    Contact = service.entities["Contact"]
    contact = Contact()
    contact.LastName = "Client"
    contact.Title = "Made by python-odata"
    # python-odata sends null for every property not set, also for Nullable="false" checkboxes, which the
    # gateway refuses (400); a python-odata user sets them.
    contact.DoNotCall = contact.HasOptedOutOfEmail = False
    calls = Calls(source)
    service.save(contact)
    assert calls.made == 2  # create + read back (python-odata reads the entity from the 201)
    stored = row(store, "Contact", contact.Id)
    assert (stored["LastName"], stored["Title"]) == ("Client", "Made by python-odata")
    contact.Title = "Changed"
    calls = Calls(source)
    service.save(contact)
    # the PATCH (one call), then python-odata reads the entity again itself (one call)
    assert calls.made == 2 and row(store, "Contact", contact.Id)["Title"] == "Changed"
    service.delete(contact)
    assert row(store, "Contact", contact.Id)["IsDeleted"] == 1
