"""The V4 face's request pipeline: one ``ODataRequest`` in, one response out.

``respond(ctx, req)`` serves the service document, ``$metadata``, ``$batch`` and resources — reads here,
writes in ``writes.py`` — and turns every failure into an OData error body. The blueprint calls it for
each HTTP request and ``$batch`` for each of its parts, so both go the same way. A read goes: resource
path → query options (parse) → bind to the model → plan a SOQL query → read one page, the count or one
entity through the request's source (``read/execute.py``) → shape OData JSON.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from flask import Response

from gateway.odata.http.errors import bad_request, method_not_allowed, not_found, not_implemented
from gateway.odata.http.request import ODataRequest
from gateway.odata.http.resource_path import ResourcePath, key_segment, parse_resource_path
from gateway.odata.model.entities import EntitySet, NavigationProperty
from gateway.odata.model.keys import key_condition, keyed_id
from gateway.odata.read import paging
from gateway.odata.read.bind import bind, check_readable
from gateway.odata.read.execute import Page, count_rows, fetch_one, read_entity, read_page, read_property
from gateway.odata.read.paging import PageState
from gateway.odata.read.plan import ExpandPlan, ReadPlan, plan_read, restrict
from gateway.odata.read.query_options import QueryOptions, parse_query_options
from gateway.odata.service import RequestContext
from gateway.odata.v4 import batch, csdl, delta, writes
from gateway.odata.v4.negotiation import json_format, metadata_wants_json
from gateway.odata.v4.responses import ODATA_VERSION, json_response, response_for_exception
from gateway.odata.v4.shape import (
    JsonFormat,
    Shaper,
    count_value,
    odata_value,
    select_clause,
)
from gateway.odata.write import etags
from gateway.soql.syntax import Comparison, Condition, Field, Query, StringLiteral

Handler = Callable[[RequestContext, ODataRequest], Response]


def respond(ctx: RequestContext, req: ODataRequest) -> Response:
    """The response to ``req``: the resource's answer, or the OData error it raised."""
    try:
        response = serve(ctx, req)
    except Exception as error:  # noqa: BLE001 — every failure becomes an OData error body
        response = response_for_exception(error, req.path)
    response.headers.setdefault("OData-Version", ODATA_VERSION)  # 4.01 where 4.01 forms were used
    if response.status_code in (204, 304):
        response.headers.pop(
            "Content-Type", None
        )  # no body, no type (SAP's CAP client reads text/html as a failure)
    return response


def serve(ctx: RequestContext, req: ODataRequest) -> Response:
    """Route ``req`` (raises ``ODataError`` for refusals)."""
    if req.path == "":
        return _get_only(service_document)(ctx, req)
    if req.path == "$metadata":
        return _get_only(metadata)(ctx, req)
    if req.path == "$batch":
        return batch.handle_batch(ctx, req, respond)
    return resource(ctx, req)


def _get_only(handler: Handler) -> Handler:
    """The service document and $metadata answer GET (and HEAD); other methods get a 405."""

    def only_get(ctx: RequestContext, req: ODataRequest) -> Response:
        if req.method not in ("GET", "HEAD"):
            where = req.service_root + req.path
            raise method_not_allowed(f"{where} only answers GET.", "GET")
        return handler(ctx, req)

    return only_get


# --- service document and $metadata --------------------------------------------------------------------


def service_document(ctx: RequestContext, req: ODataRequest) -> Response:
    fmt = json_format(req.args, req.headers.get("Accept"))
    body = csdl.service_document(ctx.model(), req.service_root + "$metadata")
    if fmt.metadata == "none":
        body.pop("@odata.context", None)
    return json_response(body, content_type=fmt.content_type)


def metadata(ctx: RequestContext, req: ODataRequest) -> Response:
    model = ctx.model()
    if metadata_wants_json(req.args, req.headers.get("Accept")):
        return json_response(csdl.metadata_json(model))
    return Response(csdl.metadata_xml(model), content_type="application/xml")


# --- resources ------------------------------------------------------------------------------------------


