"""Query paging as Salesforce pages: batch sizes, nextRecordsUrl, query locators (10 per user, 15 minutes
idle), queryAll, exact API counts and request log lines; over HTTP, simple-salesforce and a real socket."""

from __future__ import annotations

import json
import re
import threading

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest
from werkzeug.serving import make_server

from gateway.localorg import ids
from gateway.localorg.api import create_app
from gateway.localorg.config import LocalOrgConfig
from gateway.localorg.schema import Schema
from gateway.localorg.store import Store
from gateway.source.wsgi_transport import WsgiAdapter
from tests.support import tiny_describes

V = "/services/data/v59.0"
AUTH = {"Authorization": "Bearer T"}
CONTACTS = 3000
ALL_CONTACTS = "SELECT Id, LastName FROM Contact"
INVALID_LOCATOR = [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}]
LOCATOR_URL = re.compile(r"^/services/data/v59\.0/(query|queryAll)/(01g[0-9A-Za-z]{15})-(\d+)$")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def contact_ids() -> list[str]:
    return [ids.make_id("003", n) for n in range(1, CONTACTS + 1)]


def contacts_store(contact_ids: list[str]) -> Store:
    store = Store(Schema.from_describes(tiny_describes()))
    rows = [{"Id": i, "LastName": f"Person {n:04d}"} for n, i in enumerate(contact_ids)]
    store.load_data({"Contact": rows})
    return store


@pytest.fixture(scope="module")
def store(contact_ids) -> Store:
    """Shared by the module's tests, which only read it (each test gets its own app, cursors and count)."""
    return contacts_store(contact_ids)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def log_path(tmp_path):
    return tmp_path / "requests.jsonl"


@pytest.fixture
def app(store, clock, log_path):
    return create_app(LocalOrgConfig(token="T", clock=clock, request_log=str(log_path)), store)


@pytest.fixture
def client(app):
    return app.test_client()


def query(client, soql: str, batch_size: int | str | None = None, resource: str = "query"):
    headers = dict(AUTH)
    if batch_size is not None:
        headers["Sforce-Query-Options"] = f"batchSize={batch_size}"
    return client.get(f"{V}/{resource}/", query_string={"q": soql}, headers=headers)


def follow(client, url: str, batch_size: int | None = None):
    headers = dict(AUTH)
    if batch_size is not None:
        headers["Sforce-Query-Options"] = f"batchSize={batch_size}"
    return client.get(url, headers=headers)


def api_usage(client) -> str:
    return client.get(f"{V}/limits", headers=AUTH).headers["Sforce-Limit-Info"]


# --- batches and nextRecordsUrl -----------------------------------------------------------------


def test_pages_3000_contacts_in_batches_of_200(client, contact_ids):
    first = query(client, ALL_CONTACTS, 200)
    body = first.get_json()
    assert first.status_code == 200
    assert list(body) == ["totalSize", "done", "nextRecordsUrl", "records"]
    assert body["totalSize"] == CONTACTS and body["done"] is False
    pages = [body]
    while not body["done"]:
        match = LOCATOR_URL.match(body["nextRecordsUrl"])
        assert match and match.group(1) == "query"
        assert int(match.group(3)) == 200 * len(pages)
        body = follow(client, body["nextRecordsUrl"], 200).get_json()
        pages.append(body)

    assert [len(p["records"]) for p in pages] == [200] * 15
    assert all(p["totalSize"] == CONTACTS for p in pages)
    assert "nextRecordsUrl" not in pages[-1]
    assert sorted(r["Id"] for p in pages for r in p["records"]) == sorted(contact_ids)
    record = pages[0]["records"][0]
    assert record["attributes"] == {"type": "Contact", "url": f"{V}/sobjects/Contact/{record['Id']}"}
    # 15 query requests plus this limits call: the count is exact.
    assert api_usage(client) == "api-usage=16/15000"


def test_default_batch_size_is_2000(client):
    first = query(client, ALL_CONTACTS).get_json()
    second = follow(client, first["nextRecordsUrl"]).get_json()

    assert len(first["records"]) == 2000
    assert first["nextRecordsUrl"].endswith("-2000")
    assert len(second["records"]) == 1000
    assert second["done"] is True


@pytest.mark.parametrize(
    ("requested", "served"),
    [(1, 200), (199, 200), (200, 200), (250, 250), (2000, 2000), (2001, 2000), (100000, 2000), ("x", 2000)],
)
def test_batch_size_is_held_within_200_to_2000(client, requested, served):
    body = query(client, ALL_CONTACTS, requested).get_json()

    assert len(body["records"]) == served


def test_batch_size_may_change_between_batches(client):
    first = query(client, ALL_CONTACTS, 500).get_json()
    second = follow(client, first["nextRecordsUrl"], 1000).get_json()

    assert len(second["records"]) == 1000
    assert second["nextRecordsUrl"].endswith("-1500")


def test_locator_fetch_without_header_keeps_the_query_batch_size(client):
    first = query(client, ALL_CONTACTS, 300).get_json()
    second = follow(client, first["nextRecordsUrl"]).get_json()

    assert len(second["records"]) == 300
    assert second["nextRecordsUrl"].endswith("-600")


