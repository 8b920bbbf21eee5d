"""Change sets (atomicity groups) of a ``$batch``: checked completely, then written in ONE all-or-none call.

1. ``compile_operation`` turns each request into a ``ChangeOperation`` with the Salesforce record to send,
   using the single-write checks of ``payload.py``. Any refusal fails the whole change set before any call
   to the source.
2. ``plan_calls`` groups consecutive operations of the same kind into sObject Collections chunks of at most
   200 records (order is kept). One chunk is one collection call with ``allOrNone``; several chunks become
   one Composite call (``allOrNone: true``, at most 25 subrequests). More than that cannot be atomic in one
   call and is refused with 400 — never split silently.
3. ``execute`` makes that one call and maps the result back to each operation: all succeeded, or the
   failing operation with its Salesforce error mapped to an OData error (the rest was rolled back).

Not supported inside a change set (501, nothing written): ``$<Content-ID>`` references, ``If-Match``
other than ``*``, read-only properties sent on update, delete by external ID, property and navigation
paths — each would need a read before the write, which a single all-or-none call cannot hold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from gateway.odata.http.errors import ODataError, bad_request, method_not_allowed, not_found, not_implemented
from gateway.odata.http.headers import effective_method, parse_prefer
from gateway.odata.http.resource_path import parse_resource_path
from gateway.odata.http.source_errors import odata_error_from_write
from gateway.odata.model.entities import EntitySet, Model
from gateway.odata.model.keys import key_property
from gateway.odata.write import payload
from gateway.source.connection import SourceError
from gateway.source.protocol import Source

MAX_COLLECTION_RECORDS = 200
MAX_COMPOSITE_SUBREQUESTS = 25
ROLLED_BACK = "ALL_OR_NONE_OPERATION_ROLLED_BACK"
HALTED = "PROCESSING_HALTED"


@dataclass(frozen=True)
class ChangeOperation:
    """One write of a change set, ready to send: ``record`` is a collection record, or an Id to delete."""

    kind: str  # create | update | delete | upsert
    entity_set: EntitySet
    record: Any
    external_field: str | None = None
    minimal: bool = False  # Prefer: return=minimal


@dataclass(frozen=True)
class Chunk:
    kind: str
    sobject: str | None  # upserts name their object and external ID field in the URL
    external_field: str | None
    operations: tuple[int, ...]  # indexes into the change set's operations


@dataclass
class Outcome:
    """What happened to a change set: the Ids written (one per operation) or the error and its operation."""

    ids: list[str | None] = field(default_factory=list)
    created: list[bool] = field(default_factory=list)
    error: ODataError | None = None
    failed_index: int | None = None  # None with an error: it applies to the change set as a whole


BodyParser = Callable[[bytes, str | None, EntitySet], dict]


def json_entity(raw: bytes, content_type: str | None, entity_set: EntitySet) -> dict:
    """The V4 face's entity body: an OData JSON object."""
    return payload.parse_entity_body(raw)


