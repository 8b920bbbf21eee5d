"""The local org's Composite resources beyond plain sObject Collections.

- ``POST /composite``: up to 25 subrequests in one API call, each dispatched to the org's own REST routes
  (not counted again). ``@{referenceId.field}`` in a later subrequest's url or body is replaced by a value
  of an earlier subrequest's response body. With ``allOrNone: true`` all subrequests run in one SQLite
  transaction, the flag also applies to every sObject Collections subrequest, and when a subrequest fails
  everything is rolled back: the failing subrequest keeps its own answer, every other one answers 400
  PROCESSING_HALTED, as Salesforce does. The response is 200 ``{"compositeResponse": [{"body",
  "httpHeaders", "httpStatusCode", "referenceId"}, ...]}`` in request order.
- ``PATCH /composite/sobjects/{SObject}/{ExternalIdField}``: upsert up to 200 records by an external ID;
  one result entry per record, ``created`` telling which were inserted.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import current_app, request
from werkzeug.exceptions import HTTPException

from .errors import SalesforceError
from .validation import ROLLED_BACK_MESSAGE

MAX_SUBREQUESTS = 25
MAX_COLLECTION_RECORDS = 200
SUBREQUEST_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
HALTED_MESSAGE = "The transaction was rolled back since another operation in the same transaction failed."
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_REFERENCE_ID = re.compile(r"^[A-Za-z0-9_]+$")


def invalid_input(message: str) -> SalesforceError:
    return SalesforceError(400, "INVALID_INPUT", message)


class _Halt(Exception):
    """Raised inside the all-or-none transaction to roll it back."""


def _subrequests(body: Any) -> tuple[list[dict], bool]:
    """The validated subrequests and the allOrNone flag; a malformed request fails as a whole (400)."""
    if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
        raise invalid_input("The request body must contain a compositeRequest array.")
    subrequests = body["compositeRequest"]
    if not subrequests:
        raise invalid_input("The compositeRequest array must contain at least one subrequest.")
    if len(subrequests) > MAX_SUBREQUESTS:
        raise SalesforceError(
            400,
            "LIMIT_EXCEEDED",
            f"A composite request can contain at most {MAX_SUBREQUESTS} subrequests; "
            f"this one contains {len(subrequests)}.",
        )
    seen: set[str] = set()
    for sub in subrequests:
        if not isinstance(sub, dict):
            raise invalid_input("Each subrequest must be a JSON object.")
        method, url, ref = sub.get("method"), sub.get("url"), sub.get("referenceId")
        if method not in SUBREQUEST_METHODS:
            raise invalid_input(f"Invalid method '{method}'; use one of {', '.join(SUBREQUEST_METHODS)}.")
        if not isinstance(url, str) or not url.startswith("/services/data/"):
            raise invalid_input(f"Invalid url '{url}': a subrequest url starts with /services/data/.")
        if not isinstance(ref, str) or not _REFERENCE_ID.match(ref):
            raise invalid_input(f"Invalid referenceId '{ref}'.")
        if ref in seen:
            raise invalid_input(f"Duplicate referenceId provided in the request: {ref}")
        seen.add(ref)
    return subrequests, bool(body.get("allOrNone", False))


def _resolve(value: Any, bodies: dict[str, Any]) -> Any:
    """``value`` with every ``@{ref.path}`` replaced from earlier response bodies; KeyError if missing."""
    if isinstance(value, dict):
        return {k: _resolve(v, bodies) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, bodies) for v in value]
    if not isinstance(value, str):
        return value

    def lookup(match: re.Match) -> str:
        ref, path = match.group(1), match.group(2)
        if ref not in bodies:
            raise KeyError(match.group(0))
        current = bodies[ref]
        for step in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
            try:
                current = current[step[0]] if step[0] else current[int(step[1])]
            except (KeyError, IndexError, TypeError) as error:
                raise KeyError(match.group(0)) from error
        return "" if current is None else str(current)

    return _REFERENCE.sub(lookup, value)


def _force_all_or_none(method: str, url: str, body: Any) -> tuple[str, Any]:
    """Collections subrequests of an all-or-none composite are all-or-none themselves."""
    path, _, query = url.partition("?")
    if "/composite/sobjects" not in path:
        return url, body
    if method == "DELETE":
        args = [a for a in query.split("&") if a and not a.lower().startswith("allornone=")]
        return path + "?" + "&".join(args + ["allOrNone=true"]), body
    if isinstance(body, dict):
        body = {**body, "allOrNone": True}
    return url, body


def _dispatch(method: str, url: str, body: Any, sub_headers: Any = None) -> tuple[int, dict[str, str], Any]:
    """Run one subrequest through the org's own routes: (status, headers, JSON body or None)."""
    path, _, query = url.partition("?")
    path = path.rstrip("/") or "/"
    if re.match(r"^/services/data/[^/]+/composite/?$", path):
        error = invalid_input("A composite subrequest cannot be another composite request.")
        return error.status, {}, error.body()
    adapter = current_app.url_map.bind("localhost")
    data = None if body is None else json.dumps(body)
    # a subrequest's own httpHeaders (Sforce-Query-Options, ...) apply to it; the session is the request's
    headers = (
        {str(k): str(v) for k, v in (sub_headers or {}).items()} if isinstance(sub_headers, dict) else {}
    )
    headers["Authorization"] = request.headers.get("Authorization", "")
    with current_app.test_request_context(
        path, method=method, query_string=query, data=data, content_type="application/json", headers=headers
    ):
        try:
            endpoint, view_args = adapter.match(path, method=method)
            response = current_app.make_response(current_app.view_functions[endpoint](**view_args))
        except SalesforceError as error:
            return error.status, {}, error.body()
        except HTTPException as error:
            response = current_app.handle_user_exception(error)
            response = current_app.make_response(response)
    answer = response.get_json(silent=True) if response.data else None
    out_headers: dict[str, str] = {}
    if response.status_code == 201 and isinstance(answer, dict) and answer.get("id"):
        out_headers["Location"] = f"{path}/{answer['id']}"
    return response.status_code, out_headers, answer


