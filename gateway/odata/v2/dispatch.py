"""The V2 face's reads: service document, ``$metadata``, entity sets, entities, properties, navigation.

Everything but syntax and format is the core's: the V2 query options are turned into the core's
``QueryOptions`` (``$filter`` through ``filter.parse_v2_filter``, ``$inlinecount=allpages`` as the count),
then bound, planned, executed and paged exactly as for V4 — the same refusals (``$skip`` with the same
advice), the same SOQL, one API call a page, signed ``$skiptoken`` next links. Only the shapes differ
(``entries.py``). A next link of the V2 face only serves the V2 face (the token names it).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from flask import Response, current_app, request

from gateway.odata.http.errors import ODataError, bad_request, not_found, not_implemented
from gateway.odata.http.resource_path import ResourcePath, parse_resource_path
from gateway.odata.model.entities import EntitySet, Model, NavigationProperty
from gateway.odata.model.keys import key_condition, keyed_id
from gateway.odata.read import paging
from gateway.odata.read.bind import bind
from gateway.odata.read.execute import Page, count_rows, read_page, soql_text
from gateway.odata.read.paging import PageState
from gateway.odata.read.plan import ReadPlan, plan_read, restrict
from gateway.odata.read.query_options import QueryOptions, parse_query_options
from gateway.odata.v2 import metadata as v2_metadata
from gateway.odata.v2 import writes
from gateway.odata.v2.entries import (
    EntryShaper,
    Expansion,
    atom_feed,
    atom_property,
    json_feed,
)
from gateway.odata.v2.filter import parse_v2_filter
from gateway.odata.v2.negotiation import Format, v2_format
from gateway.odata.v2.responses import (
    ATOM_FEED_TYPE,
    TEXT_TYPE,
    XML_TYPE,
    current_gateway,
    entry_response,
    json_response,
    service_root,
)
from gateway.odata.v2.values import atom_converter, json_converter
from gateway.odata.v2.xmlwriter import ATOM_NS, D_NS, to_xml
from gateway.soql.syntax import Comparison, Condition, Field, Query, StringLiteral

TOKEN_PREFIX = "v2:"  # a V2 next link never serves the V4 face, nor the other way round
SEARCH_PARAM_CONFIG = "v2_search_param"  # app.config key: GATEWAY_V2_SEARCH_PARAM
# V2 system query options; the V4-only ones are refused with the V2 spelling to use.
V2_OPTIONS = (
    "$filter",
    "$select",
    "$orderby",
    "$expand",
    "$top",
    "$skip",
    "$inlinecount",
    "$format",
    "$skiptoken",
)
V4_ONLY = {
    "$count": "use $inlinecount=allpages, or /$count",
    "$search": "set GATEWAY_V2_SEARCH_PARAM and send that parameter",
    "$apply": "SOQL cannot express it",
    "$compute": "SOQL cannot express it",
}


def _format(*, plain_text: bool = False) -> Format:
    return v2_format(request.args, request.headers.get("Accept"), plain_text=plain_text)


# --- service document and $metadata --------------------------------------------------------------------


def service_document() -> Response:
    model = current_gateway().model()
    if _format() == "json":
        return json_response(v2_metadata.service_document_json(model))
    return Response(
        v2_metadata.service_document_xml(model, service_root()),
        content_type="application/atomsvc+xml;charset=utf-8",
    )


def metadata() -> Response:
    accept = request.headers.get("Accept") or ""
    fmt = request.args.get("$format")
    if (fmt is not None and fmt.lower() not in ("xml", "application/xml")) or (
        accept and "json" in accept and not re.search(r"xml|\*/\*|application/\*", accept)
    ):
        raise ODataError(406, "NotAcceptable", "$metadata of an OData V2 service is XML only.")
    return Response(v2_metadata.metadata_document(current_gateway().model()), content_type=XML_TYPE)


# --- query options --------------------------------------------------------------------------------------


def _custom_search(args: Mapping[str, str]) -> str | None:
    name = current_app.config.get(SEARCH_PARAM_CONFIG)
    return args.get(name) if name else None


def v2_query_options(
    pairs: list[tuple[str, str]], entity_set: EntitySet, model: Model, search: str | None
) -> QueryOptions:
    """The core's query options for V2 options ``pairs`` (custom options ignored, as V2 wants)."""
    v4_args: dict[str, str] = {}
    seen: set[str] = set()
    filter_text = None
    for name, value in pairs:
        if not name.startswith("$"):
            continue
        if name in seen:
            raise bad_request(f"The query option {name} is given more than once", target=name)
        seen.add(name)
        if name in V4_ONLY:
            raise bad_request(f"{name} is not an OData V2 query option: {V4_ONLY[name]}.", target=name)
        if name not in V2_OPTIONS:
            raise bad_request(f"Unknown query option {name}", target=name)
        if name == "$filter":
            filter_text = value
        elif name == "$inlinecount":
            if value not in ("allpages", "none"):
                raise bad_request(f"$inlinecount must be allpages or none, not '{value}'", target=name)
            if value == "allpages":
                v4_args["$count"] = "true"
        elif name not in ("$format", "$skiptoken"):
            v4_args[name] = value
    if search is not None:
        v4_args["$search"] = search
    options = parse_query_options(v4_args)
    if filter_text is not None:
        tree = parse_v2_filter(filter_text, entity_set, model)
        options = dataclasses.replace(options, filter=tree, filter_text=filter_text)
    return options


