"""The bundled demo org: its describe JSON, and generated records that are deterministic and valid for it."""

from __future__ import annotations

import re

import pytest

from gateway.localorg import demo, ids, validation
from gateway.localorg.schema import Schema, load_schema
from gateway.localorg.store import Store

DEMO_OBJECTS = ["User", "Account", "Contact", "Opportunity", "Case", "Project__c"]
DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
DATE = re.compile(r"\d{4}-\d\d-\d\d")


@pytest.fixture(scope="module")
def demo_schema() -> Schema:
    return load_schema(demo.DEMO_SCHEMA_PATH)


@pytest.fixture(scope="module")
def data() -> dict[str, list[dict]]:
    return demo.generate_demo_data()


@pytest.fixture(scope="module")
def loaded(demo_schema) -> Store:
    store = Store(demo_schema)
    demo.load_demo(store)
    return store


def test_schema_has_the_demo_objects_with_their_key_prefixes(demo_schema):
    assert [t.name for t in demo_schema.types] == DEMO_OBJECTS
    assert {t.name: t.key_prefix for t in demo_schema.types} == demo.KEY_PREFIXES
    project = demo_schema.get("project__c")
    assert project.describe["custom"] is True
    assert project.describe["label"] == "Project"
    assert demo_schema.get("Account").describe["custom"] is False


def test_custom_object_has_a_field_of_every_common_type(demo_schema):
    project = demo_schema.get("Project__c")
    custom = [f for f in project.fields if f["custom"]]
    types = {f["type"] for f in custom}
    assert {
        "string", "textarea", "picklist", "multipicklist", "currency", "percent", "double", "boolean",
        "date", "datetime", "email", "phone", "url", "reference",
    } <= types  # fmt: skip
    long_text = project.field("Description__c")
    assert (long_text["type"], long_text["length"], long_text["filterable"], long_text["sortable"]) == (
        "textarea",
        32768,
        False,
        False,
    )
    tags = project.field("Tags__c")
    assert tags["restrictedPicklist"] and not tags["sortable"] and tags["filterable"]
    budget = project.field("Budget__c")
    assert (budget["precision"], budget["scale"]) == (18, 2)
    code = project.field("Project_Code__c")
    assert code["externalId"] and code["unique"]


def test_field_names_that_start_with_odata_keywords_exist(demo_schema):
    project = demo_schema.get("Project__c")
    for name, field_type in [
        ("Allocation__c", "percent"),
        ("Nullable__c", "string"),
        ("AnyScore__c", "double"),
        ("True_Up__c", "boolean"),
        ("False_Start__c", "date"),
        ("Alldone__c", "string"),
    ]:
        assert project.field(name)["type"] == field_type, name


def test_standard_fields_are_described_as_a_real_org_describes_them(demo_schema):
    account = demo_schema.get("Account")
    assert account.field("Name")["length"] == 255 and account.field("Name")["nillable"] is False
    description = account.field("Description")
    assert description["length"] == 32000
    assert not description["filterable"] and not description["sortable"]
    assert account.field("AnnualRevenue")["type"] == "currency"
    assert account.field("NumberOfEmployees")["type"] == "int"
    assert account.field("Website")["type"] == "url"
    assert "Banking" in [p["value"] for p in account.field("Industry")["picklistValues"]]
    assert account.field("External_Id__c")["externalId"] is True
    contact = demo_schema.get("Contact")
    assert validation.is_required(contact.field("LastName"))
    assert not contact.field("Name")["createable"]
    opportunity = demo_schema.get("Opportunity")
    stage = opportunity.field("StageName")
    assert stage["restrictedPicklist"] and validation.is_required(stage)
    assert validation.is_required(opportunity.field("CloseDate"))
    assert not opportunity.field("IsClosed")["createable"]
    case_number = demo_schema.get("Case").field("CaseNumber")
    assert case_number["autoNumber"] and not case_number["createable"]


def test_relationships_both_ways(demo_schema):
    account = demo_schema.get("Account")
    assert account.child("Contacts") == ("Contact", "AccountId")
    assert account.child("Opportunities") == ("Opportunity", "AccountId")
    assert account.child("Cases") == ("Case", "AccountId")
    assert account.child("ChildAccounts") == ("Account", "ParentId")
    assert account.child("Projects__r") == ("Project__c", "Account__c")
    assert demo_schema.get("Contact").child("Cases") == ("Case", "ContactId")
    field, target = demo_schema.get("Project__c").parent("Account__r")
    assert (field["name"], target) == ("Account__c", "Account")
    field, target = demo_schema.get("Account").parent("Owner")
    assert (field["name"], target) == ("OwnerId", "User")
    assert demo_schema.get("Account").parent("Parent")[1] == "Account"


