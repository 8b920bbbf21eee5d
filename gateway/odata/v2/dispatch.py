"""The V2 face's pipeline: one ``Call`` (context + ``ODataRequest``) in, one response out.

``respond`` serves the service document, ``$metadata``, ``$batch`` (``batch.py``) and resources — reads
here, writes in ``writes.py`` — and turns every failure into a V2 error body. The blueprint calls it for each
HTTP request and ``$batch`` for each of its parts.

Everything but syntax and format is the core's: the V2 query options are turned into the core's
``QueryOptions`` (``$filter`` through ``filter.parse_v2_filter``, ``$inlinecount=allpages`` as the count),
then bound, planned, executed and paged exactly as for V4 — the same refusals (``$skip`` with the same
advice), the same SOQL, one API call a page, signed ``$skiptoken`` next links. Only the shapes differ
(``entries.py``). A next link of the V2 face only serves the V2 face (the token names it).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from flask import Response

from gateway.odata.http.errors import ODataError, bad_request, method_not_allowed, not_found, not_implemented
from gateway.odata.http.resource_path import ResourcePath, parse_resource_path
from gateway.odata.model.entities import EntitySet, Model, NavigationProperty
from gateway.odata.model.keys import key_condition, keyed_id
from gateway.odata.read import paging
from gateway.odata.read.bind import bind, check_readable
from gateway.odata.read.execute import Page, count_rows, fetch_one, read_entity, read_page, read_property
from gateway.odata.read.paging import PageState
from gateway.odata.read.plan import ReadPlan, plan_read, restrict
from gateway.odata.read.query_options import QueryOptions, parse_query_options
from gateway.odata.v2 import batch, writes
from gateway.odata.v2 import metadata as v2_metadata
from gateway.odata.v2.entries import (
    EntryShaper,
    atom_feed,
    atom_property,
    json_feed,
)
from gateway.odata.v2.filter import parse_v2_filter
from gateway.odata.v2.responses import (
    ATOM_FEED_TYPE,
    DATA_SERVICE_VERSION,
    TEXT_TYPE,
    XML_TYPE,
    Call,
    entry_response,
    json_response,
    response_for_exception,
)
from gateway.odata.v2.values import atom_converter, json_converter
from gateway.odata.v2.xmlwriter import ATOM_NS, D_NS, to_xml
from gateway.odata.write import etags
from gateway.soql.syntax import Comparison, Condition, Field, Query, StringLiteral

TOKEN_PREFIX = "v2:"  # a V2 next link never serves the V4 face, nor the other way round
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


def respond(call: Call) -> Response:
    """The response to ``call``: the resource's answer, or the V2 error it raised."""
    try:
        response = serve(call)
    except Exception as error:  # noqa: BLE001 — every failure becomes a V2 error body
        response = response_for_exception(error, call.req, call.req.path)
    response.headers["DataServiceVersion"] = DATA_SERVICE_VERSION
    return response


def serve(call: Call) -> Response:
    """Route ``call`` (raises ``ODataError`` for refusals)."""
    path, method = call.req.path, call.req.method
    if path in ("", "$metadata"):
        if method not in ("GET", "HEAD"):
            raise method_not_allowed(f"{call.root}{path} only answers GET.", "GET")
        return service_document(call) if path == "" else metadata(call)
    if path == "$batch":
        return batch.handle_batch(call, respond)
    return resource(call)


# --- service document and $metadata --------------------------------------------------------------------


def service_document(call: Call) -> Response:
    if call.format() == "json":
        return json_response(v2_metadata.service_document_json(call.model))
    return Response(
        v2_metadata.service_document_xml(call.model, call.root),
        content_type="application/atomsvc+xml;charset=utf-8",
    )


def metadata(call: Call) -> Response:
    accept = call.req.headers.get("Accept") or ""
    fmt = call.req.args.get("$format")
    if (fmt is not None and fmt.lower() not in ("xml", "application/xml")) or (
        accept and "json" in accept and not re.search(r"xml|\*/\*|application/\*", accept)
    ):
        raise ODataError(406, "NotAcceptable", "$metadata of an OData V2 service is XML only.")
    return Response(
        v2_metadata.metadata_document(call.model, search=call.search_param is not None), content_type=XML_TYPE
    )