def _failed(status: int, body: Any) -> bool:
    if status >= 400:
        return True
    return isinstance(body, list) and any(isinstance(e, dict) and e.get("success") is False for e in body)


def _entry(ref: str, status: int, headers: dict[str, str], body: Any) -> dict:
    return {"body": body, "httpHeaders": headers, "httpStatusCode": status, "referenceId": ref}


def _halted(ref: str) -> dict:
    return _entry(ref, 400, {}, [{"errorCode": "PROCESSING_HALTED", "message": HALTED_MESSAGE}])


def _run(sub: dict, bodies: dict[str, Any], all_or_none: bool) -> tuple[int, dict[str, str], Any]:
    try:
        url = _resolve(sub["url"], bodies)
        body = _resolve(sub.get("body"), bodies)
    except KeyError as missing:
        reference = missing.args[0]
        message = f"Invalid reference specified. No value for {reference} found in an earlier subrequest."
        return 400, {}, [{"errorCode": "PROCESSING_HALTED", "message": message}]
    if all_or_none:
        url, body = _force_all_or_none(sub["method"], url, body)
    return _dispatch(sub["method"], url, body, sub.get("httpHeaders"))


def execute(store: Any, body: Any) -> dict:
    """Answer a ``POST /composite`` body (the caller has authenticated and counted the one API call)."""
    subrequests, all_or_none = _subrequests(body)
    bodies: dict[str, Any] = {}
    entries: list[dict] = []
    with store.lock:
        if not all_or_none:
            for sub in subrequests:
                status, headers, answer = _run(sub, bodies, False)
                if not _failed(status, answer):
                    bodies[sub["referenceId"]] = answer
                entries.append(_entry(sub["referenceId"], status, headers, answer))
            return {"compositeResponse": entries}
        try:
            with store.transaction():
                for sub in subrequests:
                    status, headers, answer = _run(sub, bodies, True)
                    entries.append(_entry(sub["referenceId"], status, headers, answer))
                    if _failed(status, answer):
                        raise _Halt
                    bodies[sub["referenceId"]] = answer
        except _Halt:
            failed = entries[-1]
            return {
                "compositeResponse": [
                    failed if sub["referenceId"] == failed["referenceId"] else _halted(sub["referenceId"])
                    for sub in subrequests
                ]
            }
    return {"compositeResponse": entries}


# --- upsert collections ------------------------------------------------------------------------------


def upsert_collection(store: Any, sobject_name: str, field_name: str, body: Any) -> list[dict]:
    """``PATCH /composite/sobjects/{SObject}/{ExternalIdField}``: one entry per record, in order."""
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise invalid_input("The request body must contain a records array.")
    records = body["records"]
    all_or_none = bool(body.get("allOrNone", False))
    if len(records) > MAX_COLLECTION_RECORDS:
        raise SalesforceError(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_COLLECTION_RECORDS} records into this call",
        )
    sobject = store.sobject(sobject_name)
    outcomes: list[tuple[str, bool] | SalesforceError] = []
    with store.lock:
        try:
            with store.transaction():
                for record in records:
                    try:
                        outcomes.append(_upsert_one(store, sobject, field_name, record))
                    except SalesforceError as error:
                        outcomes.append(error)
                if all_or_none and any(isinstance(o, SalesforceError) for o in outcomes):
                    raise _Halt
        except _Halt:
            return [_upsert_entry(o, rolled_back=True) for o in outcomes]
    return [_upsert_entry(o, rolled_back=False) for o in outcomes]


def _upsert_one(store: Any, sobject: Any, field_name: str, record: Any) -> tuple[str, bool]:
    if not isinstance(record, dict):
        raise SalesforceError(400, "INVALID_TYPE", "Must send a concrete entity type.")
    type_name = (record.get("attributes") or {}).get("type")
    if type_name and store.schema.get(type_name) is not sobject:
        raise SalesforceError(400, "INVALID_TYPE", f"Record type {type_name} does not match {sobject.name}.")
    key = next((k for k in record if k.lower() == field_name.lower()), None)
    if key is None or record[key] in (None, ""):
        raise SalesforceError(400, "MISSING_ARGUMENT", f"{field_name} not specified", [field_name])
    values = {k: v for k, v in record.items() if k != "attributes"}
    field = sobject.field(field_name)
    if field is not None and field["type"] == "id":
        values.pop(key)
    try:
        return store.upsert(sobject.name, field_name, record[key], values)
    except SalesforceError as error:
        if error.status != 300:
            raise
        message = f"Duplicate external id specified: {record[key]}"
        raise SalesforceError(400, "DUPLICATE_EXTERNAL_ID", message, [field_name]) from error


def _upsert_entry(outcome: tuple[str, bool] | SalesforceError, rolled_back: bool) -> dict:
    if isinstance(outcome, SalesforceError):
        return {"success": False, "errors": [outcome.composite_entry()]}
    if rolled_back:
        error = SalesforceError(400, "ALL_OR_NONE_OPERATION_ROLLED_BACK", ROLLED_BACK_MESSAGE)
        return {"success": False, "errors": [error.composite_entry()]}
    record_id, created = outcome
    return {"id": record_id, "success": True, "errors": [], "created": created}
