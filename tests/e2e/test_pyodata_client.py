"""pyodata, a real OData V2 client, reads the gateway's V2 face: reflects $metadata, reads every published
entity set by following __next, filters, orders, counts. Answers are compared with SOQL on the same source
and with the V4 face."""

from __future__ import annotations

import pyodata
import pytest
import requests

from gateway.app import create_app
from gateway.source.embedded import embedded_source
from gateway.source.wsgi_transport import WsgiAdapter

ROOT = "http://gateway.test/odata/v2/"


@pytest.fixture(scope="module")
def gateway():
    """(pyodata service, source, app, session) on a demo org of 300 Accounts with pages of 40 rows."""
    demo_source, _ = embedded_source(300)
    app = create_app(source=demo_source, environ={}, host="127.0.0.1", embedded=True, page_size=40)
    session = requests.Session()
    session.mount("http://gateway.test/", WsgiAdapter(app))
    return pyodata.Client(ROOT, session), demo_source, app, session


def read_all(request) -> tuple[list, int]:
    """Every entity of a pyodata query, following __next; and the number of pages."""
    page = request.execute()
    rows, pages = list(page), 1
    while page.next_url:
        page = request.next_url(page.next_url).execute()
        rows += list(page)
        pages += 1
    return rows, pages


def ids(source, soql: str) -> list[str]:
    return [r["Id"] for r in source.query_records(soql)]


def test_reflects_every_published_entity_set(gateway):
    service, _, app, _ = gateway
    model = app.extensions["odata_gateway"].model()
    assert {s.name for s in service.schema.entity_sets} == set(model.entity_sets)
    for name, entity_set in model.entity_sets.items():
        entity_type = service.schema.entity_set(name).entity_type
        assert {p.name for p in entity_type.proprties()} == set(entity_set.properties)


def test_reads_every_published_entity_set_completely(gateway):
    service, source, app, _ = gateway
    for name, entity_set in app.extensions["odata_gateway"].model().entity_sets.items():
        rows, _ = read_all(getattr(service.entity_sets, name).get_entities())
        assert sorted(r.Id for r in rows) == sorted(ids(source, f"SELECT Id FROM {entity_set.sobject}")), name


def test_typed_values_come_back_as_python_values(gateway):
    service, source, _, _ = gateway
    record = next(source.query_records("SELECT Id, CreatedDate, NumberOfEmployees FROM Account LIMIT 1"))
    account = service.entity_sets.Account.get_entity(record["Id"]).execute()
    assert account.CreatedDate.strftime("%Y-%m-%dT%H:%M:%S") == record["CreatedDate"][:19]
    assert account.NumberOfEmployees == (record["NumberOfEmployees"] or 0)


def test_filter_order_and_inline_count_match_soql(gateway):
    service, source, _, _ = gateway
    request = (
        service.entity_sets.Account.get_entities()
        .filter("Industry eq 'Banking' and AnnualRevenue gt 1000000M")
        .order_by("AnnualRevenue desc")
        .count(inline=True)
    )
    first = request.execute()
    rows, _ = read_all(request)
    expected = ids(
        source,
        "SELECT Id FROM Account WHERE Industry = 'Banking' AND AnnualRevenue > 1000000 "
        "ORDER BY AnnualRevenue DESC NULLS LAST, Id",
    )
    assert [r.Id for r in rows] == expected and expected
    assert first.total_count == len(expected)


def test_pyodata_filter_builder_and_count(gateway):
    service, source, _, _ = gateway
    accounts = service.entity_sets.Account
    rows, _ = read_all(accounts.get_entities().filter("startswith(Name,'A') eq true"))
    expected = ids(source, "SELECT Id FROM Account WHERE Name LIKE 'A%'")
    assert sorted(r.Id for r in rows) == sorted(expected)
    assert accounts.get_entities().count().execute() == 300
    assert accounts.get_entities().filter("substringof('Acme',Name)").count().execute() == len(
        ids(source, "SELECT Id FROM Account WHERE Name LIKE '%Acme%'")
    )