def compile_operation(
    model: Model,
    method: str,
    resource: str,
    headers: Mapping[str, str],
    body: bytes,
    parse_body: BodyParser = json_entity,
    entity: Any = None,
) -> ChangeOperation:
    """Check one change-set request (``resource``: the URL path after the service root, undecoded).

    ``parse_body`` turns the raw body (with its ``Content-Type``) into an OData JSON-shaped entity: the V2
    face passes its own, for JSON verbose and Atom. ``entity`` is a body already decoded from JSON (a JSON
    batch part), used instead of ``body``."""
    method = effective_method(method, headers)
    if method == "GET":
        raise bad_request("A change set may only contain writes; send GET requests outside change sets.")
    if method not in ("POST", "PATCH", "MERGE", "PUT", "DELETE"):
        raise method_not_allowed(f"{method} is not allowed in a change set.")
    if resource.startswith("$"):
        raise not_implemented(
            "$<Content-ID> references are not supported in change sets; address entities by their key."
        )
    address = unquote(resource.split("?", 1)[0])  # query options do not address
    if not address.strip("/"):
        raise bad_request(
            "A change-set request must address an entity set or an entity, not the service root."
        )
    path = parse_resource_path(address)
    entity_set = model.entity_set(path.entity_set)
    if entity_set is None:
        raise not_found(f"There is no entity set named '{path.entity_set}'.", target=path.entity_set)
    if path.member is not None or path.count or path.raw_value:
        raise not_implemented("Inside a change set only entities can be written (Set or Set('key')).")
    if_match = headers.get("If-Match")
    if if_match is not None and if_match.strip() != "*":
        raise not_implemented(
            "If-Match with an ETag is not supported inside a change set (it needs a read before the "
            "atomic write); send the conditional write on its own."
        )
    minimal = parse_prefer(headers.get("Prefer")).return_ == "minimal"
    content_type = headers.get("Content-Type")
    sobject = {"type": entity_set.sobject}
    if method == "POST":
        if path.key is not None:
            raise method_not_allowed("POST creates in an entity set, not on an entity.")
        payload.check_method_allowed(model, entity_set, "create")
        values = _convert(model, entity_set, body, "create", parse_body, content_type, entity).values
        return ChangeOperation("create", entity_set, {"attributes": sobject, **values}, minimal=minimal)
    if path.key is None:
        raise method_not_allowed(
            f"{method} needs an entity: {entity_set.name}('<key>').", target=entity_set.name
        )
    prop = key_property(entity_set, path.key)
    if prop.name != entity_set.key:
        if method == "DELETE":
            raise not_implemented("Delete by external ID is not supported inside a change set; use the Id.")
        payload.check_method_allowed(model, entity_set, "upsert")
        values = _convert(model, entity_set, body, "upsert", parse_body, content_type, entity).values
        values = {k: v for k, v in values.items() if k.lower() != prop.name.lower()}
        record = {"attributes": sobject, **values, prop.name: path.key.value}
        return ChangeOperation("upsert", entity_set, record, prop.name, minimal)
    record_id = path.key.value
    if method == "DELETE":
        payload.check_method_allowed(model, entity_set, "delete")
        return ChangeOperation("delete", entity_set, record_id)
    operation = "replace" if method == "PUT" else "update"
    payload.check_method_allowed(model, entity_set, operation)
    checked = _convert(model, entity_set, body, operation, parse_body, content_type, entity)
    if checked.read_only:
        names = ", ".join(sorted(checked.read_only))
        raise not_implemented(
            f"Read-only properties ({names}) cannot be sent inside a change set: comparing them needs a read "
            "before the atomic write. Leave them out, or send this update on its own.",
            target=sorted(checked.read_only)[0],
        )
    values = payload.replace_values(entity_set, checked) if operation == "replace" else checked.values
    return ChangeOperation("update", entity_set, {"attributes": sobject, **values, "Id": record_id})


def _convert(
    model: Model,
    entity_set: EntitySet,
    body: bytes,
    operation: Any,
    parse_body: BodyParser,
    content_type: str | None,
    decoded: Any = None,
) -> payload.WritePayload:
    if decoded is not None:
        entity = payload.entity_from_json(decoded)
    else:
        entity = parse_body(body, content_type, entity_set)
    for key, value in entity.items():
        if key.endswith("@odata.bind") and isinstance(value, str) and value.startswith("$"):
            raise not_implemented(
                "$<Content-ID> references are not supported in change sets; bind to an existing entity.",
                target=key,
            )
    return payload.convert_entity(model, entity_set, entity, operation)


# --- planning the one call ----------------------------------------------------------------------------


def plan_calls(operations: list[ChangeOperation]) -> list[Chunk]:
    """Consecutive operations of one kind → collection chunks of ≤ 200; 400 when more than one call."""
    runs: list[tuple[tuple[str, str | None, str | None], list[int]]] = []  # grown in place, frozen below
    for index, op in enumerate(operations):
        kind = (op.kind, op.entity_set.sobject if op.kind == "upsert" else None, op.external_field)
        if runs and runs[-1][0] == kind and len(runs[-1][1]) < MAX_COLLECTION_RECORDS:
            runs[-1][1].append(index)
        else:
            runs.append((kind, [index]))
    chunks = [Chunk(*kind, tuple(indexes)) for kind, indexes in runs]
    if len(chunks) > MAX_COMPOSITE_SUBREQUESTS:
        raise bad_request(
            f"This change set cannot be written atomically: it needs {len(chunks)} sObject Collections "
            f"calls, and Salesforce's largest all-or-none call holds {MAX_COMPOSITE_SUBREQUESTS} of them "
            f"(each up to {MAX_COLLECTION_RECORDS} records of one kind: create, update, delete or upsert "
            "by one external ID). Split it into smaller change sets, or group operations of the same kind "
            "together."
        )
    return chunks


