"""SOSL syntax shared by the gateway and the local org: sosl_literal escaping, print→parse round trips,
the parser's refusals, and the word rules of search matching (gateway.soql.search_words)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.soql.search_words import (
    SearchRuleError,
    check_search,
    fold,
    matches,
    term_words,
    words,
)
from gateway.soql.sosl import (
    Phrase,
    Returning,
    Search,
    SearchAnd,
    SearchNot,
    SearchOr,
    Term,
    Wildcard,
)
from gateway.soql.sosl_parser import SoslSyntaxError, parse_search_expr, parse_sosl
from gateway.soql.sosl_printer import (
    KEYWORDS,
    RESERVED_CHARACTERS,
    print_search_expr,
    print_sosl,
    sosl_literal,
)
from gateway.soql.syntax import Comparison, Field, NumberLiteral, OrderBy, StringLiteral

# --- sosl_literal: any string round-trips -------------------------------------------------------------


@settings(max_examples=300)
@given(st.text())
def test_any_string_round_trips_as_a_phrase(text):
    assert parse_search_expr('"' + sosl_literal(text) + '"') == Phrase.of(text)


@settings(max_examples=300)
@given(st.text(min_size=1).filter(lambda t: not any(c.isspace() for c in t) and t.upper() not in KEYWORDS))
def test_any_string_without_spaces_round_trips_as_a_term(text):
    assert parse_search_expr(sosl_literal(text)) == Term.of(text)


def test_every_reserved_character_is_escaped():
    assert sosl_literal("a-b") == "a\\-b"
    assert sosl_literal("?&|!{}[]()^~*:\\\"'+-") == "".join("\\" + c for c in "?&|!{}[]()^~*:\\\"'+-")
    assert set(sosl_literal("".join(sorted(RESERVED_CHARACTERS)))[1::2]) == RESERVED_CHARACTERS


# --- trees: printed SOSL parses back to the same tree -----------------------------------------------

_literal = st.text(min_size=1, max_size=8)
_parts = st.lists(
    st.one_of(_literal, st.sampled_from([Wildcard("*"), Wildcard("?")])), min_size=1, max_size=4
)


def _canonical(parts: list) -> tuple:
    merged: list = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    return tuple(merged)


def _printable_term(parts: tuple) -> bool:
    text = Term(parts).text
    return not any(c.isspace() for c in text) and text.upper() not in KEYWORDS


_terms = _parts.map(_canonical).filter(_printable_term).map(Term)
_phrases = _parts.map(_canonical).map(Phrase)


def _compound(children):
    positive = st.lists(children, min_size=2, max_size=3)
    return st.one_of(
        positive.map(lambda items: SearchOr(tuple(items))),
        st.tuples(
            children, st.lists(st.one_of(children, children.map(SearchNot)), min_size=1, max_size=2)
        ).map(lambda t: SearchAnd((t[0], *t[1]))),
    )


_exprs = st.recursive(st.one_of(_terms, _phrases), _compound, max_leaves=6)
_names = st.sampled_from(["Account", "Contact", "Project__c"])
_returning = st.one_of(
    _names.map(Returning),
    st.builds(
        Returning,
        _names,
        st.just((Field(("Id",)), Field(("Name",)))),
        st.one_of(st.none(), st.just(Comparison(Field(("Name",)), "=", StringLiteral("x'y")))),
        st.one_of(st.just(()), st.just((OrderBy(Field(("Name",)), True, "LAST"),))),
        st.one_of(st.none(), st.integers(0, 2000)),
        st.one_of(st.none(), st.integers(0, 2000)),
    ),
)


@settings(max_examples=200)
@given(_exprs, st.lists(_returning, max_size=3), st.sampled_from(["ALL", "NAME", "EMAIL", "PHONE"]))
def test_printed_sosl_parses_back_to_the_same_tree(find, returning, scope):
    search = Search(find, tuple(returning), scope, 2000)
    assert parse_sosl(print_sosl(search)) == search


def test_parse_reads_operators_precedence_and_implicit_and():
    assert parse_search_expr("acme corp OR beta") == SearchOr(
        (SearchAnd((Term.of("acme"), Term.of("corp"))), Term.of("beta"))
    )
    assert parse_search_expr("a1 and not (b2 or c3)") == SearchAnd(
        (Term.of("a1"), SearchNot(SearchOr((Term.of("b2"), Term.of("c3")))))
    )
    assert parse_search_expr('ac*e? "big deal"') == SearchAnd(
        (Term(("ac", Wildcard("*"), "e", Wildcard("?"))), Phrase.of("big deal"))
    )
    search = parse_sosl(
        "find {acme} in name fields returning Account(Id where NumberOfEmployees > 5) limit 10"
    )
    assert search.scope == "NAME" and search.limit == 10
    assert search.returning[0].where == Comparison(Field(("NumberOfEmployees",)), ">", NumberLiteral(5))


@pytest.mark.parametrize(
    "text",
    [
        "FIND {a|b} RETURNING Account",
        "FIND {abc",
        'FIND {"abc}',
        "FIND {} RETURNING Account",
        "FIND {(abc} RETURNING Account",
        "FIND {abc) } RETURNING Account",
        "FIND {NOT abc}",
        "FIND {abc OR}",
        "FIND {abc} IN BODY FIELDS",
        "FIND {abc} RETURNING",
        "FIND {abc} RETURNING Account(",
        "FIND {abc} RETURNING Account(Id WHERE)",
        "FIND {abc} RETURNING Account(Id) LIMIT x",
        "FIND {abc} WITH DIVISION = 'x'",
        "SELECT Id FROM Account",
    ],
)
def test_malformed_searches_are_refused(text):
    with pytest.raises(SoslSyntaxError):
        parse_sosl(text)


def test_printer_refuses_trees_sosl_cannot_say():
    for bad in (
        Term.of("two words"),
        Term.of("and"),
        SearchNot(Term.of("x")),
        SearchOr((Term.of("a"), SearchNot(Term.of("b")))),
    ):
        with pytest.raises(ValueError):
            print_search_expr(bad)


# --- words and matching ---------------------------------------------------------------------------


def test_words_are_runs_of_letters_and_digits_folded():
    assert words("Émile Zola, EXT-00017 ﬁne İstanbul STRASSE straße o'brien snake_case") == [
        "emile",
        "zola",
        "ext",
        "00017",
        "fine",
        "istanbul",
        "strasse",
        "strasse",
        "o",
        "brien",
        "snake",
        "case",
    ]
    assert words("東京タワー 123") == ["東京タワー", "123"]
    assert words(None) == [] and words("") == []


@settings(max_examples=300)
@given(st.text())
def test_words_of_joined_words_are_the_same_words(text):
    # the local org indexes the words joined by spaces: re-splitting them must give them back
    found = words(text)
    assert words(" ".join(found)) == found
    assert all(fold(w) == w for w in found)


def test_terms_split_like_record_text_and_match_consecutive_words():
    ext = parse_search_expr("EXT\\-00017")
    assert [p.literal for p in term_words(ext)] == ["ext", "00017"]
    assert matches(ext, [words("EXT-00017")])
    assert matches(ext, [words("code ext 00017 here")])
    assert not matches(ext, [words("00017 ext")])
    assert not matches(ext, [words("ext"), words("00017")])  # one field holds the phrase
    assert matches(parse_search_expr("emile AND zola"), [words("Émile"), words("Zola")])
    assert matches(parse_search_expr("ac*e"), [words("ACE")]) and matches(
        parse_search_expr("ac*e"), [words("acme")]
    )
    assert not matches(parse_search_expr("ac?e"), [words("ace")]) and matches(
        parse_search_expr("ac?e"), [words("acne")]
    )
    assert matches(parse_search_expr("acme AND NOT corp"), [words("acme inc")])
    assert not matches(parse_search_expr("acme AND NOT corp"), [words("acme"), words("corp")])


def test_search_rules():
    assert check_search(parse_search_expr("ab")) == Term.of("ab")
    assert check_search(parse_search_expr("ab AND \\-")) == Term.of("ab")
    for text, message in [
        ("a", "longer than one character"),
        ("a AND b*", "longer than one character"),
        ("\\- \\+", "longer than one character"),
        ("acme AND \\-*corp", "Wildcards cannot start"),
        ("acme OR (b AND NOT cd)", None),
    ]:
        if message is None:
            check_search(parse_search_expr(text))
            continue
        with pytest.raises(SearchRuleError, match=message):
            check_search(parse_search_expr(text))
    with pytest.raises(SearchRuleError, match="10,000"):
        check_search(Term.of("ab"), 10_001)