def test_server_driven_paging_one_api_call_a_page(gateway):
    service, source, _, _ = gateway
    before = source.api_calls
    rows, pages = read_all(service.entity_sets.Account.get_entities().select("Id,Name"))
    assert len(rows) == 300 and pages == 8 and source.api_calls - before == pages


def test_navigation_and_expand(gateway):
    service, source, _, _ = gateway
    account_id = next(source.query_records("SELECT AccountId FROM Contact WHERE AccountId != null LIMIT 1"))[
        "AccountId"
    ]
    contacts = service.entity_sets.Account.get_entity(account_id).nav("Contacts").get_entities().execute()
    expected = sorted(ids(source, f"SELECT Id FROM Contact WHERE AccountId = '{account_id}'"))
    assert sorted(c.Id for c in contacts) == expected
    expanded = service.entity_sets.Account.get_entity(account_id).expand("Contacts").execute()
    assert sorted(c.Id for c in expanded.Contacts) == expected


def test_same_rows_as_the_v4_face(gateway):
    service, _, _, session = gateway
    rows, _ = read_all(
        service.entity_sets.Contact.get_entities()
        .filter("substringof('a',LastName) eq true")
        .order_by("LastName")
    )
    url = "http://gateway.test/odata/Contact?$select=Id&$filter=contains(LastName,'a')&$orderby=LastName"
    v4 = []
    while url:
        body = session.get(url).json()
        v4 += [r["Id"] for r in body["value"]]
        url = body.get("@odata.nextLink")
    assert [r.Id for r in rows] == v4 and v4


def test_pyodata_creates_updates_and_deletes(gateway):
    """Through pyodata's own write API; what the org holds is read back with SOQL."""
    service, source, _, _ = gateway
    accounts = service.entity_sets.Account
    created = (
        accounts.create_entity().set(Name="Pyodata Ltd", NumberOfEmployees=7, AnnualRevenue="1500").execute()
    )
    assert created.Name == "Pyodata Ltd" and created.etag

    def stored() -> dict:
        return next(
            source.query_records(
                f"SELECT Name, NumberOfEmployees, Phone FROM Account WHERE Id = '{created.Id}'"
            )
        )

    assert (stored()["Name"], stored()["NumberOfEmployees"]) == ("Pyodata Ltd", 7)
    accounts.update_entity(created.Id, method="MERGE").set(Phone="555-0100").execute()
    assert (stored()["Name"], stored()["Phone"]) == ("Pyodata Ltd", "555-0100")
    accounts.update_entity(created.Id).set(Name="Pyodata Patched").execute()  # pyodata's default: PATCH
    accounts.update_entity(created.Id, method="PUT").set(Name="Pyodata Replaced").execute()
    assert (stored()["Name"], stored()["NumberOfEmployees"], stored()["Phone"]) == (
        "Pyodata Replaced",
        None,
        None,
    )
    accounts.delete_entity(created.Id).execute()
    assert list(source.query_records(f"SELECT Id FROM Account WHERE Id = '{created.Id}'")) == []


def test_pyodata_creates_a_child_with_a_date(gateway):
    import datetime as dt

    service, source, _, _ = gateway
    account_id = next(source.query_records("SELECT Id FROM Account LIMIT 1"))["Id"]
    contact = (
        service.entity_sets.Contact.create_entity()
        .set(LastName="Dated", AccountId=account_id, Birthdate=dt.datetime(1985, 3, 4, tzinfo=dt.UTC))
        .execute()
    )
    row = next(source.query_records(f"SELECT Birthdate, AccountId FROM Contact WHERE Id = '{contact.Id}'"))
    assert row == {**row, "Birthdate": "1985-03-04", "AccountId": account_id}
    assert contact.Birthdate == dt.datetime(1985, 3, 4, tzinfo=dt.UTC)


