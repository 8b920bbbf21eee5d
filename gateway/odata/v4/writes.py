"""Write-back for single requests: create, update, replace, delete and upsert through the source's REST API.

- ``POST Set`` creates (one ``sobjects`` create call); 201 with the entity read back (one more call), or
  204 with ``Prefer: return=minimal``. ``Location`` and ``OData-EntityId`` name the new entity.
- ``POST Set('id')/Children`` creates a child linked to that parent.
- ``PATCH``/``MERGE Set('id')`` update only the properties sent; ``PUT`` replaces (updatable properties not
  sent become null, checkboxes false). 204, or 200 with the entity when ``Prefer: return=representation``.
- ``PATCH``/``PUT Set(Ext__c='k')`` is Salesforce's upsert by external ID in one call: 201 when it created
  the record, 204/200 when it updated it, and a retried request never creates a second record.
- ``DELETE Set('id')`` deletes (204); by external ID the Id is looked up first (one query).
- ``If-Match`` on PATCH/PUT/DELETE: the current SystemModstamp is read (one query) and compared, 412 when
  stale; ``*`` only needs the entity to exist, which the write itself checks. Salesforce has no
  conditional update, so a change between that read and the write is not detected.
- Everything about the body is checked by ``payload.py`` before any call: a refused write costs no API call
  and changes nothing; a write Salesforce refuses changes nothing either (each call is atomic).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request

from gateway.odata.http.errors import ODataError, bad_request, not_found, not_implemented
from gateway.odata.http.headers import Preferences, effective_method, parse_prefer
from gateway.odata.http.resource_path import KeyPredicate, ResourcePath
from gateway.odata.http.source_errors import odata_error_from_write
from gateway.odata.model.entities import EntitySet, Model, NavigationProperty
from gateway.odata.model.keys import key_property
from gateway.odata.read.bind import bind
from gateway.odata.read.execute import soql_text
from gateway.odata.read.plan import plan_read
from gateway.odata.read.query_options import parse_query_options
from gateway.odata.v4.negotiation import json_format
from gateway.odata.v4.request_context import current_gateway, service_root
from gateway.odata.v4.shape import JsonFormat, Shaper, key_segment
from gateway.odata.write import etags
from gateway.odata.write.payload import (
    Operation,
    Problem,
    WritePayload,
    allowed_methods,
    check_method_allowed,
    convert_entity,
    parse_entity_body,
    problems_error,
    replace_values,
    unchanged_read_only_problems,
)
from gateway.soql.syntax import Comparison, Field, Query, StringLiteral
from gateway.source.connection import SourceError


def request_method() -> str:
    """The method meant (``X-HTTP-Method`` tunnels PATCH, MERGE, PUT or DELETE over POST)."""
    return effective_method(request.method, request.headers)


def preferences() -> Preferences:
    return parse_prefer(request.headers.get("Prefer"))


def handle_write(entity_set: EntitySet, path: ResourcePath) -> Response:
    """Answer a POST, PATCH, MERGE, PUT or DELETE on ``path`` (tunnelled methods included)."""
    method = request_method()
    if method == "GET":  # a tunnelled GET is not a write; service.py serves reads
        raise bad_request("X-HTTP-Method: GET is not a write.")
    model = current_gateway().model()
    if path.count or path.raw_value:
        raise ODataError(
            405, "MethodNotAllowed", f"{method} is not allowed on $count or $value.", headers={"Allow": "GET"}
        )
    if path.key is None:
        if method != "POST":
            operation = "update" if method != "DELETE" else "delete"
            check_method_allowed(model, entity_set, operation, single=False)
            raise ODataError(
                405,
                "MethodNotAllowed",
                f"{method} needs one entity: {entity_set.name}('<Id>'). POST to the entity set creates.",
                headers={"Allow": allowed_methods(entity_set, single=False)},
            )
        return _create(model, entity_set, request.get_data())
    if path.member is not None:
        nav = entity_set.navigation.get(path.member)
        if method == "POST" and nav is not None and nav.collection:
            return _create_child(model, entity_set, path.key, nav)
        raise not_implemented(
            f"{method} on '{path.member}' of an entity is not supported; write the entity itself "
            f"({entity_set.name}('<Id>')) or POST to its entity set.",
            target=path.member,
        )
    if method == "POST":
        raise ODataError(
            405,
            "MethodNotAllowed",
            f"POST creates in an entity set ({entity_set.name}); to change this entity use PATCH.",
            headers={"Allow": allowed_methods(entity_set, single=True)},
        )
    key_prop = _key_property(entity_set, path.key)
    if method == "DELETE":
        return _delete(model, entity_set, path.key, key_prop)
    replace = method == "PUT"
    if key_prop == entity_set.key:
        return _update(model, entity_set, path.key.value, replace)
    return _upsert(model, entity_set, key_prop, path.key.value, replace)


# --- keys and reads -------------------------------------------------------------------------------------


def _key_property(entity_set: EntitySet, key: KeyPredicate) -> str:
    return key_property(entity_set, key).name


def _call(operation: Any, target: str | None) -> Any:
    try:
        return operation()
    except SourceError as error:
        raise odata_error_from_write(error, target) from error


def read_record(entity_set: EntitySet, field: str, value: str, fields: list[str]) -> dict | None:
    """The record whose ``field`` equals ``value`` with ``fields`` (one query), or None."""
    select = tuple(Field((name,)) for name in dict.fromkeys(["Id", *fields]))
    query = Query(select, entity_set.sobject, Comparison(Field((field,)), "=", StringLiteral(value)), limit=2)
    records = _call(lambda: current_gateway().source.query(soql_text(query)), entity_set.name).get(
        "records", []
    )
    if len(records) > 1:
        raise ODataError(
            409,
            "MULTIPLE_CHOICES",
            f"More than one {entity_set.name} has {field} '{value}'; address it by Id.",
            field,
        )
    return records[0] if records else None


def _check_fields(entity_set: EntitySet) -> list[str]:
    return ["SystemModstamp"] if entity_set.property("SystemModstamp") is not None else []


def _precheck(
    entity_set: EntitySet, field: str, value: str, payload: WritePayload, *, must_exist: bool
) -> dict | None:
    """Read the current record when If-Match (other than ``*``) or read-only values need it; check both.

    Returns the record read (None when nothing needed reading, or it does not exist and need not)."""
    if_match = request.headers.get("If-Match")
    needs_etag = if_match is not None and if_match.strip() != etags.ANY
    needs_read = needs_etag or bool(payload.read_only) or (if_match is not None and not must_exist)
    if not needs_read:
        return None
    current = read_record(entity_set, field, value, [*_check_fields(entity_set), *payload.read_only])
    if if_match is not None:
        etags.check_if_match(if_match, current, entity_set.name)
    elif current is None and must_exist:
        raise not_found(f"No {entity_set.name} with that key.", target=entity_set.name)
    if current is not None:
        problems = unchanged_read_only_problems(entity_set, payload, current)
        if problems:
            raise problems_error(problems)
    elif payload.read_only:
        # Creating by upsert: read-only values cannot be set, only left empty.
        problems = [
            Problem(
                name,
                f"{name} cannot be set on create: it is read-only in {entity_set.name}.",
                "ReadOnlyProperty",
            )
            for name, sent in payload.read_only.items()
            if sent not in (None, "")
        ]
        if problems:
            raise problems_error(problems)
    return current


# --- responses ------------------------------------------------------------------------------------------


def _entity_url(entity_set: EntitySet, record_id: str) -> str:
    return f"{service_root()}{entity_set.name}{key_segment(record_id)}"


def read_back(model: Model, entity_set: EntitySet, record_id: str, fmt: JsonFormat) -> dict | None:
    """The entity as the read path shapes it (one query), with ``@odata.context``; None when gone."""
    plan = plan_read(bind(entity_set, model, parse_query_options({})))
    query = Query(
        plan.query.select,
        entity_set.sobject,
        Comparison(Field(("Id",)), "=", StringLiteral(record_id)),
        limit=1,
    )
    records = _call(lambda: current_gateway().source.query(soql_text(query)), entity_set.name).get(
        "records", []
    )
    if not records:
        return None
    body: dict = {}
    if fmt.metadata != "none":
        body["@odata.context"] = f"{service_root()}$metadata#{entity_set.name}/$entity"
    shaper = Shaper.build(entity_set, plan.select, (), fmt, service_root(), model.namespace)
    body.update(shaper.shape(records[0]))
    return body


def _entity_response(
    model: Model, entity_set: EntitySet, record_id: str, status: int, *, created: bool
) -> Response:
    fmt = json_format(request.args, request.headers.get("Accept"))
    headers: dict[str, str] = {}
    if created:
        headers["Location"] = headers["OData-EntityId"] = _entity_url(entity_set, record_id)
    body = read_back(model, entity_set, record_id, fmt)
    if body is None:
        raise not_found(
            f"The {entity_set.name} was written but can no longer be read.", target=entity_set.name
        )
    if body.get("@odata.etag"):
        headers["ETag"] = body["@odata.etag"]
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    response = Response(text, status=status, content_type=fmt.content_type)
    response.headers.update(headers)
    return response


def _no_content(entity_set: EntitySet, record_id: str, *, created: bool, applied: str | None) -> Response:
    response = Response(status=204)
    if created:
        response.headers["Location"] = response.headers["OData-EntityId"] = _entity_url(entity_set, record_id)
    if applied:
        response.headers["Preference-Applied"] = applied
    return response


# --- operations -----------------------------------------------------------------------------------------


def _payload(model: Model, entity_set: EntitySet, raw: bytes, operation: Operation) -> WritePayload:
    check_method_allowed(model, entity_set, operation)
    return convert_entity(model, entity_set, parse_entity_body(raw), operation)


def _create(model: Model, entity_set: EntitySet, raw: bytes, extra: dict | None = None) -> Response:
    payload = _payload(model, entity_set, raw, "create")
    values = {**payload.values, **(extra or {})}
    source = current_gateway().source
    result = _call(lambda: source.create(entity_set.sobject, values), entity_set.name)
    record_id = result["id"]
    if preferences().return_ == "minimal":
        return _no_content(entity_set, record_id, created=True, applied="return=minimal")
    return _entity_response(model, entity_set, record_id, 201, created=True)


def _create_child(
    model: Model, parent_set: EntitySet, key: KeyPredicate, nav: NavigationProperty
) -> Response:
    """``POST Parent('id')/Children``: create a child whose lookup points at the parent."""
    target = model.entity_set(nav.target_set)
    if target is None:
        raise not_found(f"'{nav.name}' leads to an unpublished entity set.")
    lookup = target.properties.get(nav.field)
    check_method_allowed(model, target, "create")
    if lookup is None or not lookup.insertable:
        raise bad_request(
            f"Cannot create {target.name} through '{nav.name}': its lookup {nav.field} is not writable.",
            target=nav.field,
        )
    key_prop = _key_property(parent_set, key)
    parent_id = key.value
    if key_prop != parent_set.key:
        parent = read_record(parent_set, key_prop, key.value, [])
        if parent is None:
            raise not_found(f"No {parent_set.name} with that key.", target=parent_set.name)
        parent_id = parent["Id"]
    body = parse_entity_body(request.get_data())
    sent = body.get(nav.field)
    if sent is not None and str(sent)[:15] != parent_id[:15]:
        raise bad_request(
            f"{nav.field} in the body names another {parent_set.name} than the URL.", target=nav.field
        )
    return _create(model, target, request.get_data(), {nav.field: parent_id})


def _update(model: Model, entity_set: EntitySet, record_id: str, replace: bool) -> Response:
    payload = _payload(model, entity_set, request.get_data(), "replace" if replace else "update")
    values = replace_values(entity_set, payload) if replace else dict(payload.values)
    current = _precheck(entity_set, "Id", record_id, payload, must_exist=True)
    if values:
        _call(lambda: current_gateway().source.update(entity_set.sobject, record_id, values), entity_set.name)
    elif current is None and read_record(entity_set, "Id", record_id, []) is None:
        raise not_found(f"No {entity_set.name} with key '{record_id}'.", target=entity_set.name)
    return _updated(model, entity_set, record_id)


def _updated(model: Model, entity_set: EntitySet, record_id: str) -> Response:
    if preferences().return_ == "representation":
        response = _entity_response(model, entity_set, record_id, 200, created=False)
        response.headers["Preference-Applied"] = "return=representation"
        return response
    return Response(status=204)


def _upsert(model: Model, entity_set: EntitySet, field: str, value: str, replace: bool) -> Response:
    """PATCH/PUT ``Set(Ext__c='k')``: Salesforce's upsert, one call that creates or updates."""
    payload = _payload(model, entity_set, request.get_data(), "upsert")
    sent_key = payload.values.pop(field, None)
    if sent_key is not None and sent_key != value:
        raise bad_request(f"{field} in the body differs from the key in the URL ('{value}').", target=field)
    values = replace_values(entity_set, payload) if replace else dict(payload.values)
    values.pop(field, None)
    current = _precheck(entity_set, field, value, payload, must_exist=False)
    source = current_gateway().source
    if current is not None and request.headers.get("If-Match") is not None:
        # If-Match means "only if it exists": update that record, never create one.
        record_id = current["Id"]
        if values:
            _call(lambda: source.update(entity_set.sobject, record_id, values), entity_set.name)
        return _updated(model, entity_set, record_id)
    result = _call(lambda: source.upsert(entity_set.sobject, field, value, values), entity_set.name)
    record_id = result["id"]
    if not result.get("created"):
        return _updated(model, entity_set, record_id)
    if preferences().return_ == "minimal":
        return _no_content(entity_set, record_id, created=True, applied="return=minimal")
    return _entity_response(model, entity_set, record_id, 201, created=True)


def _delete(model: Model, entity_set: EntitySet, key: KeyPredicate, key_prop: str) -> Response:
    check_method_allowed(model, entity_set, "delete")
    if_match = request.headers.get("If-Match")
    record_id = key.value
    if key_prop != entity_set.key or (if_match is not None and if_match.strip() != etags.ANY):
        current = read_record(entity_set, key_prop, key.value, _check_fields(entity_set))
        if if_match is not None:
            etags.check_if_match(if_match, current, entity_set.name)
        if current is None:
            raise not_found(f"No {entity_set.name} with that key.", target=entity_set.name)
        record_id = current["Id"]
    _call(lambda: current_gateway().source.delete(entity_set.sobject, record_id), entity_set.name)
    return Response(status=204)
