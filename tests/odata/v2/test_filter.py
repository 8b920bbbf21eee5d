"""V2 ``$filter`` syntax becomes the same filter tree, hence the same SOQL, as its V4 spelling.

Each V2 expression is compared with the V4 expression that means the same, through the real binder and
planner: equal SOQL WHERE clauses, so every V4 rule (null semantics, refusals) holds for V2.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.odata.http.errors import ODataError
from gateway.odata.read.bind import bind
from gateway.odata.read.plan import plan_read
from gateway.odata.read.query_options import QueryOptions
from gateway.odata.v2.filter import parse_v2_filter, to_v4_text
from gateway.soql.printer import print_soql
from tests.odata.read.model_fixture import ACCOUNT, CONTACT, MODEL, where


def v2_where(text: str, entity_set=ACCOUNT) -> str:
    tree = parse_v2_filter(text, entity_set, MODEL)
    query = plan_read(bind(entity_set, MODEL, QueryOptions(select=(("Id",),), filter=tree))).query
    rendered = print_soql(query)
    _, found, rest = rendered.partition(" WHERE ")
    return rest.split(" ORDER BY ")[0] if found else ""


@pytest.mark.parametrize(
    ("v2", "v4"),
    [
        ("substringof('Acme',Name)", "contains(Name,'Acme')"),
        ("substringof('Acme', Name) eq true", "contains(Name,'Acme') eq true"),
        ("substringof('Acme',Name) eq false", "contains(Name,'Acme') eq false"),
        ("not substringof('Acme',Name)", "not contains(Name,'Acme')"),
        (
            "substringof('Acme',Name) eq true or substringof('Acme',Industry) eq true",
            "contains(Name,'Acme') eq true or contains(Industry,'Acme') eq true",
        ),
        ("substringof('acme',tolower(Name)) eq true", "contains(tolower(Name),'acme') eq true"),
        ("substringof('it''s, (really)',Name)", "contains(Name,'it''s, (really)')"),
        ("startswith(Name,'Ac') eq true", "startswith(Name,'Ac') eq true"),
        ("endswith(Name,'Ltd') eq true", "endswith(Name,'Ltd') eq true"),
        ("toupper(Name) eq 'ACME'", "toupper(Name) eq 'ACME'"),
        ("NumberOfEmployees gt 100L", "NumberOfEmployees gt 100"),
        ("AnnualRevenue ge 1.5M", "AnnualRevenue ge 1.5"),
        ("AnnualRevenue lt 2.5m and AnnualRevenue gt 1d", "AnnualRevenue lt 2.5 and AnnualRevenue gt 1"),
        ("LastSeen__c gt datetime'2024-01-31T10:00'", "LastSeen__c gt 2024-01-31T10:00:00Z"),
        ("LastSeen__c gt datetime'2024-01-31T10:00:05.1234567'", "LastSeen__c gt 2024-01-31T10:00:05.123Z"),
        ("LastSeen__c le datetimeoffset'2024-01-31T10:00:00+02:00'", "LastSeen__c le 2024-01-31T08:00:00Z"),
        (
            "year(LastSeen__c) eq 2024 and month(Founded__c) eq 2",
            "year(LastSeen__c) eq 2024 and month(Founded__c) eq 2",
        ),
        ("Founded__c eq datetime'2024-01-31T00:00:00'", "Founded__c eq 2024-01-31"),
        ("Founded__c eq datetime'2024-01-31'", "Founded__c eq 2024-01-31"),
        ("Founded__c ge datetime'2024-01-31T08:00:00'", "Founded__c gt 2024-01-31"),
        ("Founded__c gt datetime'2024-01-31T08:00:00'", "Founded__c gt 2024-01-31"),
        ("Founded__c lt datetime'2024-01-31T08:00:00'", "Founded__c le 2024-01-31"),
        ("Founded__c le datetime'2024-01-31T08:00:00'", "Founded__c le 2024-01-31"),
        ("datetime'2024-01-31T00:00:00' lt Founded__c", "Founded__c gt 2024-01-31"),
        ("Founded__c eq datetime'2024-01-31T08:00:00'", "Id eq null"),
        ("Founded__c ne datetime'2024-01-31T08:00:00'", "Id ne null"),
        ("IsActive__c eq true and Industry ne null", "IsActive__c eq true and Industry ne null"),
        (
            "(Name eq 'a' or Name eq 'b') and not (Industry eq 'Energy')",
            "(Name eq 'a' or Name eq 'b') and not (Industry eq 'Energy')",
        ),
    ],
)
def test_v2_spelling_means_the_v4_spelling(v2, v4):
    assert v2_where(v2) == where(v4)


def test_date_of_a_navigation_target_is_typed_by_that_target():
    assert v2_where("Account/Name eq 'x'", CONTACT) == where("Account/Name eq 'x'", CONTACT)
    assert v2_where("Birthdate ge datetime'1990-05-01T00:00'", CONTACT) == where(
        "Birthdate ge 1990-05-01", CONTACT
    )


@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        min_size=1,
        max_size=30,
    )
)
@settings(max_examples=60, deadline=None)
def test_substringof_of_any_string_is_contains(text):
    literal = "'" + text.replace("'", "''") + "'"
    try:
        expected = where(f"contains(Name,{literal})")
    except ODataError as error:
        with pytest.raises(ODataError) as raised:
            v2_where(f"substringof({literal},Name)")
        assert raised.value.status == error.status
        return
    assert v2_where(f"substringof({literal},Name)") == expected


def test_strings_are_never_rewritten():
    text, _ = to_v4_text("Name eq 'substringof(1L,datetime''x'')' and Phone eq '12L'")
    assert text == "Name eq 'substringof(1L,datetime''x'')' and Phone eq '12L'"


@pytest.mark.parametrize(
    ("text", "status", "fragment"),
    [
        ("substringof('a')", 400, "takes two arguments"),
        ("substringof('a',Name", 400, "missing ')'"),
        ("LastSeen__c gt datetime'2024-13'", 400, "is not yyyy-mm-ddThh:mm"),
        ("LastSeen__c gt datetimeoffset'2024-01-31T10:00'", 400, "with Z or ±hh:mm"),
        ("Name eq guid'nope'", 400, "is not a GUID"),
        ("Name eq guid'12345678-1234-1234-1234-123456789012'", 400, "wrong type"),
        ("Name eq X'0A'", 501, "Binary literals"),
        ("Opens__c eq time'PT10H'", 501, "not supported"),
        ("   ", 400, "empty"),
        ("Name eq 'a' and and", 400, "position"),
        ("substringof('a',Name) add 1 eq 2", 501, ""),
        ("Description eq 'x'", 400, "Description"),
    ],
)
def test_refusals_are_clear_and_never_500(text, status, fragment):
    with pytest.raises(ODataError) as raised:
        v2_where(text)
    assert raised.value.status == status
    assert fragment in raised.value.message


def test_error_positions_are_those_of_the_v2_text():
    text = "substringof('Acme',Name) eq true and Name eq eq"
    with pytest.raises(ODataError) as raised:
        v2_where(text)
    position = int(raised.value.message.rsplit("position ", 1)[1].split()[0])
    assert text[position:].startswith("eq")
