"""The V4 face of single-entity writes: method and URL → a ``write/operations.py`` call → the response.

- ``POST Set`` creates; 201 with the entity read back (one more call), or 204 with ``Prefer:
  return=minimal``. ``Location`` and ``OData-EntityId`` name the new entity.
- ``POST Set('id')/Children`` creates a child linked to that parent.
- ``PATCH``/``MERGE Set('id')`` update only the properties sent; ``PUT`` replaces. 204, or 200 with the
  entity when ``Prefer: return=representation``.
- ``PATCH``/``PUT Set(Ext__c='k')`` is Salesforce's upsert by external ID: 201 when it created the record,
  204/200 when it updated it.
- ``DELETE Set('id')`` deletes (204).
- A method the addressed resource does not take is 405 with the ``Allow`` header the publication allows.
"""

from __future__ import annotations

from flask import Response

from gateway.odata.http.errors import bad_request, method_not_allowed
from gateway.odata.http.request import ODataRequest
from gateway.odata.http.resource_path import ResourcePath, key_segment
from gateway.odata.model.entities import EntitySet
from gateway.odata.model.keys import key_property
from gateway.odata.service import RequestContext
from gateway.odata.v4.negotiation import json_format
from gateway.odata.v4.responses import json_response
from gateway.odata.v4.shape import JsonFormat, Shaper
from gateway.odata.write import operations
from gateway.odata.write.payload import allowed_methods, check_method_allowed, parse_entity_body


def handle_write(
    ctx: RequestContext, req: ODataRequest, entity_set: EntitySet, path: ResourcePath
) -> Response:
    """Answer a POST, PATCH, MERGE, PUT or DELETE on ``path`` (tunnelled methods included)."""
    method = req.intended_method
    if method == "GET":  # a tunnelled GET is not a write; dispatch.py serves reads
        raise bad_request("X-HTTP-Method: GET is not a write.")
    model, source = ctx.model(), ctx.source
    if path.count or path.raw_value:
        raise method_not_allowed(f"{method} is not allowed on $count or $value.", "GET")
    if path.key is None:
        if method != "POST":
            operation = "update" if method != "DELETE" else "delete"
            check_method_allowed(model, entity_set, operation, single=False)
            raise method_not_allowed(
                f"{method} needs one entity: {entity_set.name}('<Id>'). POST to the entity set creates.",
                allowed_methods(entity_set, single=False),
            )
        return _created(ctx, req, entity_set, operations.create(source, model, entity_set, _body(req)))
    if path.member is not None:
        nav = operations.child_navigation(entity_set, path.member, method)
        target, record_id = operations.create_child(source, model, entity_set, path.key, nav, _body(req))
        return _created(ctx, req, target, record_id)
    if method == "POST":
        raise method_not_allowed(
            f"POST creates in an entity set ({entity_set.name}); to change this entity use PATCH.",
            allowed_methods(entity_set, single=True),
        )
    key_prop = key_property(entity_set, path.key).name
    if_match = req.headers.get("If-Match")
    if method == "DELETE":
        operations.delete(source, model, entity_set, path.key, if_match)
        return Response(status=204)
    replace = method == "PUT"
    if key_prop == entity_set.key:
        record_id = path.key.value
        operations.update(
            source, model, entity_set, record_id, _body(req), replace=replace, if_match=if_match
        )
        return _updated(ctx, req, entity_set, record_id)
    upserted = operations.upsert(
        source, model, entity_set, key_prop, path.key.value, _body(req), replace=replace, if_match=if_match
    )
    if upserted.created:
        return _created(ctx, req, entity_set, upserted.record_id)
    return _updated(ctx, req, entity_set, upserted.record_id)


def _body(req: ODataRequest) -> dict:
    return parse_entity_body(req.body)


def _entity_url(req: ODataRequest, entity_set: EntitySet, record_id: str) -> str:
    return f"{req.service_root}{entity_set.name}{key_segment(record_id)}"


def read_back(
    ctx: RequestContext, req: ODataRequest, entity_set: EntitySet, fmt: JsonFormat, record_id: str
) -> dict | None:
    """The entity as a GET by key shapes it (one query), with ``@odata.context``; None when gone."""
    model = ctx.model()
    select, record = operations.read_written(ctx.source, model, entity_set, record_id)
    if record is None:
        return None
    body: dict = {}
    if fmt.metadata != "none":
        body["@odata.context"] = f"{req.service_root}$metadata#{entity_set.name}/$entity"
    shaper = Shaper.build(entity_set, select, (), fmt, req.service_root, model.namespace)
    body.update(shaper.shape(record))
    return body


def _entity_response(
    ctx: RequestContext,
    req: ODataRequest,
    entity_set: EntitySet,
    record_id: str,
    status: int,
    *,
    created: bool,
) -> Response:
    fmt = json_format(req.args, req.headers.get("Accept"))
    headers: dict[str, str] = {}
    if created:
        headers["Location"] = headers["OData-EntityId"] = _entity_url(req, entity_set, record_id)
    body = read_back(ctx, req, entity_set, fmt, record_id)
    if body is None:
        # The source applied the write: never report it as failed (a retried create would duplicate it).
        # Answer without the representation, as return=minimal would.
        response = Response(status=204)
        response.headers["OData-EntityId"] = _entity_url(req, entity_set, record_id)
        if created:
            response.headers["Location"] = response.headers["OData-EntityId"]
        return response
    if body.get("@odata.etag"):
        headers["ETag"] = body["@odata.etag"]
    return json_response(body, status, fmt.content_type, **headers)


def _created(ctx: RequestContext, req: ODataRequest, entity_set: EntitySet, record_id: str) -> Response:
    if req.preferences.return_ == "minimal":
        response = Response(status=204)
        response.headers["Location"] = response.headers["OData-EntityId"] = _entity_url(
            req, entity_set, record_id
        )
        response.headers["Preference-Applied"] = "return=minimal"
        return response
    return _entity_response(ctx, req, entity_set, record_id, 201, created=True)


def _updated(ctx: RequestContext, req: ODataRequest, entity_set: EntitySet, record_id: str) -> Response:
    if req.preferences.return_ == "representation":
        response = _entity_response(ctx, req, entity_set, record_id, 200, created=False)
        response.headers["Preference-Applied"] = "return=representation"
        return response
    return Response(status=204)
