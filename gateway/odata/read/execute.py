"""Execute a read plan against the source org: one page by keyset, the count, one entity.

A page is one SOQL query: the plan's WHERE plus "after the last row served" (keyset on the sort keys and
Id), ``LIMIT page+1`` to learn whether more rows exist without a second call. No OFFSET, no Salesforce
query cursor kept between pages: any gateway instance can serve the next page from the token alone.
The count costs nothing when the first page's ``totalSize`` already tells it, else one ``COUNT()`` query.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from gateway.odata.http.errors import ODataError, bad_request, not_found
from gateway.odata.http.resource_path import ResourcePath
from gateway.odata.model.entities import EntitySet, Property
from gateway.odata.read import search
from gateway.odata.read.bind import check_readable
from gateway.odata.read.paging import PageState
from gateway.odata.read.plan import (
    ReadPlan,
    count_query,
    page_query,
    property_query,
    restrict,
    sort_values,
)
from gateway.operation.context import note_rows
from gateway.soql.printer import MAX_STATEMENT, StatementTooLong, print_soql
from gateway.soql.syntax import Comparison, Condition, Field, Query
from gateway.source.protocol import Source


@dataclass(frozen=True)
class Page:
    records: list[dict]
    more: bool  # another page exists
    next: PageState | None  # where the next page starts (None: this was the last)
    count: int | None


def soql_text(query: Query) -> str:
    """The SOQL text of ``query``, built only up to Salesforce's statement limit (400 beyond it)."""
    try:
        return print_soql(query, max_length=MAX_STATEMENT)
    except StatementTooLong:
        raise bad_request(
            f"The request translates to a SOQL statement of more than {MAX_STATEMENT} characters, "
            "Salesforce's limit. Shorten the $filter (for example fewer values in 'in')."
        ) from None


def read_page(
    source: Source,
    plan: ReadPlan,
    *,
    page_size: int,
    position: PageState,
    extra: Condition | None = None,
) -> Page:
    """Read one page of ``plan`` after ``position``; ``extra`` narrows it (navigation from a parent)."""
    if extra is not None:
        plan = restrict(plan, extra)
    if plan.search is not None:  # $search: Salesforce search, one SOSL statement a page
        return Page(*search.read_page(source, plan, page_size=page_size, position=position))
    remaining = None if plan.top is None else max(plan.top - position.served, 0)
    size = page_size if remaining is None else min(page_size, remaining)
    if size == 0:  # $top=0 (with $count=true: the usual count-only request) reads no rows
        count = position.count
        if plan.count and count is None:
            count = count_rows(source, plan)
        return Page([], False, None, count)
    # Ask for one row more than we show, unless $top already ends the read with this page.
    lookahead = remaining is None or remaining > size
    query = page_query(plan, position.after, size + (1 if lookahead else 0))
    result = source.query(soql_text(query))
    records = list(result.get("records", []))
    while len(records) < size and not result.get("done", True) and result.get("nextRecordsUrl"):
        result = source.query_more(result["nextRecordsUrl"])
        records.extend(result.get("records", []))
    more = lookahead and (len(records) > size or (len(records) == size and not result.get("done", True)))
    records = records[:size]
    count = position.count
    if plan.count and count is None:
        total = result.get("totalSize", len(records))
        # totalSize is capped by LIMIT: it is the count only when the first page fell short of it.
        if position.after is None and total < query.limit:
            count = total
        else:
            count = count_rows(source, plan)
    next_position = (
        dataclasses.replace(
            position,
            last_values=list(sort_values(records[-1], plan.order_keys)),
            served=position.served + len(records),
            count=count,
        )
        if more and records
        else None
    )
    note_rows(len(records))
    return Page(records, more and bool(records), next_position, count)


def count_rows(source: Source, plan: ReadPlan) -> int:
    """All rows matching the plan's filter (ignoring $top): one ``SELECT COUNT()`` call (with $search:
    the size of Salesforce's search result set, one search call)."""
    if plan.search is not None:
        return search.count_matches(source, plan)
    return int(source.query(soql_text(count_query(plan)))["totalSize"])


def fetch_one(source: Source, query: Query) -> dict | None:
    """The record ``query`` answers (one call), or None. Selected by an alternate key (an external ID,
    which Salesforce need not keep unique), two records are asked for, and several are 409 as a write by
    that key would be — never an arbitrary one of them."""
    where = query.where
    by_alternate_key = isinstance(where, Comparison) and where.op == "=" and where.left != Field(("Id",))
    if by_alternate_key:
        query = dataclasses.replace(query, limit=2)
    records = source.query(soql_text(query)).get("records", [])
    if by_alternate_key and len(records) > 1:
        raise ODataError(
            409,
            "MULTIPLE_CHOICES",
            "More than one record in the source org has that external ID; address the entity by its Id.",
        )
    return records[0] if records else None


def read_entity(source: Source, plan: ReadPlan, key: Condition) -> dict | None:
    """The one entity ``key`` selects, with the plan's properties and expansions (one call); None when
    there is none. GET by key, the read-back after a write and ``$batch`` parts all read through here."""
    record = fetch_one(source, dataclasses.replace(plan.query, where=key, order_by=(), limit=1))
    note_rows(0 if record is None else 1)
    return record


def read_property(
    source: Source, entity_set: EntitySet, key: Condition, path: ResourcePath
) -> tuple[Property, Any, str]:
    """``Set('key')/Property``: the published property, its value in the keyed record and that record's Id
    (one call).

    403 when the user's source-org permissions hide the whole object (as reads and expansions of it are);
    400 for a name that is not a published property, or ``/$count`` after it; 404 when no record has the
    key. Every face reads a single property through here and shapes the value its own way."""
    check_readable(entity_set)
    prop = entity_set.property(path.member or "")
    if prop is None:
        raise bad_request(
            f"'{path.member}' is not a published property or navigation of {entity_set.name}.",
            target=path.member,
        )
    if path.count:
        raise bad_request("$count applies to collections; this is a single property.")
    record = fetch_one(source, property_query(entity_set, prop, key))
    if record is None:
        raise not_found(f"No {entity_set.name} with that key.", target=entity_set.name)
    return prop, record.get(prop.name), record["Id"]
