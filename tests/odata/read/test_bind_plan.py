"""Binding query options to the published model and planning SOQL: translations checked as SOQL text,
refusals checked by status, code, target and message."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from gateway.odata.http.errors import ODataError
from gateway.odata.read.bind import bind
from gateway.odata.read.plan import (
    ExpandPlan,
    OrderKey,
    count_query,
    keyset_condition,
    page_query,
    restrict,
    sort_values,
)
from gateway.odata.read.query_options import parse_query_options
from gateway.soql.conditions import TRUE
from gateway.soql.printer import print_condition, print_soql
from gateway.soql.syntax import Comparison, Field, StringLiteral
from tests.odata.read.model_fixture import ACCOUNT, CONTACT, MODEL, plan, soql, where


def refusal(args: dict[str, str], entity_set=ACCOUNT) -> ODataError:
    with pytest.raises(ODataError) as info:
        plan(args, entity_set)
    return info.value


def filter_refusal(text: str) -> ODataError:
    return refusal({"$filter": text})


# --- $filter translations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("odata", "expected"),
    [
        ("Name eq 'Acme'", "Name = 'Acme'"),
        ("'Acme' eq Name", "Name = 'Acme'"),
        ("Name ne 'Acme'", "Name != 'Acme'"),
        ("Name eq null", "Name = null"),
        ("Name ne null", "Name != null"),
        ("AnnualRevenue gt 5", "AnnualRevenue > 5"),
        ("5 lt AnnualRevenue", "AnnualRevenue > 5"),
        ("5 ge AnnualRevenue", "AnnualRevenue <= 5"),
        ("AnnualRevenue le 1.25", "AnnualRevenue <= 1.25"),
        ("NumberOfEmployees lt -3", "NumberOfEmployees < -3"),
        ("Allocation__c gt 1e3", "Allocation__c > 1000"),
        ("not (AnnualRevenue gt 5)", "AnnualRevenue <= 5 OR AnnualRevenue = null"),
        ("not (Name eq 'a')", "Name != 'a'"),
        (
            "Name eq 'a' and (AnnualRevenue gt 1 or NumberOfEmployees lt 2)",
            "Name = 'a' AND (AnnualRevenue > 1 OR NumberOfEmployees < 2)",
        ),
        (
            "Name eq 'a' and Industry eq 'b' and AnyScore__c eq 3",
            "Name = 'a' AND Industry = 'b' AND AnyScore__c = 3",
        ),
        ("Name eq 'it''s'", r"Name = 'it\'s'"),
        ("Name eq 'back\\slash'", r"Name = 'back\\slash'"),
        ("Industry in ('Banking')", "Industry IN ('Banking')"),
        ("Industry in ('Banking', 'Energy', null)", "Industry IN ('Banking', 'Energy') OR Industry = null"),
        ("Industry in (null)", "Industry = null"),
        ("not (Industry in ('Banking'))", "Industry NOT IN ('Banking') OR Industry = null"),
        ("not (Industry in ('Banking', null))", "Industry NOT IN ('Banking') AND Industry != null"),
        ("AnnualRevenue gt null", "Id = null"),
        ("AnnualRevenue ge null", "AnnualRevenue = null"),
        ("true", ""),
        ("false", "Id = null"),
    ],
)
def test_comparisons(odata, expected):
    assert where(odata) == expected


@pytest.mark.parametrize(
    ("odata", "expected"),
    [
        ("contains(Name,'Ac%_\\me')", r"Name LIKE '%Ac\%\_\\me%'"),
        ("startswith(Name,'a')", "Name LIKE 'a%'"),
        ("endswith(Name,'z')", "Name LIKE '%z'"),
        ("contains(Name,'a') eq true", "Name LIKE '%a%'"),
        ("contains(Name,'a') eq false", "Name != null AND NOT (Name LIKE '%a%')"),
        ("not contains(Name,'a')", "Name != null AND NOT (Name LIKE '%a%')"),
        ("contains(Name,'a') ne false", "Name LIKE '%a%' OR Name = null"),
        ("contains(Name,'a') ne true", "(Name != null AND NOT (Name LIKE '%a%')) OR Name = null"),
        ("contains(Name,'a') eq null", "Name = null"),
        ("true eq contains(Name,'a')", "Name LIKE '%a%'"),
        # Salesforce Connect's documented shape
        (
            "contains(Name,'Acme') eq true or contains(Industry,'Acme') eq true",
            "Name LIKE '%Acme%' OR Industry LIKE '%Acme%'",
        ),
        (
            "(Name eq 'a' or contains(Name,'b')) eq false",
            "Name != 'a' AND Name != null AND NOT (Name LIKE '%b%')",
        ),
    ],
)
def test_string_functions(odata, expected):
    assert where(odata) == expected


@pytest.mark.parametrize(
    ("odata", "expected"),
    [
        ("tolower(Name) eq 'acme'", "Name = 'acme'"),
        ("tolower(Name) eq 'Acme'", "Id = null"),  # can never be true in OData
        ("tolower(Name) ne 'Acme'", ""),  # always true
        ("toupper(Name) ne 'ACME'", "Name != 'ACME'"),
        ("contains(tolower(Name),'ab')", "Name LIKE '%ab%'"),
        ("contains(tolower(Name),'AB')", "Id = null"),
        ("contains(tolower(Name),'AB') eq false", "Name != null"),
        ("tolower(Name) in ('a', 'B')", "Name = 'a'"),
    ],
)
def test_case_functions_only_where_meaning_survives(odata, expected):
    assert where(odata) == expected


@pytest.mark.parametrize(
    ("odata", "expected"),
    [
        ("year(Founded__c) eq 2024", "CALENDAR_YEAR(Founded__c) = 2024"),
        ("month(LastSeen__c) ne 3", "CALENDAR_MONTH(LastSeen__c) != 3 OR LastSeen__c = null"),
        ("day(Founded__c) gt 3", "DAY_IN_MONTH(Founded__c) > 3"),
        ("not (day(Founded__c) gt 3)", "DAY_IN_MONTH(Founded__c) <= 3 OR Founded__c = null"),
        ("hour(LastSeen__c) ge 10", "HOUR_IN_DAY(LastSeen__c) >= 10"),
        (
            "year(Founded__c) in (2023, 2024)",
            "CALENDAR_YEAR(Founded__c) = 2023 OR CALENDAR_YEAR(Founded__c) = 2024",
        ),
        ("Founded__c eq 2024-01-31", "Founded__c = 2024-01-31"),
        ("LastSeen__c lt 2024-01-31T10:00:00+02:00", "LastSeen__c < 2024-01-31T08:00:00Z"),
        ("LastSeen__c ge 2024-01-31T10:00:00.250Z", "LastSeen__c >= 2024-01-31T10:00:00.250Z"),
    ],
)
def test_dates(odata, expected):
    assert where(odata) == expected


@pytest.mark.parametrize(
    ("odata", "expected"),
    [
        ("IsActive__c", "IsActive__c = TRUE"),
        ("not IsActive__c", "IsActive__c = FALSE"),
        ("IsActive__c eq true", "IsActive__c = TRUE"),
        ("IsActive__c ne true", "IsActive__c = FALSE"),
        ("True_Up__c eq false", "True_Up__c = FALSE"),
        ("IsActive__c eq null", "Id = null"),  # Salesforce booleans are never null
        ("IsActive__c ne null", ""),
        ("IsActive__c in (true, null)", "IsActive__c = TRUE"),
    ],
)
def test_booleans(odata, expected):
    assert where(odata) == expected


@pytest.mark.parametrize(
    ("odata", "expected"),
    [
        ("Colors__c eq 'Red;Blue'", "Colors__c = 'Red;Blue'"),
        ("Colors__c eq 'Blue;Red'", "Id = null"),  # Salesforce returns picklist order
        ("Colors__c ne 'Red;Red'", ""),
        ("Colors__c ne 'Red'", "Colors__c != 'Red'"),
        ("Colors__c in ('Red', 'Green;Red')", "Colors__c = 'Red'"),
        ("Colors__c eq null", "Colors__c = null"),
    ],
)
def test_multipicklists(odata, expected):
    assert where(odata) == expected


@pytest.mark.parametrize(
    ("odata", "expected"),
    [
        ("Parent/Name eq 'x'", "Parent.Name = 'x'"),
        ("Owner/Name eq 'x'", "Owner.Name = 'x'"),
        ("Parent/Parent/Owner/Name eq 'x'", "Parent.Parent.Owner.Name = 'x'"),
        ("contains(Parent/Name,'x') eq false", "Parent.Name != null AND NOT (Parent.Name LIKE '%x%')"),
        ("name eq 'x'", "Name = 'x'"),  # the model resolves names case-insensitively to their real case
    ],
)
def test_paths_along_lookups(odata, expected):
    assert where(odata) == expected


def test_path_from_contact():
    assert where("Account/Industry eq 'Banking'", CONTACT) == "Account.Industry = 'Banking'"


# --- $filter refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("odata", "status", "words"),
    [
        ("Secret__c eq 'x'", 400, "Unknown property 'Secret__c' on Account"),
        ("Parent/Secret__c eq 'x'", 400, "Unknown property 'Secret__c' on Account"),
        ("Nope/Name eq 'x'", 400, "Unknown property 'Nope' on Account"),
        ("Name/Foo eq 'x'", 400, "'Name' is not a navigation property"),
        ("Parent eq 'x'", 400, "'Parent' is a navigation property"),
        ("Description eq 'x'", 400, "'Description' cannot be used in $filter"),
        ("Name eq 5", 400, "literal of the wrong type"),
        ("AnnualRevenue eq 'x'", 400, "literal of the wrong type"),
        ("Founded__c eq 2024-01-31T00:00:00Z", 400, "literal of the wrong type"),
        ("LastSeen__c eq 2024-01-31", 400, "literal of the wrong type"),
        ("IsActive__c eq 1", 400, "literal of the wrong type"),
        ("year(Founded__c) eq '2024'", 400, "literal of the wrong type"),
        ("contains(Name, 5)", 400, "literal of the wrong type"),
        ("hour(Founded__c) eq 1", 400, "hour() needs a DateTimeOffset property"),
        ("year(Name) eq 1", 400, "year() needs a Date or DateTimeOffset property"),
        ("contains(AnnualRevenue,'1')", 400, "needs a string property"),
        ("Name", 400, "not a Boolean property"),
        ("Name eq '" + "x" * 4001 + "'", 400, "4000"),
        ("contains(Name,'" + "%" * 2000 + "')", 400, "too long"),
        ("Contacts/LastName eq 'x'", 501, "any/all"),
        ("Contacts/any(c: c/LastName eq 'x')", 501, "any/all"),
        ("Name eq AnnualRevenue", 501, "two properties"),
        ("1 eq 1", 501, "two literals"),
        ("length(Name) eq 3", 501, "length() has no SOQL equivalent"),
        ("indexof(Name,'a') eq 1", 501, "indexof() has no SOQL equivalent"),
        ("AnnualRevenue add 1 eq 2", 501, "arithmetic"),
        ("AnnualRevenue mod 2 eq 0", 501, "arithmetic"),
        ("contains(Colors__c,'Red')", 501, "multi-select picklist"),
        ("Colors__c gt 'Red'", 501, "multi-select picklist"),
        ("Opens__c eq 10:00:00", 501, "Edm.TimeOfDay"),
        ("tolower(Name) gt 'a'", 501, "tolower()"),
        ("IsActive__c gt false", 501, "eq and ne"),
        ("contains('abc', Name)", 501, "first argument"),
    ],
)
def test_filter_refusals(odata, status, words):
    error = filter_refusal(odata)
    assert (error.status, error.target) == (status, "$filter")
    assert error.code == ("BadRequest" if status == 400 else "NotImplemented")
    assert words in error.message


# --- system options ---------------------------------------------------------------------------------


def test_skip_zero_is_fine_and_skip_above_zero_is_501_with_advice():
    assert plan({"$skip": "0"}).query.offset is None
    error = refusal({"$skip": "10"})
    assert (error.status, error.code, error.target) == (501, "NotImplemented", "$skip")
    assert "Server Driven Pagination" in error.message and "@odata.nextLink" in error.message


@pytest.mark.parametrize(
    ("args", "target"),
    [
        ({"$apply": "groupby((Name))"}, "$apply"),
        ({"$compute": "AnnualRevenue mul 2 as X"}, "$compute"),
        ({"$search": "Acme OR NOT Corp"}, "$search"),
        ({"$expand": "Contacts($levels=2)"}, "$levels"),
    ],
)
def test_unsupported_options_are_501(args, target):
    error = refusal(args)
    assert (error.status, error.target) == (501, target)


# --- $select ----------------------------------------------------------------------------------------


def test_default_select_is_every_published_property_and_id_first():
    read = plan({})
    assert read.select == tuple(ACCOUNT.properties)
    assert print_soql(read.query) == (
        "SELECT Id, Name, AnnualRevenue, NumberOfEmployees, Description, Industry, IsActive__c, "
        "Allocation__c, Nullable__c, True_Up__c, AnyScore__c, Founded__c, LastSeen__c, Opens__c, Colors__c, "
        "ParentId, "
        "OwnerId, SystemModstamp FROM Account ORDER BY Id ASC"
    )


def test_select_always_fetches_id_and_the_etag_source():
    read = plan({"$select": "Name,AnnualRevenue"})
    assert read.select == ("Name", "AnnualRevenue")
    assert (
        print_soql(read.query)
        == "SELECT Id, Name, AnnualRevenue, SystemModstamp FROM Account ORDER BY Id ASC"
    )


def test_select_without_systemmodstamp_published():
    assert soql({"$select": "LastName"}, CONTACT) == "SELECT Id, LastName FROM Contact ORDER BY Id ASC"


def test_select_star_and_duplicates():
    assert plan({"$select": "Name,*"}).select == tuple(ACCOUNT.properties)
    assert plan({"$select": "Name,name"}).select == ("Name",)


def test_selecting_a_navigation_property_fetches_nothing_more():
    assert plan({"$select": "Name,Parent"}).select == ("Name",)


@pytest.mark.parametrize(
    ("select", "words"),
    [
        ("Secret__c", "Unknown property 'Secret__c'"),
        ("Parent/Name", "$expand=Parent($select=Name)"),
        ("Name/Foo", "not a property path"),
    ],
)
def test_select_refusals(select, words):
    error = refusal({"$select": select})
    assert (error.status, error.target) == (400, "$select") and words in error.message


# --- $orderby and keyset paging ---------------------------------------------------------------------


def test_orderby_then_id_with_nulls_last_descending():
    read = plan({"$select": "Name", "$orderby": "AnnualRevenue desc, Parent/Name"})
    assert print_soql(read.query) == (
        "SELECT Id, Name, SystemModstamp, AnnualRevenue, Parent.Name FROM Account "
        "ORDER BY AnnualRevenue DESC NULLS LAST, Parent.Name ASC, Id ASC"
    )
    assert [(k.field.dotted, k.descending) for k in read.order_keys] == [
        ("AnnualRevenue", True),
        ("Parent.Name", False),
        ("Id", False),
    ]


def test_orderby_id_is_not_repeated():
    assert print_soql(plan({"$select": "Id", "$orderby": "Id desc"}, CONTACT).query) == (
        "SELECT Id FROM Contact ORDER BY Id DESC NULLS LAST"
    )


@pytest.mark.parametrize(
    ("orderby", "status", "words"),
    [
        ("Description", 400, "'Description' cannot be used in $orderby"),
        ("Colors__c", 400, "cannot be used in $orderby"),
        ("Secret__c", 400, "Unknown property 'Secret__c'"),
        ("Parent/Secret__c", 400, "Unknown property 'Secret__c'"),
        ("Contacts/LastName", 501, "collection"),
        ("Parent", 400, "navigation property"),
    ],
)
def test_orderby_refusals(orderby, status, words):
    error = refusal({"$orderby": orderby})
    assert (error.status, error.target) == (status, "$orderby") and words in error.message


def keyset(orderby: str, values: tuple) -> str:
    return print_condition(keyset_condition(plan({"$orderby": orderby}).order_keys, values))


def test_keyset_on_id_alone():
    assert keyset("Id", ("001A",)) == "Id > '001A'"


def test_keyset_ascending_value_leads_with_a_range_an_index_can_seek():
    assert keyset("Name", ("Acme", "001A")) == (
        "Name >= 'Acme' AND (Name > 'Acme' OR (Name = 'Acme' AND Id > '001A'))"
    )
    assert keyset("AnnualRevenue", (10.5, "001A")) == (  # nullable: the nulls came first, all served
        "AnnualRevenue >= 10.5 AND (AnnualRevenue > 10.5 OR (AnnualRevenue = 10.5 AND Id > '001A'))"
    )


def test_keyset_descending_on_a_key_that_cannot_be_null_leads_with_a_range():
    assert keyset("Name desc", ("Acme", "001A")) == (
        "Name <= 'Acme' AND (Name < 'Acme' OR (Name = 'Acme' AND Id > '001A'))"
    )


def test_keyset_descending_on_a_lookup_path_keeps_its_nulls_and_no_range():
    # Parent.Name cannot be null on a parent, but is null when there is no parent.
    assert keyset("Parent/Name desc", ("P", "001A")) == (
        "Parent.Name < 'P' OR Parent.Name = null OR (Parent.Name = 'P' AND Id > '001A')"
    )


def test_keyset_ascending_null_comes_first():
    assert keyset("Name", (None, "001A")) == "Name != null OR (Name = null AND Id > '001A')"


def test_keyset_descending_value_then_nulls():
    assert keyset("AnnualRevenue desc", (10.5, "001A")) == (
        "AnnualRevenue < 10.5 OR AnnualRevenue = null OR (AnnualRevenue = 10.5 AND Id > '001A')"
    )


def test_keyset_descending_null_is_last():
    assert keyset("AnnualRevenue desc", (None, "001A")) == "AnnualRevenue = null AND Id > '001A'"


def test_keyset_typed_values():
    assert keyset("Founded__c, LastSeen__c desc", ("2024-01-31", "2024-03-01T12:00:00.000+0000", "001A")) == (
        "Founded__c >= 2024-01-31 AND (Founded__c > 2024-01-31 OR (Founded__c = 2024-01-31 AND "
        "(LastSeen__c < 2024-03-01T12:00:00Z OR LastSeen__c = null)) OR "
        "(Founded__c = 2024-01-31 AND LastSeen__c = 2024-03-01T12:00:00Z AND Id > '001A'))"
    )


def test_keyset_booleans():
    assert (
        keyset("IsActive__c", (False, "001A"))
        == "IsActive__c = TRUE OR (IsActive__c = FALSE AND Id > '001A')"
    )
    assert keyset("IsActive__c", (True, "001A")) == "IsActive__c = TRUE AND Id > '001A'"
    assert keyset("IsActive__c desc", (True, "001A")) == (
        "IsActive__c = FALSE OR (IsActive__c = TRUE AND Id > '001A')"
    )


def test_keyset_needs_one_value_per_key():
    with pytest.raises(ValueError):
        keyset_condition(plan({"$orderby": "Name"}).order_keys, ("001A",))


def test_sort_values_follow_parent_paths():
    read = plan({"$orderby": "Parent/Name desc, Name"})
    record = {"Id": "001A", "Name": "x", "Parent": {"attributes": {}, "Name": "P"}}
    assert sort_values(record, read.order_keys) == ("P", "x", "001A")
    assert sort_values({"Id": "001B", "Name": None, "Parent": None}, read.order_keys) == (None, None, "001B")


def test_page_query_adds_keyset_and_limit():
    read = plan({"$select": "Name", "$filter": "Industry eq 'Banking'", "$orderby": "Name"})
    assert print_soql(page_query(read, ("Acme", "001A"), 201)) == (
        "SELECT Id, Name, SystemModstamp FROM Account WHERE Industry = 'Banking' AND Name >= 'Acme' AND "
        "(Name > 'Acme' OR (Name = 'Acme' AND Id > '001A')) ORDER BY Name ASC, Id ASC LIMIT 201"
    )
    assert print_soql(page_query(read, limit=5)).endswith(
        "WHERE Industry = 'Banking' ORDER BY Name ASC, Id ASC LIMIT 5"
    )


def test_count_query_ignores_order_and_top():
    read = plan({"$filter": "Name eq 'a'", "$top": "3", "$orderby": "Name", "$count": "true"})
    assert (read.top, read.count) == (3, True)
    assert print_soql(read.query).count("LIMIT") == 0
    assert print_soql(count_query(read)) == "SELECT COUNT() FROM Account WHERE Name = 'a'"


def test_restrict_adds_a_condition():
    of_account = Comparison(Field(("AccountId",)), "=", StringLiteral("001A"))
    read = restrict(plan({"$select": "LastName", "$filter": "LastName eq 'a'"}, CONTACT), of_account)
    assert print_soql(read.query) == (
        "SELECT Id, LastName FROM Contact WHERE AccountId = '001A' AND LastName = 'a' ORDER BY Id ASC"
    )
    assert restrict(plan({}, CONTACT), of_account).query.where == of_account


# --- $expand ----------------------------------------------------------------------------------------


def test_expand_lookup_becomes_parent_fields():
    read = plan({"$select": "Name", "$expand": "Parent($select=Name,Industry)"})
    assert print_soql(read.query) == (
        "SELECT Id, Name, SystemModstamp, Parent.Id, Parent.Name, Parent.Industry FROM Account "
        "ORDER BY Id ASC"
    )
    assert read.expand == (ExpandPlan(ACCOUNT.navigation["Parent"], ACCOUNT, ("Name", "Industry"), False),)


def test_expand_lookup_without_select_fetches_every_published_target_property():
    read = plan({"$select": "LastName", "$expand": "Account"}, CONTACT)
    assert "Account.Id, Account.Name, Account.AnnualRevenue" in print_soql(read.query)
    assert "Secret__c" not in print_soql(read.query)
    assert read.expand[0].select == tuple(ACCOUNT.properties)


def test_expand_children_becomes_subquery():
    read = plan(
        {
            "$select": "Name",
            "$expand": "Contacts($select=LastName,Email;$filter=startswith(LastName,'S');"
            "$orderby=Birthdate desc;$top=5)",
        }
    )
    assert print_soql(read.query) == (
        "SELECT Id, Name, SystemModstamp, (SELECT Id, LastName, Email, Birthdate FROM Contacts "
        "WHERE LastName LIKE 'S%' ORDER BY Birthdate DESC NULLS LAST, Id ASC LIMIT 5) "
        "FROM Account ORDER BY Id ASC"
    )
    assert read.expand == (ExpandPlan(ACCOUNT.navigation["Contacts"], CONTACT, ("LastName", "Email"), True),)


def test_expand_star_expands_every_navigation_property():
    read = plan({"$select": "Id", "$expand": "*"})
    assert [e.navigation.name for e in read.expand] == ["Parent", "Owner", "Contacts"]
    assert "Owner.Id, Owner.Name" in print_soql(read.query)


@pytest.mark.parametrize(
    ("expand", "status", "words"),
    [
        ("Nope", 400, "Unknown navigation property 'Nope'"),
        ("Name", 400, "'Name' is not a navigation property"),
        ("Parent($select=Secret__c)", 400, "Unknown property 'Secret__c'"),
        ("Contacts($filter=Secret__c eq 'x')", 400, "Unknown property 'Secret__c' on Contact"),
        ("Contacts($orderby=Nope)", 400, "Unknown property 'Nope'"),
        ("Parent,Parent", 400, "more than once"),
        ("Parent/Parent", 501, "deeper than one level"),
        ("Contacts($expand=Account)", 501, "deeper than one level"),
        ("Parent($filter=Name eq 'x')", 501, "single-valued"),
        ("Parent($top=1)", 501, "single-valued"),
        ("Contacts($skip=2)", 501, "Server Driven Pagination"),
        ("Contacts($count=true)", 501, "$count"),
        ("Contacts/$ref", 501, "$ref"),
        ("*($select=Id)", 501, "nested options"),
    ],
)
def test_expand_refusals(expand, status, words):
    error = refusal({"$expand": expand})
    assert error.status == status and words in error.message


def test_bound_query_keeps_paging_and_format_options():
    bound = bind(ACCOUNT, MODEL, parse_query_options({"$skiptoken": "t", "$format": "json", "$top": "2"}))
    assert (bound.skiptoken, bound.format, bound.top, bound.where) == ("t", "json", 2, None)


def test_order_key_shape():
    (key, id_key) = plan({"$orderby": "Founded__c"}).order_keys
    assert key == OrderKey(Field(("Founded__c",)), ACCOUNT.properties["Founded__c"], False)
    assert id_key.field == Field(("Id",))


def test_true_condition_is_dropped():
    assert plan({"$filter": "Name ne null or true"}).query.where is None
    assert plan({"$filter": "Name eq 'a' and true"}).query.where == Comparison(
        Field(("Name",)), "=", StringLiteral("a")
    )
    assert TRUE == Comparison(Field(("Id",)), "!=", plan({"$filter": "false"}).query.where.right)


def test_literal_values_are_typed():
    read = plan(
        {
            "$filter": "Founded__c eq 2024-01-31 and LastSeen__c eq 2024-01-31T10:00:00Z "
            "and AnnualRevenue eq 1.50"
        }
    )
    founded, seen, revenue = read.query.where.items
    assert founded.right.value == dt.date(2024, 1, 31)
    assert seen.right.value == dt.datetime(2024, 1, 31, 10, tzinfo=dt.UTC)
    assert revenue.right.value == Decimal("1.50")