def _subrequest(source: Source, chunk: Chunk, operations: list[ChangeOperation], ref: str) -> dict:
    base = source.data_path() + "/composite/sobjects"
    records = [operations[i].record for i in chunk.operations]
    if chunk.kind == "delete":
        url = f"{base}?ids={','.join(records)}&allOrNone=true"
        return {"method": "DELETE", "url": url, "referenceId": ref}
    body = {"allOrNone": True, "records": records}
    if chunk.kind == "upsert":
        url = f"{base}/{chunk.sobject}/{chunk.external_field}"
        return {"method": "PATCH", "url": url, "referenceId": ref, "body": body}
    method = "POST" if chunk.kind == "create" else "PATCH"
    return {"method": method, "url": base, "referenceId": ref, "body": body}


def _collection_call(source: Source, chunk: Chunk, operations: list[ChangeOperation]) -> list:
    records = [operations[i].record for i in chunk.operations]
    if chunk.kind == "upsert":
        return source.composite_upsert(chunk.sobject, chunk.external_field, records, True)
    method = {"create": "POST", "update": "PATCH", "delete": "DELETE"}[chunk.kind]
    return source.composite(method, records, True)


# --- executing it ---------------------------------------------------------------------------------------


def execute(source: Source, operations: list[ChangeOperation]) -> Outcome:
    """Write ``operations`` in one all-or-none call (plan_calls must have accepted them)."""
    chunks = plan_calls(operations)
    try:
        if len(chunks) == 1:
            results: list[Any] = [_collection_call(source, chunks[0], operations)]
        else:
            subrequests = [_subrequest(source, c, operations, f"chunk{i}") for i, c in enumerate(chunks)]
            answer = source.composite_request(subrequests, all_or_none=True)
            results = [_subrequest_result(entry) for entry in answer.get("compositeResponse", [])]
    except SourceError as error:
        return Outcome(error=odata_error_from_write(error))
    return _outcome(chunks, operations, results)


def _subrequest_result(entry: dict) -> Any:
    """A collection subrequest's entries, or a SourceError for a subrequest that failed as a whole."""
    status, body = entry.get("httpStatusCode", 500), entry.get("body")
    if status < 400 and isinstance(body, list):
        return body
    first = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else {}
    code = first.get("errorCode") or f"HTTP_{status}"
    return SourceError(status, code, first.get("message") or "", first.get("fields") or [], body)


def _outcome(chunks: list[Chunk], operations: list[ChangeOperation], results: list[Any]) -> Outcome:
    outcome = Outcome(ids=[None] * len(operations), created=[False] * len(operations))
    for chunk, result in zip(chunks, results, strict=False):
        if isinstance(result, SourceError):
            if result.error_code != HALTED:
                return _failed(operations, chunk.operations[0], result)
            continue
        for index, entry in zip(chunk.operations, result, strict=False):
            errors = entry.get("errors") or []
            if entry.get("success"):
                outcome.ids[index] = entry.get("id")
                outcome.created[index] = bool(entry.get("created", operations[index].kind == "create"))
            elif errors and errors[0].get("statusCode") != ROLLED_BACK:
                first = errors[0]
                error = SourceError(
                    400, first.get("statusCode", "UNKNOWN"), first.get("message", ""), first.get("fields"),
                    [{"errorCode": e.get("statusCode"), "message": e.get("message"),
                      "fields": e.get("fields") or []} for e in errors],
                )  # fmt: skip
                return _failed(operations, index, error)
    if len(results) != len(chunks) or any(i is None for i in outcome.ids):
        error = SourceError(502, "UNEXPECTED_RESPONSE", "the source did not report every record's result")
        return Outcome(error=odata_error_from_write(error))
    return outcome


def _failed(operations: list[ChangeOperation], index: int, error: SourceError) -> Outcome:
    mapped = odata_error_from_write(error, target=operations[index].entity_set.name)
    return Outcome(error=mapped, failed_index=index)
