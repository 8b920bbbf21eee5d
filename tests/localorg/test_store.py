"""The local org's store: layout, Salesforce write validation, atomicity, composite, upsert, bulk load."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from gateway.localorg import ids, validation
from gateway.localorg.demo import DEMO_SCHEMA_PATH
from gateway.localorg.errors import SalesforceError
from gateway.localorg.schema import Schema, load_schema
from gateway.localorg.store import Store

T0 = dt.datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)


class Clock:
    """A clock tests move by hand."""

    def __init__(self, start: dt.datetime = T0):
        self.current = start

    def __call__(self) -> dt.datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += dt.timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(schema, clock) -> Store:
    return Store(schema, now=clock)


def dump(store: Store) -> dict[str, list[tuple]]:
    """Every row of every table, the sequence table included, for byte-for-byte comparisons."""
    tables = [r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {t: store.conn.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall() for t in sorted(tables)}


def error_of(call, *args) -> SalesforceError:
    with pytest.raises(SalesforceError) as caught:
        call(*args)
    return caught.value


# -- layout ---------------------------------------------------------------------------------------


def test_tables_columns_and_reference_indexes(store):
    columns = [r[1] for r in store.conn.execute('PRAGMA table_info("Contact")')]
    assert columns == [
        "Id",
        "FirstName",
        "LastName",
        "AccountId",
        "Email",
        "Birthdate",
        "DoNotCall",
        "IsDeleted",
        "CreatedDate",
        "LastModifiedDate",
        "SystemModstamp",
    ]
    indexed = {
        store.conn.execute(f'PRAGMA index_info("{r[1]}")').fetchone()[2]
        for r in store.conn.execute('PRAGMA index_list("Widget__c")')
        if not r[1].startswith("sqlite_autoindex")
    }
    assert indexed == {"Account__c"}
    pk = [r[1] for r in store.conn.execute('PRAGMA table_info("Account")') if r[5]]
    assert pk == ["Id"]


# -- insert and get -------------------------------------------------------------------------------


def test_insert_and_get_rest_shape(store):
    account_id = store.insert("Account", {"Name": "Acme", "AnnualRevenue": 1234.5, "Industry": "Energy"})
    assert ids.is_valid_id(account_id) and account_id.startswith("001") and len(account_id) == 18
    record = store.get("Account", account_id)
    assert record == {
        "attributes": {"type": "Account", "url": f"/services/data/v59.0/sobjects/Account/{account_id}"},
        "Id": account_id,
        "Name": "Acme",
        "AnnualRevenue": 1234.5,
        "NumberOfEmployees": None,
        "Description": None,
        "Industry": "Energy",
        "Ext_Id__c": None,
        "ParentId": None,
        "IsDeleted": False,
        "CreatedDate": "2024-03-01T12:00:00.123+0000",
        "LastModifiedDate": "2024-03-01T12:00:00.123+0000",
        "SystemModstamp": "2024-03-01T12:00:00.123+0000",
    }
    assert store.get("account", account_id[:15], "60.0")["attributes"]["url"].startswith(
        "/services/data/v60.0/"
    )


def test_insert_converts_json_values(store):
    widget_id = store.insert(
        "Widget__c",
        {
            "Name": "W",
            "Weight__c": "12.345",
            "Ratio__c": 50,
            "Due__c": "2024-03-01T10:00:00+02:00",
            "Colors__c": "Red;Blue;Red",
            "Status__c": "",
        },
    )
    record = store.get("Widget__c", widget_id)
    assert record["Weight__c"] == 12.35
    assert record["Ratio__c"] == 50.0
    assert record["Due__c"] == "2024-03-01T08:00:00.000+0000"
    assert record["Colors__c"] == "Red;Blue"
    assert record["Status__c"] is None
    assert record["Active__c"] is False
    contact_id = store.insert("Contact", {"LastName": "L", "Birthdate": "1990-05-06", "DoNotCall": True})
    contact = store.get("Contact", contact_id)
    assert (contact["Birthdate"], contact["DoNotCall"]) == ("1990-05-06", True)
    stored = store.conn.execute('SELECT "Due__c" FROM "Widget__c"').fetchone()[0]
    assert stored == "2024-03-01T08:00:00.000Z"


def test_get_errors(store):
    account_id = store.insert("Account", {"Name": "A"})
    missing = ids.make_id("001", 999)
    assert error_of(store.get, "Account", missing).body() == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]
    assert error_of(store.get, "Contact", account_id).error_code == "NOT_FOUND"
    malformed = error_of(store.get, "Account", "abc")
    assert (malformed.status, malformed.error_code) == (404, "NOT_FOUND")
    assert malformed.message == "Provided external ID field does not exist or is not accessible: abc"
    store.delete("Account", account_id)
    deleted = error_of(store.get, "Account", account_id)
    assert (deleted.status, deleted.body()) == (
        404,
        [{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED"}],
    )
    assert error_of(store.get, "Nope", account_id).status == 404


# -- validation -----------------------------------------------------------------------------------

READ_ONLY_TAIL = (
    ". Please check the security settings of this field and verify that it is read/write for your profile "
    "or permission set."
)
PARSER_TAIL = " or request may be missing a required field"
ROLLED_BACK = (
    "Record rolled back because not all records were valid and the request was using AllOrNone header"
)

VALIDATION_CASES = [
    (
        "Contact",
        {"LastName": "L", "Nope__c": 1},
        400,
        [{"message": "No such column 'Nope__c' on sobject of type Contact", "errorCode": "INVALID_FIELD"}],
    ),
    (
        "Contact",
        {"LastName": "L", "CreatedDate": "2024-01-01T00:00:00Z", "IsDeleted": True},
        400,
        [
            {
                "message": "Unable to create/update fields: CreatedDate, IsDeleted" + READ_ONLY_TAIL,
                "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
                "fields": ["CreatedDate", "IsDeleted"],
            }
        ],
    ),
    (
        "Widget__c",
        {"Formula__c": "x"},
        400,
        [
            {
                "message": "Unable to create/update fields: Formula__c" + READ_ONLY_TAIL,
                "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
                "fields": ["Formula__c"],
            }
        ],
    ),
    (
        "Contact",
        {"LastName": "L", "Id": "003000000000001AAA"},
        400,
        [{"message": "cannot specify Id in an insert call", "errorCode": "INVALID_FIELD"}],
    ),
    (
        "Contact",
        {"FirstName": "F"},
        400,
        [
            {
                "message": "Required fields are missing: [LastName]",
                "errorCode": "REQUIRED_FIELD_MISSING",
                "fields": ["LastName"],
            }
        ],
    ),
    (
        "Contact",
        {"LastName": ""},
        400,
        [
            {
                "message": "Required fields are missing: [LastName]",
                "errorCode": "REQUIRED_FIELD_MISSING",
                "fields": ["LastName"],
            }
        ],
    ),
    (
        "Account",
        {"Name": "A", "AnnualRevenue": "lots"},
        400,
        [
            {
                "message": "Cannot deserialize instance of currency from VALUE_STRING value lots"
                + PARSER_TAIL,
                "errorCode": "JSON_PARSER_ERROR",
            }
        ],
    ),
    (
        "Account",
        {"Name": "A", "NumberOfEmployees": 1.5},
        400,
        [
            {
                "message": "Cannot deserialize instance of int from VALUE_NUMBER_FLOAT value 1.5"
                + PARSER_TAIL,
                "errorCode": "JSON_PARSER_ERROR",
            }
        ],
    ),
    (
        "Contact",
        {"LastName": "L", "DoNotCall": "yes"},
        400,
        [
            {
                "message": "Cannot deserialize instance of boolean from VALUE_STRING value yes" + PARSER_TAIL,
                "errorCode": "JSON_PARSER_ERROR",
            }
        ],
    ),
    (
        "Account",
        {"Name": "A", "Industry": ["Energy"]},
        400,
        [
            {
                "message": "Cannot deserialize instance of picklist from START_ARRAY value",
                "errorCode": "JSON_PARSER_ERROR",
            }
        ],
    ),
    (
        "Widget__c",
        {"Due__c": "yesterday"},
        400,
        [
            {
                "message": "Cannot deserialize instance of datetime from VALUE_STRING value yesterday"
                + PARSER_TAIL,
                "errorCode": "JSON_PARSER_ERROR",
            }
        ],
    ),
    (
        "Contact",
        {"LastName": "L", "Birthdate": "2024-02-30"},
        400,
        [
            {
                "message": "Cannot deserialize instance of date from VALUE_STRING value 2024-02-30"
                + PARSER_TAIL,
                "errorCode": "JSON_PARSER_ERROR",
            }
        ],
    ),
    (
        "Contact",
        {"LastName": "x" * 81},
        400,
        [
            {
                "message": f"LastName: data value too large: {'x' * 81} (max length=80)",
                "errorCode": "STRING_TOO_LONG",
                "fields": ["LastName"],
            }
        ],
    ),
    (
        "Widget__c",
        {"Status__c": "Maybe"},
        400,
        [
            {
                "message": "Status: bad value for restricted picklist field: Maybe",
                "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "fields": ["Status__c"],
            }
        ],
    ),
    (
        "Widget__c",
        {"Status__c": "Old"},
        400,
        [
            {
                "message": "Status: bad value for restricted picklist field: Old",
                "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "fields": ["Status__c"],
            }
        ],
    ),
    (
        "Widget__c",
        {"Colors__c": "Red;Pink"},
        400,
        [
            {
                "message": "Colors: bad value for restricted picklist field: Pink",
                "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "fields": ["Colors__c"],
            }
        ],
    ),
    (
        "Widget__c",
        {"Weight__c": 1_000_000},
        400,
        [
            {
                "message": "Weight: value outside of valid range on numeric field: 1000000",
                "errorCode": "NUMBER_OUTSIDE_VALID_RANGE",
                "fields": ["Weight__c"],
            }
        ],
    ),
    (
        "Contact",
        {"LastName": "L", "Email": "not-an-email"},
        400,
        [
            {
                "message": "Email: invalid email address: not-an-email",
                "errorCode": "INVALID_EMAIL_ADDRESS",
                "fields": ["Email"],
            }
        ],
    ),
    (
        "Contact",
        {"LastName": "L", "AccountId": "NotReal"},
        400,
        [
            {
                "message": "Account ID: id value of incorrect type: NotReal",
                "errorCode": "MALFORMED_ID",
                "fields": ["AccountId"],
            }
        ],
    ),
    (
        "Contact",
        {"LastName": "L", "AccountId": "003000000000001AAA"},
        400,
        [
            {
                "message": "Account ID: id value of incorrect type: 003000000000001AAA",
                "errorCode": "FIELD_INTEGRITY_EXCEPTION",
                "fields": ["AccountId"],
            }
        ],
    ),
    (
        "Contact",
        {"LastName": "L", "AccountId": "001000000000999AAA"},
        400,
        [
            {
                "message": "invalid cross reference id",
                "errorCode": "INVALID_CROSS_REFERENCE_KEY",
                "fields": ["AccountId"],
            }
        ],
    ),
]


@pytest.mark.parametrize(("sobject", "values", "status", "body"), VALIDATION_CASES)
def test_insert_validation_errors_write_nothing(store, sobject, values, status, body):
    store.insert("Account", {"Name": "Existing"})
    before = dump(store)
    error = error_of(store.insert, sobject, values)
    assert (error.status, error.body()) == (status, body)
    assert dump(store) == before


def test_reference_to_deleted_record(store):
    account_id = store.insert("Account", {"Name": "Gone"})
    store.delete("Account", account_id)
    error = error_of(store.insert, "Contact", {"LastName": "L", "AccountId": account_id})
    assert error.body() == [
        {"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": ["AccountId"]}
    ]


def test_reference_accepts_15_character_id_and_stores_18(store):
    account_id = store.insert("Account", {"Name": "A"})
    contact_id = store.insert("Contact", {"LastName": "L", "AccountId": account_id[:15]})
    assert store.get("Contact", contact_id)["AccountId"] == account_id


# -- update and delete ----------------------------------------------------------------------------


def test_update_sets_modified_dates_and_modstamp_always_moves(store, clock):
    account_id = store.insert("Account", {"Name": "A"})
    clock.advance(seconds=5)
    store.update("Account", account_id, {"Name": "B", "Industry": "Retail"})
    record = store.get("Account", account_id)
    assert record["Name"] == "B" and record["Industry"] == "Retail"
    assert record["CreatedDate"] == "2024-03-01T12:00:00.123+0000"
    assert record["LastModifiedDate"] == "2024-03-01T12:00:05.123+0000"
    stamps = [record["SystemModstamp"]]
    for n in range(3):  # the clock stands still: the stamp must still change on every update
        store.update("Account", account_id, {"NumberOfEmployees": n})
        stamps.append(store.get("Account", account_id)["SystemModstamp"])
    assert stamps == sorted(set(stamps)) and len(stamps) == 4


def test_update_errors(store):
    account_id = store.insert("Account", {"Name": "A"})
    contact_id = store.insert("Contact", {"LastName": "L"})
    before = dump(store)
    required = error_of(store.update, "Contact", contact_id, {"FirstName": "F", "LastName": None})
    assert required.body() == [
        {
            "message": "Required fields are missing: [LastName]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["LastName"],
        }
    ]
    readonly = error_of(store.update, "Account", account_id, {"CreatedDate": "2024-01-01T00:00:00Z"})
    assert readonly.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE" and readonly.fields == ["CreatedDate"]
    assert error_of(store.update, "Account", ids.make_id("001", 77), {"Name": "X"}).status == 404
    assert error_of(store.update, "Account", account_id, {"Id": contact_id}).error_code == "INVALID_ID_FIELD"
    assert dump(store) == before
    store.update("Account", account_id, {"Id": account_id, "Name": "Same Id is fine"})
    assert store.get("Account", account_id)["Name"] == "Same Id is fine"


def test_delete_marks_deleted_and_refuses_twice(store, clock):
    account_id = store.insert("Account", {"Name": "A"})
    clock.advance(minutes=1)
    store.delete("Account", account_id)
    row = store.conn.execute('SELECT "IsDeleted", "LastModifiedDate" FROM "Account"').fetchone()
    assert row == (1, "2024-03-01T12:01:00.123Z")
    again = error_of(store.delete, "Account", account_id)
    assert (again.status, again.error_code) == (404, "ENTITY_IS_DELETED")
    assert error_of(store.update, "Account", account_id, {"Name": "B"}).error_code == "ENTITY_IS_DELETED"


# -- upsert ---------------------------------------------------------------------------------------


def test_upsert_creates_updates_and_reports_multiple(store):
    created_id, created = store.upsert("Account", "Ext_Id__c", "K-1", {"Name": "First"})
    assert created and store.get("Account", created_id)["Ext_Id__c"] == "K-1"
    same_id, created = store.upsert("Account", "ext_id__c", "k-1", {"Name": "Second"})
    assert (same_id, created) == (created_id, False)
    assert store.get("Account", created_id)["Name"] == "Second"

    other_id = store.insert("Account", {"Name": "Twin", "Ext_Id__c": "K-1"})
    before = dump(store)
    multiple = error_of(store.upsert, "Account", "Ext_Id__c", "K-1", {"Name": "Third"})
    assert (multiple.status, multiple.error_code) == (300, "MULTIPLE_CHOICES")
    assert multiple.matching_ids == sorted([created_id, other_id])
    assert dump(store) == before

    store.delete("Account", other_id)
    assert store.upsert("Account", "Ext_Id__c", "K-1", {"Name": "Fourth"}) == (created_id, False)


def test_upsert_field_must_be_external_id(store):
    for field in ("Name", "Nope__c"):
        error = error_of(store.upsert, "Account", field, "x", {"Name": "A"})
        assert (error.status, error.body()) == (
            404,
            [
                {
                    "message": f"Provided external ID field does not exist or is not accessible: {field}",
                    "errorCode": "NOT_FOUND",
                }
            ],
        )


def test_upsert_by_id_updates(store):
    account_id = store.insert("Account", {"Name": "A"})
    assert store.upsert("Account", "Id", account_id, {"Name": "B"}) == (account_id, False)
    assert store.get("Account", account_id)["Name"] == "B"


def test_upsert_failure_writes_nothing(store):
    before = dump(store)
    assert (
        error_of(store.upsert, "Account", "Ext_Id__c", "K-9", {"Name": None}).error_code
        == "REQUIRED_FIELD_MISSING"
    )
    assert dump(store) == before


# -- composite ------------------------------------------------------------------------------------


def test_composite_create_all_or_none_false_keeps_the_good_ones(store):
    results = store.composite(
        "create",
        [
            {"attributes": {"type": "Account"}, "Name": "Good"},
            {"attributes": {"type": "Account"}, "Name": "x" * 256},
            {"attributes": {"type": "Contact"}, "LastName": "Also good"},
        ],
        False,
    )
    assert results[0]["success"] and results[0]["errors"] == [] and results[0]["id"].startswith("001")
    assert results[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "STRING_TOO_LONG",
                "message": f"Name: data value too large: {'x' * 256} (max length=255)",
                "fields": ["Name"],
            }
        ],
    }
    assert results[2]["success"] and results[2]["id"].startswith("003")
    assert store.conn.execute('SELECT COUNT(*) FROM "Account"').fetchone()[0] == 1


def test_composite_all_or_none_true_rolls_back_everything(store):
    store.insert("Account", {"Name": "Existing"})
    before = dump(store)
    results = store.composite(
        "create",
        [{"attributes": {"type": "Account"}, "Name": "Fine"}, {"attributes": {"type": "Account"}}],
        True,
    )
    assert results == [
        {
            "success": False,
            "errors": [
                {
                    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                    "message": ROLLED_BACK,
                    "fields": [],
                }
            ],
        },
        {
            "success": False,
            "errors": [
                {
                    "statusCode": "REQUIRED_FIELD_MISSING",
                    "message": "Required fields are missing: [Name]",
                    "fields": ["Name"],
                }
            ],
        },
    ]
    assert dump(store) == before


def test_composite_update_and_delete(store):
    first = store.insert("Account", {"Name": "One"})
    second = store.insert("Account", {"Name": "Two"})
    results = store.composite(
        "update",
        [
            {"attributes": {"type": "Account"}, "Id": first, "Name": "One!"},
            {"attributes": {"type": "Account"}, "Name": "No Id"},
            {"attributes": {"type": "Account"}, "Id": "bad", "Name": "x"},
        ],
        False,
    )
    assert results[0] == {"id": first, "success": True, "errors": []}
    assert results[1]["errors"] == [
        {"statusCode": "MISSING_ARGUMENT", "message": "Id not specified in an update call", "fields": []}
    ]
    assert results[2]["errors"][0]["statusCode"] == "MALFORMED_ID"
    assert store.get("Account", first)["Name"] == "One!"

    results = store.composite("delete", [second, "bogus", second, ids.make_id("001", 500)], False)
    assert results[0] == {"id": second, "success": True, "errors": []}
    assert results[1]["errors"] == [
        {"statusCode": "MALFORMED_ID", "message": "malformed id bogus", "fields": []}
    ]
    assert results[2]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
    assert results[3]["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"


def test_composite_limits_and_types(store):
    too_many = [{"attributes": {"type": "Account"}, "Name": str(n)} for n in range(201)]
    error = error_of(store.composite, "create", too_many, False)
    assert (error.status, error.body()) == (
        400,
        [
            {
                "message": "record limit reached. cannot submit more than 200 records into this call",
                "errorCode": "EXCEEDED_ID_LIMIT",
            }
        ],
    )
    assert error_of(store.composite, "create", [{"Name": "untyped"}], False).error_code == "INVALID_TYPE"
    assert len(store.composite("create", too_many[:200], True)) == 200


# -- transactions ---------------------------------------------------------------------------------


def test_nested_transaction_rolls_back_only_the_inner_part(store):
    with store.transaction():
        store.insert("Account", {"Name": "Outer"})
        with pytest.raises(SalesforceError), store.transaction():
            store.insert("Account", {"Name": "Inner"})
            store.insert("Account", {})
    names = [r[0] for r in store.conn.execute('SELECT "Name" FROM "Account"')]
    assert names == ["Outer"]


def test_outer_failure_rolls_back_committed_savepoints(store):
    with pytest.raises(RuntimeError), store.transaction():
        store.insert("Account", {"Name": "Undone"})
        raise RuntimeError("boom")
    assert store.conn.execute('SELECT COUNT(*) FROM "Account"').fetchone()[0] == 0


# -- ids and sequences ----------------------------------------------------------------------------


def test_sequence_never_reused_across_restarts(schema, tmp_path):
    path = str(tmp_path / "org.db")
    first = Store(schema, path)
    a = first.insert("Account", {"Name": "A"})
    b = first.insert("Account", {"Name": "B"})
    first.delete("Account", b)
    first.close()
    second = Store(schema, path)
    c = second.insert("Account", {"Name": "C"})
    assert [ids.sequence_of(i) for i in (a, b, c)] == [1, 2, 3]
    assert second.get("Account", a)["Name"] == "A"
    second.close()


def test_failed_insert_does_not_reuse_sequence_in_process(store):
    first = store.insert("Account", {"Name": "A"})
    store.composite(
        "create",
        [{"attributes": {"type": "Account"}, "Name": "B"}, {"attributes": {"type": "Account"}}],
        True,
    )
    third = store.insert("Account", {"Name": "C"})
    assert ids.sequence_of(third) > ids.sequence_of(first) + 1


# -- bulk load ------------------------------------------------------------------------------------


def test_load_data_own_ids_any_order_and_defaults(store):
    account_id = ids.make_id("001", 5)
    loaded = store.load_data(
        {
            "Contact": [{"LastName": "Child", "AccountId": account_id}, {"LastName": "Orphan"}],
            "Account": [{"Id": account_id, "Name": "Parent"}, {"Name": "Generated"}],
        }
    )
    assert loaded["Account"][0] == account_id
    assert ids.sequence_of(loaded["Account"][1]) == 6  # after the highest own Id
    child = store.get("Contact", loaded["Contact"][0])
    assert child["AccountId"] == account_id
    assert child["DoNotCall"] is False and child["IsDeleted"] is False
    assert child["CreatedDate"] == child["SystemModstamp"] == "2024-03-01T12:00:00.123+0000"
    assert ids.sequence_of(store.insert("Account", {"Name": "Next"})) == 7


def test_load_data_keeps_given_system_fields(store):
    store.load_data(
        {"Account": [{"Name": "Old", "CreatedDate": "2020-01-02T03:04:05.000+0000", "IsDeleted": True}]}
    )
    row = store.conn.execute('SELECT "CreatedDate", "IsDeleted" FROM "Account"').fetchone()
    assert row == ("2020-01-02T03:04:05.000Z", 1)


def test_load_data_errors_write_nothing(store):
    before = dump(store)
    assert error_of(store.load_data, {"Account": [{"Name": "A"}, {"Nope": 1}]}).error_code == "INVALID_FIELD"
    assert error_of(store.load_data, {"Nope": [{}]}).error_code == "INVALID_TYPE"
    assert error_of(store.load_data, {"Account": [{"Name": "A", "NumberOfEmployees": "x"}]}).error_code == (
        "JSON_PARSER_ERROR"
    )
    assert dump(store) == before


def test_load_data_is_fast(schema):
    store = Store(schema)
    accounts = [
        {"Name": f"Account {n}", "AnnualRevenue": n * 10.0, "Industry": "Energy"} for n in range(5_000)
    ]
    started = time.perf_counter()
    account_ids = store.load_data({"Account": accounts})["Account"]
    contacts = [
        {"LastName": f"Person {n}", "AccountId": account_ids[n % 5_000], "Email": f"p{n}@example.com"}
        for n in range(15_000)
    ]
    store.load_data({"Contact": contacts})
    elapsed = time.perf_counter() - started
    assert store.conn.execute('SELECT COUNT(*) FROM "Contact"').fetchone()[0] == 15_000
    assert elapsed < 3.0, f"20,000 records took {elapsed:.2f}s"


# -- derived and compound values ------------------------------------------------------------------


def test_person_name_and_compound_address():
    schema = Schema.from_describes(
        [
            {
                "name": "Contact",
                "fields": [
                    {"name": "FirstName", "type": "string"},
                    {"name": "LastName", "type": "string", "nillable": False},
                    {"name": "Name", "type": "string", "createable": False, "updateable": False},
                    {"name": "MailingStreet", "type": "textarea", "compoundFieldName": "MailingAddress"},
                    {"name": "MailingCity", "type": "string", "compoundFieldName": "MailingAddress"},
                    {"name": "MailingAddress", "type": "address"},
                ],
            }
        ]
    )
    store = Store(schema)
    contact_id = store.insert(
        "Contact", {"FirstName": "Rose", "LastName": "Gonzalez", "MailingCity": "Paris"}
    )
    record = store.get("Contact", contact_id)
    assert record["Name"] == "Rose Gonzalez"
    assert record["MailingAddress"] == {"street": None, "city": "Paris"}
    store.update("Contact", contact_id, {"FirstName": None, "MailingCity": None})
    record = store.get("Contact", contact_id)
    assert record["Name"] == "Gonzalez" and record["MailingAddress"] is None
    assert (
        error_of(store.insert, "Contact", {"LastName": "X", "MailingAddress": {}}).error_code
        == "INVALID_FIELD"
    )
    (name,) = store.load_data({"Contact": [{"FirstName": "A", "LastName": "B"}]})["Contact"]
    assert store.get("Contact", name)["Name"] == "A B"


# -- bulk load of values not in stored form ---------------------------------------------------------


MIXED_PROJECTS = [
    {
        "Id": "a0X000000000007",  # a 15-character Id
        "Name": "Offsets",
        "Kickoff__c": "2024-03-01T23:30:00+02:00",
        "Start_Date__c": "2024-02-29T10:00:00Z",
        "Budget__c": "1234.567",
        "Team_Size__c": 3,
        "Is_Billable__c": "true",
        "Tags__c": "AI;Security",
        "CreatedDate": "2020-01-02T03:04:05.000+0000",
    },
    {
        "Name": "",  # empty text is stored as null
        "Kickoff__c": "2024-03-01T12:00:00.123456Z",
        "Budget__c": 10,
        "Allocation__c": 12.345,
        "Is_Billable__c": None,
        "Start_Date__c": "2024-03-01",
    },
    {
        "Id": "a0X000000000009eaa",  # a lower-case suffix
        "Kickoff__c": "2024-03-01T12:00:00.000Z",
        "Is_Billable__c": True,
        "attributes": {"type": "Project__c"},
    },
]


@pytest.fixture(scope="module")
def demo_schema() -> Schema:
    return load_schema(DEMO_SCHEMA_PATH)


def test_load_data_stores_values_not_in_stored_form_as_convert_value_does(demo_schema):
    store = Store(demo_schema)
    sobject = demo_schema.get("Project__c")
    rows = MIXED_PROJECTS * 2_000  # more than one run, and an empty table that gets its indexes after
    for n, row in enumerate(rows):
        if "Id" in row:  # keep each row's Id form, with Ids of its own
            own = ids.make_id("a0X", n + 1)
            rows[n] = {**row, "Id": own[:15] if len(row["Id"]) == 15 else own[:15] + own[15:].lower()}
    loaded = store.load_data({"Project__c": rows})["Project__c"]
    assert len(loaded) == 6_000
    cursor = store.conn.execute('SELECT * FROM "Project__c" ORDER BY rowid')
    names = [c[0] for c in cursor.description]
    stored = [dict(zip(names, row, strict=True)) for row in cursor]
    for row, stored_row, record_id in zip(rows, stored, loaded, strict=True):
        assert stored_row["Id"] == record_id == ids.normalize_id(row.get("Id") or record_id)
        for key, value in row.items():
            if key not in ("attributes", "Id"):
                assert stored_row[key] == validation.convert_value(sobject.field(key), value), key
    first, second, third = stored[:3]
    assert (first["Kickoff__c"], first["Start_Date__c"], first["Budget__c"]) == (
        "2024-03-01T21:30:00.000Z",
        "2024-02-29",
        1234.57,
    )
    assert (first["Is_Billable__c"], first["True_Up__c"], first["CreatedDate"]) == (
        1,
        0,
        "2020-01-02T03:04:05.000Z",
    )
    assert (second["Name"], second["Kickoff__c"], second["Allocation__c"]) == (
        None,
        "2024-03-01T12:00:00.123Z",
        12.35,
    )
    assert (second["Is_Billable__c"], third["Is_Billable__c"], third["Name"]) == (0, 1, None)
    indexes = store.conn.execute(
        "SELECT COUNT(*) FROM sqlite_master "
        "WHERE type = 'index' AND tbl_name = 'Project__c' AND sql IS NOT NULL"
    ).fetchone()
    unique_fields = [f for f in sobject.fields if f.get("unique")]  # indexed for the DUPLICATE_VALUE check
    assert indexes == (len(sobject.reference_fields) + len(unique_fields),)


def test_load_data_reports_the_first_bad_record(demo_schema):
    store = Store(demo_schema)
    rows = [{"Name": f"P{n}", "Team_Size__c": 1, "Kickoff__c": None} for n in range(10)]
    rows[7]["Kickoff__c"] = "2024-02-30T00:00:00.000Z"
    rows[8]["Team_Size__c"] = "many"
    error = error_of(store.load_data, {"Project__c": rows})
    assert (error.error_code, error.message) == (
        "JSON_PARSER_ERROR",
        "Cannot deserialize instance of datetime from VALUE_STRING value 2024-02-30T00:00:00.000Z "
        "or request may be missing a required field",
    )
    assert store.conn.execute('SELECT COUNT(*) FROM "Project__c"').fetchone() == (0,)
