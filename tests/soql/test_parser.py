"""The SOQL parser: syntax, Salesforce's string escapes and errors, and print→parse round trips."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.soql.parser import RESERVED, SoqlSyntaxError, error_layout, parse_soql
from gateway.soql.printer import like_pattern, print_soql
from gateway.soql.syntax import (
    DATE_FUNCTIONS,
    And,
    BooleanLiteral,
    Comparison,
    Count,
    DateFunction,
    DateLiteral,
    DateTimeLiteral,
    Field,
    Includes,
    InList,
    LikePattern,
    Not,
    NullLiteral,
    NumberLiteral,
    Or,
    OrderBy,
    Query,
    RelativeDate,
    StringLiteral,
    Subquery,
)


def where(text: str):
    return parse_soql(f"SELECT Id FROM Account WHERE {text}").where


def syntax_error(text: str) -> SoqlSyntaxError:
    with pytest.raises(SoqlSyntaxError) as info:
        parse_soql(text)
    return info.value


# --- structure ------------------------------------------------------------------------------------


def test_full_query_parses_to_tree():
    q = parse_soql(
        "select Id, Account.Owner.Name, (SELECT Id FROM Contacts WHERE LastName != null ORDER BY LastName "
        "LIMIT 5) from Contact where Name = 'x' order by Name desc nulls last, Id limit 10 offset 20"
    )
    assert q == Query(
        select=(
            Field(("Id",)),
            Field(("Account", "Owner", "Name")),
            Subquery(
                Query(
                    (Field(("Id",)),),
                    "Contacts",
                    Comparison(Field(("LastName",)), "!=", NullLiteral()),
                    (OrderBy(Field(("LastName",))),),
                    5,
                )
            ),
        ),
        sobject="Contact",
        where=Comparison(Field(("Name",)), "=", StringLiteral("x")),
        order_by=(OrderBy(Field(("Name",)), True, "LAST"), OrderBy(Field(("Id",)))),
        limit=10,
        offset=20,
    )


def test_count_and_keywords_in_any_case():
    assert parse_soql("SeLeCt CoUnT() FrOm Account") == Query((Count(),), "Account")


def test_and_chain_is_one_node_and_groups_are_their_own_nodes():
    a, b, c = (Comparison(Field((n,)), "=", NumberLiteral(Decimal(1))) for n in "abc")
    assert where("a = 1 AND b = 1 AND c = 1") == And((a, b, c))
    assert where("(a = 1 AND b = 1) AND c = 1") == And((And((a, b)), c))
    assert where("a = 1 OR (b = 1 AND c = 1)") == Or((a, And((b, c))))
    assert where("(a = 1)") == a
    assert where("NOT a = 1 AND b = 1") == And((Not(a), b))
    assert where("NOT (a = 1 OR b = 1)") == Not(Or((a, b)))


@pytest.mark.parametrize("text", ["a = 1 AND b = 1 OR c = 1", "a = 1 OR b = 1 AND c = 1"])
def test_mixing_and_or_without_parentheses_is_malformed(text):
    with pytest.raises(SoqlSyntaxError) as info:
        where(text)
    assert "unexpected token: '" in info.value.message


def test_operators_and_lists():
    f = Field(("X",))
    assert where("X <> 1") == Comparison(f, "!=", NumberLiteral(Decimal(1)))
    for op in ("=", "!=", "<", "<=", ">", ">="):
        assert where(f"X {op} 2") == Comparison(f, op, NumberLiteral(Decimal(2)))
    assert where("X IN ('a', 1, null)") == InList(f, (StringLiteral("a"), NumberLiteral(1), NullLiteral()))
    assert where("X not in ('a')") == InList(f, (StringLiteral("a"),), True)
    assert where("X INCLUDES ('a;b', 'c')") == Includes(f, (StringLiteral("a;b"), StringLiteral("c")))
    assert where("X excludes ('a')") == Includes(f, (StringLiteral("a"),), True)
    assert where("calendar_year(CloseDate) = 2024") == Comparison(
        DateFunction("CALENDAR_YEAR", Field(("CloseDate",))), "=", NumberLiteral(Decimal(2024))
    )


def test_literals():
    assert where("X = -12.50").right == NumberLiteral(Decimal("-12.50"))
    assert where("X = TRUE").right == BooleanLiteral(True)
    assert where("X = false").right == BooleanLiteral(False)
    assert where("X = NULL").right == NullLiteral()
    assert where("X = 2024-02-29").right == DateLiteral(dt.date(2024, 2, 29))
    assert where("X = 2024-01-31T10:00:00Z").right == DateTimeLiteral(
        dt.datetime(2024, 1, 31, 10, tzinfo=dt.UTC)
    )
    value = where("X = 2024-01-31T10:00:00.25-05:30").right.value
    assert value == dt.datetime(2024, 1, 31, 15, 30, 0, 250000, tzinfo=dt.UTC)
    assert value.utcoffset() == -dt.timedelta(hours=5, minutes=30)
    assert where("X = today").right == RelativeDate("TODAY")
    assert where("X = YESTERDAY").right == RelativeDate("YESTERDAY")
    assert where("X = TOMORROW").right == RelativeDate("TOMORROW")
    assert where("X = last_n_days:7").right == RelativeDate("LAST_N_DAYS", 7)
    assert where("X = NEXT_N_DAYS:30").right == RelativeDate("NEXT_N_DAYS", 30)


# --- strings --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("soql", "value"),
    [
        (r"'it\'s'", "it's"),
        (r"'a\\b'", "a\\b"),
        (r"'\n\r\t\b\f\"'", '\n\r\t\b\f"'),
        (r"'\u00e9\u0041'", "éA"),
        (r"'\ud83d\ude00'", "\U0001f600"),
        ("''", ""),
        ("'naïve 😀'", "naïve 😀"),
    ],
)
def test_string_escapes(soql, value):
    assert where(f"Name = {soql}").right == StringLiteral(value)


@pytest.mark.parametrize("bad", [r"'\q'", r"'\%'", r"'\_'", r"'\u12'", "'\\"])
def test_other_backslash_sequences_are_errors(bad):
    with pytest.raises(SoqlSyntaxError):
        where(f"Name = {bad}")


def test_doubled_quote_is_malformed_query():
    err = syntax_error("SELECT Id FROM Account WHERE Name = 'O''Brien'")
    assert err.message == "unexpected token: ''Brien''"
    assert err.position == 39


def test_like_keeps_wildcard_escapes_in_the_pattern():
    assert where(r"Name LIKE 'a\%b\_c\\d%_'").right == LikePattern(r"a\%b\_c\\d%_")
    assert where(r"Name LIKE 'it\'s\n'").right == LikePattern("it's\n")
    with pytest.raises(SoqlSyntaxError):
        where("Name LIKE 5")


# --- errors ---------------------------------------------------------------------------------------


def test_unexpected_token_with_salesforce_layout():
    text = "SELECT Id FORM Account"
    err = syntax_error(text)
    assert err.message == "unexpected token: 'FORM'"
    assert error_layout(text, err.position, err.message) == (
        "\nSELECT Id FORM Account\n          ^\nERROR at Row:1:Column:11\nunexpected token: 'FORM'"
    )


def test_layout_on_a_later_row():
    text = "SELECT Id\nFROM Account\nWHERE Name = = 'x'"
    err = syntax_error(text)
    assert error_layout(text, err.position, err.message) == (
        "\nWHERE Name = = 'x'\n             ^\nERROR at Row:3:Column:14\nunexpected token: '='"
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SELECT FROM Account",
        "SELECT Id FROM",
        "SELECT Id, FROM Account",
        "SELECT Id FROM Account WHERE",
        "SELECT Id FROM Account WHERE Name",
        "SELECT Id FROM Account WHERE Name = ",
        "SELECT Id FROM Account WHERE (Name = 'a'",
        "SELECT Id FROM Account WHERE Name IN ()",
        "SELECT Id FROM Account WHERE Name INCLUDES (1)",
        "SELECT Id FROM Account LIMIT -1",
        "SELECT Id FROM Account LIMIT 1.5",
        "SELECT Id FROM Account OFFSET x",
        "SELECT Id FROM Account ORDER BY",
        "SELECT Id FROM Account ORDER BY Name NULLS",
        "SELECT Id FROM Account WHERE X = LAST_N_DAYS",
        "SELECT Id FROM Account WHERE X = 2024-02-30",
        "SELECT Id FROM Account WHERE X = 2024-01-01T25:00:00Z",
        "SELECT Id FROM Account WHERE X = 'unterminated",
        "SELECT Id FROM Account extra",
        "SELECT Id FROM Account WHERE Name = 'a' #",
        "SELECT (SELECT Id FROM Contacts FROM Account",
        "SELECT Id FROM Account WHERE From = 1",
    ],
)
def test_malformed_queries_raise(text):
    err = syntax_error(text)
    assert err.message
    assert 0 <= err.position <= len(text)


# --- the round trip -------------------------------------------------------------------------------

_name = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,8}", fullmatch=True).filter(
    lambda n: n.upper() not in RESERVED and n.upper() != "COUNT"
)
_field = st.lists(_name, min_size=1, max_size=5).map(lambda parts: Field(tuple(parts)))
_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",))
    | st.sampled_from(list("'\"\\%_\n\r\t\b\f\x00\x7f;"))
)
_utc_ms = st.datetimes(
    min_value=dt.datetime(1700, 1, 1), max_value=dt.datetime(4000, 1, 1), timezones=st.just(dt.UTC)
).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))
_offset_tz = st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
_datetime = st.builds(lambda d, tz: d.astimezone(tz), _utc_ms, _offset_tz)
_number = st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
    lambda d: abs(d.adjusted()) < 40
)
_relative = st.sampled_from(["TODAY", "YESTERDAY", "TOMORROW"]).map(RelativeDate) | st.builds(
    RelativeDate, st.sampled_from(["LAST_N_DAYS", "NEXT_N_DAYS"]), st.integers(0, 5000)
)
_literal = st.one_of(
    _text.map(StringLiteral),
    _number.map(NumberLiteral),
    st.booleans().map(BooleanLiteral),
    st.just(NullLiteral()),
    st.dates().map(DateLiteral),
    _datetime.map(DateTimeLiteral),
    _relative,
)
_like = st.lists(st.one_of(_text.map(like_pattern), st.sampled_from(["%", "_"]).map(LikePattern))).map(
    lambda parts: LikePattern("".join(p.value for p in parts))
)
_operand = _field | st.builds(DateFunction, st.sampled_from(DATE_FUNCTIONS), _field)
_simple = st.one_of(
    st.builds(Comparison, _operand, st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), _literal),
    st.builds(Comparison, _operand, st.just("LIKE"), _like),
    st.builds(InList, _operand, st.lists(_literal, min_size=1, max_size=4).map(tuple), st.booleans()),
    st.builds(
        Includes, _field, st.lists(_text.map(StringLiteral), min_size=1, max_size=3).map(tuple), st.booleans()
    ),
)
_condition = st.recursive(
    _simple,
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=4).map(lambda items: And(tuple(items))),
        st.lists(inner, min_size=2, max_size=4).map(lambda items: Or(tuple(items))),
        inner.map(Not),
    ),
    max_leaves=8,
)
_order_by = st.builds(OrderBy, _field, st.booleans(), st.sampled_from([None, "FIRST", "LAST"]))
_limit = st.none() | st.integers(0, 100_000)


def _query(select_items):
    return st.builds(
        Query,
        st.lists(select_items, min_size=1, max_size=4).map(tuple),
        _name,
        st.none() | _condition,
        st.lists(_order_by, max_size=3).map(tuple),
        _limit,
        _limit,
    )


_child_query = _query(_field)
_query_tree = _query(st.one_of(_field, _field, st.just(Count()), _child_query.map(Subquery)))


@settings(max_examples=150, deadline=None)
@given(_query_tree)
def test_print_then_parse_gives_the_same_tree(query):
    assert parse_soql(print_soql(query)) == query


@settings(max_examples=300, deadline=None)
@given(_text)
def test_any_string_survives_the_round_trip(value):
    query = Query((Field(("Id",)),), "Account", Comparison(Field(("Name",)), "=", StringLiteral(value)))
    assert parse_soql(print_soql(query)) == query