# --- query options --------------------------------------------------------------------------------------


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
    v4_args.update(_select_and_expand(v4_args.pop("$select", None), v4_args.pop("$expand", None)))
    options = parse_query_options(v4_args)
    if filter_text is not None:
        tree = parse_v2_filter(filter_text, entity_set, model)
        options = dataclasses.replace(options, filter=tree, filter_text=filter_text)
    return options


def _select_and_expand(select: str | None, expand: str | None) -> dict[str, str]:
    """V2's ``$select=Name,Account/Name&$expand=Account`` as V4's ``$select=Name,Account`` and
    ``$expand=Account($select=Name)``: V2 selects the properties of expanded entities by path."""
    out: dict[str, str] = {}
    expanded = [item.strip() for item in expand.split(",")] if expand is not None else []
    for item in expanded:
        if "(" in item:
            raise bad_request(
                f"'{item}': $expand of OData V2 takes navigation paths only; select related properties "
                "with $select=Navigation/Property.",
                target="$expand",
            )
    nested: dict[str, list[str]] = {}
    top: list[str] = []
    for item in [i.strip() for i in select.split(",")] if select is not None else []:
        head, slash, rest = item.partition("/")
        if not slash:
            top.append(item)
            continue
        if head not in expanded:
            raise bad_request(f"$select={item} needs $expand={head}.", target="$select")
        nested.setdefault(head, []).append(rest)
        if head not in top:
            top.append(head)
    if select is not None:
        out["$select"] = ",".join(top)
    if expand is not None:
        out["$expand"] = ",".join(
            f"{item}($select={','.join(nested[item])})" if item in nested else item for item in expanded
        )
    return out


def _pairs(args: Any) -> list[tuple[str, str]]:
    getlist = getattr(args, "getlist", None)
    if getlist is not None:
        return [(key, value) for key in args.keys() for value in getlist(key)]
    return list(args.items())


def _options(call: Call, entity_set: EntitySet, path_text: str) -> tuple[QueryOptions, PageState]:
    """The query options (from the request or from its $skiptoken) and the paging state, which keeps the
    original request's options for every next link. The state's path carries the ``v2:`` prefix."""
    args = call.req.args
    token = args.get("$skiptoken")
    if token is None:
        options = v2_query_options(_pairs(args), entity_set, call.model, call.search(args))
        return options, PageState.first(TOKEN_PREFIX + path_text, args.items())
    state = paging.state_from_token(token, call.ctx.gateway.secret, TOKEN_PREFIX + path_text, args)
    options = v2_query_options(
        list(state.options.items()), entity_set, call.model, call.search(state.options)
    )
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


def resource(call: Call) -> Response:
    path = parse_resource_path(call.req.path)
    entity_set = call.model.entity_set(path.entity_set)
    if entity_set is None:
        raise not_found(f"There is no entity set named '{path.entity_set}'.", target=path.entity_set)
    if call.req.method not in ("GET", "HEAD"):
        return writes.handle_write(call, entity_set, path)
    if path.key is None:
        if path.count:
            return _count(call, entity_set, None)
        return _collection(call, entity_set, path)
    key = key_condition(entity_set, path.key)
    if path.member is None:
        return _single(call, entity_set, key)
    nav = entity_set.navigation.get(path.member)
    if nav is not None:
        return _navigation(call, entity_set, key, nav, path)
    return _property(call, entity_set, key, path)


def _shaper(call: Call, entity_set: EntitySet, plan: ReadPlan, selected: bool) -> EntryShaper:
    namespace = call.model.namespace
    return EntryShaper.build(
        entity_set, plan.select, plan.expand, call.root, namespace, all_links=not selected
    )


def _feed_response(call: Call, plan: ReadPlan, page: Page, path_text: str, selected: bool) -> Response:
    next_url = None
    if page.next is not None:
        token = paging.encode_token(page.next.to_dict(), call.ctx.gateway.secret)
        next_url = paging.next_link(call.root, path_text, page.next.options, token)
    count = page.count if plan.count else None
    shaper = _shaper(call, plan.entity_set, plan, selected)
    if call.format() == "json":
        return json_response(json_feed(shaper, page.records, count, next_url))
    feed = atom_feed(shaper, page.records, count, next_url, title=plan.entity_set.name, self_href=path_text)
    return Response(to_xml(feed, ATOM_NS), content_type=ATOM_FEED_TYPE)