def test_pyodata_typed_filters_send_v2_literals(gateway):
    """pyodata's keyword filters write V2 literals (datetime'…', startswith/substringof … eq true)."""
    import datetime as dt

    service, source, _, _ = gateway
    since = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    rows, _ = read_all(
        service.entity_sets.Account.get_entities().filter(CreatedDate__gt=since, Name__contains="a")
    )
    expected = ids(
        source, "SELECT Id FROM Account WHERE CreatedDate > 2024-01-01T00:00:00Z AND Name LIKE '%a%'"
    )
    assert sorted(r.Id for r in rows) == sorted(expected)
    born, _ = read_all(
        service.entity_sets.Contact.get_entities().filter(
            Birthdate__lt=dt.datetime(1980, 1, 1, tzinfo=dt.UTC)
        )
    )
    assert sorted(r.Id for r in born) == sorted(
        ids(source, "SELECT Id FROM Contact WHERE Birthdate < 1980-01-01")
    )


def _utc(*parts: int):
    import datetime as dt

    return dt.datetime(*parts, tzinfo=dt.UTC)


# Every writable set of the demo publication: (values to create, values to change), as pyodata takes them.
ROUND_TRIPS = {
    "Account": ({"Name": "V2 trip", "Industry": "Energy"}, {"Name": "V2 trip 2"}),
    "Contact": ({"LastName": "Trip", "Birthdate": _utc(1990, 5, 17)}, {"Title": "Chief Traveller"}),
    "Opportunity": (
        {"Name": "Trip", "StageName": "Prospecting", "CloseDate": _utc(2025, 1, 31), "Amount": "10.5"},
        {"StageName": "Closed Won", "Amount": "2000.25"},
    ),
    "Project__c": ({"Name": "Trip", "Kickoff__c": _utc(2024, 6, 1, 14)}, {"Allocation__c": "12.5"}),
}


def test_round_trips_cover_every_writable_set(gateway):
    _, _, app, _ = gateway
    model = app.extensions["odata_gateway"].model()
    assert {name for name, s in model.entity_sets.items() if s.insertable} == set(ROUND_TRIPS)


@pytest.mark.parametrize("name", sorted(ROUND_TRIPS))
def test_pyodata_round_trip_on_every_writable_set(gateway, name):
    """Create, read back, MERGE, delete through pyodata; each step checked on the org with SOQL."""
    from decimal import Decimal

    service, source, app, _ = gateway
    sobject = app.extensions["odata_gateway"].model().entity_sets[name].sobject
    create, update = ROUND_TRIPS[name]
    entity_set = getattr(service.entity_sets, name)
    created = entity_set.create_entity().set(**create).execute()

    def stored(fields) -> dict:
        return next(
            source.query_records(f"SELECT {', '.join(fields)} FROM {sobject} WHERE Id = '{created.Id}'")
        )

    def same(sent, held) -> bool:
        if hasattr(sent, "tzinfo"):
            return (
                held[:10] == sent.date().isoformat()
                if len(held) == 10
                else held[:19] == sent.strftime("%Y-%m-%dT%H:%M:%S")
            )
        return (
            Decimal(str(held)) == Decimal(sent)
            if isinstance(sent, str) and sent[0].isdigit()
            else held == sent
        )

    row = stored(create)
    assert all(same(value, row[field]) for field, value in create.items()), row
    entity_set.update_entity(created.Id, method="MERGE").set(**update).execute()
    row = stored(list(dict.fromkeys([*create, *update])))
    assert all(same(value, row[field]) for field, value in update.items()), row
    untouched = [f for f in create if f not in update]
    assert all(same(create[f], row[f]) for f in untouched), row
    entity_set.delete_entity(created.Id).execute()
    assert list(source.query_records(f"SELECT Id FROM {sobject} WHERE Id = '{created.Id}'")) == []