def test_scale_one_meets_the_minimum_counts(data):
    counts = {name: len(records) for name, records in data.items()}
    assert list(counts) == DEMO_OBJECTS
    assert counts["Account"] == 1000
    assert counts["Contact"] >= 3000
    assert counts["Opportunity"] >= 1000
    assert counts["Case"] >= 500
    assert counts["Project__c"] >= 200
    assert counts["User"] >= 20


def test_rows_scale_children_with_accounts():
    small = demo.generate_demo_data(accounts=50)
    assert {n: len(r) for n, r in small.items()} == {
        "User": 5,
        "Account": 50,
        "Contact": 150,
        "Opportunity": 50,
        "Case": 25,
        "Project__c": 10,
    }
    assert len(demo.generate_demo_data(scale=2)["Contact"]) == 6000


def test_same_seed_same_data_other_seed_other_values(data):
    assert demo.generate_demo_data() == data
    other = demo.generate_demo_data(seed=7)
    assert [r["Id"] for r in other["Account"]] == [r["Id"] for r in data["Account"]]
    assert [r["Name"] for r in other["Contact"]] != [r["Name"] for r in data["Contact"]]


def test_ids_are_valid_unique_and_follow_make_id():
    # 1,300 Accounts give 3,900 Contacts: past the 62*62 boundary of the Ids' last two digits.
    generated = demo.generate_demo_data(accounts=1300)
    for name, records in generated.items():
        prefix = demo.KEY_PREFIXES[name]
        expected = [ids.make_id(prefix, n) for n in range(1, len(records) + 1)]
        assert [r["Id"] for r in records] == expected, name
        assert all(ids.is_valid_id(i) for i in expected)


def test_every_reference_points_to_an_existing_record_of_its_target(data, demo_schema):
    ids_by_object = {name: {r["Id"] for r in records} for name, records in data.items()}
    checked = 0
    for name, records in data.items():
        for field in demo_schema.get(name).reference_fields:
            targets = set().union(*(ids_by_object[t] for t in field["referenceTo"]))
            for record in records:
                value = record.get(field["name"])
                if value is not None:
                    assert value in targets, (name, field["name"], value)
                    checked += 1
    assert checked > 10000


def test_related_records_agree(data):
    contacts = {c["Id"]: c for c in data["Contact"]}
    for case in data["Case"]:
        if case["ContactId"]:
            assert case["AccountId"] == contacts[case["ContactId"]]["AccountId"]
    accounts = {a["Id"]: a for a in data["Account"]}
    for account in data["Account"]:
        if account["ParentId"]:
            assert account["ParentId"] < account["Id"]  # parents come first: no cycles
    for opportunity in data["Opportunity"]:
        assert opportunity["IsClosed"] == opportunity["StageName"].startswith("Closed")
        assert opportunity["IsWon"] == (opportunity["StageName"] == "Closed Won")
        if opportunity["AccountId"]:
            assert opportunity["Name"].startswith(accounts[opportunity["AccountId"]]["Name"][:40])
    for contact in data["Contact"]:
        assert contact["Name"] == " ".join(p for p in (contact["FirstName"], contact["LastName"]) if p)


def test_every_value_fits_its_field(data, demo_schema):
    for name, records in data.items():
        sobject = demo_schema.get(name)
        for record in records:
            for key, value in record.items():
                field = sobject.field(key)
                assert field is not None and field["name"] == key, (name, key)
                if value is None:
                    assert field["nillable"], (name, key)
                    continue
                _assert_fits(field, value)