def _collection(
    call: Call,
    entity_set: EntitySet,
    path: ResourcePath,
    extra: Condition | None = None,
    on_empty: Any = None,
) -> Response:
    call.format()  # refuse an unacceptable format before any call
    path_text = _path_text(path)
    options, position = _options(call, entity_set, path_text)
    plan = plan_read(bind(entity_set, call.model, options))
    size = call.ctx.gateway.page_size
    page = read_page(call.source, plan, page_size=size, position=position, extra=extra)
    if not page.records and position.after is None and on_empty is not None:
        on_empty()
    return _feed_response(call, plan, page, path_text, options.select is not None)


def _count(call: Call, entity_set: EntitySet, extra: Condition | None) -> Response:
    pairs = [(k, v) for k, v in _pairs(call.req.args) if k == "$filter"]
    options = v2_query_options(pairs, entity_set, call.model, call.search(call.req.args))
    plan = plan_read(bind(entity_set, call.model, options))
    total = count_rows(call.source, plan if extra is None else restrict(plan, extra))
    return Response(str(total), content_type=TEXT_TYPE)


def _single_plan(call: Call, entity_set: EntitySet) -> ReadPlan:
    unsupported = [
        k for k in call.req.args if k.startswith("$") and k not in ("$select", "$expand", "$format")
    ]
    if unsupported:
        raise bad_request(
            f"{', '.join(unsupported)} cannot be applied to a single entity; only $select and $expand can.",
            target=unsupported[0],
        )
    pairs = [(k, v) for k, v in _pairs(call.req.args) if k in ("$select", "$expand")]
    options = v2_query_options(pairs, entity_set, call.model, None)
    return plan_read(bind(entity_set, call.model, options))


def _single(call: Call, entity_set: EntitySet, key: Comparison) -> Response:
    fmt = call.format()
    plan = _single_plan(call, entity_set)
    record = read_entity(call.source, plan, key)
    if record is None:
        raise not_found(f"No {entity_set.name} with that key.", target=entity_set.name)
    shaper = _shaper(call, entity_set, plan, call.req.args.get("$select") is not None)
    etag, if_none_match = shaper.etag(record), call.req.headers.get("If-None-Match")
    if etag and if_none_match is not None and etags.matches(if_none_match, etag):
        return Response(status=304, headers={"ETag": etag})
    return entry_response(shaper, record, fmt)


def _property(call: Call, entity_set: EntitySet, key: Condition, path: ResourcePath) -> Response:
    fmt = call.format(plain_text=path.raw_value)
    prop, value, _ = read_property(call.source, entity_set, key, path)
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
    call: Call, entity_set: EntitySet, key: Condition, nav: NavigationProperty, path: ResourcePath
) -> Response:
    check_readable(entity_set)  # 403 before the parent is queried, as for its reads
    target = call.model.entity_set(nav.target_set)
    if target is None:  # the model only links published sets; kept as a guard
        raise not_found(f"'{nav.name}' leads to an unpublished entity set.")
    if path.raw_value:
        raise bad_request("$value applies to a property, not to a navigation property.")
    if nav.collection:
        parent_id = keyed_id(key)
        if parent_id is None:  # an alternate key: the lookup needs the Id
            parent_id = _existing_id(call, entity_set, key)
        link = Comparison(Field((nav.field,)), "=", StringLiteral(parent_id))
        if path.count:
            return _count(call, target, link)
        return _collection(
            call, target, path, extra=link, on_empty=lambda: _existing_id(call, entity_set, key)
        )
    if path.count:
        raise bad_request("$count applies to collections; this navigation property is single-valued.")
    fmt = call.format()
    plan = _single_plan(call, target)
    if plan.expand:
        raise not_implemented(
            "$expand after a single-valued navigation is not supported; expand from the source set."
        )
    prefixed = tuple(Field((nav.name, *item.path)) for item in plan.query.select if isinstance(item, Field))
    record = fetch_one(call.source, Query((Field(("Id",)), *prefixed), entity_set.sobject, key, limit=1))
    if record is None:
        raise not_found(f"No {entity_set.name} with that key.", target=entity_set.name)
    related = record.get(nav.name)
    if related is None:
        return Response(status=204)
    shaper = _shaper(call, target, plan, call.req.args.get("$select") is not None)
    return entry_response(shaper, related, fmt)


def _existing_id(call: Call, entity_set: EntitySet, key: Condition) -> str:
    """The Id of the keyed entity; 404 when there is none."""
    record = fetch_one(call.source, Query((Field(("Id",)),), entity_set.sobject, key, limit=1))
    if record is None:
        raise not_found(f"No {entity_set.name} with that key.", target=entity_set.name)
    return record["Id"]
