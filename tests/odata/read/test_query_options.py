"""Parsing OData system query options: $filter through odata-query (with its quirks fixed), our own
$select/$orderby/$expand parsers, and the refusals of malformed or unknown options."""

from __future__ import annotations

import pytest
from odata_query import ast
from werkzeug.datastructures import MultiDict

from gateway.odata.http.errors import ODataError
from gateway.odata.read.query_options import (
    ExpandItem,
    OrderItem,
    QueryOptions,
    parse_expand,
    parse_filter,
    parse_orderby,
    parse_query_options,
    parse_select,
)


def refused(parse, *args) -> ODataError:
    with pytest.raises(ODataError) as info:
        parse(*args)
    return info.value


# --- $filter ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["Allocation__c", "Nullable__c", "AnyScore__c", "True_Up__c", "Falsey", "allx"]
)
def test_identifiers_starting_with_keywords_lex_as_identifiers(name):
    assert parse_filter(f"{name} eq 1") == ast.Compare(ast.Eq(), ast.Identifier(name), ast.Integer("1"))


def test_keyword_literals_still_work_next_to_such_identifiers():
    tree = parse_filter("True_Up__c eq true and Nullable__c ne null")
    assert tree == ast.BoolOp(
        ast.And(),
        ast.Compare(ast.Eq(), ast.Identifier("True_Up__c"), ast.Boolean("true")),
        ast.Compare(ast.NotEq(), ast.Identifier("Nullable__c"), ast.Null()),
    )


def test_any_lambda_still_parses():
    tree = parse_filter("Contacts/any(c: c/LastName eq 'x')")
    assert isinstance(tree, ast.CollectionLambda) and isinstance(tree.operator, ast.Any)


@pytest.mark.parametrize(
    "text", ["Industry in ('Banking')", "Industry in('Banking')", "Industry in ( 'Banking' )"]
)
def test_one_item_in_list(text):
    assert parse_filter(text) == ast.Compare(
        ast.In(), ast.Identifier("Industry"), ast.List([ast.String("Banking")])
    )


def test_two_item_in_list_is_unchanged():
    tree = parse_filter("Industry in ('A', 'B')")
    assert tree.right == ast.List([ast.String("A"), ast.String("B")])


def test_string_literal_with_parentheses_and_doubled_quotes():
    tree = parse_filter("Name in ('it''s (x)')")
    assert tree.right == ast.List([ast.String("it's (x)")])


def test_not_with_and_without_space():
    assert parse_filter("not(A eq 1)") == parse_filter("not (A eq 1)")


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("Name eq 'a' or or", 15),
        ("Name eq 'a' or", 12),
        ("Name eq eq 1", 8),
        ("Name eq 'a' $ x", 12),
        ("(Name eq 1", 10),
        ("Name eq 'unterminated", 8),
    ],
)
def test_syntax_errors_are_400_with_position(text, position):
    error = refused(parse_filter, text)
    assert (error.status, error.code, error.target) == (400, "SyntaxError", "$filter")
    assert f"position {position}" in error.message


def test_invalid_dates_are_refused():
    error = refused(parse_filter, "Founded__c eq 2024-02-30")
    assert error.status == 400 and "invalid date 2024-02-30 at position 14" in error.message


def test_datetime_without_offset_is_refused():
    error = refused(parse_filter, "LastSeen__c gt 2024-02-03T10:00:00")
    assert error.status == 400 and "needs a time zone offset" in error.message


def test_invalid_datetime_is_refused():
    assert refused(parse_filter, "LastSeen__c gt 2024-02-30T10:00:00Z").status == 400


def test_datetime_with_offset_and_without_seconds():
    assert parse_filter("X gt 2024-02-03T10:00Z").right == ast.DateTime("2024-02-03T10:00Z")
    assert parse_filter("X gt 2024-02-03T10:00:00.123+02:00").right == ast.DateTime(
        "2024-02-03T10:00:00.123+02:00"
    )


def test_unknown_function_is_400():
    error = refused(parse_filter, "frobnicate(Name) eq 1")
    assert error.status == 400 and "frobnicate" in error.message


def test_empty_filter_is_400():
    assert refused(parse_query_options, {"$filter": " "}).status == 400


# --- $select, $orderby ------------------------------------------------------------------------------


def test_select_paths_and_star():
    assert parse_select("Name, Account/Name,*") == (("Name",), ("Account", "Name"), ("*",))


