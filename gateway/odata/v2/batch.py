"""V2 ``$batch``: a multipart/mixed batch answered ``202 Accepted`` with one response per request.

- Outside change sets each request (reads and single writes) goes through the same pipeline as a top-level
  V2 request (``dispatch.respond``), with the batch's authentication and CSRF check (done once).
- A change set is checked completely first (the core's ``changeset.compile_operation``, with this face's
  body parser for JSON verbose and Atom), then written in one all-or-none Salesforce call, exactly as a V4
  change set. When it fails nothing is written and, as OData V2 wants, the change set is answered by one
  error response. A successful change set answers each request: 201 with the entry as written (the key
  and the values sent, no read back, so the change set stays one call) or 204.

The multipart syntax is the core's (``http/multipart.py``); ``$<Content-ID>`` references are refused (501)
as on V4.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response
from werkzeug.datastructures import Headers

from gateway.odata.http import multipart
from gateway.odata.http.errors import ODataError, bad_request, method_not_allowed
from gateway.odata.http.request import ODataRequest, batch_part_resource_under
from gateway.odata.http.request_body import decode_content_encoding
from gateway.odata.http.resource_path import key_segment
from gateway.odata.model.entities import EntitySet
from gateway.odata.v2.bodies import parse_entity
from gateway.odata.v2.entries import EntryShaper
from gateway.odata.v2.responses import SERVICE_PREFIX, Call, entry_response, error_response
from gateway.odata.write import changeset

MAX_BATCH_REQUESTS = 1000
Responder = Callable[[Call], Response]


def _part(response: Response, content_id: str | None = None) -> multipart.HttpResponsePart:
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return multipart.HttpResponsePart(response.status_code, headers, response.get_data(), content_id)


def _sub_call(call: Call, part: multipart.HttpRequestPart) -> Call:
    resource = batch_part_resource_under(part.url, call.root, SERVICE_PREFIX)
    if resource.split("?")[0] == "$batch":
        raise bad_request("A batch cannot contain another $batch request.")
    headers = Headers([(k, v) for k, v in part.headers.items() if k not in ("content-length", "host")])
    encoding = headers.get("Content-Encoding")
    body = decode_content_encoding(part.body, encoding) if encoding else part.body
    request = ODataRequest.from_relative_url(part.method, resource, headers, body, call.root)
    return Call(call.ctx, request, call.search_param)


def _single(call: Call, part: multipart.HttpRequestPart, respond: Responder) -> multipart.HttpResponsePart:
    try:
        sub = _sub_call(call, part)
    except ODataError as error:
        return _part(error_response(error, call.req))
    return _part(respond(sub))


def _v2_body(raw: bytes, content_type: str | None, entity_set: EntitySet) -> dict:
    """A change-set request's body (JSON verbose or Atom) as the core's write checks take it."""
    return parse_entity(raw, content_type, entity_set)[0]


def _change_set(
    call: Call, parts: tuple[multipart.HttpRequestPart, ...]
) -> bytes | multipart.HttpResponsePart:
    """A successful change set's nested multipart, or the one error response of a failed one."""
    model = call.model
    operations: list[changeset.ChangeOperation] = []
    subs: list[Call] = []
    try:
        for part in parts:
            sub = _sub_call(call, part)
            subs.append(sub)
            operations.append(
                changeset.compile_operation(
                    model,
                    sub.req.method,
                    _part_resource(part, call.root),
                    sub.req.headers,
                    sub.req.body,
                    _v2_body,
                )
            )
        changeset.plan_calls(operations)
    except ODataError as error:
        return _part(error_response(error, call.req))
    outcome = changeset.execute(call.source, operations)
    if outcome.error is not None:
        return _part(error_response(outcome.error, call.req))
    responses = []
    for part, sub, op, record_id, created in zip(
        parts, subs, operations, outcome.ids, outcome.created, strict=True
    ):
        responses.append(_part(_success(sub, op, record_id or "", created), part.content_id))
    return multipart.write_change_set(responses)


def _part_resource(part: multipart.HttpRequestPart, service_root: str) -> str:
    return batch_part_resource_under(part.url, service_root, SERVICE_PREFIX).split("?")[0]


def _success(sub: Call, op: changeset.ChangeOperation, record_id: str, created: bool) -> Response:
    if not created:
        return Response(status=204)
    location = f"{sub.root}{op.entity_set.name}{key_segment(record_id)}"
    if op.minimal:
        response = Response(status=204)
        response.headers["Location"] = location
        return response
    record = {"Id": record_id, **{k: v for k, v in op.record.items() if k != "attributes"}}
    select = tuple(name for name in op.entity_set.properties if name in record)
    shaper = EntryShaper.build(op.entity_set, select, (), sub.root, sub.model.namespace)
    try:
        fmt = sub.format()
    except ODataError:
        fmt = "atom"  # already written: answer in the default format rather than fail
    return entry_response(shaper, record, fmt, 201, Location=location)


def handle_batch(call: Call, respond: Responder) -> Response:
    """``POST $batch`` with a multipart/mixed body."""
    if call.req.method != "POST":
        raise method_not_allowed("$batch answers POST only.", "POST")
    content_type = call.req.headers.get("Content-Type") or ""
    try:
        items = multipart.parse_batch(call.req.body, content_type)
    except multipart.MultipartError as error:
        raise multipart.bad_multipart(error) from None
    count = sum(len(i.requests) if isinstance(i, multipart.ChangeSetPart) else 1 for i in items)
    if count > MAX_BATCH_REQUESTS:
        raise bad_request(f"A batch may hold at most {MAX_BATCH_REQUESTS} requests; this one has {count}.")
    out: list[multipart.HttpResponsePart | bytes] = []
    for item in items:
        if isinstance(item, multipart.HttpRequestPart):
            out.append(_single(call, item, respond))
        elif item.requests:
            out.append(_change_set(call, item.requests))
    data, response_type = multipart.write_batch(out)
    return Response(data, status=202, content_type=response_type)
