"""Issue 8, item 1: an Id of another object never reaches the source (the change-set delete that deleted a
Case through ``Account('500…')``). Every client-supplied Id — keys of every method, each change-set
operation, ``@odata.bind``, navigation — is checked against the entity set's key prefix first: 404, no API
call, nothing written (the local org's tables are compared whole)."""

from __future__ import annotations

import pytest

from tests.odata.v4.test_batch import json_batch, multipart_body, part, snapshot
from tests.support import embedded_gateway


@pytest.fixture()
def gateway():
    app, source, store = embedded_gateway(5)
    return app.test_client(), source, store


def first_id(store, sobject: str) -> str:
    with store.lock:
        return store.conn.execute(
            f'SELECT "Id" FROM "{sobject}" WHERE "IsDeleted" = 0 ORDER BY "Id"'
        ).fetchone()[0]


def rename(account: str, name: str) -> dict:
    """A change-set PATCH of one Account of the org."""
    return {
        "id": "1",
        "atomicityGroup": "g",
        "method": "PATCH",
        "url": f"Account('{account}')",
        "body": {"Name": name},
    }


def with_bad_checksum(record_id: str) -> str:
    return record_id[:15] + ("AAA" if record_id[15:] != "AAA" else "BBB")


@pytest.mark.parametrize("method", ["DELETE", "PATCH", "PUT", "GET"])
def test_key_of_another_object_is_404_without_a_call(gateway, method):
    client, source, store = gateway
    contact = first_id(store, "Contact")
    before, calls = snapshot(store), source.api_calls

    response = client.open(
        f"/odata/Account('{contact}')", method=method, json={} if method in ("PATCH", "PUT") else None
    )

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "NotFound"
    assert contact in response.get_json()["error"]["message"]
    assert (snapshot(store), source.api_calls) == (before, calls)


@pytest.mark.parametrize("kind", ["DELETE", "PATCH"])
def test_change_set_operation_on_an_id_of_another_object_fails_the_change_set_with_404(gateway, kind):
    """The defect: DELETE Account('500…') in a change set deleted the Case (collections ignore the object)."""
    client, source, store = gateway
    case, account = first_id(store, "Case"), first_id(store, "Account")
    before, calls = snapshot(store), source.api_calls
    with store.lock:
        cases_before = store.conn.execute('SELECT * FROM "Case"').fetchall()
    body = None if kind == "DELETE" else {"Name": "Hijacked"}

    response = json_batch(
        client,
        [
            rename(account, "x"),
            {
                "id": "2",
                "atomicityGroup": "g",
                "method": kind,
                "url": f"Account('{case}')",
                **({"body": body} if body else {}),
            },
        ],
    )

    assert response.status_code == 200
    statuses = {r["id"]: r["status"] for r in response.get_json()["responses"]}
    assert 404 in statuses.values()
    assert all(s >= 400 for s in statuses.values())
    with store.lock:
        assert store.conn.execute('SELECT * FROM "Case"').fetchall() == cases_before
    assert (snapshot(store), source.api_calls) == (before, calls)


def test_multipart_change_set_delete_of_a_user_through_opportunity_is_404(gateway):
    client, source, store = gateway
    user = first_id(store, "User")
    with store.lock:
        users_before = store.conn.execute('SELECT * FROM "User"').fetchall()
    calls = source.api_calls
    response = client.post(
        "/odata/$batch",
        data=multipart_body([[part("DELETE", f"Opportunity('{user}')", None, "1")]]),
        content_type="multipart/mixed; boundary=batch",
    )
    assert response.status_code == 200
    assert b"404" in response.get_data()
    with store.lock:
        assert store.conn.execute('SELECT * FROM "User"').fetchall() == users_before
    assert source.api_calls == calls


def test_odata_bind_to_an_id_of_another_object_is_404_without_a_call(gateway):
    client, source, store = gateway
    opportunity = first_id(store, "Opportunity")
    before, calls = snapshot(store), source.api_calls
    response = client.post(
        "/odata/Contact", json={"LastName": "Bound", "Account@odata.bind": f"Account('{opportunity}')"}
    )
    assert response.status_code == 404
    assert response.get_json()["error"]["target"] == "Account"
    assert (snapshot(store), source.api_calls) == (before, calls)


def test_navigation_from_an_id_of_another_object_is_404_without_a_call(gateway):
    client, source, store = gateway
    contact = first_id(store, "Contact")
    calls = source.api_calls
    for url in (f"/odata/Account('{contact}')/Contacts", f"/odata/Account('{contact}')/Name"):
        assert client.get(url).status_code == 404
    assert client.post(f"/odata/Account('{contact}')/Contacts", json={"LastName": "Child"}).status_code == 404
    assert source.api_calls == calls


def test_malformed_id_key_is_decided_by_the_gateway(gateway):
    client, source, store = gateway
    account = first_id(store, "Account")
    calls = source.api_calls
    for key in (with_bad_checksum(account), account[:14], account + "X", "001" + "!" * 12):
        response = client.get(f"/odata/Account('{key}')")
        assert response.status_code == 404, key
    assert source.api_calls == calls
    # the 15-character form and an 18-character one in other case are the same record
    assert client.get(f"/odata/Account('{account[:15]}')").status_code == 200
    assert client.get(f"/odata/Account('{account[:15]}{account[15:].lower()}')").status_code == 200


def test_own_ids_still_work_in_change_sets(gateway):
    client, source, store = gateway
    account = first_id(store, "Account")
    response = json_batch(
        client,
        [rename(account, "Mine")],
    )
    assert [r["status"] for r in response.get_json()["responses"]] == [204]
    assert store.get("Account", account)["Name"] == "Mine"
