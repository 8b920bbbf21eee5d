"""Writes through the V2 face with JSON verbose and Atom bodies, over raw HTTP (in-process WSGI).

Each test checks what the local org holds afterwards (its store, read directly), the status and shape of
the answer, and the API calls spent on the gateway's source. A refused write leaves the table unchanged.
"""

from __future__ import annotations

import gzip
import json

import pytest
from lxml import etree

from gateway.app import create_app
from gateway.odata.v2.xmlwriter import ATOM_NS, D_NS, M_NS
from gateway.source.embedded import embedded_source

NS = {"a": ATOM_NS, "m": M_NS, "d": D_NS}
JSON = {"Accept": "application/json", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def org():
    """(app, source, store): the gateway on a demo org of 30 Accounts."""
    demo_source, store = embedded_source(30)
    return create_app(source=demo_source, environ={}, host="127.0.0.1", embedded=True), demo_source, store


@pytest.fixture()
def client(org):
    return org[0].test_client()


@pytest.fixture()
def source(org):
    return org[1]


@pytest.fixture()
def store(org):
    return org[2]


def table(store, sobject: str) -> list[tuple]:
    with store.lock:
        return store.conn.execute(f'SELECT * FROM "{sobject}" ORDER BY "Id"').fetchall()


def stored(store, sobject: str, record_id: str) -> dict:
    with store.lock:
        cursor = store.conn.execute(f'SELECT * FROM "{sobject}" WHERE "Id" = ?', (record_id,))
        values = cursor.fetchone()
        return dict(zip([c[0] for c in cursor.description], values, strict=True)) if values else {}


def atom_entry(properties: str, links: str = "") -> str:
    return (
        f'<entry xmlns="{ATOM_NS}" xmlns:m="{M_NS}" xmlns:d="{D_NS}">{links}'
        f'<content type="application/xml"><m:properties>{properties}</m:properties></content></entry>'
    )


def create_account(client, name: str = "Base Co") -> str:
    response = client.post("/odata/v2/Account", json={"Name": name}, headers=JSON)
    assert response.status_code == 201
    return response.get_json()["d"]["Id"]


# --- create ---------------------------------------------------------------------------------------------


def test_json_create_is_201_with_location_etag_and_entry_for_two_calls(client, source, store):
    before = source.api_calls
    response = client.post(
        "/odata/v2/Account",
        json={
            "__metadata": {"type": "Salesforce.Account"},
            "Name": "V2 Json",
            "AnnualRevenue": "2500000",
            "NumberOfEmployees": 42,
        },
        headers=JSON,
    )
    assert response.status_code == 201 and source.api_calls - before == 2
    entry = response.get_json()["d"]
    assert response.headers["Location"] == entry["__metadata"]["uri"]
    assert response.headers["ETag"] == entry["__metadata"]["etag"]
    assert response.headers["DataServiceVersion"] == "2.0"
    assert entry["AnnualRevenue"] == "2500000.0" or entry["AnnualRevenue"].startswith("2500000")
    row = stored(store, "Account", entry["Id"])
    assert (row["Name"], row["NumberOfEmployees"]) == ("V2 Json", 42)


def test_atom_create_answers_in_atom_with_typed_values_and_nulls(client, store):
    body = atom_entry(
        '<d:LastName>Atomson</d:LastName><d:Birthdate m:type="Edm.DateTime">1990-05-01T00:00:00</d:Birthdate>'
        '<d:DoNotCall m:type="Edm.Boolean">true</d:DoNotCall><d:Phone m:null="true"/>'
    )
    response = client.post("/odata/v2/Contact", data=body, content_type="application/atom+xml")
    assert response.status_code == 201
    assert response.headers["Content-Type"].startswith("application/atom+xml;type=entry")
    entry = etree.fromstring(response.data)
    record_id = entry.findtext("a:content/m:properties/d:Id", namespaces=NS)
    assert response.headers["Location"].endswith(f"Contact('{record_id}')")
    row = stored(store, "Contact", record_id)
    assert (row["LastName"], row["Birthdate"], row["DoNotCall"], row["Phone"]) == (
        "Atomson",
        "1990-05-01",
        1,
        None,
    )


def test_links_set_lookups_in_json_and_atom(client, store):
    account_id = create_account(client, "Parent Co")
    uri = f"http://localhost/odata/v2/Account('{account_id}')"
    as_json = client.post(
        "/odata/v2/Contact",
        json={"LastName": "Linked", "Account": {"__metadata": {"uri": uri}}},
        headers=JSON,
    )
    assert as_json.status_code == 201
    assert stored(store, "Contact", as_json.get_json()["d"]["Id"])["AccountId"] == account_id
    link = (
        '<link rel="http://schemas.microsoft.com/ado/2007/08/dataservices/related/Account" '
        f'type="application/atom+xml;type=entry" href="Account(\'{account_id}\')"/>'
    )
    as_atom = client.post(
        "/odata/v2/Contact?$format=json",
        data=atom_entry("<d:LastName>Linked2</d:LastName>", link),
        content_type="application/atom+xml",
    )
    assert as_atom.status_code == 201
    assert stored(store, "Contact", as_atom.get_json()["d"]["Id"])["AccountId"] == account_id


def test_post_to_navigation_creates_a_child(client, store):
    account_id = create_account(client, "Family Co")
    response = client.post(
        f"/odata/v2/Account('{account_id}')/Contacts", json={"LastName": "Kid"}, headers=JSON
    )
    assert response.status_code == 201
    assert stored(store, "Contact", response.get_json()["d"]["Id"])["AccountId"] == account_id


def test_prefer_minimal_is_204_with_location_for_one_call(client, source):
    before = source.api_calls
    response = client.post(
        "/odata/v2/Account", json={"Name": "Minimal"}, headers={**JSON, "Prefer": "return=minimal"}
    )
    assert response.status_code == 204 and "Account('" in response.headers["Location"]
    assert source.api_calls - before == 1


# --- update, replace, delete ----------------------------------------------------------------------------


def test_merge_patch_and_tunnelled_merge_change_only_what_was_sent(client, source, store):
    record_id = create_account(client)
    client.post(
        f"/odata/v2/Account('{record_id}')", json={"Phone": "555"}, headers={**JSON, "X-HTTP-Method": "MERGE"}
    )
    before = source.api_calls
    response = client.open(
        f"/odata/v2/Account('{record_id}')", method="MERGE", json={"Name": "Merged"}, headers=JSON
    )
    assert response.status_code == 204 and source.api_calls - before == 1
    response = client.patch(f"/odata/v2/Account('{record_id}')", json={"Industry": "Energy"}, headers=JSON)
    assert response.status_code == 204
    row = stored(store, "Account", record_id)
    assert (row["Name"], row["Phone"], row["Industry"]) == ("Merged", "555", "Energy")


def test_put_clears_what_was_not_sent_with_atom_too(client, store):
    record_id = create_account(client)
    client.patch(
        f"/odata/v2/Account('{record_id}')", json={"Phone": "555", "Industry": "Energy"}, headers=JSON
    )
    response = client.put(
        f"/odata/v2/Account('{record_id}')",
        data=atom_entry("<d:Name>Replaced</d:Name>"),
        content_type="application/atom+xml",
    )
    assert response.status_code == 204
    row = stored(store, "Account", record_id)
    assert (row["Name"], row["Phone"], row["Industry"]) == ("Replaced", None, None)


def test_if_match_with_the_read_etag_then_stale_is_412(client, store):
    record_id = create_account(client)
    etag = client.get(f"/odata/v2/Account('{record_id}')?$format=json").headers["ETag"]
    ok = client.open(
        f"/odata/v2/Account('{record_id}')",
        method="MERGE",
        json={"Name": "Fresh"},
        headers={**JSON, "If-Match": etag},
    )
    assert ok.status_code == 204
    stale = client.open(
        f"/odata/v2/Account('{record_id}')",
        method="MERGE",
        json={"Name": "Stale"},
        headers={**JSON, "If-Match": etag},
    )
    assert stale.status_code == 412 and stale.get_json()["error"]["code"] == "PreconditionFailed"
    assert stored(store, "Account", record_id)["Name"] == "Fresh"
    gone = client.delete(f"/odata/v2/Account('{record_id}')", headers={"If-Match": etag})
    assert gone.status_code == 412 and stored(store, "Account", record_id)["IsDeleted"] == 0


def test_delete_and_tunnelled_delete(client, store):
    first, second = create_account(client), create_account(client)
    assert client.delete(f"/odata/v2/Account('{first}')").status_code == 204
    assert (
        client.post(f"/odata/v2/Account('{second}')", headers={"X-HTTP-Method": "DELETE"}).status_code == 204
    )
    assert (
        stored(store, "Account", first)["IsDeleted"] == 1
        and stored(store, "Account", second)["IsDeleted"] == 1
    )
    assert client.get(f"/odata/v2/Account('{first}')").status_code == 404


def test_upsert_by_external_id_creates_then_updates(client, store):
    url = "/odata/v2/Account(External_Id__c='V2-EXT-1')"
    created = client.put(url, json={"Name": "Upserted"}, headers=JSON)
    assert created.status_code == 201
    record_id = created.get_json()["d"]["Id"]
    again = client.open(url, method="MERGE", json={"Name": "Upserted again"}, headers=JSON)
    assert again.status_code == 204
    assert stored(store, "Account", record_id)["Name"] == "Upserted again"
    assert sum(1 for r in table(store, "Account") if "V2-EXT-1" in r) == 1


# --- refusals change nothing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sobject", "body", "content_type", "status", "fragment"),
    [
        ("Account", b"", "application/json", 400, "empty"),
        ("Account", b"[1]", "application/json", 400, "JSON object"),
        ("Account", b"{nope", "application/json", 400, "not valid JSON"),
        ("Account", b"<entry", "application/atom+xml", 400, "well-formed"),
        ("Account", b"<feed xmlns='http://www.w3.org/2005/Atom'/>", "application/atom+xml", 400, "<entry>"),
        ("Account", b'<!DOCTYPE x [<!ENTITY a "b">]><entry/>', "application/atom+xml", 400, "DOCTYPE"),
        ("Account", b"Name=x", "application/x-www-form-urlencoded", 415, "Content-Type"),
        ("Account", json.dumps({"Name": "X", "Secret__c": 1}).encode(), "application/json", 400, "Secret__c"),
        ("Account", json.dumps({"NumberOfEmployees": "many"}).encode(), "application/json", 400, ""),
        (
            "Contact",
            json.dumps({"LastName": "X", "Birthdate": "/Date(1)/"}).encode(),
            "application/json",
            400,
            "midnight",
        ),
        (
            "Contact",
            json.dumps({"LastName": "X", "Birthdate": "/Date(0+0060)/"}).encode(),
            "application/json",
            400,
            "Edm.DateTime",
        ),
        (
            "Contact",
            json.dumps({"LastName": "X", "Account": {"Name": "deep"}}).encode(),
            "application/json",
            501,
            "Deep insert",
        ),
        ("User", json.dumps({"LastName": "X"}).encode(), "application/json", 405, ""),
    ],
)
def test_refused_creates_write_nothing_and_cost_no_call(
    client, source, store, sobject, body, content_type, status, fragment
):
    before_rows, before_calls = table(store, sobject), source.api_calls
    response = client.post(
        f"/odata/v2/{sobject}", data=body, content_type=content_type, headers={"Accept": "application/json"}
    )
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert fragment in error["message"]["value"] + json.dumps(error.get("innererror", {}))
    assert table(store, sobject) == before_rows and source.api_calls == before_calls


