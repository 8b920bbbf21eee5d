"""Safety by construction, shown with hypothesis (issue 3 §10):

- for random $filter/$orderby/$select/$expand over a model with unpublished fields, the request is either
  refused (400/501) or becomes SOQL that parses and names only published fields;
- any string (quotes, backslashes, %, _, newlines, Unicode) in eq/contains/startswith/endswith survives
  print → SOQL parser unchanged, and run on the local org finds the record holding exactly that string.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.localorg import engine
from gateway.localorg.schema import Schema
from gateway.localorg.store import Store
from gateway.odata.http.errors import ODataError
from gateway.odata.model.entities import EntitySet
from gateway.soql import syntax as soql
from gateway.soql.parser import parse_soql
from gateway.soql.printer import like_pattern, print_soql
from tests.odata.read.model_fixture import ACCOUNT, MODEL, UNPUBLISHED, plan

# --- generated SOQL names only published fields --------------------------------------------------------

NAMES = (
    *ACCOUNT.properties,
    *UNPUBLISHED,
    "Parent/Name",
    "Parent/Secret__c",
    "Owner/Name",
    "Owner/Hidden__c",
    "Contacts/LastName",
    "Parent/Parent/Industry",
    "Nope/Name",
    "Parent",
)
LITERALS = (
    "'x'",
    "'a''b'",
    "1",
    "-2.5",
    "true",
    "false",
    "null",
    "2024-01-31",
    "2024-01-31T10:00:00Z",
    "10:00:00",
)
OPERATORS = ("eq", "ne", "gt", "ge", "lt", "le")

names = st.sampled_from(NAMES)
literals = st.sampled_from(LITERALS)


@st.composite
def atoms(draw) -> str:
    name, literal = draw(names), draw(literals)
    kind = draw(st.integers(0, 7))
    if kind == 0:
        return f"{name} {draw(st.sampled_from(OPERATORS))} {literal}"
    if kind == 1:
        return f"{literal} {draw(st.sampled_from(OPERATORS))} {name}"
    if kind == 2:
        function = draw(st.sampled_from(("contains", "startswith", "endswith")))
        return f"{function}({name},{literal})" + draw(
            st.sampled_from(("", " eq true", " eq false", " ne true"))
        )
    if kind == 3:
        return f"{draw(st.sampled_from(('year', 'month', 'day', 'hour')))}({name}) eq 2024"
    if kind == 4:
        return f"{draw(st.sampled_from(('tolower', 'toupper')))}({name}) eq {literal}"
    if kind == 5:
        return f"{name} in ({literal}, {draw(literals)})"
    if kind == 6:
        return f"{name} eq {draw(names)}"
    return name


filters = st.recursive(
    atoms(),
    lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda p: f"({p[0]}) and ({p[1]})"),
        st.tuples(inner, inner).map(lambda p: f"({p[0]}) or ({p[1]})"),
        inner.map(lambda f: f"not ({f})"),
    ),
    max_leaves=6,
)


@st.composite
def requests(draw) -> dict[str, str]:
    args = {"$filter": draw(filters)}
    if draw(st.booleans()):
        args["$select"] = ",".join(draw(st.lists(names, min_size=1, max_size=3)))
    if draw(st.booleans()):
        args["$orderby"] = ",".join(
            f"{n} {d}"
            for n, d in draw(
                st.lists(st.tuples(names, st.sampled_from(("asc", "desc"))), min_size=1, max_size=2)
            )
        )
    if draw(st.booleans()):
        args["$expand"] = draw(
            st.sampled_from(
                (
                    "Parent",
                    f"Parent($select={draw(names)})",
                    f"Contacts($select=LastName;$filter=LastName eq 'x' or {draw(names)} eq 'y')",
                    f"Contacts($orderby={draw(names)})",
                    "Owner",
                )
            )
        )
    return args


def _fields_of_condition(condition: soql.Condition | None):
    match condition:
        case None:
            return
        case soql.Comparison(left=left) | soql.InList(left=left):
            yield left.field if isinstance(left, soql.DateFunction) else left
        case soql.Includes(left=left):
            yield left
        case soql.And(items=items) | soql.Or(items=items):
            for item in items:
                yield from _fields_of_condition(item)
        case soql.Not(item=item):
            yield from _fields_of_condition(item)


def _check_published(query: soql.Query, entity_set: EntitySet) -> None:
    fields = [item for item in query.select if isinstance(item, soql.Field)]
    fields += list(_fields_of_condition(query.where)) + [key.field for key in query.order_by]
    for field in fields:
        current = entity_set
        for relationship in field.path[:-1]:
            navigation = current.navigation[relationship]  # KeyError: an unpublished relationship
            assert not navigation.collection
            current = MODEL.entity_sets[navigation.target_set]
        assert field.path[-1] in current.properties, f"{field.dotted} is not published"
    for item in query.select:
        if isinstance(item, soql.Subquery):
            navigation = entity_set.navigation[item.query.sobject]
            _check_published(item.query, MODEL.entity_sets[navigation.target_set])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_generated_soql_names_only_published_fields(args):
    try:
        read = plan(args)
    except ODataError as error:
        assert error.status in (400, 501) and error.code and error.message
        return
    text = print_soql(read.query)
    assert parse_soql(text) == read.query  # the local org's parser reads exactly what we meant
    _check_published(read.query, ACCOUNT)
    for hidden in UNPUBLISHED:
        assert hidden not in text


# --- strings round-trip ------------------------------------------------------------------------------

strings = st.text(
    st.one_of(st.sampled_from("'\\%_\n\r\t\"\b\f*?[]() ;,"), st.characters(codec="utf-8")),
    min_size=1,
    max_size=60,
)
FUNCTIONS = {
    "eq": None,
    "contains": {"leading": True, "trailing": True},
    "startswith": {"trailing": True},
    "endswith": {"leading": True},
}


def odata_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def odata_filter(function: str, text: str) -> str:
    if function == "eq":
        return f"Name eq {odata_string(text)}"
    return f"{function}(Name,{odata_string(text)})"


@settings(max_examples=300, deadline=None)
@given(strings, st.sampled_from(tuple(FUNCTIONS)))
def test_any_string_survives_printing_and_soql_parsing(text, function):
    read = plan({"$select": "Name", "$filter": odata_filter(function, text)})
    parsed = parse_soql(print_soql(read.query))
    assert parsed == read.query
    comparison = parsed.where
    if function == "eq":
        assert comparison == soql.Comparison(soql.Field(("Name",)), "=", soql.StringLiteral(text))
    else:
        assert comparison == soql.Comparison(
            soql.Field(("Name",)), "LIKE", like_pattern(text, **FUNCTIONS[function])
        )


# --- ... and finds exactly that record on the local org ---------------------------------------------

LOCAL_SCHEMA = Schema.from_describes(
    [{"name": "Account", "fields": [{"name": "Name", "type": "string", "length": 255, "nillable": False}]}]
)
# Records whose names are made of LIKE's special characters: a badly escaped pattern would match them.
DECOYS = ("%", "_", "\\", "%%", "__", "'", "\\%", "x")


def matches(store: Store, function: str, text: str) -> set[str]:
    read = plan({"$select": "Name", "$filter": odata_filter(function, text)})
    result = engine.execute(store, print_soql(read.query))
    return {row["Id"] for row in result.next_batch(2000)}


stored_strings = strings.filter(lambda s: s.strip() == s and "\x00" not in s)


@settings(max_examples=150, deadline=None)
@given(stored_strings)
def test_any_string_round_trips_through_the_local_org_as_an_exact_match(text):
    store = Store(LOCAL_SCHEMA)
    target = store.insert("Account", {"Name": text})
    decoys = {store.insert("Account", {"Name": d}): d for d in DECOYS if d.lower() != text.lower()}
    longer = store.insert("Account", {"Name": text + "!"})
    assert matches(store, "eq", text) == {target}
    found = {function: matches(store, function, text) for function in ("contains", "startswith", "endswith")}
    assert found["contains"] >= {target, longer}
    assert found["startswith"] >= {target, longer}
    assert target in found["endswith"]
    assert (longer in found["endswith"]) == (text + "!").lower().endswith(text.lower())
    for function, ids in found.items():
        for record_id, name in decoys.items():
            if record_id in ids:  # only where the decoy really contains the text, ignoring case
                assert text.lower() in name.lower() or text.casefold() in name.casefold(), (function, name)


@pytest.mark.parametrize(
    "text", ["O'Brien", "50%_off\\", "line\nbreak", "Zoë ☃ 𝄞", '"quoted"', "%", "_", "\\"]
)
def test_examples_round_trip_through_the_local_org(text):
    store = Store(LOCAL_SCHEMA)
    target = store.insert("Account", {"Name": text})
    for decoy in DECOYS:
        if decoy.lower() != text.lower():
            store.insert("Account", {"Name": decoy})
    assert matches(store, "eq", text) == {target}
    assert target in matches(store, "contains", text)
