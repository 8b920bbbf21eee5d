"""The V4 face's request dispatch: service document, ``$metadata`` and resources (reads here, writes in
``writes.py``, ``$batch`` in ``batch.py``).

Each request goes one way through: resource path → query options (parse) → bind to the model → plan a
SOQL query → execute against the source (one page by keyset) → shape OData JSON. Every failure becomes an
OData error body; client input never produces a 500.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Response, request

from gateway.odata.http.errors import bad_request, not_found, not_implemented
from gateway.odata.http.resource_path import ResourcePath, parse_resource_path
from gateway.odata.model.entities import EntitySet, NavigationProperty
from gateway.odata.model.keys import key_condition, keyed_id
from gateway.odata.read import paging
from gateway.odata.read.bind import bind
from gateway.odata.read.execute import Page, count_rows, read_page, soql_text
from gateway.odata.read.paging import PageState
from gateway.odata.read.plan import ReadPlan, plan_read, restrict
from gateway.odata.read.query_options import parse_query_options
from gateway.odata.v4 import batch, csdl, writes
from gateway.odata.v4.negotiation import json_format, metadata_wants_json
from gateway.odata.v4.request_context import current_gateway, service_root
from gateway.odata.v4.responses import json_response
from gateway.odata.v4.shape import (
    Expansion,
    JsonFormat,
    Shaper,
    count_value,
    key_segment,
    odata_value,
    select_clause,
)
from gateway.odata.write import etags
from gateway.soql.syntax import Comparison, Condition, Field, Query, StringLiteral

# --- service document and $metadata --------------------------------------------------------------------


def service_document() -> Response:
    fmt = json_format(request.args, request.headers.get("Accept"))
    body = csdl.service_document(current_gateway().model(), service_root() + "$metadata")
    if fmt.metadata == "none":
        body.pop("@odata.context", None)
    return json_response(body, content_type=fmt.content_type)


def metadata() -> Response:
    model = current_gateway().model()
    if metadata_wants_json(request.args, request.headers.get("Accept")):
        return json_response(csdl.metadata_json(model))
    return Response(csdl.metadata_xml(model), content_type="application/xml")


# --- resources ------------------------------------------------------------------------------------------


def resource(resource: str) -> Response:
    if resource == "$batch":
        return batch.handle_batch()
    path = parse_resource_path(resource)
    entity_set = current_gateway().model().entity_set(path.entity_set)
    if entity_set is None:
        raise not_found(f"There is no entity set named '{path.entity_set}'.", target=path.entity_set)
    if request.method != "GET":
        return writes.handle_write(entity_set, path)
    fmt = json_format(request.args, request.headers.get("Accept"))
    if path.key is None:
        if path.count:
            return _count(entity_set, None)
        return _collection(entity_set, fmt, path)
    key = key_condition(entity_set, path.key)
    if path.member is None:
        return _single(entity_set, key, fmt)
    nav = entity_set.navigation.get(path.member)
    if nav is not None:
        return _navigation(entity_set, key, nav, fmt, path)
    return _property(entity_set, key, path, fmt)


def _options(path_text: str) -> tuple[Any, PageState]:
    """The query options (from the request, or those a $skiptoken carries) and the paging state, which
    keeps the original request's options for every nextLink."""
    args = request.args
    token = args.get("$skiptoken")
    if token is None:
        return parse_query_options(args), paging.PageState.first(path_text, args.items())
    state = paging.state_from_token(token, current_gateway().secret, path_text, args)
    return parse_query_options(state.options), state


def _page_size() -> tuple[int, str | None]:
    return paging.page_size(request.headers.get("Prefer"), default=current_gateway().page_size)


def _shaper(
    entity_set: EntitySet, select: tuple[str, ...], expansions: tuple[Expansion, ...], fmt: JsonFormat
) -> Shaper:
    namespace = current_gateway().model().namespace
    return Shaper.build(entity_set, select, expansions, fmt, service_root(), namespace)


def _expansions(plan: ReadPlan) -> tuple[Expansion, ...]:
    return tuple(
        Expansion(e.navigation.name, e.target, e.select, e.navigation.collection) for e in plan.expand
    )


def _context(fragment: str, fmt: JsonFormat) -> dict:
    return {} if fmt.metadata == "none" else {"@odata.context": service_root() + "$metadata#" + fragment}


def _page_response(
    plan: ReadPlan,
    page: Page,
    fmt: JsonFormat,
    context_set: str,
    options: Any,
    applied: str | None,
) -> Response:
    expansions = _expansions(plan)
    selected = plan.select if options.select is not None else None
    body = _context(context_set + select_clause(selected, expansions), fmt)
    if plan.count and page.count is not None:
        body["@odata.count"] = count_value(page.count, fmt)
    root = service_root()
    shaper = _shaper(plan.entity_set, plan.select, expansions, fmt)
    body["value"] = [shaper.shape(r) for r in page.records]
    if page.next is not None:
        token = paging.encode_token(page.next.to_dict(), current_gateway().secret)
        body["@odata.nextLink"] = paging.next_link(root, page.next.path, page.next.options, token)
    headers = {"Preference-Applied": applied} if applied else {}
    return json_response(body, content_type=fmt.content_type, **headers)


def _path_text(path: ResourcePath) -> str:
    text = path.entity_set
    if path.key is not None:
        text += key_segment(path.key.value, path.key.property)
    if path.member:
        text += "/" + path.member
    return text