def test_result_within_one_batch_is_done_without_locator(client):
    body = query(client, "SELECT Id FROM Contact LIMIT 150", 200).get_json()

    assert body["totalSize"] == 150 and body["done"] is True
    assert "nextRecordsUrl" not in body
    assert len(body["records"]) == 150


def test_count_query(client):
    body = query(client, "SELECT COUNT() FROM Contact").get_json()

    assert body == {"totalSize": CONTACTS, "done": True, "records": []}


def test_limit_caps_total_size_and_paging(client):
    first = query(client, "SELECT Id FROM Contact LIMIT 450", 200).get_json()
    second = follow(client, first["nextRecordsUrl"], 200).get_json()
    third = follow(client, second["nextRecordsUrl"], 200).get_json()

    assert [first["totalSize"], len(first["records"]), len(second["records"]), len(third["records"])] == [
        450,
        200,
        200,
        50,
    ]
    assert third["done"] is True


# --- query errors -------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [f"{V}/query/", f"{V}/query?q=", f"{V}/query/?q=%20"])
def test_query_without_soql(client, url):
    response = client.get(url, headers=AUTH)

    assert response.status_code == 400
    assert response.get_json() == [
        {"message": "A query string has to be specified", "errorCode": "MALFORMED_QUERY"}
    ]


def test_engine_errors_pass_through(client):
    unknown_field = query(client, "SELECT Nope__c FROM Contact")
    unknown_object = query(client, "SELECT Id FROM Nope__c")

    assert unknown_field.status_code == 400
    assert unknown_field.get_json()[0]["errorCode"] == "INVALID_FIELD"
    assert unknown_object.status_code == 400
    assert unknown_object.get_json()[0]["errorCode"] == "INVALID_TYPE"


# --- locators -------------------------------------------------------------------------------------


def test_locator_is_closed_after_its_last_batch(client):
    first = query(client, ALL_CONTACTS).get_json()
    locator_url = first["nextRecordsUrl"]
    assert follow(client, locator_url).get_json()["done"] is True

    again = follow(client, locator_url)

    assert again.status_code == 400
    assert again.get_json() == INVALID_LOCATOR


@pytest.mark.parametrize(
    "locator",
    ["01g000000000999AAA-200", "nonsense", "01g000000000001AAA", "01g000000000001AAA-abc", "-200"],
)
def test_unknown_or_malformed_locator(client, locator):
    query(client, ALL_CONTACTS, 200)  # opens 01g000000000001AAA at offset 200

    response = follow(client, f"{V}/query/{locator}")

    assert response.status_code == 400
    assert response.get_json() == INVALID_LOCATOR


def test_locator_at_another_offset_is_invalid(client):
    first = query(client, ALL_CONTACTS, 200).get_json()
    elsewhere = first["nextRecordsUrl"].replace("-200", "-400")

    assert follow(client, elsewhere).get_json() == INVALID_LOCATOR
    # The cursor itself is still good where it stands.
    assert follow(client, first["nextRecordsUrl"], 200).status_code == 200


def test_eleventh_cursor_releases_the_oldest(client):
    urls = [query(client, ALL_CONTACTS, 200).get_json()["nextRecordsUrl"] for _ in range(11)]

    oldest = follow(client, urls[0])
    assert oldest.status_code == 400
    assert oldest.get_json() == INVALID_LOCATOR
    for url in urls[1:]:
        assert follow(client, url, 200).status_code == 200


def test_queries_that_finish_in_one_batch_hold_no_cursor(client):
    kept = query(client, ALL_CONTACTS, 200).get_json()["nextRecordsUrl"]
    for _ in range(12):
        assert query(client, "SELECT Id FROM Contact LIMIT 10").get_json()["done"] is True

    assert follow(client, kept, 200).status_code == 200


def test_closed_cursors_free_their_place(client):
    kept = query(client, ALL_CONTACTS, 200).get_json()["nextRecordsUrl"]
    for _ in range(12):
        url = query(client, "SELECT Id FROM Contact LIMIT 300", 200).get_json()["nextRecordsUrl"]
        assert follow(client, url).get_json()["done"] is True

    assert follow(client, kept, 200).status_code == 200


def test_cursor_expires_after_15_idle_minutes(client, clock):
    first = query(client, ALL_CONTACTS, 200).get_json()
    clock.now += 15 * 60
    second = follow(client, first["nextRecordsUrl"], 200)
    assert second.status_code == 200  # used within 15 minutes: the idle time starts again

    clock.now += 15 * 60 + 1
    expired = follow(client, second.get_json()["nextRecordsUrl"], 200)

    assert expired.status_code == 400
    assert expired.get_json() == INVALID_LOCATOR