def resource(ctx: RequestContext, req: ODataRequest) -> Response:
    path = parse_resource_path(req.path)
    entity_set = ctx.model().entity_set(path.entity_set)
    if entity_set is None:
        raise not_found(f"There is no entity set named '{path.entity_set}'.", target=path.entity_set)
    if req.method not in ("GET", "HEAD"):  # HEAD answers as GET does; the server drops the body
        return writes.handle_write(ctx, req, entity_set, path)
    read = _Read(ctx, req, json_format(req.args, req.headers.get("Accept")))
    if path.key is None:
        if path.count:
            return read.count(entity_set, None)
        if delta.handles(entity_set, req.args, req.headers):
            return delta.handle(ctx, req, entity_set, read.fmt)
        return read.collection(entity_set, path)
    key = key_condition(entity_set, path.key)
    if path.member is None:
        return read.single(entity_set, key)
    nav = entity_set.navigation.get(path.member)
    if nav is not None:
        return read.navigation(entity_set, key, nav, path)
    return read.property(entity_set, key, path)


def _path_text(path: ResourcePath) -> str:
    """The resource path as decoded text (``next_link`` percent-encodes it once)."""
    text = path.entity_set
    if path.key is not None:
        literal = "'" + path.key.value.replace("'", "''") + "'"
        text += f"({literal})" if path.key.property is None else f"({path.key.property}={literal})"
    if path.member:
        text += "/" + path.member
    return text


