"""The local org is no kinder than Salesforce (issue 8, item 5): deleted records never leak into ``query``,
``unique`` fields hold, valid SOQL never gets a 500, over-long requests answer in Salesforce's error shape,
records are read and deleted by external ID, and the date literals mean what Salesforce says, on the
store's clock. Each test is named after the defect it keeps away."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMoreThanOneRecord, SalesforceResourceNotFound

from gateway.localorg.api import create_app
from gateway.localorg.config import LocalOrgConfig
from gateway.localorg.schema import Schema
from gateway.localorg.store import Store
from gateway.source.wsgi_transport import WsgiAdapter
from tests.support import tiny_describes

V = "/services/data/v59.0"
AUTH = {"Authorization": "Bearer T"}
NOW = dt.datetime(2024, 3, 15, 12, 0, tzinfo=dt.UTC)  # a Friday; its week began on Sunday 10 March
TOO_COMPLICATED = "QUERY_TOO_COMPLICATED"


def unique_describes() -> list[dict]:
    """The tiny schema with the external IDs marked ``unique``, as a real org's unique external IDs are."""
    describes = tiny_describes()
    for describe in describes:
        for field in describe["fields"]:
            if field["name"] in ("Ext_Id__c", "Code__c"):
                field["unique"] = True
    return describes


@pytest.fixture
def store() -> Store:
    return Store(Schema.from_describes(unique_describes()), now=lambda: NOW)


@pytest.fixture
def client(store):
    return create_app(LocalOrgConfig(token="T"), store).test_client()


def query(client, soql: str, resource: str = "query"):
    return client.get(f"{V}/{resource}", query_string={"q": soql}, headers=AUTH)


def query_in_body(client, soql: str) -> tuple[int, object]:
    """A query too long for a URL, sent as Salesforce advises: a composite subrequest (status, body)."""
    url = f"{V}/query?q={requests.utils.quote(soql)}"
    response = client.post(
        f"{V}/composite",
        json={"compositeRequest": [{"method": "GET", "url": url, "referenceId": "q"}]},
        headers=AUTH,
    )
    assert response.status_code == 200, response.get_json()
    (answer,) = response.get_json()["compositeResponse"]
    return answer["httpStatusCode"], answer["body"]


def body_names(status: int, body) -> list[str]:
    assert status == 200, body
    return sorted(r["Name"] for r in body["records"])


