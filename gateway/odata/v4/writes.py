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
- The V4 face only parses the body and shapes the answer; what is checked and written is the core's
  (``write/operations.py``, shared with the V2 face). Everything about the body is checked by ``payload.py``
  before any call: a refused write costs no API call
  and changes nothing; a write Salesforce refuses changes nothing either (each call is atomic).
"""

from __future__ import annotations

import json

from flask import Response, request

from gateway.odata.http.errors import ODataError, bad_request, not_found, not_implemented
from gateway.odata.http.headers import Preferences, effective_method, parse_prefer
from gateway.odata.http.resource_path import KeyPredicate, ResourcePath
from gateway.odata.model.entities import EntitySet, Model, NavigationProperty
from gateway.odata.model.keys import key_property
from gateway.odata.v4.negotiation import json_format
from gateway.odata.v4.request_context import current_gateway, service_root
from gateway.odata.v4.shape import JsonFormat, Shaper, key_segment
from gateway.odata.write import operations
from gateway.odata.write.payload import (
    allowed_methods,
    check_method_allowed,
    parse_entity_body,
)


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
        return _create(model, entity_set)
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
    if method == "DELETE":
        return _delete(model, entity_set, path.key)
    key_prop = key_property(entity_set, path.key).name
    replace = method == "PUT"
    if key_prop == entity_set.key:
        return _update(model, entity_set, path.key.value, replace)
    return _upsert(model, entity_set, key_prop, path.key.value, replace)


# --- responses ------------------------------------------------------------------------------------------


def _entity_url(entity_set: EntitySet, record_id: str) -> str:
    return f"{service_root()}{entity_set.name}{key_segment(record_id)}"


def read_back(model: Model, entity_set: EntitySet, record_id: str, fmt: JsonFormat) -> dict | None:
    """The entity as the read path shapes it (one query), with ``@odata.context``; None when gone."""
    select, record = operations.read_written(current_gateway().source, model, entity_set, record_id)
    if record is None:
        return None
    body: dict = {}
    if fmt.metadata != "none":
        body["@odata.context"] = f"{service_root()}$metadata#{entity_set.name}/$entity"
    shaper = Shaper.build(entity_set, select, (), fmt, service_root(), model.namespace)
    body.update(shaper.shape(record))
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


# --- operations (the core's write/operations.py does the work) -----------------------------------------


def _body() -> dict:
    return parse_entity_body(request.get_data())


def _if_match() -> str | None:
    return request.headers.get("If-Match")


def _created(model: Model, entity_set: EntitySet, record_id: str) -> Response:
    if preferences().return_ == "minimal":
        return _no_content(entity_set, record_id, created=True, applied="return=minimal")
    return _entity_response(model, entity_set, record_id, 201, created=True)


def _create(model: Model, entity_set: EntitySet) -> Response:
    record_id = operations.create(current_gateway().source, model, entity_set, _body())
    return _created(model, entity_set, record_id)


def _create_child(
    model: Model, parent_set: EntitySet, key: KeyPredicate, nav: NavigationProperty
) -> Response:
    """``POST Parent('id')/Children``: create a child whose lookup points at the parent."""
    target, record_id = operations.create_child(
        current_gateway().source, model, parent_set, key, nav, _body()
    )
    return _created(model, target, record_id)


def _update(model: Model, entity_set: EntitySet, record_id: str, replace: bool) -> Response:
    source = current_gateway().source
    operations.update(source, model, entity_set, record_id, _body(), replace=replace, if_match=_if_match())
    return _updated(model, entity_set, record_id)


def _updated(model: Model, entity_set: EntitySet, record_id: str) -> Response:
    if preferences().return_ == "representation":
        response = _entity_response(model, entity_set, record_id, 200, created=False)
        response.headers["Preference-Applied"] = "return=representation"
        return response
    return Response(status=204)


def _upsert(model: Model, entity_set: EntitySet, field: str, value: str, replace: bool) -> Response:
    """PATCH/PUT ``Set(Ext__c='k')``: Salesforce's upsert, one call that creates or updates."""
    source = current_gateway().source
    result = operations.upsert(
        source, model, entity_set, field, value, _body(), replace=replace, if_match=_if_match()
    )
    if not result.created:
        return _updated(model, entity_set, result.record_id)
    return _created(model, entity_set, result.record_id)


def _delete(model: Model, entity_set: EntitySet, key: KeyPredicate) -> Response:
    operations.delete(current_gateway().source, model, entity_set, key, _if_match())
    return Response(status=204)
