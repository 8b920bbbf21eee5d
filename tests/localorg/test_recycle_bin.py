"""The local org's change-tracking facts, as Salesforce has them: ``SystemModstamp`` rises on every write
(deletes and composite calls included), ``queryAll`` shows deleted records with ``IsDeleted = true`` while
they sit in the recycle bin, and after ``recycle_days`` of the store's clock they are purged for good."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest

from gateway.localorg.api import create_app
from gateway.localorg.config import LocalOrgConfig
from gateway.localorg.store import DEFAULT_RECYCLE_DAYS, Store
from tests.localorg.test_store import Clock

V = "/services/data/v59.0"
AUTH = {"Authorization": "Bearer T"}
T0 = dt.datetime(2024, 3, 1, 12, 0, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def store(schema, clock) -> Store:
    return Store(schema, now=clock)


@pytest.fixture
def client(store):
    return create_app(LocalOrgConfig(token="T"), store).test_client()


def soql(client, text: str, resource: str = "queryAll") -> dict:
    response = client.get(f"{V}/{resource}/?q={quote(text)}", headers=AUTH)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def states(client) -> dict[str, tuple[str, bool]]:
    """Id → (SystemModstamp, IsDeleted) of every Account queryAll returns."""
    body = soql(client, "SELECT Id, SystemModstamp, IsDeleted FROM Account")
    return {r["Id"]: (r["SystemModstamp"], r["IsDeleted"]) for r in body["records"]}


def test_every_kind_of_write_moves_system_modstamp_up(client, clock):
    """Create, update, upsert (both ways), delete, sObject Collections and Composite: each write leaves the
    record with a SystemModstamp above every stamp before it, also when the clock stands still."""
    stamps: list[str] = []

    def stamp_of(record_id: str) -> str:
        value = states(client)[record_id][0]
        assert not stamps or value > stamps[-1], (value, stamps)
        stamps.append(value)
        return value

    created = client.post(f"{V}/sobjects/Account/", json={"Name": "A"}, headers=AUTH).get_json()["id"]
    stamp_of(created)
    updated = client.patch(f"{V}/sobjects/Account/{created}", json={"Name": "B"}, headers=AUTH)
    assert updated.status_code == 204
    stamp_of(created)
    upserted = client.patch(f"{V}/sobjects/Account/Ext_Id__c/K1", json={"Name": "C"}, headers=AUTH)
    assert upserted.status_code == 201
    upserted_id = upserted.get_json()["id"]
    stamp_of(upserted_id)
    upserted_again = client.patch(f"{V}/sobjects/Account/Ext_Id__c/K1", json={"Name": "D"}, headers=AUTH)
    assert upserted_again.status_code == 200
    stamp_of(upserted_id)
    collection = client.post(
        f"{V}/composite/sobjects",
        json={"records": [{"attributes": {"type": "Account"}, "Name": "E"}]},
        headers=AUTH,
    ).get_json()
    stamp_of(collection[0]["id"])
    client.patch(
        f"{V}/composite/sobjects",
        json={"records": [{"attributes": {"type": "Account"}, "Id": created, "Name": "F"}]},
        headers=AUTH,
    )
    stamp_of(created)
    client.patch(
        f"{V}/composite/sobjects/Account/Ext_Id__c",
        json={"records": [{"attributes": {"type": "Account"}, "Ext_Id__c": "K1", "Name": "G"}]},
        headers=AUTH,
    )
    stamp_of(upserted_id)
    composite = client.post(
        f"{V}/composite",
        json={
            "compositeRequest": [
                {
                    "method": "PATCH",
                    "url": f"{V}/sobjects/Account/{upserted_id}",
                    "referenceId": "u",
                    "body": {"Name": "H"},
                }
            ]
        },
        headers=AUTH,
    )
    assert composite.get_json()["compositeResponse"][0]["httpStatusCode"] == 204
    stamp_of(upserted_id)
    assert client.delete(f"{V}/sobjects/Account/{created}", headers=AUTH).status_code == 204
    stamp_of(created)
    client.delete(f"{V}/composite/sobjects?ids={upserted_id}", headers=AUTH)
    stamp_of(upserted_id)
    assert states(client)[created][1] is True and states(client)[upserted_id][1] is True


def test_a_failed_write_leaves_system_modstamp_alone(client):
    created = client.post(f"{V}/sobjects/Account/", json={"Name": "A"}, headers=AUTH).get_json()["id"]
    before = states(client)[created]
    refused = client.patch(f"{V}/sobjects/Account/{created}", json={"Name": None}, headers=AUTH)
    assert refused.status_code == 400
    assert states(client)[created] == before


def test_deleted_records_stay_in_the_recycle_bin_for_15_days_then_are_purged(client, store, clock):
    assert store.recycle_days == DEFAULT_RECYCLE_DAYS == 15
    early = client.post(f"{V}/sobjects/Account/", json={"Name": "Early"}, headers=AUTH).get_json()["id"]
    late = client.post(f"{V}/sobjects/Account/", json={"Name": "Late"}, headers=AUTH).get_json()["id"]
    kept = client.post(f"{V}/sobjects/Account/", json={"Name": "Kept"}, headers=AUTH).get_json()["id"]
    client.delete(f"{V}/sobjects/Account/{early}", headers=AUTH)
    clock.advance(days=2)
    client.delete(f"{V}/sobjects/Account/{late}", headers=AUTH)

    live = soql(client, "SELECT Id FROM Account", resource="query")
    assert [r["Id"] for r in live["records"]] == [kept]
    deleted = soql(client, "SELECT Id, Name FROM Account WHERE IsDeleted = true")
    assert sorted(r["Name"] for r in deleted["records"]) == ["Early", "Late"]
    gone = client.get(f"{V}/sobjects/Account/{early}", headers=AUTH)
    assert gone.status_code == 404 and gone.get_json()[0]["errorCode"] == "ENTITY_IS_DELETED"

    clock.advance(days=13, hours=-1)  # 15 days minus an hour after the first deletion: still there
    assert set(states(client)) == {early, late, kept}
    clock.advance(hours=2)  # 15 days and an hour: the first deletion is purged, the second is not
    assert states(client) == {
        late: (states(client)[late][0], True),
        kept: (states(client)[kept][0], False),
    }
    purged = client.get(f"{V}/sobjects/Account/{early}", headers=AUTH)
    assert purged.status_code == 404 and purged.get_json()[0]["errorCode"] == "NOT_FOUND"
    assert store.conn.execute('SELECT COUNT(*) FROM "Account" WHERE "Id" = ?', (early,)).fetchone() == (0,)

    clock.advance(days=2)
    assert set(states(client)) == {kept}
    # a purged record cannot be deleted or updated either: it no longer exists
    again = client.delete(f"{V}/sobjects/Account/{late}", headers=AUTH)
    assert again.status_code == 404 and again.get_json()[0]["errorCode"] == "NOT_FOUND"


def test_retention_is_configurable_and_follows_the_store_clock(schema, clock, tmp_path):
    path = str(tmp_path / "org.db")
    store = Store(schema, path, now=clock, recycle_days=1)
    record_id = store.insert("Account", {"Name": "A"})
    store.delete("Account", record_id)
    store.close()

    clock.advance(hours=23)
    reopened = Store(schema, path, now=clock, recycle_days=1)
    assert reopened.purge_recycle_bin() == 0
    assert reopened.record_state("Account", record_id) == "deleted"
    clock.advance(hours=2)
    assert reopened.purge_recycle_bin() == 1
    assert reopened.record_state("Account", record_id) is None
    assert reopened.purge_recycle_bin() == 0
    with pytest.raises(ValueError):
        Store(schema, now=clock, recycle_days=0)


def test_loaded_deleted_records_are_purged_by_their_own_stamp(store, clock):
    old = (T0 - dt.timedelta(days=20)).isoformat().replace("+00:00", "Z")
    recent = (T0 - dt.timedelta(days=1)).isoformat().replace("+00:00", "Z")
    store.purge_recycle_bin()  # the bin is known empty before the load
    loaded = store.load_data(
        {
            "Account": [
                {"Name": "Old", "IsDeleted": True, "SystemModstamp": old},
                {"Name": "Recent", "IsDeleted": True, "SystemModstamp": recent},
            ]
        }
    )
    assert store.purge_recycle_bin() == 1
    assert store.record_state("Account", loaded["Account"][0]) is None
    assert store.record_state("Account", loaded["Account"][1]) == "deleted"