@dataclasses.dataclass(frozen=True)
class _Read:
    """One GET: the context, the request and the JSON format it asked for."""

    ctx: RequestContext
    req: ODataRequest
    fmt: JsonFormat

    def options(self, path_text: str) -> tuple[QueryOptions, PageState]:
        """The query options (from the request, or those a $skiptoken carries) and the paging state,
        which keeps the original request's options for every nextLink."""
        args = self.req.args
        token = args.get("$skiptoken")
        if token is None:
            return parse_query_options(args), PageState.first(path_text, args.items())
        state = paging.state_from_token(token, self.ctx.gateway.secret, path_text, args)
        return parse_query_options(state.options), state

    def shaper(
        self, entity_set: EntitySet, select: tuple[str, ...], expansions: tuple[ExpandPlan, ...]
    ) -> Shaper:
        namespace = self.ctx.model().namespace
        return Shaper.build(entity_set, select, expansions, self.fmt, self.req.service_root, namespace)

    def context(self, fragment: str) -> dict:
        if self.fmt.metadata == "none":
            return {}
        return {"@odata.context": self.req.service_root + "$metadata#" + fragment}

    def page_response(
        self, plan: ReadPlan, page: Page, context_set: str, options: QueryOptions, applied: str | None
    ) -> Response:
        expansions = plan.expand
        selected = plan.select if options.select is not None else None
        body = self.context(context_set + select_clause(selected, expansions))
        if plan.count and page.count is not None:
            body["@odata.count"] = count_value(page.count, self.fmt)
        shaper = self.shaper(plan.entity_set, plan.select, expansions)
        body["value"] = [shaper.shape(r) for r in page.records]
        if page.next is not None:
            token = paging.encode_token(page.next.to_dict(), self.ctx.gateway.secret)
            body["@odata.nextLink"] = paging.next_link(
                self.req.service_root, page.next.path, page.next.options, token
            )
        headers = {"Preference-Applied": applied} if applied else {}
        return json_response(body, content_type=self.fmt.content_type, **headers)

    def collection(
        self,
        entity_set: EntitySet,
        path: ResourcePath,
        extra: Condition | None = None,
        on_empty: Callable[[], Any] | None = None,
    ) -> Response:
        options, position = self.options(_path_text(path))
        plan = plan_read(bind(entity_set, self.ctx.model(), options))
        size, applied = paging.page_size(self.req.headers.get("Prefer"), default=self.ctx.gateway.page_size)
        page = read_page(self.ctx.source, plan, page_size=size, position=position, extra=extra)
        if not page.records and position.after is None and on_empty is not None:
            on_empty()
        return self.page_response(plan, page, entity_set.name, options, applied)

    def count(self, entity_set: EntitySet, extra: Condition | None) -> Response:
        args = {k: v for k, v in self.req.args.items() if k in ("$filter", "$search")}
        plan = plan_read(bind(entity_set, self.ctx.model(), parse_query_options(args)))
        total = count_rows(self.ctx.source, plan if extra is None else restrict(plan, extra))
        return Response(str(total), content_type="text/plain;charset=utf-8")

    def single_plan(self, entity_set: EntitySet) -> ReadPlan:
        unsupported = [k for k in self.req.args if k not in ("$select", "$expand", "$format")]
        if unsupported:
            raise bad_request(
                f"{', '.join(unsupported)} cannot be applied to a single entity; only $select and $expand "
                "can.",
                target=unsupported[0],
            )
        return plan_read(bind(entity_set, self.ctx.model(), parse_query_options(self.req.args)))

    def single(self, entity_set: EntitySet, key: Condition) -> Response:
        plan = self.single_plan(entity_set)
        record = read_entity(self.ctx.source, plan, key)
        if record is None:
            raise not_found(f"No {entity_set.name} with that key.", target=entity_set.name)
        expansions = plan.expand
        selected = plan.select if self.req.args.get("$select") is not None else None
        body = self.context(f"{entity_set.name}{select_clause(selected, expansions)}/$entity")
        body.update(self.shaper(entity_set, plan.select, expansions).shape(record))
        headers = {}
        if body.get("@odata.etag"):
            headers["ETag"] = body["@odata.etag"]
            if_none_match = self.req.headers.get("If-None-Match")
            if if_none_match is not None and etags.matches(if_none_match, body["@odata.etag"]):
                return Response(status=304, headers=headers)
        return json_response(body, content_type=self.fmt.content_type, **headers)

    def property(self, entity_set: EntitySet, key: Condition, path: ResourcePath) -> Response:
        prop, raw, record_id = read_property(self.ctx.source, entity_set, key, path)
        value = odata_value(prop, raw, self.fmt)
        if value is None:
            return Response(status=204)
        if path.raw_value:
            return Response(
                str(value).lower() if isinstance(value, bool) else str(value),
                content_type="text/plain;charset=utf-8",
            )
        body = self.context(f"{entity_set.name}{key_segment(record_id)}/{prop.name}")
        body["value"] = value
        return json_response(body, content_type=self.fmt.content_type)

    def navigation(
        self, entity_set: EntitySet, key: Condition, nav: NavigationProperty, path: ResourcePath
    ) -> Response:
        check_readable(entity_set)  # 403 before the parent is queried, as for its reads
        target = self.ctx.model().entity_set(nav.target_set)
        if target is None:  # the model only links published sets; kept as a guard
            raise not_found(f"'{nav.name}' leads to an unpublished entity set.")
        if path.raw_value:
            raise bad_request("$value applies to a property, not to a navigation property.")
        if nav.collection:
            parent_id = keyed_id(key) if isinstance(key, Comparison) else None
            if parent_id is None:  # an alternate key: the lookup needs the Id
                parent_id = self.existing_id(entity_set, key)
            link = Comparison(Field((nav.field,)), "=", StringLiteral(parent_id))
            if path.count:
                return self.count(target, link)
            return self.collection(
                target,
                path,
                extra=link,
                on_empty=lambda: self.existing_id(entity_set, key),  # no children: is there a parent?
            )
        if path.count:
            raise bad_request("$count applies to collections; this navigation property is single-valued.")
        plan = self.single_plan(target)
        if plan.expand:
            raise not_implemented(
                "$expand after a single-valued navigation is not supported; expand from the source set."
            )
        prefixed = tuple(
            Field((nav.name, *item.path)) for item in plan.query.select if isinstance(item, Field)
        )
        record = fetch_one(
            self.ctx.source, Query((Field(("Id",)), *prefixed), entity_set.sobject, key, limit=1)
        )
        if record is None:
            raise not_found(f"No {entity_set.name} with that key.", target=entity_set.name)
        related = record.get(nav.name)
        if related is None:
            return Response(status=204)
        selected = plan.select if self.req.args.get("$select") is not None else None
        body = self.context(f"{target.name}{select_clause(selected, ())}/$entity")
        body.update(self.shaper(target, plan.select, ()).shape(related))
        return json_response(body, content_type=self.fmt.content_type)

    def existing_id(self, entity_set: EntitySet, key: Condition) -> str:
        """The Id of the keyed entity; 404 when there is none."""
        record = fetch_one(self.ctx.source, Query((Field(("Id",)),), entity_set.sobject, key, limit=1))
        if record is None:
            raise not_found(f"No {entity_set.name} with that key.", target=entity_set.name)
        return record["Id"]