@pytest.mark.parametrize("text", ["Name,", "Name,,Id", "Na me", "Name($select=x)", "1abc"])
def test_select_syntax_errors(text):
    error = refused(parse_select, text)
    assert (error.status, error.target) == (400, "$select") and "position" in error.message


def test_orderby_items():
    assert parse_orderby("Name desc, Account/Name asc,Id") == (
        OrderItem(("Name",), True),
        OrderItem(("Account", "Name"), False),
        OrderItem(("Id",), False),
    )


def test_orderby_syntax_error_has_position():
    error = refused(parse_orderby, "Name desc, Id sideways")
    assert error.status == 400 and "position 10" in error.message


def test_orderby_expression_is_501():
    error = refused(parse_orderby, "tolower(Name) desc")
    assert (error.status, error.target) == (501, "$orderby")


# --- $expand ----------------------------------------------------------------------------------------


def test_expand_with_nested_options():
    items = parse_expand(
        "Contacts($select=LastName,Email;$filter=contains(LastName,'a;b)');$orderby=LastName desc;$top=5),"
        "Account($select=Name),*"
    )
    contacts, account, star = items
    assert contacts.path == ("Contacts",)
    assert contacts.options.select == (("LastName",), ("Email",))
    assert contacts.options.filter == ast.Call(
        ast.Identifier("contains"), [ast.Identifier("LastName"), ast.String("a;b)")]
    )
    assert contacts.options.orderby == (OrderItem(("LastName",), True),)
    assert contacts.options.top == 5
    assert account == ExpandItem(("Account",), QueryOptions(select=(("Name",),)))
    assert star == ExpandItem(("*",), QueryOptions())


def test_expand_nested_expand_and_levels_are_recorded_for_bind():
    (item,) = parse_expand("Contacts($expand=Account($select=Name);$levels=2)")
    assert item.options.expand == (ExpandItem(("Account",), QueryOptions(select=(("Name",),))),)
    assert item.options.unsupported == ("$levels",)


def test_expand_ref_path():
    assert parse_expand("Contacts/$ref")[0].path == ("Contacts", "$ref")


@pytest.mark.parametrize(
    "text", ["Contacts(", "Contacts)", "Contacts($top=x)", "Contacts($bogus=1)", "Contacts(top=1)"]
)
def test_expand_errors(text):
    assert refused(parse_expand, text).status == 400


# --- the whole query --------------------------------------------------------------------------------


def test_all_options():
    options = parse_query_options(
        {
            "$select": "Name",
            "$filter": "Name eq 'a'",
            "$orderby": "Name",
            "$top": "26",
            "$skip": "0",
            "$count": "true",
            "$search": "Acme",
            "$format": "json",
            "$skiptoken": "abc",
            "custom": "ignored",
        }
    )
    assert options.select == (("Name",),)
    assert options.filter == ast.Compare(ast.Eq(), ast.Identifier("Name"), ast.String("a"))
    assert (options.top, options.skip, options.count) == (26, 0, True)
    assert (options.search, options.format, options.skiptoken) == ("Acme", "json", "abc")
    assert options.unsupported == ()


def test_no_options():
    assert parse_query_options({}) == QueryOptions()


def test_unsupported_options_are_recorded():
    assert parse_query_options({"$apply": "groupby((Name))", "$compute": "x"}).unsupported == (
        "$apply",
        "$compute",
    )


@pytest.mark.parametrize("name", ["$bogus", "$Top", "$FILTER"])
def test_unknown_or_miscased_options_are_400(name):
    error = refused(parse_query_options, {name: "1"})
    assert (error.status, error.target) == (400, name) and name in error.message


def test_duplicate_options_are_400():
    error = refused(parse_query_options, MultiDict([("$top", "1"), ("$top", "2")]))
    assert (error.status, error.target) == (400, "$top") and "more than once" in error.message


def test_pairs_are_accepted_too():
    assert parse_query_options([("$top", "3")]).top == 3


@pytest.mark.parametrize(("name", "value"), [("$top", "-1"), ("$top", "x"), ("$skip", "1.5"), ("$top", "")])
def test_top_and_skip_must_be_non_negative_integers(name, value):
    error = refused(parse_query_options, {name: value})
    assert (error.status, error.target) == (400, name)


@pytest.mark.parametrize("value", ["True", "1", "yes", ""])
def test_count_must_be_true_or_false(value):
    assert refused(parse_query_options, {"$count": value}).status == 400


def test_count_false():
    assert parse_query_options({"$count": "false"}).count is False
