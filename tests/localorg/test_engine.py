"""The local org's SOQL engine on a real store: rows, order, shapes, Salesforce's quirks and its errors."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from gateway.localorg import engine
from gateway.localorg.errors import SalesforceError
from gateway.localorg.ids import make_id
from gateway.localorg.schema import Schema
from gateway.localorg.store import Store

NOW = dt.datetime(2024, 3, 15, 12, 0, tzinfo=dt.UTC)

DESCRIBES = [
    {
        "name": "User",
        "fields": [
            {"name": "Name", "type": "string"},
            {
                "name": "ManagerId",
                "type": "reference",
                "referenceTo": ["User"],
                "relationshipName": "Manager",
            },
        ],
    },
    {
        "name": "Account",
        "fields": [
            {"name": "Name", "type": "string"},
            {"name": "Industry", "type": "picklist", "picklistValues": ["Banking", "Energy"]},
            {"name": "AnnualRevenue", "type": "currency"},
            {"name": "NumberOfEmployees", "type": "int"},
            {"name": "Description", "type": "textarea", "length": 32000},
            {"name": "OwnerId", "type": "reference", "referenceTo": ["User"], "relationshipName": "Owner"},
            {
                "name": "ParentId",
                "type": "reference",
                "referenceTo": ["Account"],
                "relationshipName": "Parent",
            },
            {"name": "Tags__c", "type": "multipicklist", "picklistValues": ["a", "b", "c"]},
            {"name": "Founded__c", "type": "date"},
            {"name": "Seen__c", "type": "datetime"},
            {"name": "Active__c", "type": "boolean"},
        ],
    },
    {
        "name": "Contact",
        "fields": [
            {"name": "LastName", "type": "string"},
            {
                "name": "AccountId",
                "type": "reference",
                "referenceTo": ["Account"],
                "relationshipName": "Account",
            },
        ],
    },
]

U1, U2 = make_id("005", 1), make_id("005", 2)
A = [make_id("001", n) for n in range(1, 7)]
C = [make_id("003", n) for n in range(1, 5)]


def account(n: int, **values) -> dict:
    return {"Id": A[n], "Name": f"acct{n}", **values}


DATA = {
    "User": [{"Id": U1, "Name": "Boss"}, {"Id": U2, "Name": "Ann", "ManagerId": U1}],
    "Account": [
        account(
            0,
            Name="Zeta",
            Industry="Banking",
            AnnualRevenue=10.5,
            NumberOfEmployees=5,
            OwnerId=U2,
            Tags__c="a;b",
            Founded__c="2024-03-15",
            Seen__c="2024-03-15T23:59:59.000Z",
            Active__c=True,
        ),
        account(
            1,
            Name="alpha",
            Industry="energy",
            AnnualRevenue=200,
            NumberOfEmployees=50,
            OwnerId=U1,
            ParentId=A[0],
            Tags__c="b;c",
            Founded__c="2024-03-08",
            Seen__c="2024-03-08T00:00:00.000Z",
        ),
        account(
            2,
            Name="École",
            Industry=None,
            Tags__c="c",
            Founded__c="2024-03-07",
            Seen__c="2023-12-31T23:30:00.000Z",
            Active__c=True,
        ),
        account(3, Name="Beta 100%_x", Industry="Banking", AnnualRevenue=-1, ParentId=A[1]),
        account(4, Name=None, Industry="Energy", Description="long text"),
        account(5, Name="deleted one", Industry="Banking"),
    ],
    "Contact": [
        {"Id": C[0], "LastName": "Smith", "AccountId": A[0]},
        {"Id": C[1], "LastName": "adams", "AccountId": A[0]},
        {"Id": C[2], "LastName": "Jones", "AccountId": A[0]},
        {"Id": C[3], "LastName": "Orphan"},
    ],
}


@pytest.fixture(scope="module")
def store() -> Store:
    store = Store(Schema.from_describes(DESCRIBES))
    store.load_data(DATA)
    with store.lock:
        store.conn.execute('UPDATE "Account" SET "IsDeleted" = 1 WHERE "Id" = ?', (A[5],))
    return store


def run(store, soql: str, **kw) -> list[dict]:
    result = engine.execute(store, soql, now=NOW, **kw)
    rows = result.next_batch(2000)
    assert result.done
    assert result.total_size == len(rows)
    return rows


def names(store, where: str, *, order: str = "Name") -> list:
    return [r["Name"] for r in run(store, f"SELECT Name FROM Account WHERE {where} ORDER BY {order}")]


def error(store, soql: str, **kw) -> SalesforceError:
    with pytest.raises(SalesforceError) as info:
        engine.execute(store, soql, now=NOW, **kw)
    return info.value


# --- shapes ---------------------------------------------------------------------------------------


def test_records_carry_attributes_and_fields_in_select_order_with_describe_case(store):
    rows = run(
        store,
        f"select industry, NAME, annualrevenue, Active__c, Founded__c, Seen__c, Tags__c "
        f"from account where id = '{A[0]}'",
    )
    assert rows == [
        {
            "attributes": {"type": "Account", "url": f"/services/data/v59.0/sobjects/Account/{A[0]}"},
            "Industry": "Banking",
            "Name": "Zeta",
            "AnnualRevenue": 10.5,
            "Active__c": True,
            "Founded__c": "2024-03-15",
            "Seen__c": "2024-03-15T23:59:59.000+0000",
            "Tags__c": "a;b",
        }
    ]
    assert list(rows[0]) == [
        "attributes",
        "Industry",
        "Name",
        "AnnualRevenue",
        "Active__c",
        "Founded__c",
        "Seen__c",
        "Tags__c",
    ]


def test_api_version_goes_into_urls(store):
    rows = run(store, f"SELECT Id FROM Contact WHERE Id = '{C[0]}'", api_version="61.0")
    assert rows[0]["attributes"]["url"] == f"/services/data/v61.0/sobjects/Contact/{C[0]}"


def test_parent_paths_nest_and_an_empty_lookup_is_null(store):
    rows = run(
        store,
        "SELECT LastName, Account.Name, Account.Owner.Name, Account.Owner.Manager.Name "
        "FROM Contact ORDER BY LastName",
    )
    by_name = {r["LastName"]: r for r in rows}
    assert by_name["Smith"]["Account"] == {
        "attributes": {"type": "Account", "url": f"/services/data/v59.0/sobjects/Account/{A[0]}"},
        "Name": "Zeta",
        "Owner": {
            "attributes": {"type": "User", "url": f"/services/data/v59.0/sobjects/User/{U2}"},
            "Name": "Ann",
            "Manager": {
                "attributes": {"type": "User", "url": f"/services/data/v59.0/sobjects/User/{U1}"},
                "Name": "Boss",
            },
        },
    }
    assert by_name["Orphan"]["Account"] is None
    assert list(by_name["Orphan"]) == ["attributes", "LastName", "Account"]


def test_parent_path_with_null_deeper_lookup(store):
    rows = run(store, f"SELECT Name, Owner.Manager.Name FROM Account WHERE Id = '{A[1]}'")
    assert rows[0]["Owner"] == {
        "attributes": {"type": "User", "url": f"/services/data/v59.0/sobjects/User/{U1}"},
        "Manager": None,
    }


def test_five_levels_of_parents_work_and_six_do_not(store):
    five = "Parent.Parent.Parent.Parent.Parent.Name"
    rows = run(store, f"SELECT {five} FROM Account WHERE Id = '{A[3]}'")
    assert rows[0]["Parent"]["Parent"]["Parent"] is None
    err = error(store, f"SELECT Parent.{five} FROM Account")
    assert err.error_code == "MALFORMED_QUERY"


def test_child_subquery_with_where_order_and_limit(store):
    rows = run(
        store,
        "SELECT Name, (SELECT LastName FROM Contacts WHERE LastName != 'jones' ORDER BY LastName LIMIT 5) "
        "FROM Account WHERE Name IN ('Zeta', 'alpha') ORDER BY Name",
    )
    assert [r["Name"] for r in rows] == ["alpha", "Zeta"]
    assert rows[0]["Contacts"] is None
    contacts = rows[1]["Contacts"]
    assert contacts["totalSize"] == 2 and contacts["done"] is True
    assert [c["LastName"] for c in contacts["records"]] == ["adams", "Smith"]
    assert contacts["records"][0]["attributes"] == {
        "type": "Contact",
        "url": f"/services/data/v59.0/sobjects/Contact/{C[1]}",
    }


def test_child_subquery_limit_applies_per_parent(store):
    rows = run(
        store,
        f"SELECT (SELECT Id FROM contacts ORDER BY LastName DESC LIMIT 1) FROM Account WHERE Id = '{A[0]}'",
    )
    assert rows[0]["Contacts"]["records"] == [
        {
            "attributes": {"type": "Contact", "url": f"/services/data/v59.0/sobjects/Contact/{C[0]}"},
            "Id": C[0],
        }
    ]


def test_count_gives_total_size_and_no_records(store):
    result = engine.execute(store, "SELECT COUNT() FROM Account")
    assert result.total_size == 5 and result.next_batch(200) == [] and result.done
    assert engine.execute(store, "SELECT COUNT() FROM Account WHERE Industry = 'banking'").total_size == 2
    assert engine.execute(store, "SELECT COUNT() FROM Account LIMIT 3").total_size == 3


def test_total_size_counts_after_limit_and_offset_and_batches_page(store):
    result = engine.execute(store, "SELECT Id FROM Account ORDER BY Id LIMIT 4 OFFSET 1")
    assert result.total_size == 4
    first = result.next_batch(3)
    assert not result.done
    second = result.next_batch(3)
    assert result.done
    assert [r["Id"] for r in first + second] == A[1:5]


def test_deleted_rows_only_with_include_deleted(store):
    assert "deleted one" not in names(store, "Industry = 'Banking'")
    rows = run(
        store, "SELECT Name FROM Account WHERE Industry = 'Banking' ORDER BY Name", include_deleted=True
    )
    assert [r["Name"] for r in rows] == ["Beta 100%_x", "deleted one", "Zeta"]


# --- Salesforce semantics -------------------------------------------------------------------------


def test_equality_in_and_like_ignore_case_unicode_too(store):
    assert names(store, "Name = 'ZETA'") == ["Zeta"]
    assert names(store, "Name = 'école'") == ["École"]
    assert names(store, "Industry IN ('ENERGY', 'nothing')") == [None, "alpha"]
    assert names(store, "Name LIKE 'A%'") == ["alpha"]
    assert names(store, "Name LIKE '%COLE'") == ["École"]
    assert names(store, "Name LIKE '_eta'") == ["Zeta"]
    assert names(store, "Name < 'b'") == ["alpha"]


def test_like_escapes_match_literal_percent_and_underscore(store):
    assert names(store, r"Name LIKE '%100\%\_x'") == ["Beta 100%_x"]
    assert names(store, r"Name LIKE '%0\%'") == []
    assert names(store, r"Name LIKE 'Beta 100%'") == ["Beta 100%_x"]


def test_not_equal_and_not_in_and_not_include_nulls(store):
    assert names(store, "Industry != 'banking'") == [None, "alpha", "École"]
    assert names(store, "Industry NOT IN ('Banking')") == [None, "alpha", "École"]
    assert names(store, "Industry NOT IN ('Banking', null)") == [None, "alpha"]
    assert names(store, "NOT (Industry = 'Banking')") == [None, "alpha", "École"]
    assert names(store, "Industry IN ('Banking', null)") == ["Beta 100%_x", "École", "Zeta"]
    assert names(store, "AnnualRevenue != 10.5") == [None, "alpha", "Beta 100%_x", "École"]
    assert names(store, "AnnualRevenue < 100") == ["Beta 100%_x", "Zeta"]


def test_null_comparisons(store):
    assert names(store, "Industry = null") == ["École"]
    assert names(store, "Name = null") == [None]
    assert len(names(store, "Industry != null")) == 4


def test_boolean_null_means_false(store):
    assert names(store, "Active__c = null") == [None, "alpha", "Beta 100%_x"]
    assert names(store, "Active__c = false") == [None, "alpha", "Beta 100%_x"]
    assert names(store, "Active__c != null") == ["École", "Zeta"]
    assert names(store, "Active__c = TRUE") == ["École", "Zeta"]
    assert names(store, "Active__c IN (null)") == [None, "alpha", "Beta 100%_x"]


def test_order_by_ignores_case_and_puts_nulls_first_both_ways(store):
    assert names(store, "Id != null") == [None, "alpha", "Beta 100%_x", "École", "Zeta"]
    assert names(store, "Id != null", order="Name DESC") == [None, "Zeta", "École", "Beta 100%_x", "alpha"]
    assert names(store, "Id != null", order="Name NULLS LAST") == [
        "alpha",
        "Beta 100%_x",
        "École",
        "Zeta",
        None,
    ]
    assert names(store, "Id != null", order="Name DESC NULLS LAST") == [
        "Zeta",
        "École",
        "Beta 100%_x",
        "alpha",
        None,
    ]
    assert names(store, "Id != null", order="Industry DESC, Name") == [
        "École",
        None,
        "alpha",
        "Beta 100%_x",
        "Zeta",
    ]
    assert names(store, "Id != null", order="Owner.Name, Name DESC") == [
        None,
        "École",
        "Beta 100%_x",
        "Zeta",
        "alpha",
    ]


def test_and_or_not_and_groups(store):
    assert names(store, "(Industry = 'Banking' OR Industry = null) AND NOT Name LIKE 'B%'") == [
        "École",
        "Zeta",
    ]
    assert names(store, "Industry = 'Energy' AND (AnnualRevenue > 100 OR Name = null)") == [None, "alpha"]


def test_id_literals_15_or_18_characters(store):
    assert names(store, f"Id = '{A[0][:15]}'") == ["Zeta"]
    assert names(store, f"ParentId IN ('{A[0]}', '{A[1]}')") == ["alpha", "Beta 100%_x"]
    assert names(store, "ParentId = ''") == [None, "École", "Zeta"]
    err = error(store, "SELECT Id FROM Account WHERE Id = 'nope'")
    assert (err.error_code, err.message.splitlines()[-1]) == (
        "INVALID_QUERY_FILTER_OPERATOR",
        "invalid ID field: nope",
    )


def test_multipicklist_includes_excludes_and_equals(store):
    assert names(store, "Tags__c INCLUDES ('a')") == ["Zeta"]
    assert names(store, "Tags__c INCLUDES ('B', 'c')") == ["alpha", "École", "Zeta"]
    assert names(store, "Tags__c INCLUDES ('b;c')") == ["alpha"]
    assert names(store, "Tags__c INCLUDES ('a;c', 'c')") == ["alpha", "École"]
    assert names(store, "Tags__c EXCLUDES ('b')") == [None, "Beta 100%_x", "École"]
    assert names(store, "Tags__c = 'c;b'") == ["alpha"]
    assert names(store, "Tags__c != 'c;b'") == [None, "Beta 100%_x", "École", "Zeta"]
    err = error(store, "SELECT Id FROM Account WHERE Name INCLUDES ('a')")
    assert err.error_code == "INVALID_QUERY_FILTER_OPERATOR"


def test_date_and_datetime_literals(store):
    assert names(store, "Founded__c = 2024-03-08") == ["alpha"]
    assert names(store, "Founded__c >= 2024-03-08") == ["alpha", "Zeta"]
    assert names(store, "Seen__c = 2024-03-08T00:00:00Z") == ["alpha"]
    assert names(store, "Seen__c = 2024-03-08T01:00:00+01:00") == ["alpha"]
    assert names(store, "Seen__c < 2024-01-01T00:00:00.000+01:00") == []
    assert names(store, "Seen__c < 2024-01-01T00:00:00-01:00") == ["École"]


def test_relative_dates_on_date_and_datetime_fields(store):
    # NOW is 2024-03-15 12:00 UTC; LAST_N_DAYS:7 is 2024-03-08 .. 2024-03-15 (today included)
    assert names(store, "Founded__c = TODAY") == ["Zeta"]
    assert names(store, "Seen__c = TODAY") == ["Zeta"]
    assert names(store, "Founded__c = LAST_N_DAYS:7") == ["alpha", "Zeta"]
    assert names(store, "Seen__c = LAST_N_DAYS:7") == ["alpha", "Zeta"]
    assert names(store, "Founded__c < LAST_N_DAYS:7") == ["École"]
    assert names(store, "Founded__c > YESTERDAY") == ["Zeta"]
    assert names(store, "Founded__c = NEXT_N_DAYS:3") == []
    later = engine.execute(
        store,
        "SELECT Id FROM Account WHERE Founded__c = TODAY",
        now=dt.datetime(2024, 3, 8, 23, tzinfo=dt.UTC),
    )
    assert [r["Id"] for r in later.next_batch(10)] == [A[1]]


def test_date_functions(store):
    assert names(store, "CALENDAR_YEAR(Seen__c) = 2023") == ["École"]
    assert names(store, "CALENDAR_MONTH(Founded__c) = 3") == ["alpha", "École", "Zeta"]
    assert names(store, "DAY_IN_MONTH(Founded__c) IN (7, 15)") == ["École", "Zeta"]
    assert names(store, "HOUR_IN_DAY(Seen__c) > 22") == ["École", "Zeta"]
    assert names(store, "CALENDAR_YEAR(Founded__c) != 2024") == [None, "Beta 100%_x"]


# --- errors ---------------------------------------------------------------------------------------


def test_unknown_field_is_invalid_field_in_salesforce_layout(store):
    err = error(store, "SELECT Id, Nope__c FROM Account")
    assert (err.status, err.error_code) == (400, "INVALID_FIELD")
    assert err.body() == [
        {
            "message": "\nSELECT Id, Nope__c FROM Account\n           ^\nERROR at Row:1:Column:12\n"
            "No such column 'Nope__c' on entity 'Account'. If you are attempting to use a custom field, "
            "be sure to append the '__c' after the custom field name. Please reference your WSDL or the "
            "describe call for the appropriate names.",
            "errorCode": "INVALID_FIELD",
        }
    ]


def test_unknown_field_on_a_parent_names_the_parent_entity(store):
    err = error(store, "SELECT Owner.Nope FROM Account")
    assert err.message.splitlines()[-1].startswith("No such column 'Nope' on entity 'User'.")


def test_unknown_object_is_invalid_type(store):
    err = error(store, "SELECT Id FROM Nope__c")
    assert err.error_code == "INVALID_TYPE"
    assert err.message == (
        "\nSELECT Id FROM Nope__c\n               ^\nERROR at Row:1:Column:16\nsObject type 'Nope__c' is "
        "not supported. If you are attempting to use a custom object, be sure to append the '__c' after the "
        "entity name. Please reference your WSDL or the describe call for the appropriate names."
    )


def test_unknown_relationships(store):
    err = error(store, "SELECT Id, Ownr.Name FROM Account")
    assert err.error_code == "INVALID_FIELD"
    assert err.message.split("\n")[-1] == (
        "Didn't understand relationship 'Ownr' in field path. If you are attempting to use a custom "
        "relationship, be sure to append the '__r' after the custom relationship name. Please reference your "
        "WSDL or the describe call for the appropriate names."
    )
    assert error(store, "SELECT OwnerId.Name FROM Account").error_code == "INVALID_FIELD"
    err = error(store, "SELECT Id, (SELECT Id FROM Contactz) FROM Account")
    assert err.error_code == "INVALID_TYPE"
    assert "Didn't understand relationship 'Contactz' in FROM part of query call." in err.message
    assert "ERROR at Row:1:Column:28" in err.message


def test_filtering_and_sorting_refusals(store):
    err = error(store, "SELECT Id FROM Account WHERE Description = 'x'")
    assert err.error_code == "INVALID_FIELD"
    assert err.message.endswith(
        "\nERROR at Row:1:Column:30\nfield 'Description' can not be filtered in a query call"
    )
    err = error(store, "SELECT Id FROM Account ORDER BY Description")
    assert err.error_code == "INVALID_FIELD"
    assert err.message.endswith("field 'Description' can not be sorted in a query call")
    err = error(store, "SELECT Id FROM Account ORDER BY Tags__c")
    assert err.message.endswith("field 'Tags__c' can not be sorted in a query call")


@pytest.mark.parametrize(
    ("where", "kind"),
    [
        ("Founded__c = '2024-03-15'", "date"),
        ("Founded__c = 2024-03-15T00:00:00Z", "date"),
        ("Seen__c = 2024-03-15", "dateTime"),
        ("AnnualRevenue = '5'", "double"),
        ("NumberOfEmployees = '5'", "integer"),
        ("Active__c = 'true'", "boolean"),
    ],
)
def test_literal_of_the_wrong_type_is_invalid_field(store, where, kind):
    err = error(store, f"SELECT Id FROM Account WHERE {where}")
    field = where.split()[0]
    assert err.error_code == "INVALID_FIELD"
    assert err.message.endswith(
        f"\nERROR at Row:1:Column:30\nvalue of filter criterion for field '{field}' must be of type {kind} "
        "and should not be enclosed in quotes"
    )


def test_number_against_text_field_is_invalid_field(store):
    err = error(store, "SELECT Id FROM Account WHERE Name = 5")
    assert err.message.endswith("must be of type string and should be enclosed in quotes")


def test_offset_over_2000(store):
    err = error(store, "SELECT Id FROM Account LIMIT 10 OFFSET 2001")
    assert err.body() == [
        {"message": "Maximum SOQL offset allowed is 2000", "errorCode": "NUMBER_OUTSIDE_VALID_RANGE"}
    ]
    assert engine.execute(store, "SELECT Id FROM Account OFFSET 2000").total_size == 0


def test_malformed_queries(store):
    err = error(store, "SELECT Id FORM Account")
    assert err.body() == [
        {
            "message": "\nSELECT Id FORM Account\n          ^\nERROR at Row:1:Column:11\n"
            "unexpected token: 'FORM'",
            "errorCode": "MALFORMED_QUERY",
        }
    ]
    assert error(store, "SELECT Id FROM Account WHERE Name = 'O''Brien'").error_code == "MALFORMED_QUERY"
    assert error(store, "SELECT Name, name FROM Account").message.endswith("duplicate field selected: name")
    assert error(store, "SELECT Id FROM Account LIMIT 3000000000").error_code == "MALFORMED_QUERY"


# --- results --------------------------------------------------------------------------------------


def test_result_holds_ids_and_reads_current_rows_per_batch(store):
    result = engine.execute(store, "SELECT Name FROM Account ORDER BY Id")
    assert result.total_size == 5
    assert all(isinstance(i, str) for i in result._ids)


def test_batches_from_several_threads_hand_out_each_record_once(store):
    result = engine.execute(store, "SELECT Id FROM Contact")
    seen: list[str] = []
    lock = threading.Lock()

    def take() -> None:
        while not result.done:
            batch = result.next_batch(1)
            with lock:
                seen.extend(r["Id"] for r in batch)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == sorted(C)


def test_sorted_page_uses_an_index(store):
    engine.execute(store, "SELECT Id, Name FROM Account WHERE Name LIKE 'a%' ORDER BY Name, Id LIMIT 201")
    with store.lock:
        plan = store.conn.execute(
            'EXPLAIN QUERY PLAN SELECT t0."Id" FROM "Account" AS t0 WHERE t0."IsDeleted" = 0 '
            f'ORDER BY t0."Name" COLLATE {engine.COLLATION} ASC, t0."Id" LIMIT 201'
        ).fetchall()
    details = " ".join(row[-1] for row in plan)
    assert "USING INDEX" in details and "TEMP B-TREE" not in details


def test_a_reopened_database_with_engine_indexes_accepts_writes(tmp_path):
    schema = Schema.from_describes(DESCRIBES)
    first = Store(schema, str(tmp_path / "org.db"))
    first.load_data({"Account": [{"Name": "b"}, {"Name": "A"}]})
    engine.execute(first, "SELECT Id FROM Account WHERE Name = 'a' ORDER BY Name")
    first.conn.close()
    reopened = Store(schema, str(tmp_path / "org.db"))
    reopened.insert("Account", {"Name": "c"})
    rows = engine.execute(reopened, "SELECT Name FROM Account ORDER BY Name").next_batch(10)
    assert [r["Name"] for r in rows] == ["A", "b", "c"]


def test_child_subquery_offset_applies_per_parent(store):
    rows = run(
        store,
        f"SELECT (SELECT LastName FROM Contacts ORDER BY LastName LIMIT 1 OFFSET 1) FROM Account "
        f"WHERE Id = '{A[0]}'",
    )
    assert [c["LastName"] for c in rows[0]["Contacts"]["records"]] == ["Jones"]