def _pairs(args: Any) -> list[tuple[str, str]]:
    getlist = getattr(args, "getlist", None)
    if getlist is not None:
        return [(key, value) for key in args.keys() for value in getlist(key)]
    return list(args.items())


def _options(entity_set: EntitySet, path_text: str) -> tuple[QueryOptions, PageState]:
    """The query options (from the request or from its $skiptoken) and the paging state, which keeps the
    original request's options for every next link. The state's path carries the ``v2:`` prefix."""
    model = current_gateway().model()
    args = request.args
    token = args.get("$skiptoken")
    if token is None:
        options = v2_query_options(_pairs(args), entity_set, model, _custom_search(args))
        return options, PageState.first(TOKEN_PREFIX + path_text, args.items())
    state = paging.state_from_token(token, current_gateway().secret, TOKEN_PREFIX + path_text, args)
    options = v2_query_options(list(state.options.items()), entity_set, model, _custom_search(state.options))
    return options, state


# --- resources ------------------------------------------------------------------------------------------


def _path_text(path: ResourcePath) -> str:
    text = path.entity_set
    if path.key is not None:
        text += (
            f"('{path.key.value}')"
            if path.key.property is None
            else f"({path.key.property}='{path.key.value}')"
        )
    if path.member:
        text += "/" + path.member
    return text


def read_resource(resource: str) -> Response:
    path = parse_resource_path(resource)
    entity_set = current_gateway().model().entity_set(path.entity_set)
    if entity_set is None:
        raise not_found(f"There is no entity set named '{path.entity_set}'.", target=path.entity_set)
    if request.method != "GET":
        return writes.handle_write(entity_set, path)
    if path.key is None:
        if path.count:
            return _count(entity_set, None)
        return _collection(entity_set, path)
    key = key_condition(entity_set, path.key)
    if path.member is None:
        return _single(entity_set, key)
    nav = entity_set.navigation.get(path.member)
    if nav is not None:
        return _navigation(entity_set, key, nav, path)
    return _property(entity_set, key, path)


def _expansions(plan: ReadPlan) -> tuple[Expansion, ...]:
    return tuple(
        Expansion(e.navigation.name, e.target, e.select, e.navigation.collection) for e in plan.expand
    )


def _shaper(entity_set: EntitySet, plan: ReadPlan, selected: bool) -> EntryShaper:
    namespace = current_gateway().model().namespace
    return EntryShaper.build(
        entity_set, plan.select, _expansions(plan), service_root(), namespace, all_links=not selected
    )


def _feed_response(plan: ReadPlan, page: Page, path_text: str, selected: bool) -> Response:
    next_url = None
    if page.next is not None:
        token = paging.encode_token(page.next.to_dict(), current_gateway().secret)
        next_url = paging.next_link(service_root(), path_text, page.next.options, token)
    count = page.count if plan.count else None
    shaper = _shaper(plan.entity_set, plan, selected)
    if _format() == "json":
        return json_response(json_feed(shaper, page.records, count, next_url))
    feed = atom_feed(shaper, page.records, count, next_url, title=plan.entity_set.name, self_href=path_text)
    return Response(to_xml(feed, ATOM_NS), content_type=ATOM_FEED_TYPE)