def _collection(
    entity_set: EntitySet,
    fmt: JsonFormat,
    path: ResourcePath,
    extra: Condition | None = None,
    context_set: str | None = None,
    on_empty: Any = None,
) -> Response:
    path_text = _path_text(path)
    options, position = _options(path_text)
    plan = plan_read(bind(entity_set, current_gateway().model(), options))
    size, applied = _page_size()
    page = read_page(current_gateway().source, plan, page_size=size, position=position, extra=extra)
    if not page.records and position.after is None and on_empty is not None:
        on_empty()
    context = context_set or entity_set.name
    return _page_response(plan, page, fmt, context, options, applied)


def _count(entity_set: EntitySet, extra: Condition | None) -> Response:
    args = {k: v for k, v in request.args.items() if k in ("$filter", "$search")}
    plan = plan_read(bind(entity_set, current_gateway().model(), parse_query_options(args)))
    total = count_rows(current_gateway().source, plan if extra is None else restrict(plan, extra))
    return Response(str(total), content_type="text/plain;charset=utf-8")


def _single_query(entity_set: EntitySet, key: Condition, args: Any) -> tuple[ReadPlan, Query]:
    unsupported = [k for k in args if k not in ("$select", "$expand", "$format")]
    if unsupported:
        raise bad_request(
            f"{', '.join(unsupported)} cannot be applied to a single entity; only $select and $expand can.",
            target=unsupported[0],
        )
    plan = plan_read(bind(entity_set, current_gateway().model(), parse_query_options(args)))
    return plan, dataclasses.replace(plan.query, where=key, order_by=(), limit=1)


def _fetch_one(query: Query) -> dict | None:
    records = current_gateway().source.query(soql_text(query)).get("records", [])
    return records[0] if records else None


def _single(entity_set: EntitySet, key: Condition, fmt: JsonFormat) -> Response:
    plan, query = _single_query(entity_set, key, request.args)
    record = _fetch_one(query)
    if record is None:
        raise not_found(f"No {entity_set.name} with that key.", target=entity_set.name)
    expansions = _expansions(plan)
    selected = plan.select if request.args.get("$select") is not None else None
    body = _context(f"{entity_set.name}{select_clause(selected, expansions)}/$entity", fmt)
    body.update(_shaper(entity_set, plan.select, expansions, fmt).shape(record))
    headers = {}
    if body.get("@odata.etag"):
        headers["ETag"] = body["@odata.etag"]
        if_none_match = request.headers.get("If-None-Match")
        if if_none_match is not None and etags.matches(if_none_match, body["@odata.etag"]):
            return Response(status=304, headers=headers)
    return json_response(body, content_type=fmt.content_type, **headers)


def _property(entity_set: EntitySet, key: Condition, path: ResourcePath, fmt: JsonFormat) -> Response:
    prop = entity_set.property(path.member or "")
    if prop is None:
        raise bad_request(
            f"'{path.member}' is not a published property or navigation of {entity_set.name}.",
            target=path.member,
        )
    if path.count:
        raise bad_request("$count applies to collections; this is a single property.")
    record = _fetch_one(Query((Field(("Id",)), Field((prop.name,))), entity_set.sobject, key, limit=1))
    if record is None:
        raise not_found(f"No {entity_set.name} with that key.", target=entity_set.name)
    value = odata_value(prop, record.get(prop.name), fmt)
    if value is None:
        return Response(status=204)
    if path.raw_value:
        return Response(
            str(value).lower() if isinstance(value, bool) else str(value),
            content_type="text/plain;charset=utf-8",
        )
    body = _context(f"{entity_set.name}{key_segment(record['Id'])}/{prop.name}", fmt)
    body["value"] = value
    return json_response(body, content_type=fmt.content_type)


def _navigation(
    entity_set: EntitySet, key: Condition, nav: NavigationProperty, fmt: JsonFormat, path: ResourcePath
) -> Response:
    target = current_gateway().model().entity_set(nav.target_set)
    if target is None:  # the model only links published sets; kept as a guard
        raise not_found(f"'{nav.name}' leads to an unpublished entity set.")
    if path.raw_value:
        raise bad_request("$value applies to a property, not to a navigation property.")
    if nav.collection:
        parent_id = keyed_id(key)
        if parent_id is None:  # an alternate key: the lookup needs the Id
            parent_id = _existing_id(entity_set, key)
        link = Comparison(Field((nav.field,)), "=", StringLiteral(parent_id))
        if path.count:
            return _count(target, link)
        return _collection(
            target,
            fmt,
            path,
            extra=link,
            context_set=target.name,
            on_empty=lambda: _existing_id(entity_set, key),  # no children: is there a parent at all?
        )
    if path.count:
        raise bad_request("$count applies to collections; this navigation property is single-valued.")
    plan, query = _single_query(target, key, request.args)
    if plan.expand:
        raise not_implemented(
            "$expand after a single-valued navigation is not supported; expand from the source set."
        )
    prefixed = tuple(Field((nav.name, *item.path)) for item in query.select if isinstance(item, Field))
    record = _fetch_one(Query((Field(("Id",)), *prefixed), entity_set.sobject, key, limit=1))
    if record is None:
        raise not_found(f"No {entity_set.name} with that key.", target=entity_set.name)
    related = record.get(nav.name)
    if related is None:
        return Response(status=204)
    selected = plan.select if request.args.get("$select") is not None else None
    body = _context(f"{target.name}{select_clause(selected, ())}/$entity", fmt)
    body.update(_shaper(target, plan.select, (), fmt).shape(related))
    return json_response(body, content_type=fmt.content_type)


def _existing_id(entity_set: EntitySet, key: Condition) -> str:
    """The Id of the keyed entity; 404 when there is none."""
    record = _fetch_one(Query((Field(("Id",)),), entity_set.sobject, key, limit=1))
    if record is None:
        raise not_found(f"No {entity_set.name} with that key.", target=entity_set.name)
    return record["Id"]