def names(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return sorted(r["Name"] for r in response.get_json()["records"])


def create(client, sobject: str, **values):
    return client.post(f"{V}/sobjects/{sobject}", json=values, headers=AUTH)


def live_rows(store, sobject: str) -> list[tuple]:
    with store.lock:
        return store.conn.execute(f'SELECT * FROM "{sobject}" WHERE "IsDeleted" = 0 ORDER BY "Id"').fetchall()


# --- deleted records ------------------------------------------------------------------------------


def test_deleted_record_does_not_leak_through_an_or_in_the_where(client):
    create(client, "Account", Name="Kept", Industry="Banking")
    gone = create(client, "Account", Name="Gone").get_json()["id"]
    assert client.delete(f"{V}/sobjects/Account/{gone}", headers=AUTH).status_code == 204

    soql = "SELECT Name FROM Account WHERE Industry = 'Nope' OR Name = 'Gone'"
    assert names(query(client, soql)) == []
    assert names(query(client, "SELECT Name FROM Account WHERE Name = 'Kept' OR Name = 'Gone'")) == ["Kept"]
    # queryAll still sees it, as Salesforce's does
    assert names(query(client, soql, "queryAll")) == ["Gone"]


def test_deleted_child_does_not_leak_into_a_subquery_with_an_or(client):
    parent = create(client, "Account", Name="Parent").get_json()["id"]
    create(client, "Contact", LastName="Stays", AccountId=parent)
    gone = create(client, "Contact", LastName="Gone", AccountId=parent).get_json()["id"]
    client.delete(f"{V}/sobjects/Contact/{gone}", headers=AUTH)

    soql = (
        "SELECT Name, (SELECT LastName FROM Contacts WHERE LastName = 'Gone' OR LastName = 'Stays') "
        "FROM Account"
    )
    (record,) = query(client, soql).get_json()["records"]
    assert [c["LastName"] for c in record["Contacts"]["records"]] == ["Stays"]


# --- unique fields --------------------------------------------------------------------------------


def test_unique_field_refuses_a_duplicate_create_and_writes_nothing(client, store):
    first = create(client, "Account", Name="One", Ext_Id__c="K-1").get_json()["id"]
    before = live_rows(store, "Account")

    response = create(client, "Account", Name="Two", Ext_Id__c="k-1")  # case is ignored, as Salesforce does

    assert response.status_code == 400
    assert response.get_json() == [
        {
            "message": f"duplicate value found: Ext_Id__c duplicates value on record with id: {first}",
            "errorCode": "DUPLICATE_VALUE",
        }
    ]
    assert live_rows(store, "Account") == before


def test_unique_field_refuses_a_duplicate_update_and_leaves_the_record(client, store):
    create(client, "Account", Name="One", Ext_Id__c="K-1")
    second = create(client, "Account", Name="Two", Ext_Id__c="K-2").get_json()["id"]
    before = live_rows(store, "Account")

    response = client.patch(f"{V}/sobjects/Account/{second}", json={"Ext_Id__c": "K-1"}, headers=AUTH)

    assert response.status_code == 400
    assert response.get_json()[0]["errorCode"] == "DUPLICATE_VALUE"
    assert live_rows(store, "Account") == before
    # a record may keep its own value
    assert (
        client.patch(f"{V}/sobjects/Account/{second}", json={"Ext_Id__c": "K-2"}, headers=AUTH).status_code
        == 204
    )


def test_unique_value_of_a_deleted_record_is_free_again(client):
    gone = create(client, "Account", Name="Old", Ext_Id__c="K-1").get_json()["id"]
    client.delete(f"{V}/sobjects/Account/{gone}", headers=AUTH)
    assert create(client, "Account", Name="New", Ext_Id__c="K-1").status_code == 201


def test_unique_field_holds_inside_collections_all_or_none(client, store):
    create(client, "Account", Name="One", Ext_Id__c="K-1")
    before = live_rows(store, "Account")
    records = [
        {"attributes": {"type": "Account"}, "Name": "Fine", "Ext_Id__c": "K-9"},
        {"attributes": {"type": "Account"}, "Name": "Clash", "Ext_Id__c": "K-1"},
    ]

    response = client.post(
        f"{V}/composite/sobjects", json={"allOrNone": True, "records": records}, headers=AUTH
    )

    assert [e["errors"][0]["statusCode"] for e in response.get_json()] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "DUPLICATE_VALUE",
    ]
    assert live_rows(store, "Account") == before


def test_unique_field_holds_between_records_of_one_collection(client, store):
    records = [
        {"attributes": {"type": "Account"}, "Name": "A", "Ext_Id__c": "K-5"},
        {"attributes": {"type": "Account"}, "Name": "B", "Ext_Id__c": "K-5"},
    ]
    response = client.post(f"{V}/composite/sobjects", json={"records": records}, headers=AUTH)

    first, second = response.get_json()
    assert first["success"] is True
    assert second["errors"][0]["statusCode"] == "DUPLICATE_VALUE"
    assert [row[0] for row in live_rows(store, "Account")] == [first["id"]]


def test_unique_field_holds_inside_a_composite_request(client, store):
    create(client, "Widget__c", Name="W", Code__c="C-1")
    before = live_rows(store, "Widget__c")
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {"method": "POST", "url": f"{V}/sobjects/Widget__c", "referenceId": "a", "body": {"Name": "X"}},
            {
                "method": "POST",
                "url": f"{V}/sobjects/Widget__c",
                "referenceId": "b",
                "body": {"Name": "Y", "Code__c": "c-1"},
            },
        ],
    }
    answers = client.post(f"{V}/composite", json=body, headers=AUTH).get_json()["compositeResponse"]
    assert [a["httpStatusCode"] for a in answers] == [400, 400]
    assert answers[1]["body"][0]["errorCode"] == "DUPLICATE_VALUE"
    assert live_rows(store, "Widget__c") == before


