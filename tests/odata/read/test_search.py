"""``$search`` in the core: OData search syntax → SOSL tree, the rules checked before any call, the SOSL
statement of a page (printed SOSL parses back to it, for any search), and the model's search flags."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.odata.http.errors import ODataError
from gateway.odata.model.builder import build_model
from gateway.odata.model.publication import EntitySetSpec, Publication, parse_publication_text
from gateway.odata.model.publication import PublicationError as PubError
from gateway.odata.read import search
from gateway.odata.read.search_expr import parse_search
from gateway.soql.sosl import Phrase, SearchAnd, SearchNot, SearchOr, Term, Wildcard
from gateway.soql.sosl_parser import parse_sosl
from gateway.soql.sosl_printer import print_sosl
from tests.odata.read.model_fixture import ACCOUNT, plan


def test_odata_search_syntax_becomes_the_sosl_tree():
    assert parse_search("acme") == Term.of("acme")
    assert parse_search("acme corp") == SearchAnd((Term.of("acme"), Term.of("corp")))
    assert parse_search("acme AND corp OR beta") == SearchOr(
        (SearchAnd((Term.of("acme"), Term.of("corp"))), Term.of("beta"))
    )
    assert parse_search("acme OR corp beta") == SearchOr(
        (Term.of("acme"), SearchAnd((Term.of("corp"), Term.of("beta"))))
    )
    assert parse_search('"big \\"deal\\" \\\\ co"') == Phrase.of('big "deal" \\ co')
    assert parse_search("ac*e ab?") == SearchAnd(
        (Term(("ac", Wildcard("*"), "e")), Term(("ab", Wildcard("?"))))
    )
    # NOT binds tighter than AND; the positive term goes first, as SOSL's AND NOT needs
    assert parse_search("NOT corp acme") == SearchAnd((Term.of("acme"), SearchNot(Term.of("corp"))))
    assert parse_search("acme NOT NOT corp") == SearchAnd((Term.of("acme"), Term.of("corp")))
    assert parse_search("(acme OR beta) AND NOT (corp OR inc)") == SearchAnd(
        (SearchOr((Term.of("acme"), Term.of("beta"))), SearchNot(SearchOr((Term.of("corp"), Term.of("inc")))))
    )
    assert parse_search("and or") == SearchAnd((Term.of("and"), Term.of("or")))  # operators are upper case
    assert parse_search("acme - inc") == SearchAnd(
        (Term.of("acme"), Term.of("inc"))
    )  # wordless term left out


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("", 400),
        ("   ", 400),
        ("a", 400),
        ("a b c", 400),
        ("- +", 400),
        ('"acme', 400),
        ("(acme", 400),
        ("acme)", 400),
        ("()", 400),
        ("acme AND", 400),
        ("OR acme", 400),
        ("*acme", 400),
        ("acme ?x", 400),
        ("ab " * 3400, 400),
        ("(" * 51 + "acme" + ")" * 51, 400),
        ("NOT " * 60 + "acme corp", 400),
        ("NOT acme", 501),
        ("acme OR NOT corp", 501),
        ("NOT (acme OR corp)", 501),
        ("acme AND NOT (corp OR NOT inc)", 501),
    ],
)
def test_refusals(text, status):
    with pytest.raises(ODataError) as refused:
        parse_search(text)
    assert refused.value.status == status
    assert refused.value.target == "$search"


def test_search_is_off_when_the_publication_or_the_describe_says_so():
    import dataclasses

    for flags, fragment in (
        ({"searchable": False}, "searchable = false"),
        ({"sobject_searchable": False}, "describe"),
    ):
        entity_set = dataclasses.replace(ACCOUNT, **flags)
        with pytest.raises(ODataError) as refused:
            plan({"$search": "acme"}, entity_set)
        assert refused.value.status == 501 and fragment in refused.value.message


# --- the statement of a page: printed SOSL parses back -------------------------------------------------

_words = st.sampled_from(
    ["acme", "Acmé", "EXT-00017", "o'brien", "a&b", "{x}", "50%", "x*", "ab?c", "東京", "AND"]
)
_tokens = st.one_of(
    _words,
    _words.map(lambda w: '"' + w.replace("\\", "\\\\").replace('"', '\\"') + ' co"'),
    st.sampled_from(["AND", "OR", "NOT", "(", ")"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_tokens, min_size=1, max_size=8), st.sampled_from([None, "Name eq 'x\\'y'"]))
def test_the_sosl_of_any_search_parses_back_to_the_statement(tokens, filter_text):
    text = " ".join(tokens)
    args = {"$search": text, "$select": "Name,Industry", "$orderby": "Name desc"}
    if filter_text:
        args["$filter"] = filter_text.replace("\\'", "''")
    try:
        read = plan(args)
    except ODataError as refused:
        assert refused.status in (400, 501)
        return
    statement = search.statement(read, ("Acme", "001000000000001AAA"), 26)
    assert parse_sosl(print_sosl(statement)) == statement
    assert statement.returning[0].limit == 26
    assert statement.returning[0].where is not None  # the keyset position at least


def test_the_count_statement_selects_ids_and_sort_keys_only():
    read = plan({"$search": "acme", "$select": "Name,Industry", "$orderby": "Name"})
    fields = (read.order_keys[0].field, read.order_keys[-1].field)
    statement = search.statement(read, None, 2000, fields)
    assert [f.dotted for f in statement.returning[0].fields] == ["Name", "Id"]
    assert print_sosl(statement) == (
        "FIND {acme} IN ALL FIELDS RETURNING Account(Name, Id ORDER BY Name ASC, Id ASC LIMIT 2000)"
    )


# --- the model ----------------------------------------------------------------------------------------


def _describe(name: str) -> dict:
    fields = [
        {"name": "Id", "type": "id", "filterable": True, "sortable": True, "nillable": False},
        {"name": "Name", "type": "string", "length": 80, "filterable": True, "sortable": True},
        {"name": "Secret__c", "type": "string", "length": 80, "filterable": True, "sortable": True},
        {"name": "Amount__c", "type": "double", "filterable": True, "sortable": True},
    ]
    return {"name": name, "searchable": name != "Log__c", "fields": fields}


def _spec(sobject: str, fields, searchable: bool = True) -> EntitySetSpec:
    return EntitySetSpec(sobject, sobject, fields, (), (), False, False, False, searchable=searchable)


def test_the_model_knows_what_search_may_touch():
    publication = Publication(
        (
            _spec("Widget__c", ("Name", "Amount__c")),
            _spec("Gadget__c", ("Name", "Secret__c"), searchable=False),
            _spec("Log__c", "*"),
        )
    )
    model = build_model(publication, _describe)
    widget, gadget, log = (model.entity_set(n) for n in ("Widget__c", "Gadget__c", "Log__c"))
    assert widget.search_fields == ("Name",) and widget.search_fields_hidden  # Secret__c is unpublished
    assert not gadget.search_fields_hidden and not gadget.searchable
    assert log.searchable and not log.sobject_searchable


def test_the_publication_reads_searchable():
    text = '[[entity_set]]\nsobject = "Account"\nsearchable = false\n'
    assert parse_publication_text(text, "p.toml")[0].searchable is False
    assert parse_publication_text('[[entity_set]]\nsobject = "Account"\n', "p.toml")[0].searchable is True
    with pytest.raises(PubError, match="searchable must be true or false"):
        parse_publication_text('[[entity_set]]\nsobject = "Account"\nsearchable = "no"\n', "p.toml")
