"""The local org's REST resources: describe, record writes, upsert, composite, accounting, the request log,
paths and error bodies, over plain HTTP (Flask test client) and through simple-salesforce."""

from __future__ import annotations

import gzip
import json
import threading

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from gateway.localorg.api import create_app
from gateway.localorg.config import LocalOrgConfig
from gateway.localorg.store import Store
from gateway.source.wsgi_transport import WsgiAdapter

V = "/services/data/v59.0"
AUTH = {"Authorization": "Bearer T"}
NOT_FOUND = [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]


@pytest.fixture
def store(schema) -> Store:
    return Store(schema)


@pytest.fixture
def log_path(tmp_path):
    return tmp_path / "requests.jsonl"


@pytest.fixture
def app(store, log_path):
    return create_app(LocalOrgConfig(token="T", request_log=str(log_path)), store)


@pytest.fixture
def client(app):
    return app.test_client()


def log_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def create_account(client, **values) -> str:
    response = client.post(f"{V}/sobjects/Account/", json={"Name": "Acme", **values}, headers=AUTH)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


# --- versions and describe -----------------------------------------------------------------------


def test_version_list_holds_several_versions_in_salesforce_shape(client):
    versions = client.get("/services/data/").get_json()

    by_version = {v["version"]: v for v in versions}
    assert by_version["59.0"] == {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"}
    assert by_version["60.0"]["label"] == "Spring '24"
    assert by_version["61.0"]["label"] == "Summer '24"
    assert by_version["62.0"]["label"] == "Winter '25"
    assert [v["version"] for v in versions] == sorted((v["version"] for v in versions), key=float)


def test_version_resources(client):
    body = client.get(f"{V}/", headers=AUTH).get_json()

    assert body["sobjects"] == f"{V}/sobjects"
    assert body["query"] == f"{V}/query"
    assert body["queryAll"] == f"{V}/queryAll"
    assert body["limits"] == f"{V}/limits"


@pytest.mark.parametrize("version", ["v99.0", "v19.0", "v59", "59.0", "latest"])
def test_unknown_version_is_not_found(client, version):
    response = client.get(f"/services/data/{version}/sobjects/", headers=AUTH)

    assert response.status_code == 404
    assert response.get_json() == NOT_FOUND


def test_older_and_newer_versions_answer(client):
    for version in ("v20.0", "v45.0", "v62.0"):
        assert client.get(f"/services/data/{version}/sobjects", headers=AUTH).status_code == 200


def test_describe_global(client):
    body = client.get(f"{V}/sobjects/", headers=AUTH).get_json()

    assert body["encoding"] == "UTF-8"
    assert body["maxBatchSize"] == 200
    account = body["sobjects"][0]
    assert [o["name"] for o in body["sobjects"]] == ["Account", "Contact", "Widget__c"]
    assert account["keyPrefix"] == "001"
    assert account["label"] == "Account"
    assert (
        account["queryable"] is account["createable"] is account["updateable"] is account["deletable"] is True
    )
    assert account["urls"]["describe"] == f"{V}/sobjects/Account/describe"
    assert account["urls"]["rowTemplate"] == f"{V}/sobjects/Account/{{ID}}"
    assert body["sobjects"][2]["custom"] is True


def test_sobject_basic_info(client):
    body = client.get(f"{V}/sobjects/contact", headers=AUTH).get_json()

    assert body["objectDescribe"]["name"] == "Contact"
    assert body["objectDescribe"]["keyPrefix"] == "003"
    assert body["recentItems"] == []


def test_sobject_describe(client):
    body = client.get(f"{V}/sobjects/Account/describe/", headers=AUTH).get_json()

    fields = {f["name"]: f for f in body["fields"]}
    assert fields["Name"]["type"] == "string"
    assert fields["Ext_Id__c"]["externalId"] is True
    assert fields["ParentId"]["referenceTo"] == ["Account"]
    assert fields["Industry"]["picklistValues"][0]["value"] == "Banking"
    relationships = {r["relationshipName"]: r for r in body["childRelationships"]}
    assert relationships["Contacts"]["childSObject"] == "Contact"
    assert body["urls"]["sobject"] == f"{V}/sobjects/Account"


@pytest.mark.parametrize("path", ["/sobjects/Nope__c", "/sobjects/Nope__c/describe", "/nothing/here"])
def test_unknown_sobject_or_resource_is_not_found(client, path):
    response = client.get(V + path, headers=AUTH)

    assert response.status_code == 404
    assert response.get_json() == NOT_FOUND


def test_limits_reports_daily_api_requests(client):
    client.get(f"{V}/sobjects", headers=AUTH)

    body = client.get(f"{V}/limits/", headers=AUTH).get_json()

    assert body["DailyApiRequests"] == {"Max": 15000, "Remaining": 14998}
    assert "DataStorageMB" in body


# --- record writes -----------------------------------------------------------------------------------


def test_create_read_update_delete(client):
    created = client.post(
        f"{V}/sobjects/Account/", json={"Name": "Acme", "NumberOfEmployees": 5}, headers=AUTH
    )
    assert created.status_code == 201
    body = created.get_json()
    assert set(body) == {"id", "success", "errors"}
    assert body["success"] is True and body["errors"] == []
    record_id = body["id"]
    assert len(record_id) == 18 and record_id.startswith("001")

    record = client.get(f"{V}/sobjects/Account/{record_id}", headers=AUTH).get_json()
    assert record["attributes"] == {"type": "Account", "url": f"{V}/sobjects/Account/{record_id}"}
    assert record["Name"] == "Acme" and record["NumberOfEmployees"] == 5
    assert "CreatedDate" in record and "Industry" in record

    updated = client.patch(f"{V}/sobjects/Account/{record_id}/", json={"Name": "Acme 2"}, headers=AUTH)
    assert updated.status_code == 204
    assert updated.get_data() == b""
    assert client.get(f"{V}/sobjects/Account/{record_id}", headers=AUTH).get_json()["Name"] == "Acme 2"

    deleted = client.delete(f"{V}/sobjects/Account/{record_id}", headers=AUTH)
    assert deleted.status_code == 204
    gone = client.get(f"{V}/sobjects/Account/{record_id}", headers=AUTH)
    assert gone.status_code == 404
    assert gone.get_json() == [{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED"}]


def test_read_with_fields_parameter(client):
    record_id = create_account(client, Industry="Energy")

    record = client.get(f"{V}/sobjects/Account/{record_id}?fields=name,Industry", headers=AUTH).get_json()

    assert record == {
        "attributes": {"type": "Account", "url": f"{V}/sobjects/Account/{record_id}"},
        "Name": "Acme",
        "Industry": "Energy",
    }


def test_read_with_unknown_field_in_fields_parameter(client):
    record_id = create_account(client)

    response = client.get(f"{V}/sobjects/Account/{record_id}?fields=Name,Nope__c", headers=AUTH)

    assert response.status_code == 400
    assert response.get_json()[0]["errorCode"] == "INVALID_FIELD"
    assert response.get_json()[0]["message"].startswith("No such column 'Nope__c' on entity 'Account'.")


def test_read_unknown_record(client):
    missing = client.get(f"{V}/sobjects/Account/001000000000099AAA", headers=AUTH)
    not_an_id = client.get(f"{V}/sobjects/Account/banana", headers=AUTH)

    assert missing.status_code == 404
    assert missing.get_json() == NOT_FOUND
    assert not_an_id.status_code == 404
    assert not_an_id.get_json() == [
        {
            "message": "Provided external ID field does not exist or is not accessible: banana",
            "errorCode": "NOT_FOUND",
        }
    ]


def test_create_with_missing_required_field(client):
    response = client.post(f"{V}/sobjects/Contact", json={"FirstName": "Ann"}, headers=AUTH)

    assert response.status_code == 400
    assert response.get_json() == [
        {
            "message": "Required fields are missing: [LastName]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["LastName"],
        }
    ]


def test_create_in_unknown_sobject(client):
    response = client.post(f"{V}/sobjects/Nope__c", json={"Name": "x"}, headers=AUTH)

    assert response.status_code == 404
    assert response.get_json() == NOT_FOUND


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"Name": ',
            "Unexpected end-of-input at [line:1, column:10]",
        ),
        (
            b"{bad}",
            "Unexpected character ('b' (code 98)): expected a valid value (number, String, array, object, "
            "'true', 'false' or 'null') at [line:1, column:2]",
        ),
        (b"", "No content to map due to end-of-input at [line:1, column:0]"),
        (b'[{"Name": "x"}]', "Can not deserialize SObject out of START_ARRAY token at [line:1, column:1]"),
        (b'"Name"', "Can not deserialize SObject out of VALUE_STRING token at [line:1, column:1]"),
    ],
)
def test_malformed_json_body(client, body, message):
    response = client.post(
        f"{V}/sobjects/Account", data=body, headers={**AUTH, "Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.get_json() == [{"message": message, "errorCode": "JSON_PARSER_ERROR"}]


def test_gzip_request_body(client):
    body = gzip.compress(json.dumps({"Name": "Zipped"}).encode())

    response = client.post(
        f"{V}/sobjects/Account",
        data=body,
        headers={**AUTH, "Content-Type": "application/json", "Content-Encoding": "gzip"},
    )

    assert response.status_code == 201


def test_failed_update_writes_nothing(client):
    record_id = create_account(client)

    response = client.patch(
        f"{V}/sobjects/Account/{record_id}", json={"Name": "New", "Ext_Id__c": "x" * 21}, headers=AUTH
    )

    assert response.status_code == 400
    assert response.get_json()[0]["errorCode"] == "STRING_TOO_LONG"
    assert client.get(f"{V}/sobjects/Account/{record_id}", headers=AUTH).get_json()["Name"] == "Acme"


def test_method_not_allowed(client):
    response = client.put(f"{V}/sobjects/Account", json={}, headers=AUTH)

    assert response.status_code == 405
    assert response.get_json() == [
        {
            "errorCode": "METHOD_NOT_ALLOWED",
            "message": "HTTP Method 'PUT' not allowed. Allowed are GET,HEAD,OPTIONS,POST",
        }
    ]


# --- upsert --------------------------------------------------------------------------------------


def test_upsert_creates_then_updates(client):
    first = client.patch(f"{V}/sobjects/Account/Ext_Id__c/K-1", json={"Name": "Upserted"}, headers=AUTH)
    assert first.status_code == 201
    created = first.get_json()
    assert created == {"id": created["id"], "success": True, "errors": [], "created": True}

    second = client.patch(f"{V}/sobjects/Account/Ext_Id__c/K-1/", json={"Name": "Again"}, headers=AUTH)
    assert second.status_code == 200
    assert second.get_json() == {"id": created["id"], "success": True, "errors": [], "created": False}
    assert client.get(f"{V}/sobjects/Account/{created['id']}", headers=AUTH).get_json()["Name"] == "Again"


def test_upsert_update_before_v46_answers_204(client):
    client.patch(f"{V}/sobjects/Account/Ext_Id__c/K-2", json={"Name": "A"}, headers=AUTH)

    response = client.patch(
        "/services/data/v45.0/sobjects/Account/Ext_Id__c/K-2", json={"Name": "B"}, headers=AUTH
    )

    assert response.status_code == 204


def test_upsert_matching_several_records_answers_300_with_their_urls(client):
    first = create_account(client, Ext_Id__c="DUP")
    second = create_account(client, Ext_Id__c="dup")

    response = client.patch(f"{V}/sobjects/Account/Ext_Id__c/DUP", json={"Name": "x"}, headers=AUTH)

    assert response.status_code == 300
    assert response.get_json() == [f"{V}/sobjects/Account/{first}", f"{V}/sobjects/Account/{second}"]


def test_upsert_by_field_that_is_not_an_external_id(client):
    response = client.patch(f"{V}/sobjects/Account/Name/Acme", json={"Industry": "Energy"}, headers=AUTH)

    assert response.status_code == 404
    assert response.get_json() == [
        {
            "message": "Provided external ID field does not exist or is not accessible: Name",
            "errorCode": "NOT_FOUND",
        }
    ]


# --- composite sObject collections -------------------------------------------------------------


def test_composite_create_update_delete(client):
    created = client.post(
        f"{V}/composite/sobjects",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Account"}, "Name": "A"},
                {"attributes": {"type": "Account"}, "Name": "B", "Ext_Id__c": "x" * 21},
            ],
        },
        headers=AUTH,
    )
    assert created.status_code == 200
    entries = created.get_json()
    assert entries[0]["success"] is True and entries[0]["errors"] == []
    assert entries[1]["success"] is False
    assert entries[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert entries[1]["errors"][0]["fields"] == ["Ext_Id__c"]
    account_id = entries[0]["id"]

    updated = client.patch(
        f"{V}/composite/sobjects/",
        json={"records": [{"attributes": {"type": "Account"}, "Id": account_id, "Name": "A2"}]},
        headers=AUTH,
    )
    assert updated.get_json() == [{"id": account_id, "success": True, "errors": []}]
    assert client.get(f"{V}/sobjects/Account/{account_id}", headers=AUTH).get_json()["Name"] == "A2"

    deleted = client.delete(f"{V}/composite/sobjects?ids={account_id}&allOrNone=true", headers=AUTH)
    assert deleted.status_code == 200
    assert deleted.get_json() == [{"id": account_id, "success": True, "errors": []}]
    assert client.get(f"{V}/sobjects/Account/{account_id}", headers=AUTH).status_code == 404


def test_composite_all_or_none_rolls_back_everything(client, store):
    response = client.post(
        f"{V}/composite/sobjects",
        json={
            "allOrNone": True,
            "records": [
                {"attributes": {"type": "Account"}, "Name": "Fine"},
                {"attributes": {"type": "Contact"}, "FirstName": "No last name"},
            ],
        },
        headers=AUTH,
    )

    entries = response.get_json()
    assert response.status_code == 200
    assert [e["success"] for e in entries] == [False, False]
    assert entries[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert entries[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    with store.lock:
        assert store.conn.execute('SELECT COUNT(*) FROM "Account"').fetchone()[0] == 0


def test_composite_over_200_records(client):
    records = [{"attributes": {"type": "Account"}, "Name": f"A{i}"} for i in range(201)]

    response = client.post(f"{V}/composite/sobjects", json={"records": records}, headers=AUTH)

    assert response.status_code == 400
    assert response.get_json() == [
        {
            "message": "record limit reached. cannot submit more than 200 records into this call",
            "errorCode": "EXCEEDED_ID_LIMIT",
        }
    ]


def test_composite_body_must_be_an_object(client):
    response = client.post(f"{V}/composite/sobjects", json=[], headers=AUTH)

    assert response.status_code == 400
    assert response.get_json()[0]["errorCode"] == "JSON_PARSER_ERROR"


# --- accounting -----------------------------------------------------------------------------------


def test_every_api_request_counts_exactly_once(client):
    record_id = create_account(client)  # 1
    client.get(f"{V}/sobjects/Account/{record_id}", headers=AUTH)  # 2
    client.get(f"{V}/sobjects/Nope__c", headers=AUTH)  # 3: a failure after auth counts
    client.post(f"{V}/sobjects/Account", data=b"{", headers=AUTH)  # 4
    client.get(f"{V}/sobjects/Account")  # no session: not counted
    client.get("/services/data/")  # the version list: not counted
    client.post("/services/oauth2/token", data={"grant_type": "nope"})  # not counted

    response = client.get(f"{V}/limits", headers=AUTH)  # 5

    assert response.headers["Sforce-Limit-Info"] == "api-usage=5/15000"
    assert response.get_json()["DailyApiRequests"] == {"Max": 15000, "Remaining": 14995}


def test_limit_info_header_on_every_api_response(client):
    responses = [
        client.get(f"{V}/sobjects", headers=AUTH),
        client.get(f"{V}/sobjects/Nope__c", headers=AUTH),
        client.get("/services/data/v99.0/sobjects", headers=AUTH),
        client.post(f"{V}/sobjects/Account", json={"Name": "x"}, headers=AUTH),
    ]

    assert [r.headers["Sforce-Limit-Info"] for r in responses] == [
        f"api-usage={n}/15000" for n in (1, 2, 3, 4)
    ]


def test_request_limit_exceeded(schema):
    client = create_app(LocalOrgConfig(token="T", api_limit=3), Store(schema)).test_client()
    statuses = [client.get(f"{V}/sobjects", headers=AUTH).status_code for _ in range(3)]

    refused = client.get(f"{V}/sobjects", headers=AUTH)

    assert statuses == [200, 200, 200]
    assert refused.status_code == 403
    assert refused.get_json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=3/3"
    assert client.get(f"{V}/limits", headers=AUTH).status_code == 403


def test_counting_is_exact_under_concurrent_requests(app):
    def hammer():
        client = app.test_client()
        for _ in range(25):
            assert client.get(f"{V}/sobjects/Account", headers=AUTH).status_code == 200

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert (
        app.test_client().get(f"{V}/limits", headers=AUTH).headers["Sforce-Limit-Info"]
        == "api-usage=201/15000"
    )


# --- request log -------------------------------------------------------------------------------------


def test_request_log_has_one_line_per_request(client, log_path):
    record_id = create_account(client)
    client.get(f"{V}/sobjects/Account/{record_id}/", headers=AUTH)
    client.get(f"{V}/sobjects/Account")

    lines = log_lines(log_path)

    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("POST", f"{V}/sobjects/Account/", 201),
        ("GET", f"{V}/sobjects/Account/{record_id}/", 200),
        ("GET", f"{V}/sobjects/Account", 401),
    ]
    assert [line["rows"] for line in lines] == [None, 1, None]
    assert [line["counted"] for line in lines] == [True, True, False]
    assert [line["api_usage"] for line in lines] == [1, 2, None]
    assert all(line["soql"] is None for line in lines)
    assert all(line["time"].endswith("Z") and "T" in line["time"] for line in lines)


def test_request_log_is_whole_lines_under_concurrent_requests(app, log_path):
    def hammer():
        client = app.test_client()
        for _ in range(20):
            client.get(f"{V}/sobjects/Contact", headers=AUTH)

    threads = [threading.Thread(target=hammer) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    lines = log_lines(log_path)
    assert len(lines) == 100
    assert sorted(line["api_usage"] for line in lines) == list(range(1, 101))


# --- unexpected failures --------------------------------------------------------------------------


class BrokenStore(Store):
    def insert(self, sobject_name: str, values: dict) -> str:
        raise RuntimeError("disk on fire")


def test_unexpected_exception_is_unknown_exception_without_trace(schema, caplog):
    client = create_app(LocalOrgConfig(token="T"), BrokenStore(schema)).test_client()

    response = client.post(f"{V}/sobjects/Account", json={"Name": "x"}, headers=AUTH)

    assert response.status_code == 500
    body = response.get_json()
    assert [e["errorCode"] for e in body] == ["UNKNOWN_EXCEPTION"]
    assert body[0]["message"].startswith("An unexpected error occurred. Please include this ErrorId")
    assert "disk on fire" not in response.get_data(as_text=True)
    assert "disk on fire" in caplog.text


# --- through simple-salesforce ------------------------------------------------------------------


@pytest.fixture
def sf(app) -> Salesforce:
    session = requests.Session()
    session.mount("https://", WsgiAdapter(app))
    return Salesforce(instance="localorg.test", session_id="T", session=session)


def test_simple_salesforce_record_round_trip(sf):
    created = sf.Account.create({"Name": "Via simple-salesforce"})
    assert created["success"] is True

    assert sf.Account.get(created["id"])["Name"] == "Via simple-salesforce"
    assert sf.Account.update(created["id"], {"Name": "Renamed"}) == 204
    assert sf.Account.upsert("Ext_Id__c/SS-1", {"Name": "Upserted"}) == 201
    assert sf.Account.upsert("Ext_Id__c/SS-1", {"Name": "Upserted again"}) == 200
    assert sf.Account.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound) as gone:
        sf.Account.get(created["id"])
    assert gone.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_simple_salesforce_errors(sf, schema):
    with pytest.raises(SalesforceMalformedRequest) as malformed:
        sf.Contact.create({"FirstName": "No last name"})
    assert malformed.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"

    sf.Account.create({"Name": "One", "Ext_Id__c": "TWICE"})
    sf.Account.create({"Name": "Two", "Ext_Id__c": "TWICE"})
    with pytest.raises(SalesforceMoreThanOneRecord):
        sf.Account.upsert("Ext_Id__c/TWICE", {"Name": "x"})


def test_simple_salesforce_sees_request_limit_exceeded(schema):
    session = requests.Session()
    session.mount("https://", WsgiAdapter(create_app(LocalOrgConfig(token="T", api_limit=1), Store(schema))))
    sf = Salesforce(instance="localorg.test", session_id="T", session=session)
    sf.describe()

    with pytest.raises(SalesforceRefusedRequest) as refused:
        sf.describe()
    assert refused.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_created_records_are_owned_by_the_running_user_as_in_salesforce():
    from gateway.localorg import ids
    from gateway.source.embedded import embedded_source

    source, _ = embedded_source(5)
    created = source.create("Account", {"Name": "Owned by the API user"})
    record = source.get("Account", created["id"])
    assert record["OwnerId"] == ids.make_id("005", 1)
    given_owner = source.query("SELECT Id FROM User ORDER BY Id DESC LIMIT 1")["records"][0]["Id"]
    other = source.create("Account", {"Name": "Owned by another", "OwnerId": given_owner})
    assert source.get("Account", other["id"])["OwnerId"] == given_owner