# --- valid SOQL never a 500 -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "error_code"),
    [
        ("(" * 600 + "Name = 'a'" + ")" * 600, TOO_COMPLICATED),
        ("NOT " * 600 + "Name = 'a'", TOO_COMPLICATED),
        ("NumberOfEmployees = 99999999999999999999", "MALFORMED_QUERY"),
        ("NumberOfEmployees IN (1, 99999999999999999999)", "MALFORMED_QUERY"),
        ("AnnualRevenue > " + "9" * 400, "MALFORMED_QUERY"),
        ("CreatedDate = LAST_N_DAYS:99999999999999999999", "MALFORMED_QUERY"),
        ("Name IN (" + ",".join(f"'{n}'" for n in range(20000)) + ")", "MALFORMED_QUERY"),  # > 100,000
    ],
    ids=[
        "deep-parentheses",
        "deep-not",
        "int-beyond-64-bits",
        "in-beyond-64-bits",
        "double-overflow",
        "last-n-days-beyond-int",
        "statement-too-long",
    ],
)
def test_valid_syntax_soql_gets_salesforce_error_not_500(client, where, error_code):
    status, body = query_in_body(client, f"SELECT Id FROM Account WHERE {where}")
    assert status == 400
    assert body[0]["errorCode"] == error_code


@pytest.mark.parametrize(
    "where",
    [
        "CreatedDate = LAST_N_DAYS:2000000000",
        "CreatedDate = NEXT_N_YEARS:2000000000",
        "CreatedDate < 9999-12-31T23:59:59-14:00",
        "CreatedDate > 0001-01-01T00:00:00+14:00",
        "AnnualRevenue < 99999999999999999999",
        " OR ".join(f"Name = 'n{i}'" for i in range(1000)),  # 1,000-term OR: deeper than SQLite allows flat
        " AND ".join(f"Name != 'n{i}'" for i in range(1000)),
        "(" * 40 + "Name = 'Acme'" + ")" * 40,
        "Name IN (" + ",".join(f"'{n}'" for n in range(5000)) + ")",
    ],
    ids=[
        "last-n-days-huge",
        "next-n-years-huge",
        "datetime-after-year-9999-in-utc",
        "datetime-before-year-1",
        "currency-beyond-64-bits",
        "or-of-1000",
        "and-of-1000",
        "nested-40",
        "in-of-5000",
    ],
)
def test_valid_syntax_soql_at_the_edges_is_answered_exactly(client, where):
    create(client, "Account", Name="Acme", AnnualRevenue=5)
    answered = body_names(*query_in_body(client, f"SELECT Name FROM Account WHERE {where}"))
    # the same question, negated, gives the complement: the answer is exact, not empty by accident
    negated = body_names(*query_in_body(client, f"SELECT Name FROM Account WHERE NOT ({where})"))
    assert sorted(answered + negated) == ["Acme"]


# --- over-long requests ---------------------------------------------------------------------------


def test_over_long_query_url_answers_414_in_salesforce_error_shape(client):
    response = query(client, "SELECT Id FROM Account WHERE Name IN (" + ",".join(["'x'"] * 5000) + ")")
    assert response.status_code == 414
    assert response.is_json
    (error,) = response.get_json()
    assert error["errorCode"] == "REQUEST_URI_TOO_LONG"
    assert "16384" in error["message"]


def test_over_long_url_and_headers_answer_431_in_salesforce_error_shape(client):
    response = client.get(f"{V}/limits", headers={**AUTH, "X-Padding": "p" * 16_300})
    assert response.status_code == 431
    assert response.get_json()[0]["errorCode"] == "REQUEST_HEADER_FIELDS_TOO_LARGE"


def test_query_url_just_under_the_limit_is_answered(client):
    soql = "SELECT Id FROM Account WHERE Name IN (" + ",".join(["'x'"] * 1000) + ")"
    assert len(f"{V}/query?q={requests.utils.quote(soql)}") < 16_384
    assert query(client, soql).status_code == 200


# --- external IDs ---------------------------------------------------------------------------------


@pytest.fixture
def sf(store) -> Salesforce:
    session = requests.Session()
    session.mount("https://", WsgiAdapter(create_app(LocalOrgConfig(token="T"), store)))
    return Salesforce(instance="localorg.test", session_id="T", session=session)