def test_query_all_sees_deleted_records_and_pages_by_query_all_locators(clock, contact_ids):
    client = create_app(LocalOrgConfig(token="T", clock=clock), contacts_store(contact_ids)).test_client()
    for record_id in contact_ids[:3]:
        assert client.delete(f"{V}/sobjects/Contact/{record_id}", headers=AUTH).status_code == 204

    live = query(client, "SELECT COUNT() FROM Contact").get_json()["totalSize"]
    first = query(client, "SELECT Id, IsDeleted FROM Contact", 2000, resource="queryAll").get_json()
    second = follow(client, first["nextRecordsUrl"]).get_json()

    assert live == CONTACTS - 3
    assert first["totalSize"] == CONTACTS
    assert LOCATOR_URL.match(first["nextRecordsUrl"]).group(1) == "queryAll"
    deleted = [r["Id"] for page in (first, second) for r in page["records"] if r["IsDeleted"]]
    assert sorted(deleted) == sorted(contact_ids[:3])


def test_concurrent_fetches_of_one_locator_deliver_one_batch(app):
    client = app.test_client()
    url = query(client, ALL_CONTACTS, 200).get_json()["nextRecordsUrl"]
    statuses: list[int] = []

    def fetch():
        statuses.append(app.test_client().get(url, headers=AUTH).status_code)

    threads = [threading.Thread(target=fetch) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] + [400] * 5


# --- request log ------------------------------------------------------------------------------------


def test_request_log_carries_soql_and_rows(client, log_path):
    first = query(client, ALL_CONTACTS, 1000).get_json()
    follow(client, first["nextRecordsUrl"], 1000)
    query(client, "SELECT Nope FROM Contact")

    lines = [json.loads(line) for line in log_path.read_text().splitlines()]

    assert [(line["soql"], line["rows"], line["status"]) for line in lines] == [
        (ALL_CONTACTS, 1000, 200),
        (None, 1000, 200),
        ("SELECT Nope FROM Contact", None, 400),
    ]
    assert lines[0]["path"] == f"{V}/query/"
    assert lines[1]["path"] == first["nextRecordsUrl"]


# --- through simple-salesforce ----------------------------------------------------------------------


def test_simple_salesforce_pages_3000_contacts_by_next_records_url(app, contact_ids):
    session = requests.Session()
    session.mount("https://", WsgiAdapter(app))
    sf = Salesforce(instance="localorg.test", session_id="T", session=session)
    batch = {"Sforce-Query-Options": "batchSize=200"}

    result = sf.query(ALL_CONTACTS, headers=batch)
    seen = list(result["records"])
    calls = 1
    while not result["done"]:
        result = sf.query_more(result["nextRecordsUrl"], identifier_is_url=True, headers=batch)
        seen.extend(result["records"])
        calls += 1

    assert calls == 15
    assert sorted(r["Id"] for r in seen) == sorted(contact_ids)
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == CONTACTS


def test_simple_salesforce_invalid_locator(app):
    session = requests.Session()
    session.mount("https://", WsgiAdapter(app))
    sf = Salesforce(instance="localorg.test", session_id="T", session=session)

    with pytest.raises(SalesforceMalformedRequest) as failure:
        sf.query_more(f"{V}/query/01g000000000042AAA-200", identifier_is_url=True)
    assert failure.value.content == INVALID_LOCATOR


class PlainHttpSession(requests.Session):
    """simple-salesforce always builds https:// URLs; the loopback server speaks plain http."""

    def request(self, method, url, *args, **kwargs):
        return super().request(method, url.replace("https://", "http://", 1), *args, **kwargs)


def test_threaded_server_pages_for_two_clients_at_once(app, contact_ids):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        results: dict[int, list[str]] = {}

        def page_all(number: int) -> None:
            sf = Salesforce(
                instance=f"127.0.0.1:{server.server_port}", session_id="T", session=PlainHttpSession()
            )
            batch = {"Sforce-Query-Options": "batchSize=500"}
            result = sf.query(ALL_CONTACTS, headers=batch)
            seen = [r["Id"] for r in result["records"]]
            while not result["done"]:
                result = sf.query_more(result["nextRecordsUrl"], identifier_is_url=True, headers=batch)
                seen.extend(r["Id"] for r in result["records"])
            results[number] = seen

        workers = [threading.Thread(target=page_all, args=(n,)) for n in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        server.shutdown()
        thread.join()

    assert sorted(results[0]) == sorted(contact_ids)
    assert sorted(results[1]) == sorted(contact_ids)


# --- long text fields cap batches ---------------------------------------------------------------------


def test_two_custom_long_text_fields_cap_batches_at_200(clock):
    describes = [
        {
            "name": "Note__c",
            "fields": [
                {"name": "Body__c", "type": "textarea", "length": 32000},
                {"name": "Summary__c", "type": "textarea", "length": 32000},
            ],
        }
    ]
    store = Store(Schema.from_describes(describes))
    store.load_data({"Note__c": [{"Body__c": f"b{n}", "Summary__c": "s"} for n in range(500)]})
    client = create_app(LocalOrgConfig(token="T", clock=clock), store).test_client()

    one = query(client, "SELECT Id, Body__c FROM Note__c", 1000).get_json()
    two = query(client, "SELECT Id, Body__c, Summary__c FROM Note__c", 1000).get_json()
    more = follow(client, two["nextRecordsUrl"], 1000).get_json()

    assert len(one["records"]) == 500
    assert len(two["records"]) == 200
    assert len(more["records"]) == 200
