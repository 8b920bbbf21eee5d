"""The V2 face's writes: V2 syntax and formats around the core's single-entity writes.

- ``POST Set`` creates: 201 with the entry (its ``Location`` and ``ETag``), in the format asked for (Accept /
  ``$format``) or else the format the body came in — Salesforce Connect writes in the format it reads;
  204 with ``Prefer: return=minimal``. ``POST Set('id')/Children`` creates a child of that parent.
- ``PUT`` replaces (updatable properties not sent are cleared), ``MERGE`` and ``PATCH`` change only what was
  sent; 204. Also as ``POST`` with ``X-HTTP-Method``. By external ID (``Set(Ext__c='k')``) they upsert: 201
  with the entry when that created the record.
- ``DELETE`` 204. ``If-Match`` works on all of them (412 when stale), with the ETags the reads give.

Everything checked and written is the core's (``write/operations.py``): the same refusals, API calls and
atomicity as the V4 face.
"""

from __future__ import annotations

from flask import Response

from gateway.odata.http.errors import method_not_allowed, not_found
from gateway.odata.http.resource_path import ResourcePath, key_segment
from gateway.odata.model.entities import EntitySet
from gateway.odata.model.keys import key_property
from gateway.odata.v2.bodies import parse_entity
from gateway.odata.v2.entries import EntryShaper
from gateway.odata.v2.negotiation import Format
from gateway.odata.v2.responses import Call, entry_response
from gateway.odata.write import operations
from gateway.odata.write.payload import allowed_methods, check_method_allowed


def handle_write(call: Call, entity_set: EntitySet, path: ResourcePath) -> Response:
    """Answer a POST, PUT, MERGE, PATCH or DELETE (tunnelled ones included) on ``path``."""
    req = call.req
    method = req.intended_method
    model, source = call.model, call.source
    if path.count or path.raw_value:
        raise method_not_allowed(f"{method} is not allowed on $count or $value.", "GET")
    if_match = req.headers.get("If-Match")
    if path.key is None:
        if method != "POST":
            check_method_allowed(
                model, entity_set, "delete" if method == "DELETE" else "update", single=False
            )
            raise method_not_allowed(
                f"{method} needs one entity: {entity_set.name}('<Id>'). POST to the entity set creates.",
                allowed_methods(entity_set, single=False),
            )
        body, sent_as = parse_entity(req.body, req.headers.get("Content-Type"), entity_set)
        return _created(call, entity_set, operations.create(source, model, entity_set, body), sent_as)
    if path.member is not None:
        nav = operations.child_navigation(entity_set, path.member, method)
        target = model.entity_set(nav.target_set)
        if target is None:
            raise not_found(f"'{nav.name}' leads to an unpublished entity set.")
        body, sent_as = parse_entity(req.body, req.headers.get("Content-Type"), target)
        target, record_id = operations.create_child(source, model, entity_set, path.key, nav, body)
        return _created(call, target, record_id, sent_as)
    if method == "POST":
        raise method_not_allowed(
            f"POST creates in an entity set ({entity_set.name}); to change this entity use MERGE or PUT.",
            allowed_methods(entity_set, single=True),
        )
    if method == "DELETE":
        operations.delete(source, model, entity_set, path.key, if_match)
        return Response(status=204)
    body, sent_as = parse_entity(req.body, req.headers.get("Content-Type"), entity_set)
    replace = method == "PUT"
    field = key_property(entity_set, path.key).name
    if field == entity_set.key:
        operations.update(source, model, entity_set, path.key.value, body, replace=replace, if_match=if_match)
        return Response(status=204)
    result = operations.upsert(
        source, model, entity_set, field, path.key.value, body, replace=replace, if_match=if_match
    )
    if not result.created:
        return Response(status=204)
    return _created(call, entity_set, result.record_id, sent_as)


def _answer_format(call: Call, sent_as: str) -> Format:
    if call.req.args.get("$format") or call.req.headers.get("Accept"):
        return call.format()
    return "json" if sent_as == "json" else "atom"


def _created(call: Call, entity_set: EntitySet, record_id: str, sent_as: str) -> Response:
    """201 with the entry read back (one query), or 204 with ``Prefer: return=minimal``."""
    location = f"{call.root}{entity_set.name}{key_segment(record_id)}"
    if call.req.preferences.return_ == "minimal":
        response = Response(status=204)
        response.headers["Location"] = location
        return response
    fmt = _answer_format(call, sent_as)
    select, record = operations.read_written(call.source, call.model, entity_set, record_id)
    if record is None:
        # The source applied the write: never report it as failed (a retried create would duplicate it).
        response = Response(status=204)
        response.headers["Location"] = location
        return response
    shaper = EntryShaper.build(entity_set, select, (), call.root, call.model.namespace)
    return entry_response(shaper, record, fmt, 201, Location=location)