def test_get_by_external_id_reads_the_record(sf):
    created = sf.Widget__c.create({"Name": "Gear", "Code__c": "G/1-x"})
    record = sf.Widget__c.get_by_custom_id("Code__c", "G/1-x")
    assert (record["Id"], record["Name"]) == (created["id"], "Gear")
    assert sf.Widget__c.get_by_custom_id("Id", created["id"])["Name"] == "Gear"


def test_get_by_external_id_unknown_value_or_field_is_not_found(sf, client):
    sf.Widget__c.create({"Name": "Gear", "Code__c": "G-1"})
    with pytest.raises(SalesforceResourceNotFound):
        sf.Widget__c.get_by_custom_id("Code__c", "nope")
    response = client.get(f"{V}/sobjects/Widget__c/Name/Gear", headers=AUTH)
    assert response.status_code == 404
    assert response.get_json() == [
        {
            "message": "Provided external ID field does not exist or is not accessible: Name",
            "errorCode": "NOT_FOUND",
        }
    ]


def test_get_and_delete_by_non_unique_external_id_matching_several_answer_300(client, store):
    # Account.Ext_Id__c is unique in this org; a non-unique external ID is the tiny schema's default
    plain = Store(Schema.from_describes(tiny_describes()), now=lambda: NOW)
    plain_client = create_app(LocalOrgConfig(token="T"), plain).test_client()
    ids = [create(plain_client, "Account", Name=n, Ext_Id__c="K").get_json()["id"] for n in ("a", "b")]
    for method in (plain_client.get, plain_client.delete):
        response = method(f"{V}/sobjects/Account/Ext_Id__c/K", headers=AUTH)
        assert response.status_code == 300
        assert response.get_json() == [f"{V}/sobjects/Account/{i}" for i in sorted(ids)]
    assert len(live_rows(plain, "Account")) == 2


def test_delete_by_external_id_deletes_that_record_only(sf, client, store):
    keep = sf.Widget__c.create({"Name": "Keep", "Code__c": "K-1"})["id"]
    gone = sf.Widget__c.create({"Name": "Gone", "Code__c": "K-2"})["id"]

    assert sf.Widget__c.delete("Code__c/K-2") == 204

    assert [row[0] for row in live_rows(store, "Widget__c")] == [keep]
    assert client.get(f"{V}/sobjects/Widget__c/{gone}", headers=AUTH).status_code == 404
    assert client.delete(f"{V}/sobjects/Widget__c/Code__c/K-2", headers=AUTH).status_code == 404


def test_external_id_matches_several_is_reported_by_simple_salesforce(sf):
    plain = Store(Schema.from_describes(tiny_describes()), now=lambda: NOW)
    session = requests.Session()
    session.mount("https://", WsgiAdapter(create_app(LocalOrgConfig(token="T"), plain)))
    plain_sf = Salesforce(instance="localorg.test", session_id="T", session=session)
    plain_sf.Account.create({"Name": "a", "Ext_Id__c": "K"})
    plain_sf.Account.create({"Name": "b", "Ext_Id__c": "K"})
    with pytest.raises(SalesforceMoreThanOneRecord):
        plain_sf.Account.get_by_custom_id("Ext_Id__c", "K")


# --- date literals --------------------------------------------------------------------------------

