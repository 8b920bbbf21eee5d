"""SOSL on the local org: ``search(store, sosl_text) -> records`` with Salesforce's shapes and errors.

Matching follows ``gateway.soql.search_words`` (the one place the rules are written): fields of the types in
``SEARCHABLE_TYPES`` are split into folded words; terms and phrases match consecutive words of one field;
``AND`` / ``OR`` / ``AND NOT`` combine per record. ``IN NAME FIELDS`` searches the field whose describe has
``nameField: true``, ``EMAIL`` / ``PHONE FIELDS`` the fields of those types, ``ALL FIELDS`` every searchable
field. Deleted records are never found. Results come in the order of ``RETURNING``, each object's records
in its ``ORDER BY`` (then Id) — not by relevance — and stop at the overall ``LIMIT`` (at most 2,000).

The word index: one SQLite FTS5 table per searched object (``_search_<Object>``, one column per searchable
field, rowid = the record's rowid) holding each value's words already folded and joined by spaces
(``index_text``), so FTS5's plain ``ascii`` tokenizer splits exactly our words. It is built the first time
an object is searched and from then on kept current by triggers on the object's table (insert, update of
a searchable field, delete), so created and updated records are found by their current words; it is
rebuilt when the object's searchable fields change. A search is one FTS5 ``MATCH`` (phrases with ``+``,
``word*`` prefixes; other wildcards are looked up in the index's vocabulary, at most ``MAX_WILDCARD_WORDS``
words each) joined with the object's table, whose ``WHERE``, ``ORDER BY``, ``LIMIT`` and ``OFFSET`` are the
SOQL engine's.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

from gateway.soql.parser import SoqlSyntaxError, error_layout
from gateway.soql.search_words import (
    SEARCHABLE_TYPES,
    SearchRuleError,
    WordPattern,
    check_search,
    term_words,
)
from gateway.soql.sosl import (
    MAX_SEARCH_LIMIT,
    MAX_SEARCH_OFFSET,
    Phrase,
    Returning,
    Search,
    SearchAnd,
    SearchExpr,
    SearchNot,
    SearchOr,
    Term,
)
from gateway.soql.sosl_parser import closing_brace, parse_sosl
from gateway.soql.syntax import Field, Query

from . import engine
from .access import UserAccess
from .errors import SalesforceError, invalid_type
from .schema import SObjectType

MAX_WILDCARD_WORDS = 5000
"""Words one wildcard word (other than a trailing ``*``) may stand for; more is MALFORMED_SEARCH."""
INDEX_TABLE = "_localorg_search_indexes"


def malformed_search(message: str) -> SalesforceError:
    return SalesforceError(400, "MALFORMED_SEARCH", message)


# --- fields in scope ------------------------------------------------------------------------------


def searchable_fields(sobject: SObjectType) -> list[dict]:
    return [f for f in sobject.fields if f["type"] in SEARCHABLE_TYPES]


def scope_fields(sobject: SObjectType, scope: str) -> list[str]:
    """The names of the fields ``IN <scope> FIELDS`` searches on an object."""
    fields = searchable_fields(sobject)
    if scope == "NAME":
        # a describe saved by hand may not flag its name field: Salesforce's is then ``Name``
        named = [f for f in fields if f.get("nameField")] or [f for f in fields if f["name"] == "Name"]
        fields = named
    elif scope in ("EMAIL", "PHONE"):
        fields = [f for f in fields if f["type"] == scope.lower()]
    return [f["name"] for f in fields]


# --- the index ------------------------------------------------------------------------------------


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def index_name(sobject: SObjectType) -> str:
    return f"_search_{sobject.name}"


def ensure_index(store: Any, sobject: SObjectType) -> str:
    """The object's word index, built (and its triggers created) unless it is already current."""
    table, fts = sobject.name, index_name(sobject)
    columns = [f["name"] for f in searchable_fields(sobject)]
    signature = json.dumps(columns)
    conn = store.conn
    conn.execute(f"CREATE TABLE IF NOT EXISTS {INDEX_TABLE} (sobject TEXT PRIMARY KEY, fields TEXT NOT NULL)")
    row = conn.execute(f"SELECT fields FROM {INDEX_TABLE} WHERE sobject = ?", (table,)).fetchone()
    if row and row[0] == signature:
        return fts
    with store.transaction():
        for suffix in ("_ai", "_au", "_ad"):
            conn.execute(f"DROP TRIGGER IF EXISTS {_quote(fts + suffix)}")
        conn.execute(f"DROP TABLE IF EXISTS {_quote(fts + '_vocab')}")
        conn.execute(f"DROP TABLE IF EXISTS {_quote(fts)}")
        column_list = ", ".join(_quote(c) for c in columns) or '"_none"'
        conn.execute(f"CREATE VIRTUAL TABLE {_quote(fts)} USING fts5({column_list}, tokenize='ascii')")
        conn.execute(f"CREATE VIRTUAL TABLE {_quote(fts + '_vocab')} USING fts5vocab({_quote(fts)}, 'row')")
        if columns:
            names = ", ".join(_quote(c) for c in columns)
            values = ", ".join(f"sosl_words(new.{_quote(c)})" for c in columns)
            conn.execute(
                f"INSERT INTO {_quote(fts)} (rowid, {names}) "
                f"SELECT rowid, {', '.join(f'sosl_words({_quote(c)})' for c in columns)} FROM {_quote(table)}"
            )
            insert = f"INSERT INTO {_quote(fts)} (rowid, {names}) VALUES (new.rowid, {values});"
            delete = f"DELETE FROM {_quote(fts)} WHERE rowid = old.rowid;"
            conn.execute(
                f"CREATE TRIGGER {_quote(fts + '_ai')} AFTER INSERT ON {_quote(table)} BEGIN {insert} END"
            )
            conn.execute(
                f"CREATE TRIGGER {_quote(fts + '_au')} AFTER UPDATE OF {names} ON {_quote(table)} "
                f"BEGIN {delete} {insert} END"
            )
            conn.execute(
                f"CREATE TRIGGER {_quote(fts + '_ad')} AFTER DELETE ON {_quote(table)} BEGIN {delete} END"
            )
        conn.execute(
            f"INSERT INTO {INDEX_TABLE} (sobject, fields) VALUES (?, ?) "
            "ON CONFLICT(sobject) DO UPDATE SET fields = excluded.fields",
            (table, signature),
        )
    return fts


