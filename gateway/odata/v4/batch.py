"""``$batch``: multipart/mixed (OData 4.0) and JSON (4.01) batches; change sets become atomic composite calls.

A batch answers in the format it was sent in, always 200 with one response per request (or per failed
change set). Requests run in order:

- Outside change sets, each request (reads included) goes through the same pipeline as a request sent on
  its own (``dispatch.respond``: routing, negotiation, shaping), with the batch's context: authentication
  and CSRF were checked once, for the batch.
- A change set (multipart) or atomicity group (JSON) is checked completely first (``changeset.py``), then
  written in one all-or-none Salesforce call. When it fails nothing is written. Multipart answers a failed
  change set with a single ``application/http`` response that applies to all of its requests (OData 4.0
  Part 1 §11.7.4); JSON answers each request of the group: the failing one with its error, the others with
  ``424 Failed Dependency`` (JSON Format 4.01 §19.2).
- JSON ``dependsOn`` must name earlier requests or groups; a request whose dependency failed is not run
  (424). ``$<id>`` references in URLs are not supported (501).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import flask
from flask import Response
from werkzeug.datastructures import Headers

from gateway.odata.http import multipart
from gateway.odata.http.errors import ODataError, bad_request, method_not_allowed
from gateway.odata.http.json_body import dump_json
from gateway.odata.http.request import ODataRequest, batch_part_resource_under
from gateway.odata.http.request_body import decode_content_encoding, limit_in, parse_json
from gateway.odata.http.resource_path import key_segment
from gateway.odata.service import RequestContext
from gateway.odata.v4.negotiation import check_max_version, json_format
from gateway.odata.v4.request_context import SERVICE_PREFIX
from gateway.odata.v4.responses import ODATA_VERSION, error_response
from gateway.odata.v4.shape import JsonFormat, Shaper
from gateway.odata.write import changeset
from gateway.operation.context import CallBudgetExceeded, check_call_budget

MAX_BATCH_REQUESTS = 1000
Responder = Callable[[RequestContext, ODataRequest], Response]


_NO_DOCUMENT = object()


class _PartHeaders(dict):
    """A part's headers (names already lower case) looked up in any case; werkzeug's ``Headers.get``
    raises and catches an exception for every header that is absent, three times per change-set part."""

    def __getitem__(self, name: str) -> str:
        return dict.__getitem__(self, name.lower())

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return dict.get(self, name.lower(), default)


@dataclass
class SubRequest:
    id: str | None  # JSON id, or the Content-ID of a multipart part
    method: str
    url: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    group: str | None = None  # atomicity group / change set
    depends_on: tuple[str, ...] = ()
    document: Any = _NO_DOCUMENT  # a JSON batch body already decoded: kept, not encoded and parsed again

    def payload(self) -> bytes:
        """The body as bytes (a decoded JSON body is encoded only when a pipeline request needs it)."""
        if self.document is _NO_DOCUMENT:
            return self.body
        return json.dumps(self.document).encode("utf-8")


@dataclass
class SubResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    document: Any = None  # a JSON body as built, when there is one: a JSON batch embeds it as it is

    def data(self) -> bytes:
        return self.body if self.document is None else dump_json(self.document)


def _error_response(error: ODataError) -> SubResponse:
    response = error_response(error)
    headers = {"Content-Type": response.content_type, "OData-Version": ODATA_VERSION, **error.headers}
    return SubResponse(error.status, headers, response.get_data())


def _resource_of(url: str, outer: ODataRequest) -> str:
    """The part of a request URL after the service root (absolute, root-relative or relative URLs)."""
    return batch_part_resource_under(url, outer.service_root, SERVICE_PREFIX)


# --- running one request outside change sets -------------------------------------------------------------


def _dispatch(ctx: RequestContext, outer: ODataRequest, sub: SubRequest, respond: Responder) -> SubResponse:
    """Serve ``sub`` through the same pipeline as a top-level request, in process."""
    try:
        resource = _resource_of(sub.url, outer)
        if resource.split("?")[0].split("/")[0] == "$batch":
            raise bad_request("A batch cannot contain another $batch request.")
        if sub.method not in ("GET", "POST", "PATCH", "PUT", "DELETE", "MERGE"):
            raise method_not_allowed(f"{sub.method} is not an OData method.")
        headers = Headers([(k, v) for k, v in sub.headers.items() if k not in ("content-length", "host")])
        check_max_version(headers)
        encoding = headers.get("Content-Encoding")
        limit = limit_in(flask.request.environ)
        body = decode_content_encoding(sub.body, encoding, limit) if encoding else sub.payload()
    except ODataError as error:
        return _error_response(error)
    request = ODataRequest.from_relative_url(sub.method, resource, headers, body, outer.service_root)
    response = respond(ctx, request)
    out = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return SubResponse(response.status_code, out, response.get_data())


# --- change sets ---------------------------------------------------------------------------------------


def _run_change_set(
    ctx: RequestContext, outer: ODataRequest, subs: list[SubRequest]
) -> tuple[list[SubResponse], SubResponse | None]:
    """(one response per request, the single error response of a failed change set or None)."""
    model = ctx.model()
    operations: list[changeset.ChangeOperation] = []
    try:
        for index, sub in enumerate(subs):
            try:
                resource = _resource_of(sub.url, outer)
                entity = None if sub.document is _NO_DOCUMENT else sub.document
                operations.append(
                    changeset.compile_operation(
                        model, sub.method, resource, _PartHeaders(sub.headers), sub.body, entity=entity
                    )
                )
            except ODataError as error:
                return _failed_change_set(subs, index, error)
        changeset.plan_calls(operations)
    except ODataError as error:
        return _failed_change_set(subs, None, error)
    try:
        outcome = changeset.execute(ctx.source, operations)
    except CallBudgetExceeded as error:  # refused before the call: nothing was written
        return _failed_change_set(subs, None, ODataError(413, "BatchCallBudgetExceeded", str(error)))
    if outcome.error is not None:
        return _failed_change_set(subs, outcome.failed_index, outcome.error)
    responses = []
    shapers: dict[tuple, tuple[JsonFormat, Shaper]] = {}  # built once per kind of answer, not per record
    for sub, op, record_id, created in zip(subs, operations, outcome.ids, outcome.created, strict=True):
        responses.append(_success(ctx, outer, sub, op, record_id or "", created, shapers))
    return responses, None


def _success(
    ctx: RequestContext,
    outer: ODataRequest,
    sub: SubRequest,
    op: changeset.ChangeOperation,
    record_id: str,
    created: bool,
    shapers: dict[tuple, tuple[JsonFormat, Shaper]],
) -> SubResponse:
    if not created:
        return SubResponse(204)
    root = outer.service_root
    entity_url = f"{root}{op.entity_set.name}{key_segment(record_id)}"
    headers = {"Location": entity_url, "OData-EntityId": entity_url}
    if op.minimal:
        headers["Preference-Applied"] = "return=minimal"
        return SubResponse(204, headers)
    # The entity as written (key + the values sent), without a read back, so the change set stays one call;
    # shaped as the request asked ($format or Accept: metadata level, IEEE754Compatible), like any read.
    record = {"Id": record_id, **{k: v for k, v in op.record.items() if k != "attributes"}}
    select = tuple(name for name in op.entity_set.properties if name in record)
    key = (op.entity_set.name, urlsplit(sub.url).query, sub.headers.get("accept"), select)
    if key not in shapers:
        resource = _resource_of(sub.url, outer)
        part = ODataRequest.from_relative_url(sub.method, resource, Headers(sub.headers), b"", root)
        try:
            fmt = json_format(part.args, part.headers.get("Accept"))
        except ODataError:
            fmt = JsonFormat()  # already written: answer in the default format rather than fail
        shapers[key] = (fmt, Shaper.build(op.entity_set, select, (), fmt, root, ctx.model().namespace))
    fmt, shaper = shapers[key]
    body: dict[str, Any] = {}
    if fmt.metadata != "none":
        body["@odata.context"] = f"{root}$metadata#{op.entity_set.name}/$entity"
    body.update(shaper.shape(record))
    headers.update({"Content-Type": fmt.content_type, "OData-Version": ODATA_VERSION})
    return SubResponse(201, headers, document=body)


def _failed_change_set(
    subs: list[SubRequest], index: int | None, error: ODataError
) -> tuple[list[SubResponse], SubResponse]:
    failed = _error_response(error)
    where = f"request {subs[index].id or index + 1}" if index is not None else "the change set"
    others = _error_response(
        ODataError(
            424,
            "FailedDependency",
            f"Not applied: {where} of this change set failed, so nothing in it was written.",
        )
    )
    responses = [failed if index is None or i == index else others for i in range(len(subs))]
    return responses, failed


# --- multipart/mixed ------------------------------------------------------------------------------------


def _sub_from_part(part: multipart.HttpRequestPart, group: str | None) -> SubRequest:
    return SubRequest(part.content_id, part.method, part.url, part.headers, part.body, group)


def _multipart_batch(
    ctx: RequestContext, outer: ODataRequest, respond: Responder, content_type: str
) -> Response:
    try:
        items = multipart.parse_batch(outer.body, content_type)
    except multipart.MultipartError as error:
        raise multipart.bad_multipart(error) from None
    _check_size(sum(len(i.requests) if isinstance(i, multipart.ChangeSetPart) else 1 for i in items))
    check_call_budget(sum(1 for i in items if not isinstance(i, multipart.ChangeSetPart) or i.requests))
    out: list[multipart.HttpResponsePart | bytes] = []
    for number, item in enumerate(items):
        if isinstance(item, multipart.HttpRequestPart):
            response = _dispatch(ctx, outer, _sub_from_part(item, None), respond)
            out.append(multipart.HttpResponsePart(response.status, response.headers, response.body))
            continue
        subs = [_sub_from_part(part, f"changeset{number}") for part in item.requests]
        if not subs:
            continue
        responses, failure = _run_change_set(ctx, outer, subs)
        if failure is not None:
            out.append(multipart.HttpResponsePart(failure.status, failure.headers, failure.data()))
            continue
        parts = [
            multipart.HttpResponsePart(r.status, r.headers, r.data(), s.id)
            for s, r in zip(subs, responses, strict=True)
        ]
        out.append(multipart.write_change_set(parts))
    data, response_type = multipart.write_batch(out)
    return Response(data, status=200, content_type=response_type)


# --- JSON batch -----------------------------------------------------------------------------------------


def _json_requests(body: bytes) -> list[SubRequest]:
    document = parse_json(body, "JSON batch body")
    items = document.get("requests") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise bad_request('A JSON batch body is an object with a "requests" array.')
    _check_size(len(items))
    subs: list[SubRequest] = []
    seen_ids: set[str] = set()
    seen_groups: set[str] = set()
    closed_groups: set[str] = set()
    for position, item in enumerate(items):
        where = f"requests[{position}]"
        if not isinstance(item, dict):
            raise bad_request(f"{where} must be an object.")
        request_id, method, url = item.get("id"), item.get("method"), item.get("url")
        if not isinstance(request_id, str) or not request_id or request_id in seen_ids:
            raise bad_request(f"{where}: every request needs an id, unique in the batch.", target=where)
        if not isinstance(method, str) or not isinstance(url, str):
            raise bad_request(f"{where}: method and url are required strings.", target=where)
        group = item.get("atomicityGroup")
        if group is not None and (not isinstance(group, str) or group in seen_ids):
            raise bad_request(f"{where}: atomicityGroup must be a string distinct from request ids.")
        previous = subs[-1].group if subs else None
        if previous is not None and previous != group:
            closed_groups.add(previous)
        if group is not None and group in closed_groups:
            raise bad_request(f"{where}: the requests of atomicity group '{group}' must be adjacent.")
        depends = item.get("dependsOn") or []
        if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
            raise bad_request(f"{where}: dependsOn must be an array of request ids or atomicity groups.")
        for dependency in depends:
            if dependency not in seen_ids and dependency not in seen_groups:
                raise bad_request(f"{where}: dependsOn '{dependency}' is not an earlier request or group.")
        headers = item.get("headers") or {}
        if not isinstance(headers, dict):
            raise bad_request(f"{where}: headers must be an object.")
        headers = {str(k).lower(): str(v) for k, v in headers.items()}
        for name, value in headers.items():
            if any(ch in name + value for ch in "\r\n\0") or not name.strip():
                raise bad_request(
                    f"{where}: header '{name.strip()[:40]}' has a line break or NUL in its name or value.",
                    target=where,
                )
        raw = item.get("body")
        data, document = b"", _NO_DOCUMENT
        if raw is None:
            pass
        elif isinstance(raw, str) and not headers.get("content-type", "json").lower().startswith(
            "application/json"
        ):
            data = raw.encode("utf-8")
        else:
            document = raw
            headers.setdefault("content-type", "application/json")
        seen_ids.add(request_id)
        if group:
            seen_groups.add(group)
        subs.append(
            SubRequest(request_id, method.upper(), url, headers, data, group, tuple(depends), document)
        )
    return subs


def _json_response_item(sub: SubRequest, response: SubResponse) -> dict:
    item: dict[str, Any] = {"id": sub.id}
    if sub.group is not None:
        item["atomicityGroup"] = sub.group
    item["status"] = response.status
    headers = {k.lower(): v for k, v in response.headers.items() if k.lower() != "odata-version"}
    if headers:
        item["headers"] = headers
    if response.document is not None:
        item["body"] = response.document
    elif response.body:
        if headers.get("content-type", "").startswith("application/json"):
            item["body"] = json.loads(response.body)
        else:
            item["body"] = response.body.decode("utf-8", "replace")
    return item


def _json_batch(ctx: RequestContext, outer: ODataRequest, respond: Responder) -> Response:
    subs = _json_requests(outer.body)
    check_call_budget(len({s.group or f"request {n}" for n, s in enumerate(subs)}))
    failed: set[str] = set()  # ids and groups that failed
    results: list[dict] = []
    index = 0
    while index < len(subs):
        sub = subs[index]
        if sub.group is None:
            unit = [sub]
            index += 1
        else:
            end = index
            while end < len(subs) and subs[end].group == sub.group:
                end += 1
            unit = subs[index:end]
            index = end
        blocked = sorted({d for s in unit for d in s.depends_on if d in failed})
        if blocked:
            error = ODataError(
                424, "FailedDependency", f"Not run: it depends on '{blocked[0]}', which failed."
            )
            responses = [_error_response(error)] * len(unit)
        elif sub.group is None:
            responses = [_dispatch(ctx, outer, sub, respond)]
        else:
            responses, _ = _run_change_set(ctx, outer, unit)
        for s, r in zip(unit, responses, strict=True):
            if r.status >= 400:
                failed.add(s.id or "")
                if s.group:
                    failed.add(s.group)
            results.append(_json_response_item(s, r))
    return Response(dump_json({"responses": results}), status=200, content_type="application/json")


# --- entry point ----------------------------------------------------------------------------------------


def _check_size(count: int) -> None:
    if count > MAX_BATCH_REQUESTS:
        raise bad_request(f"A batch may hold at most {MAX_BATCH_REQUESTS} requests; this one has {count}.")


def handle_batch(ctx: RequestContext, req: ODataRequest, respond: Responder) -> Response:
    """Answer ``POST /odata/$batch``; ``respond`` serves each request outside change sets."""
    if req.method != "POST":
        raise method_not_allowed("$batch accepts POST only.", "POST")
    content_type = req.headers.get("Content-Type", "")
    if content_type.lower().startswith("multipart/mixed"):
        response = _multipart_batch(ctx, req, respond, content_type)
    elif content_type.lower().startswith("application/json"):
        response = _json_batch(ctx, req, respond)
    else:
        raise ODataError(
            415,
            "UnsupportedMediaType",
            "A $batch request is multipart/mixed (with a boundary) or application/json; "
            f"not '{content_type or 'no Content-Type'}'.",
        )
    if req.preferences.continue_on_error:
        response.headers["Preference-Applied"] = "odata.continue-on-error"
    return response