D = dt.date
# Worked out by hand from Salesforce's definitions for Friday 15 March 2024 (weeks start on Sunday, the
# fiscal year is the calendar year): [first day, day after the last).
RANGES = {
    "YESTERDAY": (D(2024, 3, 14), D(2024, 3, 15)),
    "TODAY": (D(2024, 3, 15), D(2024, 3, 16)),
    "TOMORROW": (D(2024, 3, 16), D(2024, 3, 17)),
    "THIS_WEEK": (D(2024, 3, 10), D(2024, 3, 17)),
    "LAST_WEEK": (D(2024, 3, 3), D(2024, 3, 10)),
    "NEXT_WEEK": (D(2024, 3, 17), D(2024, 3, 24)),
    "THIS_MONTH": (D(2024, 3, 1), D(2024, 4, 1)),
    "LAST_MONTH": (D(2024, 2, 1), D(2024, 3, 1)),
    "NEXT_MONTH": (D(2024, 4, 1), D(2024, 5, 1)),
    "THIS_QUARTER": (D(2024, 1, 1), D(2024, 4, 1)),
    "LAST_QUARTER": (D(2023, 10, 1), D(2024, 1, 1)),
    "NEXT_QUARTER": (D(2024, 4, 1), D(2024, 7, 1)),
    "THIS_YEAR": (D(2024, 1, 1), D(2025, 1, 1)),
    "LAST_YEAR": (D(2023, 1, 1), D(2024, 1, 1)),
    "NEXT_YEAR": (D(2025, 1, 1), D(2026, 1, 1)),
    "THIS_FISCAL_QUARTER": (D(2024, 1, 1), D(2024, 4, 1)),
    "LAST_FISCAL_YEAR": (D(2023, 1, 1), D(2024, 1, 1)),
    "LAST_90_DAYS": (D(2023, 12, 16), D(2024, 3, 16)),
    "NEXT_90_DAYS": (D(2024, 3, 16), D(2024, 6, 14)),
    "LAST_N_DAYS:3": (D(2024, 3, 12), D(2024, 3, 16)),
    "NEXT_N_DAYS:3": (D(2024, 3, 16), D(2024, 3, 19)),
    "LAST_N_WEEKS:2": (D(2024, 2, 25), D(2024, 3, 10)),
    "NEXT_N_WEEKS:2": (D(2024, 3, 17), D(2024, 3, 31)),
    "LAST_N_MONTHS:2": (D(2024, 1, 1), D(2024, 3, 1)),
    "NEXT_N_MONTHS:2": (D(2024, 4, 1), D(2024, 6, 1)),
    "LAST_N_QUARTERS:2": (D(2023, 7, 1), D(2024, 1, 1)),
    "NEXT_N_QUARTERS:1": (D(2024, 4, 1), D(2024, 7, 1)),
    "LAST_N_YEARS:1": (D(2023, 1, 1), D(2024, 1, 1)),
    "NEXT_N_YEARS:1": (D(2025, 1, 1), D(2026, 1, 1)),
    "LAST_N_FISCAL_QUARTERS:1": (D(2023, 10, 1), D(2024, 1, 1)),
    "N_DAYS_AGO:3": (D(2024, 3, 12), D(2024, 3, 13)),
    "N_WEEKS_AGO:1": (D(2024, 3, 3), D(2024, 3, 10)),
    "N_MONTHS_AGO:1": (D(2024, 2, 1), D(2024, 3, 1)),
    "N_QUARTERS_AGO:1": (D(2023, 10, 1), D(2024, 1, 1)),
    "N_YEARS_AGO:1": (D(2023, 1, 1), D(2024, 1, 1)),
    "N_FISCAL_YEARS_AGO:1": (D(2023, 1, 1), D(2024, 1, 1)),
}
FIRST, DAYS = D(2022, 12, 20), 760  # every day from 20 December 2022 to 17 January 2025


@pytest.fixture
def dated(store):
    """One Contact born on each day, one Widget due at 00:00 and at 23:59:59 of each day."""
    days = [FIRST + dt.timedelta(days=n) for n in range(DAYS)]
    store.load_data(
        {
            "Contact": [{"LastName": d.isoformat(), "Birthdate": d.isoformat()} for d in days],
            "Widget__c": [
                {"Name": f"{d.isoformat()} {clock}", "Due__c": f"{d.isoformat()}T{clock}Z"}
                for d in days
                for clock in ("00:00:00", "23:59:59")
            ],
        }
    )
    return days


def days_answered(client, soql: str) -> set[dt.date]:
    response = query(client, soql)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["done"], "fewer than 2,000 rows expected"
    return {D.fromisoformat((r.get("LastName") or r.get("Name"))[:10]) for r in body["records"]}


def days_between(days: list[dt.date], start: dt.date, end: dt.date) -> set[dt.date]:
    return {d for d in days if start <= d < end}


@pytest.mark.parametrize("literal", sorted(RANGES))
def test_date_literal_covers_salesforce_range_on_the_store_clock(client, dated, literal):
    start, end = RANGES[literal]
    expected = days_between(dated, start, end)
    assert days_answered(client, f"SELECT LastName FROM Contact WHERE Birthdate = {literal}") == expected
    assert days_answered(client, f"SELECT Name FROM Widget__c WHERE Due__c = {literal}") == expected


