"""Issue 8, item 4: responses that say the truth — $count with $top=0, 204 without a Content-Type, HEAD
wherever GET works, ABNF-invalid paths and options as 400, alternate keys (odd characters in nextLinks,
'.' and '..', several matches), and a write the source applied never reported as failed."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from gateway.app import create_app
from gateway.source.connection import SourceError
from gateway.source.embedded import embedded_source
from tests.support import embedded_gateway


@pytest.fixture()
def gateway():
    app, source, store = embedded_gateway(5)
    return app.test_client(), source, store


def rows(store, sql: str, *params) -> list[tuple]:
    with store.lock:
        return store.conn.execute(sql, params).fetchall()


def test_count_with_top_zero_answers_the_count(gateway):
    client, source, store = gateway
    (expected,) = rows(store, 'SELECT COUNT(*) FROM "Account" WHERE "IsDeleted" = 0')[0]
    body = client.get("/odata/Account?$count=true&$top=0").get_json()
    assert (body["@odata.count"], body["value"]) == (expected, [])
    assert "@odata.nextLink" not in body


def test_no_content_responses_carry_no_content_type(gateway):
    client, source, store = gateway
    (account_id,) = rows(store, 'SELECT "Id" FROM "Account" LIMIT 1')[0]
    for response in (
        client.patch(f"/odata/Account('{account_id}')", json={"Name": "Renamed"}),
        client.post("/odata/Account", json={"Name": "Minimal"}, headers={"Prefer": "return=minimal"}),
        client.delete(f"/odata/Account('{account_id}')"),
    ):
        assert response.status_code == 204
        assert "Content-Type" not in response.headers


@pytest.mark.parametrize(
    "path", ["/odata/", "/odata/$metadata", "/odata/Account?$top=2", "/odata/Account/$count"]
)
def test_head_works_wherever_get_does(gateway, path):
    client, source, store = gateway
    get, head = client.get(path), client.head(path)
    assert head.status_code == get.status_code == 200
    assert head.data == b""
    assert head.headers["Content-Type"] == get.headers["Content-Type"]


def test_head_of_an_entity_and_of_a_missing_one(gateway):
    client, source, store = gateway
    (account_id,) = rows(store, 'SELECT "Id" FROM "Account" LIMIT 1')[0]
    assert client.head(f"/odata/Account('{account_id}')").status_code == 200
    assert client.head("/odata/Account('001000000000zzz')").status_code == 404


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/odata/Account/$count/foo", 400),
        ("/odata/Account/$value/x", 400),
        ("/odata/Account?$expand=Parent($levels=04)", 400),
        ("/odata/Account?$expand=Parent($levels=4)", 501),
        ("/odata/Account?$filter=Contacts/$count gt 1", 501),
    ],
)
def test_abnf_invalid_is_400_and_valid_but_unimplemented_is_501(gateway, path, status):
    client, source, store = gateway
    response = client.get(path)
    assert response.status_code == status
    assert response.get_json()["error"]["message"]


@pytest.mark.parametrize("key", [".", ".."])
def test_dot_alternate_keys_are_400_without_a_call(gateway, key):
    client, source, store = gateway
    calls = source.api_calls
    for method in ("GET", "PATCH", "DELETE"):
        response = client.open(f"/odata/Account(External_Id__c='{key}')", method=method, json={"Name": "x"})
        assert response.status_code == 400, method
    assert source.api_calls == calls


def test_next_link_through_an_alternate_key_with_odd_characters_pages(gateway):
    client, source, store = gateway
    key = "Ex t'é 1&x=%"
    (account_id,) = rows(
        store, 'SELECT "AccountId" FROM "Contact" GROUP BY "AccountId" HAVING COUNT(*) >= 3 LIMIT 1'
    )[0]
    with store.lock:
        store.conn.execute('UPDATE "Account" SET "External_Id__c" = ? WHERE "Id" = ?', (key, account_id))
    expected = [
        r[0]
        for r in rows(
            store, 'SELECT "Id" FROM "Contact" WHERE "AccountId" = ? AND "IsDeleted" = 0', account_id
        )
    ]
    literal = key.replace("'", "''")
    url = f"/odata/Account(External_Id__c='{literal}')/Contacts?$select=Id"
    seen: list[str] = []
    while url:
        response = client.get(url, headers={"Prefer": "odata.maxpagesize=1"})
        assert response.status_code == 200, (url, response.get_json())
        body = response.get_json()
        seen += [r["Id"] for r in body["value"]]
        link = body.get("@odata.nextLink")
        url = (urlsplit(link).path + "?" + urlsplit(link).query) if link else None
    assert sorted(seen) == sorted(expected)


def test_get_by_an_alternate_key_matching_several_records_is_409(gateway):
    client, source, store = gateway
    with store.lock:  # two records share a value the source does not keep unique
        store.conn.execute(
            'UPDATE "Account" SET "External_Id__c" = ? WHERE "Id" IN (SELECT "Id" FROM "Account" LIMIT 2)',
            ("SHARED",),
        )
    for url in ("/odata/Account(External_Id__c='SHARED')", "/odata/Account(External_Id__c='SHARED')/Name"):
        response = client.get(url)
        assert response.status_code == 409, url
        assert response.get_json()["error"]["code"] == "MULTIPLE_CHOICES"


class FailingReads:
    """The live source, except that queries fail once ``broken`` is set (the read back after a write)."""

    def __init__(self, live):
        self.live = live
        self.broken = False

    def __getattr__(self, name):
        return getattr(self.live, name)

    def query(self, soql, batch_size=None):
        if self.broken:
            raise SourceError(503, "SERVER_UNAVAILABLE", "the org is busy")
        return self.live.query(soql, batch_size)


def test_a_write_the_source_applied_is_not_reported_as_failed_when_the_read_back_fails():
    live, store = embedded_source(2)
    source = FailingReads(live)
    client = create_app(source=source, environ={}, host="127.0.0.1", embedded=True).test_client()
    source.broken = True

    created = client.post("/odata/Account", json={"Name": "Kept"})
    assert created.status_code == 204
    new_id = created.headers["OData-EntityId"].rsplit("'", 2)[-2]
    assert created.headers["Location"] == created.headers["OData-EntityId"]
    assert rows(store, 'SELECT "Name" FROM "Account" WHERE "Id" = ?', new_id) == [("Kept",)]

    upserted = client.patch("/odata/Account(External_Id__c='UP-1')", json={"Name": "Upserted"})
    assert upserted.status_code in (201, 204)
    assert rows(store, 'SELECT "Name" FROM "Account" WHERE "External_Id__c" = ?', "UP-1") == [("Upserted",)]

    updated = client.patch(
        f"/odata/Account('{new_id}')", json={"Name": "Again"}, headers={"Prefer": "return=representation"}
    )
    assert updated.status_code == 204
    assert rows(store, 'SELECT "Name" FROM "Account" WHERE "Id" = ?', new_id) == [("Again",)]


def test_a_v2_create_the_source_applied_is_not_reported_as_failed_when_the_read_back_fails():
    live, store = embedded_source(2)
    source = FailingReads(live)
    client = create_app(source=source, environ={}, host="127.0.0.1", embedded=True).test_client()
    source.broken = True

    created = client.post(
        "/odata/v2/Account", json={"Name": "Kept in V2"}, headers={"Accept": "application/json"}
    )
    assert created.status_code == 204
    new_id = created.headers["Location"].rsplit("'", 2)[-2]
    assert created.headers["Location"].endswith(f"/odata/v2/Account('{new_id}')")
    assert rows(store, 'SELECT "Name" FROM "Account" WHERE "Id" = ?', new_id) == [("Kept in V2",)]
