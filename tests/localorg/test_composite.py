"""The local org's Composite resource and sObject Collections upsert, through the source connection.

Every test reads the store afterwards: an all-or-none failure leaves the tables exactly as they were, and a
composite request costs one API call however many subrequests it holds.
"""

from __future__ import annotations

import pytest

from gateway.source.connection import SourceError
from gateway.source.embedded import embedded_source

HALTED = {
    "errorCode": "PROCESSING_HALTED",
    "message": "The transaction was rolled back since another operation in the same transaction failed.",
}


@pytest.fixture()
def org():
    return embedded_source(5)


def table(store, name: str) -> list[tuple]:
    with store.lock:
        return store.conn.execute(f'SELECT * FROM "{name}" ORDER BY "Id"').fetchall()


def snapshot(store) -> dict[str, list[tuple]]:
    return {name: table(store, name) for name in ("Account", "Contact", "Opportunity")}


def account(name: str | None) -> dict:
    record = {"attributes": {"type": "Account"}}
    if name is not None:
        record["Name"] = name
    return record


def test_composite_runs_subrequests_with_references_in_one_call(org):
    source, store = org
    base = source.data_path()
    calls = source.api_calls
    answer = source.composite_request(
        [
            {
                "method": "POST",
                "url": base + "/composite/sobjects",
                "referenceId": "accounts",
                "body": {"records": [account("Comp A"), account("Comp B")]},
            },
            {
                "method": "POST",
                "url": base + "/sobjects/Contact",
                "referenceId": "contact",
                "body": {"LastName": "Ref", "AccountId": "@{accounts[1].id}"},
            },
            {"method": "GET", "url": base + "/sobjects/Contact/@{contact.id}", "referenceId": "read"},
        ],
        all_or_none=True,
    )
    assert source.api_calls == calls + 1
    first, second, third = answer["compositeResponse"]
    assert [e["referenceId"] for e in answer["compositeResponse"]] == ["accounts", "contact", "read"]
    assert first["httpStatusCode"] == 200 and [e["success"] for e in first["body"]] == [True, True]
    assert second["httpStatusCode"] == 201
    contact_id = second["body"]["id"]
    assert second["httpHeaders"] == {"Location": f"{base}/sobjects/Contact/{contact_id}"}
    assert third["httpStatusCode"] == 200 and third["body"]["AccountId"] == first["body"][1]["id"]
    assert store.get("Contact", contact_id)["AccountId"] == first["body"][1]["id"]


def test_all_or_none_failure_rolls_back_every_subrequest(org):
    source, store = org
    base = source.data_path()
    existing = table(store, "Account")[0][0]
    before = snapshot(store)
    answer = source.composite_request(
        [
            {"method": "PATCH", "url": f"{base}/sobjects/Account/{existing}", "referenceId": "update",
             "body": {"Name": "Changed"}},
            {"method": "POST", "url": base + "/composite/sobjects", "referenceId": "accounts",
             "body": {"allOrNone": False, "records": [account("Fine"), account(None)]}},
            {"method": "POST", "url": base + "/sobjects/Contact", "referenceId": "contact",
             "body": {"LastName": "Never"}},
        ],
        all_or_none=True,
    )  # fmt: skip
    update, accounts, contact = answer["compositeResponse"]
    assert update == {"body": [HALTED], "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "update"}
    assert contact == {"body": [HALTED], "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "contact"}
    # The collection's own allOrNone false is overridden: its good record is rolled back too.
    assert accounts["httpStatusCode"] == 200
    assert [e["errors"][0]["statusCode"] for e in accounts["body"]] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "REQUIRED_FIELD_MISSING",
    ]
    assert snapshot(store) == before


def test_without_all_or_none_each_subrequest_stands_alone(org):
    source, store = org
    base = source.data_path()
    answer = source.composite_request(
        [
            {"method": "POST", "url": f"{base}/sobjects/Account", "referenceId": "ok", "body": {"Name": "K"}},
            {"method": "POST", "url": f"{base}/sobjects/Account", "referenceId": "bad", "body": {}},
        ],
        all_or_none=False,
    )  # fmt: skip
    good, bad = answer["compositeResponse"]
    assert good["httpStatusCode"] == 201
    assert bad["httpStatusCode"] == 400 and bad["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert store.get("Account", good["body"]["id"])["Name"] == "K"


def test_malformed_composite_requests_are_refused_whole(org):
    source, store = org
    base = source.data_path()
    before = snapshot(store)
    too_many = [
        {"method": "POST", "url": base + "/sobjects/Account", "referenceId": f"r{i}", "body": {"Name": "X"}}
        for i in range(26)
    ]
    with pytest.raises(SourceError) as error:
        source.composite_request(too_many, all_or_none=True)
    assert (error.value.status, error.value.error_code) == (400, "LIMIT_EXCEEDED")
    duplicate = too_many[:1] * 2
    with pytest.raises(SourceError) as error:
        source.composite_request(duplicate, all_or_none=True)
    assert (error.value.status, error.value.error_code) == (400, "INVALID_INPUT")
    assert "Duplicate referenceId" in error.value.message
    assert snapshot(store) == before


def test_collection_upsert_creates_and_updates_by_external_id(org):
    source, store = org
    created = source.composite_upsert(
        "Account", "External_Id__c", [{**account("Up 1"), "External_Id__c": "UP-1"}], all_or_none=True
    )
    assert created[0]["success"] and created[0]["created"] is True
    again = source.composite_upsert(
        "Account",
        "External_Id__c",
        [
            {**account("Up 1 renamed"), "External_Id__c": "UP-1"},
            {**account("Up 2"), "External_Id__c": "UP-2"},
        ],
        all_or_none=True,
    )
    assert [(e["id"] == created[0]["id"], e["created"]) for e in again] == [(True, False), (False, True)]
    assert store.get("Account", created[0]["id"])["Name"] == "Up 1 renamed"


def test_collection_upsert_all_or_none_writes_nothing_on_one_failure(org):
    source, store = org
    before = snapshot(store)
    results = source.composite_upsert(
        "Account",
        "External_Id__c",
        [{**account("Ok"), "External_Id__c": "UP-3"}, {**account(None), "External_Id__c": "UP-4"}],
        all_or_none=True,
    )
    assert [e["success"] for e in results] == [False, False]
    assert [e["errors"][0]["statusCode"] for e in results] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "REQUIRED_FIELD_MISSING",
    ]
    assert snapshot(store) == before