def _collection(
    entity_set: EntitySet, path: ResourcePath, extra: Condition | None = None, on_empty: Any = None
) -> Response:
    _format()  # refuse an unacceptable format before any call
    path_text = _path_text(path)
    options, position = _options(entity_set, path_text)
    plan = plan_read(bind(entity_set, current_gateway().model(), options))
    page = read_page(
        current_gateway().source, plan, page_size=current_gateway().page_size, position=position, extra=extra
    )
    if not page.records and position.after is None and on_empty is not None:
        on_empty()
    return _feed_response(plan, page, path_text, options.select is not None)


def _count(entity_set: EntitySet, extra: Condition | None) -> Response:
    pairs = [(k, v) for k, v in _pairs(request.args) if k == "$filter"]
    options = v2_query_options(pairs, entity_set, current_gateway().model(), _custom_search(request.args))
    plan = plan_read(bind(entity_set, current_gateway().model(), options))
    total = count_rows(current_gateway().source, plan if extra is None else restrict(plan, extra))
    return Response(str(total), content_type=TEXT_TYPE)


def _single_plan(entity_set: EntitySet, key: Condition) -> tuple[ReadPlan, Query]:
    unsupported = [
        k for k in request.args if k.startswith("$") and k not in ("$select", "$expand", "$format")
    ]
    if unsupported:
        raise bad_request(
            f"{', '.join(unsupported)} cannot be applied to a single entity; only $select and $expand can.",
            target=unsupported[0],
        )
    pairs = [(k, v) for k, v in _pairs(request.args) if k in ("$select", "$expand")]
    options = v2_query_options(pairs, entity_set, current_gateway().model(), None)
    plan = plan_read(bind(entity_set, current_gateway().model(), options))
    return plan, dataclasses.replace(plan.query, where=key, order_by=(), limit=1)


def _fetch_one(query: Query) -> dict | None:
    records = current_gateway().source.query(soql_text(query)).get("records", [])
    return records[0] if records else None


def _single(entity_set: EntitySet, key: Comparison) -> Response:
    fmt = _format()
    plan, query = _single_plan(entity_set, key)
    record = _fetch_one(query)
    if record is None:
        raise not_found(f"No {entity_set.name} with that key.", target=entity_set.name)
    shaper = _shaper(entity_set, plan, request.args.get("$select") is not None)
    return entry_response(shaper, record, fmt)


def _property(entity_set: EntitySet, key: Condition, path: ResourcePath) -> Response:
    prop = entity_set.property(path.member or "")
    if prop is None:
        raise bad_request(
            f"'{path.member}' is not a published property or navigation of {entity_set.name}.",
            target=path.member,
        )
    if path.count:
        raise bad_request("$count applies to collections; this is a single property.")
    fmt = _format(plain_text=path.raw_value)
    record = _fetch_one(Query((Field(("Id",)), Field((prop.name,))), entity_set.sobject, key, limit=1))
    if record is None:
        raise not_found(f"No {entity_set.name} with that key.", target=entity_set.name)
    value = record.get(prop.name)
    if path.raw_value:
        if value is None:
            return Response(status=204)
        return Response(atom_converter(prop)(value), content_type=TEXT_TYPE)
    if fmt == "json":
        convert = json_converter(prop)
        return json_response(
            {"d": {prop.name: value if value is None or convert is None else convert(value)}}
        )
    element = atom_property(None, prop.name, v2_metadata.v2_type(prop), value, atom_converter(prop))
    return Response(to_xml(element, D_NS), content_type=XML_TYPE)


def _navigation(
    entity_set: EntitySet, key: Condition, nav: NavigationProperty, path: ResourcePath
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
        return _collection(target, path, extra=link, on_empty=lambda: _existing_id(entity_set, key))
    if path.count:
        raise bad_request("$count applies to collections; this navigation property is single-valued.")
    fmt = _format()
    plan, query = _single_plan(target, key)
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
    shaper = _shaper(target, plan, request.args.get("$select") is not None)
    return entry_response(shaper, related, fmt)


def _existing_id(entity_set: EntitySet, key: Condition) -> str:
    """The Id of the keyed entity; 404 when there is none."""
    record = _fetch_one(Query((Field(("Id",)),), entity_set.sobject, key, limit=1))
    if record is None:
        raise not_found(f"No {entity_set.name} with that key.", target=entity_set.name)
    return record["Id"]