# --- search expression → FTS5 query ---------------------------------------------------------------

_FALSE = object()  # a part of the expression that can match nothing


def _fts_string(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


class _Compiler:
    """Turns a checked search expression into an FTS5 MATCH expression for one index and scope."""

    def __init__(self, conn: Any, fts: str, columns: list[str]):
        self.conn = conn
        self.vocab = _quote(fts + "_vocab")
        self.column_filter = "{" + " ".join(_quote(c) for c in columns) + "} : "

    def expand(self, pattern: WordPattern) -> list[str]:
        prefix = pattern.prefix
        rows = self.conn.execute(
            f"SELECT term FROM {self.vocab} WHERE term >= ? AND term < ?", (prefix, prefix + "\U0010ffff")
        )
        found = [term for (term,) in rows if pattern.matches(term)]
        if len(found) > MAX_WILDCARD_WORDS:
            raise malformed_search(
                f"The wildcard search term matches more than {MAX_WILDCARD_WORDS} words; "
                "use more characters before the wildcard."
            )
        return found

    def leaf(self, leaf: Term | Phrase) -> str | object:
        options: list[list[str]] = []
        for pattern in term_words(leaf):
            if pattern.literal is not None:
                options.append([_fts_string(pattern.literal)])
            elif pattern.is_prefix_search:
                options.append([_fts_string(pattern.prefix) + " *"])
            else:
                words = self.expand(pattern)
                if not words:
                    return _FALSE
                options.append([_fts_string(w) for w in words])
        combinations = 1
        for choice in options:
            combinations *= len(choice)
        if combinations > MAX_WILDCARD_WORDS:
            raise malformed_search(
                f"The wildcard search phrase stands for more than {MAX_WILDCARD_WORDS} phrases; "
                "use more characters before the wildcards."
            )
        phrases = [self.column_filter + " + ".join(chosen) for chosen in itertools.product(*options)]
        return phrases[0] if len(phrases) == 1 else "(" + " OR ".join(phrases) + ")"

    def compile(self, expr: SearchExpr) -> str | object:
        match expr:
            case Term() | Phrase():
                return self.leaf(expr)
            case SearchOr(items):
                parts = [p for p in (self.compile(i) for i in items) if p is not _FALSE]
                return "(" + " OR ".join(parts) + ")" if parts else _FALSE  # type: ignore[arg-type]
            case SearchAnd(items):
                positive: list[str] = []
                negative: list[str] = []
                for item in items:
                    inner = self.compile(item.item if isinstance(item, SearchNot) else item)
                    if isinstance(item, SearchNot):
                        if inner is not _FALSE:
                            negative.append(inner)  # type: ignore[arg-type]
                    elif inner is _FALSE:
                        return _FALSE
                    else:
                        positive.append(inner)  # type: ignore[arg-type]
                text = "(" + " AND ".join(positive) + ")"
                return f"({text} NOT ({' OR '.join(negative)}))" if negative else text
        raise TypeError(f"not a searchable expression: {expr!r}")


# --- running a search -----------------------------------------------------------------------------


_LAYOUT = re.compile(r"\n[^\n]*\n *\^\nERROR at Row:(\d+):Column:(\d+)\n", re.DOTALL)


def _located(text: str) -> str:
    """The statement with ``{…}`` blanked out (lines kept), so the SOQL engine can find names in it."""
    start = text.find("{")
    end = closing_brace(text, start + 1)
    blank = "".join(ch if ch == "\n" else " " for ch in text[start : end + 1])
    return text[:start] + blank + text[end + 1 :]


def _shown_in(text: str, error: SalesforceError) -> SalesforceError:
    """The engine's error, its ``^`` layout showing the statement as sent (not the blanked one)."""
    match = _LAYOUT.match(error.message)
    if not match:
        return error
    row, column = int(match[1]), int(match[2])
    line_start = 0
    for _ in range(row - 1):
        line_start = text.index("\n", line_start) + 1
    message = error_layout(text, line_start + column - 1, error.message[match.end() :])
    return SalesforceError(error.status, error.error_code, message, error.fields)


def parse_search(text: str) -> tuple[Search, SearchExpr]:
    """The statement's tree and its checked search expression; MALFORMED_SEARCH in Salesforce's layout."""
    try:
        search = parse_sosl(text)
    except SoqlSyntaxError as error:
        raise malformed_search(error_layout(text, error.position, error.message)) from None
    except RecursionError:  # a WHERE nested hundreds deep
        raise malformed_search("The search is too complicated: its WHERE nests too deep") from None
    start = text.find("{") + 1
    try:
        find = check_search(search.find, closing_brace(text, start) - start)
    except SearchRuleError as error:
        raise malformed_search(str(error)) from None
    if search.limit is not None and search.limit > MAX_SEARCH_LIMIT:
        raise malformed_search(f"The maximum LIMIT of a search is {MAX_SEARCH_LIMIT}")
    offsets = [r for r in search.returning if r.offset is not None]
    if offsets and len(search.returning) > 1:
        raise malformed_search("OFFSET can be used only when a search returns one object")
    if any(r.offset > MAX_SEARCH_OFFSET for r in offsets):  # type: ignore[operator]
        raise SalesforceError(
            400, "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOSL offset allowed is {MAX_SEARCH_OFFSET}"
        )
    return search, find


def _searched_objects(schema: Any, search: Search) -> list[tuple[SObjectType, Returning]]:
    if not search.returning:
        return [(t, Returning(t.name)) for t in schema.types if t.describe.get("searchable", True)]
    found = []
    for item in search.returning:
        sobject = schema.get(item.sobject)
        if sobject is None:
            raise invalid_type(item.sobject)
        if not sobject.describe.get("searchable", True):
            raise SalesforceError(400, "INVALID_TYPE", f"entity type {sobject.name} does not support search")
        found.append((sobject, item))
    return found


def search(
    store: Any, text: str, *, api_version: str = "59.0", access: UserAccess | None = None
) -> list[dict]:
    """The records a SOSL statement finds, in REST shape (``attributes`` first), at most its LIMIT.

    With ``access`` it runs as that user: only objects and fields they can read are searched (a record is
    never found through a field its reader cannot see), and only records they can see are returned.
    """
    parsed, find = parse_search(text)
    remaining = MAX_SEARCH_LIMIT if parsed.limit is None else parsed.limit
    located = _located(text)
    found: list[dict] = []
    with store.lock:
        for sobject, item in _searched_objects(access.schema if access else store.schema, parsed):
            columns = scope_fields(sobject, parsed.scope)
            if remaining <= 0 or not columns:
                continue
            fts = ensure_index(store, store.schema.get(sobject.name))
            match = _Compiler(store.conn, fts, columns).compile(find)
            if match is _FALSE:
                continue
            limit = remaining if item.limit is None else min(item.limit, remaining)
            query = Query(
                item.fields or (Field(("Id",)),), sobject.name, item.where, item.order_by, limit, item.offset
            )
            restrict = (f"t0.rowid IN (SELECT rowid FROM {_quote(fts)} WHERE {_quote(fts)} MATCH ?)", [match])
            try:
                result = engine.execute_tree(
                    store, query, located, api_version=api_version, access=access, restrict=restrict
                )
            except SalesforceError as error:
                raise _shown_in(text, error) from None
            records = result.next_batch(limit)
            found.extend(records)
            remaining -= len(records)
    return found