@pytest.mark.parametrize(
    ("op", "lower", "upper"),
    [("<", None, "start"), ("<=", None, "end"), (">", "end", None), (">=", "start", None)],
)
def test_date_literal_comparisons_use_the_range_bounds(client, dated, op, lower, upper):
    bounds = {"start": D(2024, 2, 1), "end": D(2024, 3, 1)}  # LAST_MONTH
    start = bounds[lower] if lower else FIRST
    end = bounds[upper] if upper else FIRST + dt.timedelta(days=DAYS)
    soql = f"SELECT LastName FROM Contact WHERE Birthdate {op} LAST_MONTH AND Birthdate >= 2024-01-20 "
    soql += "AND Birthdate < 2024-03-10"
    expected = days_between(dated, max(start, D(2024, 1, 20)), min(end, D(2024, 3, 10)))
    assert days_answered(client, soql) == expected


def test_date_literals_in_in_lists(client, dated, store):
    store.insert("Contact", {"LastName": "no birthday"})
    soql = "SELECT LastName FROM Contact WHERE Birthdate IN (YESTERDAY, NEXT_WEEK, 2023-05-05)"
    expected = {D(2024, 3, 14), D(2023, 5, 5)} | days_between(dated, D(2024, 3, 17), D(2024, 3, 24))
    assert days_answered(client, soql) == expected

    not_in = "SELECT LastName FROM Contact WHERE Birthdate NOT IN (THIS_YEAR, LAST_YEAR, NEXT_YEAR)"
    response = query(client, not_in)
    assert sorted(r["LastName"] for r in response.get_json()["records"]) == [
        "2022-12-20",
        "2022-12-21",
        "2022-12-22",
        "2022-12-23",
        "2022-12-24",
        "2022-12-25",
        "2022-12-26",
        "2022-12-27",
        "2022-12-28",
        "2022-12-29",
        "2022-12-30",
        "2022-12-31",
        "no birthday",
    ]  # NOT IN matches nulls, as in Salesforce

    with_null = "SELECT LastName FROM Contact WHERE Birthdate IN (TODAY, null)"
    assert sorted(r["LastName"] for r in query(client, with_null).get_json()["records"]) == [
        "2024-03-15",
        "no birthday",
    ]


def test_date_literal_follows_the_store_clock_not_the_wall_clock(dated):
    later = Store(
        Schema.from_describes(unique_describes()), now=lambda: dt.datetime(2024, 7, 4, tzinfo=dt.UTC)
    )
    later.load_data({"Contact": [{"LastName": "x", "Birthdate": "2024-07-03"}]})
    client = create_app(LocalOrgConfig(token="T"), later).test_client()
    response = query(client, "SELECT LastName FROM Contact WHERE Birthdate = YESTERDAY")
    assert [r["LastName"] for r in response.get_json()["records"]] == ["x"]


def test_date_literal_on_a_text_field_is_refused_as_salesforce_does(client):
    response = query(client, "SELECT Id FROM Account WHERE Name = THIS_QUARTER")
    assert response.status_code == 400
    assert response.get_json()[0]["errorCode"] == "INVALID_FIELD"


def test_every_date_literal_the_parser_knows_has_a_range():
    from gateway.localorg import date_literals
    from gateway.soql.syntax import RELATIVE_DATES, RELATIVE_DATES_N

    assert date_literals.NAMES == RELATIVE_DATES
    assert date_literals.NAMES_WITH_N == RELATIVE_DATES_N


def test_over_long_query_url_over_real_http_is_414_json_not_html(store):
    """Through the local org's own HTTP server, far beyond any server's request-line buffer."""
    import threading

    from gateway.localorg.server import LocalOrgServer

    server = LocalOrgServer("127.0.0.1", 0, create_app(LocalOrgConfig(token="T"), store))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        soql = "SELECT Id FROM Account WHERE Name IN (" + ",".join(["'x'"] * 20_000) + ")"
        response = requests.get(
            f"http://127.0.0.1:{server.server_port}{V}/query", params={"q": soql}, headers=AUTH, timeout=30
        )
    finally:
        server.server_close()
    assert response.status_code == 414
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()[0]["errorCode"] == "REQUEST_URI_TOO_LONG"
