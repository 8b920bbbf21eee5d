"""Capabilities are declared once (read/capabilities.py): every 501 the binder raises for a capability is
reflected in $metadata's annotations, and $metadata promises nothing the binder refuses."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from collections.abc import Callable

import pytest

from gateway.odata.http.errors import ODataError
from gateway.odata.model.entities import Model
from gateway.odata.read import bind as bind_module
from gateway.odata.read.bind import bind
from gateway.odata.read.capabilities import CAPABILITIES
from gateway.odata.read.query_options import UNSUPPORTED_OPTIONS, parse_query_options
from gateway.odata.v4.csdl import metadata_json
from tests.odata.read.model_fixture import ACCOUNT, MODEL

CONTAINER = metadata_json(MODEL)["Demo"]["Container"]
ACCOUNTS = CONTAINER["Accounts"]
FILTER_FUNCTIONS = CONTAINER["@Capabilities.FilterFunctions"]


def not_in_filter_functions(*names: str) -> Callable[[], bool]:
    return lambda: not set(names) & set(FILTER_FUNCTIONS)


# (request options the binder refuses with 501, the annotation that declares the refusal)
REFUSALS: list[tuple[dict[str, str], Callable[[], bool]]] = [
    ({"$skip": "10"}, lambda: ACCOUNTS["@Capabilities.SkipSupported"] is False),
    (
        {"$expand": "Contacts($expand=Account)"},
        lambda: ACCOUNTS["@Capabilities.ExpandRestrictions"]["MaxLevels"] == 1,
    ),
    ({"$expand": "Parent/Owner"}, lambda: ACCOUNTS["@Capabilities.ExpandRestrictions"]["MaxLevels"] == 1),
    ({"$filter": "Contacts/any(c: c/LastName eq 'x')"}, not_in_filter_functions("any", "all")),
    ({"$filter": "AnnualRevenue add 1 gt 5"}, not_in_filter_functions("add", "sub", "mul", "div", "mod")),
    ({"$filter": "-NumberOfEmployees gt 5"}, not_in_filter_functions("negate", "-")),
    *[
        ({"$filter": f"{call} eq 3"}, not_in_filter_functions(call.split("(")[0]))
        for call in (
            "length(Name)",
            "trim(Name)",
            "concat(Name, 'x')",
            "indexof(Name, 'x')",
            "substring(Name, 1)",
            "minute(LastSeen__c)",
            "second(LastSeen__c)",
            "round(AnnualRevenue)",
        )
    ],
    # Query options beyond the Minimal conformance level declared.
    *[
        # $levels takes a number per the ABNF ($levels=x is a 400 syntax error)
        (
            {name: "2" if name == "$levels" else "x"},
            lambda: CONTAINER["@Capabilities.ConformanceLevel"] == "Minimal",
        )
        for name in UNSUPPORTED_OPTIONS
    ],
]


@pytest.mark.parametrize(("args", "declared"), REFUSALS, ids=[str(a) for a, _ in REFUSALS])
def test_every_capability_refusal_is_declared_in_metadata(args, declared):
    with pytest.raises(ODataError) as refused:
        bind(ACCOUNT, MODEL, parse_query_options(args))
    assert refused.value.status == 501
    assert declared()


@pytest.mark.parametrize("name", CAPABILITIES.filter_functions)
def test_every_declared_filter_function_is_translated(name):
    expressions = {
        "and": "Name eq 'a' and Industry eq 'b'",
        "or": "Name eq 'a' or Industry eq 'b'",
        "not": "not (Name eq 'a')",
        "in": "Name in ('a', 'b')",
        "contains": "contains(Name, 'a')",
        "startswith": "startswith(Name, 'a')",
        "endswith": "endswith(Name, 'a')",
        "tolower": "tolower(Name) eq 'a'",
        "toupper": "toupper(Name) eq 'A'",
        "year": "year(Founded__c) eq 2020",
        "month": "month(Founded__c) eq 2",
        "day": "day(Founded__c) eq 3",
        "hour": "hour(LastSeen__c) eq 4",
    }
    expression = expressions.get(name, f"NumberOfEmployees {name} 5")
    bound = bind(ACCOUNT, MODEL, parse_query_options({"$filter": expression}))
    assert bound.where is not None


def test_metadata_declares_what_the_declaration_says():
    assert FILTER_FUNCTIONS == list(CAPABILITIES.filter_functions)
    assert ACCOUNTS["@Capabilities.SkipSupported"] is CAPABILITIES.skip
    assert ACCOUNTS["@Capabilities.TopSupported"] is CAPABILITIES.top
    assert ACCOUNTS["@Capabilities.CountRestrictions"] == {"Countable": CAPABILITIES.count}
    assert ACCOUNTS["@Capabilities.ExpandRestrictions"]["MaxLevels"] == CAPABILITIES.expand_max_levels
    assert (
        CONTAINER["@Capabilities.BatchSupport"]["ContinueOnErrorSupported"]
        is CAPABILITIES.batch.continue_on_error
    )


def test_the_binder_reads_the_declaration_for_every_capability_refusal():
    # The capability checks of bind.py name CAPABILITIES, so flipping a capability changes both sides.
    source = inspect.getsource(bind_module)
    read = {
        node.attr
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "CAPABILITIES"
    }
    assert {"skip", "search", "expand_max_levels", "count_in_expand", "filters_with"} <= read


def test_search_refusals_are_declared_per_entity_set():
    # A set the publication makes unsearchable: $search is refused there, and $metadata says so.
    unsearchable = dataclasses.replace(ACCOUNT, searchable=False)
    model = Model("Demo", {**MODEL.entity_sets, unsearchable.name: unsearchable})
    with pytest.raises(ODataError) as refused:
        bind(unsearchable, model, parse_query_options({"$search": "acme"}))
    assert refused.value.status == 501
    container = metadata_json(model)["Demo"]["Container"]
    assert container["Accounts"]["@Capabilities.SearchRestrictions"]["Searchable"] is False
    # A searchable set answers $search, and $metadata says it may.
    assert bind(ACCOUNT, MODEL, parse_query_options({"$search": "acme"})) is not None
    assert ACCOUNTS["@Capabilities.SearchRestrictions"]["Searchable"] is True
    # Not inside $expand (no vocabulary term: declared in read/capabilities.py, refused by the binder).
    assert not CAPABILITIES.search_in_expand
    with pytest.raises(ODataError) as in_expand:
        bind(ACCOUNT, MODEL, parse_query_options({"$expand": "Contacts($search=acme)"}))
    assert in_expand.value.status == 501 and in_expand.value.target == "$search"
