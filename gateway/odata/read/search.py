"""Answer a read with ``$search`` by Salesforce search (SOSL): the core function every face calls.

``read_page(source, plan, page_size=, position=)`` reads one page of a plan whose ``search`` is set (a
``gateway.soql.sosl`` expression, from ``search_expr.parse_search``); ``count(source, plan)`` its count.
A page is one SOSL statement::

    FIND {<search>} IN ALL FIELDS RETURNING <Object>(<fields> WHERE <$filter> AND <after the last row>
                                                     ORDER BY <$orderby keys>, Id LIMIT <page + 1>)

so ``$select``, ``$filter``, ``$orderby``, ``$top``, ``$count`` and ``$expand`` of lookups combine with it
exactly as with SOQL, and paging is the same keyset paging with signed stateless tokens (no relevance
order: ``$orderby`` then Id). The result set is Salesforce's: at most its first 2,000 matches
(``MAX_MATCHES``), so paging ends there and ``@odata.count`` is the size of that set. One API call a page;
a count costs nothing when the first page holds every match, else one call (``LIMIT 2000``, Ids only).

Nothing unpublished leaks: ``IN ALL FIELDS`` also matches fields the publication does not expose. When the
object has such fields (``EntitySet.search_fields_hidden``), every candidate is checked against its
published searchable fields with the rules of ``gateway.soql.search_words`` and dropped unless it matches
there; a page then reads candidates until it is full (more calls), at most 2,000 candidates a request.
Those rules have no stemming, so such a set may find fewer records than Salesforce's own index would.
"""

from __future__ import annotations

import dataclasses

from gateway.odata.http.errors import bad_request
from gateway.odata.read.paging import PageState
from gateway.odata.read.plan import ReadPlan, page_query, sort_values
from gateway.operation.context import note_rows
from gateway.soql import syntax as soql
from gateway.soql.printer import MAX_STATEMENT
from gateway.soql.search_words import matches, words
from gateway.soql.sosl import MAX_SEARCH_LIMIT, Returning, Search
from gateway.soql.sosl_printer import print_sosl
from gateway.source.protocol import Source

MAX_MATCHES = MAX_SEARCH_LIMIT
"""Salesforce returns at most 2,000 records for a search: the result set paging and counting see."""

PageParts = tuple[list[dict], bool, PageState | None, int | None]  # records, more, next, count


def statement(
    plan: ReadPlan, after: tuple | None, limit: int, fields: tuple[soql.Field, ...] | None = None
) -> Search:
    """The SOSL of one page of ``plan`` (rows after ``after``), or of the count with ``fields``."""
    query = page_query(plan, after, limit)
    selected = fields if fields is not None else tuple(i for i in query.select if isinstance(i, soql.Field))
    if plan.entity_set.search_fields_hidden:  # the published searchable fields, to verify candidates
        extra = (soql.Field((n,)) for n in plan.entity_set.search_fields)
        selected = tuple(dict.fromkeys((*selected, *extra)))
    assert plan.search is not None
    returning = Returning(query.sobject, selected, query.where, query.order_by, limit)
    return Search(plan.search, (returning,))


def sosl_text(search: Search) -> str:
    text = print_sosl(search)
    if len(text) > MAX_STATEMENT:
        raise bad_request(
            f"The request translates to a SOSL statement of {len(text)} characters; Salesforce accepts at "
            f"most {MAX_STATEMENT}. Shorten the $search or the $filter."
        )
    return text


def _published_match(plan: ReadPlan, record: dict) -> bool:
    assert plan.search is not None
    return matches(plan.search, [words(record.get(name)) for name in plan.entity_set.search_fields])


def _fetch(
    source: Source,
    plan: ReadPlan,
    after: tuple | None,
    limit: int,
    fields: tuple[soql.Field, ...] | None = None,
) -> tuple[list[dict], bool]:
    """Up to ``limit`` records after ``after``, and whether the search has no more."""
    kept: list[dict] = []
    examined = 0
    while True:
        found = source.search(sosl_text(statement(plan, after, limit, fields))).get("searchRecords", [])
        examined += len(found)
        if plan.entity_set.search_fields_hidden:
            kept.extend(r for r in found if _published_match(plan, r))
        else:
            kept.extend(found)
        if len(found) < limit or examined >= MAX_MATCHES:
            return kept[:limit], True
        if len(kept) >= limit:
            return kept[:limit], False
        after = sort_values(found[-1], plan.order_keys)


def read_page(source: Source, plan: ReadPlan, *, page_size: int, position: PageState) -> PageParts:
    """One page of a search read after ``position``: (records, more, next position, count)."""
    remaining = MAX_MATCHES - position.served
    if plan.top is not None:
        remaining = min(remaining, plan.top - position.served)
    remaining = max(remaining, 0)
    size = min(page_size, remaining)
    if size == 0:  # e.g. the count-only ``$count=true&$top=0``: no rows, but the count is still owed
        count = position.count
        if plan.count and count is None:
            count = count_matches(source, plan)
        return [], False, None, count
    lookahead = remaining > size  # one row more than shown tells whether another page exists
    records, exhausted = _fetch(source, plan, position.after, size + (1 if lookahead else 0))
    more = lookahead and len(records) > size
    records = records[:size]
    note_rows(len(records))
    count = position.count
    if plan.count and count is None:
        count = len(records) if position.after is None and exhausted else count_matches(source, plan)
    if not (more and records):
        return records, False, None, count
    next_position = dataclasses.replace(
        position,
        last_values=list(sort_values(records[-1], plan.order_keys)),
        served=position.served + len(records),
        count=count,
    )
    return records, True, next_position, count


def count_matches(source: Source, plan: ReadPlan) -> int:
    """The size of the search's result set (at most 2,000): one call of Ids (and sort keys) only."""
    keys = tuple(dict.fromkeys([soql.Field(("Id",)), *(k.field for k in plan.order_keys)]))
    records, _ = _fetch(source, plan, None, MAX_MATCHES, fields=keys)
    return len(records)