def _assert_fits(field: dict, value: object) -> None:
    field_type = field["type"]
    where = (field["name"], value)
    if field_type == "boolean":
        assert isinstance(value, bool), where
    elif field_type == "int":
        assert isinstance(value, int) and not isinstance(value, bool), where
        assert len(str(abs(value))) <= field["digits"], where
    elif field_type in ("double", "currency", "percent"):
        assert isinstance(value, float), where
        assert round(value, field["scale"]) == value, where
        assert abs(value) < 10 ** (field["precision"] - field["scale"]), where
    elif field_type == "datetime":
        assert DATETIME.fullmatch(value), where
        assert "2023-01-01" <= value[:10] <= "2026-06-30", where
    elif field_type == "date":
        assert DATE.fullmatch(value), where
    else:
        assert isinstance(value, str) and value != "", where
        assert len(value) <= field["length"], where
        allowed = {p["value"] for p in field["picklistValues"]}
        if field_type == "picklist":
            assert value in allowed, where
        if field_type == "multipicklist":
            assert set(value.split(";")) <= allowed, where


def test_every_record_passes_salesforce_write_validation(data, demo_schema):
    for name, records in data.items():
        sobject = demo_schema.get(name)
        for record in records:
            body = {k: v for k, v in record.items() if k != "Id" and sobject.field(k)["createable"]}
            stored = validation.prepare_write(sobject, body, creating=True)
            assert set(stored) == set(body)


def test_sample_records_insert_through_the_store(loaded, data, demo_schema):
    for name in DEMO_OBJECTS:
        sobject = demo_schema.get(name)
        for record in data[name][:25]:
            body = {k: v for k, v in record.items() if k != "Id" and sobject.field(k)["createable"]}
            # Unique values get a mark, so the copy never duplicates the loaded record.
            body.update({k: "x" + v for k, v in body.items() if v and sobject.field(k)["unique"]})
            new_id = loaded.insert(name, body)
            copy = loaded.get(name, new_id)
            for key, value in body.items():
                if sobject.field(key)["type"] == "datetime" and value:
                    value = value.replace("Z", "+0000")  # how the REST API writes datetimes
                assert copy[key] == value, (name, key)


def test_load_demo_fills_the_store(demo_schema):
    store = Store(demo_schema)
    counts = demo.load_demo(store, accounts=200)
    assert counts == {
        "User": 5,
        "Account": 200,
        "Contact": 600,
        "Opportunity": 200,
        "Case": 100,
        "Project__c": 40,
    }
    for name, count in counts.items():
        assert store.conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] == count
    first_account = ids.make_id("001", 1)
    record = store.get("Account", first_account)
    assert record["Name"] == 'Acme "Quoted" Ltd.'
    assert record["CreatedDate"] == store.conn.execute(
        'SELECT "CreatedDate" FROM "Account" WHERE "Id" = ?', (first_account,)
    ).fetchone()[0].replace("Z", "+0000")


def test_the_api_user_is_the_first_user(data):
    from gateway.localorg.config import LocalOrgConfig

    config = LocalOrgConfig()
    admin = data["User"][0]
    assert (admin["Id"], admin["Username"], admin["IsActive"]) == (config.user_id, config.username, True)


def test_data_has_nulls_and_quirky_strings_where_real_data_has_them(data):
    contacts, accounts = data["Contact"], data["Account"]
    assert any(c["Email"] is None for c in contacts)
    assert any(c["AccountId"] is None for c in contacts)
    assert any(c["FirstName"] is None for c in contacts)
    assert any(a["Industry"] is None for a in accounts)
    account_names = {a["Name"] for a in accounts}
    assert {'Acme "Quoted" Ltd.', "O'Brien & Sons", "Zoë's Café", "Back\\Slash Systems"} <= account_names
    last_names = {c["LastName"] for c in contacts}
    assert {"O'Brien", "Müller"} <= last_names
    assert "Zoë" in {c["FirstName"] for c in contacts}
    assert any(c["Description"] and "\n" in c["Description"] for c in contacts + accounts)
    for field in ["Allocation__c", "Nullable__c", "AnyScore__c", "False_Start__c", "Alldone__c"]:
        values = [p[field] for p in data["Project__c"]]
        assert None in values and any(v is not None for v in values), field
    assert {True, False} == {p["True_Up__c"] for p in data["Project__c"]}


def test_timestamps_do_not_depend_on_the_clock(data):
    for name, records in data.items():
        for record in records:
            assert "2023-01-01" <= record["CreatedDate"][:10] <= "2025-12-31", name
            assert record["CreatedDate"] <= record["LastModifiedDate"] == record["SystemModstamp"]
    created = [a["CreatedDate"][:10] for a in data["Account"]]
    assert created == sorted(created)