def test_methods_not_allowed_are_405_with_allow(client, store):
    response = client.delete("/odata/v2/Account", headers={"Accept": "application/json"})
    assert response.status_code == 405 and "POST" in response.headers["Allow"]
    record_id = create_account(client)
    response = client.post(f"/odata/v2/Account('{record_id}')", json={"Name": "x"}, headers=JSON)
    assert response.status_code == 405 and "MERGE" in response.get_json()["error"]["message"]["value"]


def test_gzip_bodies_and_csrf_tokens():
    demo_source, store = embedded_source(10)
    app = create_app(source=demo_source, environ={"GATEWAY_CSRF": "on"}, host="127.0.0.1", embedded=True)
    client = app.test_client()
    body = gzip.compress(json.dumps({"Name": "Zipped"}).encode())
    headers = {**JSON, "Content-Encoding": "gzip"}
    refused = client.post("/odata/v2/Account", data=body, headers=headers)
    assert refused.status_code == 403 and refused.headers["DataServiceVersion"] == "2.0"
    token = client.get("/odata/v2/", headers={"X-CSRF-Token": "Fetch"}).headers["X-CSRF-Token"]
    created = client.post("/odata/v2/Account", data=body, headers={**headers, "X-CSRF-Token": token})
    assert created.status_code == 201
    assert stored(store, "Account", created.get_json()["d"]["Id"])["Name"] == "Zipped"
