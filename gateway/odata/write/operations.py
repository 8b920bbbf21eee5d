"""Single-entity writes as plain functions of the core: every check before the one call to the source.

A face parses its request body into an OData JSON-shaped ``dict`` (the V4 face as sent; the V2 face from
JSON verbose or Atom) and answers in its own format; what is written, checked and refused is decided here,
once for both faces:

- ``create`` (1 call), ``create_child`` (``POST Parent('id')/Children``: the child's lookup set to the
  parent; +1 read when the parent is addressed by external ID);
- ``update`` (PATCH/MERGE only what was sent, PUT also clears the updatable properties not sent; 1 call,
  +1 read when ``If-Match`` is not ``*`` or read-only values were sent and must be compared);
- ``upsert`` by external ID (1 call; with ``If-Match`` only an existing record is updated, never created);
- ``delete`` (1 call; +1 read with ``If-Match`` or by external ID);
- ``read_written`` the entity as the read path selects it (1 query), for answers that return it.

``If-Match`` is checked against the record's current ETag (412 when stale). Salesforce has no conditional
update, so a change between that read and the write is not detected. Source errors become OData errors
(``odata_error_from_write``) naming the entity set.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from gateway.odata.http.errors import ODataError, bad_request, not_found, not_implemented
from gateway.odata.http.resource_path import KeyPredicate
from gateway.odata.http.source_errors import odata_error_from_write
from gateway.odata.model.entities import EntitySet, Model, NavigationProperty
from gateway.odata.model.keys import key_property
from gateway.odata.read.bind import bind
from gateway.odata.read.execute import read_entity, soql_text
from gateway.odata.read.plan import plan_read
from gateway.odata.read.query_options import QueryOptions
from gateway.odata.write import etags
from gateway.odata.write.payload import (
    Operation,
    Problem,
    WritePayload,
    check_method_allowed,
    convert_entity,
    problems_error,
    replace_values,
    unchanged_read_only_problems,
)
from gateway.soql.syntax import Comparison, Field, Query, StringLiteral
from gateway.source.connection import SourceError
from gateway.source.protocol import Source

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Upserted:
    record_id: str
    created: bool


def call(operation: Callable[[], T], target: str | None) -> T:
    """Run one source call; a source error becomes the OData error a write answers with."""
    try:
        return operation()
    except SourceError as error:
        raise odata_error_from_write(error, target) from error


def read_record(
    source: Source, entity_set: EntitySet, field: str, value: str, fields: list[str]
) -> dict | None:
    """The record whose ``field`` equals ``value`` with ``fields`` (one query), or None; 409 when an
    external ID matches several."""
    select = tuple(Field((name,)) for name in dict.fromkeys(["Id", *fields]))
    query = Query(select, entity_set.sobject, Comparison(Field((field,)), "=", StringLiteral(value)), limit=2)
    records = call(lambda: source.query(soql_text(query)), entity_set.name).get("records", [])
    if len(records) > 1:
        raise ODataError(
            409,
            "MULTIPLE_CHOICES",
            f"More than one {entity_set.name} has {field} '{value}'; address it by Id.",
            field,
        )
    return records[0] if records else None


def read_written(
    source: Source, model: Model, entity_set: EntitySet, record_id: str
) -> tuple[tuple[str, ...], dict | None]:
    """The properties the read path returns for ``entity_set`` and the record with them, read as a GET by
    key reads it (``read_entity``: one query), to answer a write the source has applied. None when it can no
    longer be read, or when reading it fails: that is logged, never raised, because the write happened and
    reporting it as failed would make a client retry a create into a duplicate."""
    plan = plan_read(bind(entity_set, model, QueryOptions()))
    key = Comparison(Field(("Id",)), "=", StringLiteral(record_id))
    try:
        return plan.select, call(lambda: read_entity(source, plan, key), entity_set.name)
    except ODataError as error:
        log.warning("%s %s was written but reading it back failed: %s", entity_set.name, record_id, error)
        return plan.select, None


def _check_fields(entity_set: EntitySet) -> list[str]:
    return ["SystemModstamp"] if entity_set.property("SystemModstamp") is not None else []


def precheck(
    source: Source,
    entity_set: EntitySet,
    field: str,
    value: str,
    payload: WritePayload,
    if_match: str | None,
    *,
    must_exist: bool,
) -> dict | None:
    """Read the current record when If-Match (other than ``*``) or read-only values need it; check both.

    Returns the record read (None when nothing needed reading, or it does not exist and need not)."""
    needs_etag = if_match is not None and if_match.strip() != etags.ANY
    needs_read = needs_etag or bool(payload.read_only) or (if_match is not None and not must_exist)
    if not needs_read:
        return None
    current = read_record(source, entity_set, field, value, [*_check_fields(entity_set), *payload.read_only])
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


def checked_payload(model: Model, entity_set: EntitySet, body: dict, operation: Operation) -> WritePayload:
    """405 unless the publication allows ``operation`` on the set; then the body checked and converted."""
    check_method_allowed(model, entity_set, operation)
    return convert_entity(model, entity_set, body, operation)


def create(source: Source, model: Model, entity_set: EntitySet, body: dict, extra: dict | None = None) -> str:
    """Create one record from ``body`` (plus ``extra`` Salesforce values); its Id."""
    payload = checked_payload(model, entity_set, body, "create")
    values = {**payload.values, **(extra or {})}
    return call(lambda: source.create(entity_set.sobject, values), entity_set.name)["id"]


def child_navigation(entity_set: EntitySet, member: str, method: str) -> NavigationProperty:
    """The collection navigation a write to ``Set('key')/<member>`` creates in: only a POST to one is a
    write there (``create_child``); any other write to a member of an entity is 501."""
    nav = entity_set.navigation.get(member)
    if method == "POST" and nav is not None and nav.collection:
        return nav
    raise not_implemented(
        f"{method} on '{member}' of an entity is not supported (nor links between entities: $links, "
        f"$ref); write the entity itself ({entity_set.name}('<Id>')) or POST to its entity set.",
        target=member,
    )


def create_child(
    source: Source,
    model: Model,
    parent_set: EntitySet,
    key: KeyPredicate,
    nav: NavigationProperty,
    body: dict,
) -> tuple[EntitySet, str]:
    """``POST Parent('id')/Children``: create a child whose lookup points at the parent; (set, Id)."""
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
    key_prop = key_property(parent_set, key).name
    parent_id = key.value
    if key_prop != parent_set.key:
        parent = read_record(source, parent_set, key_prop, key.value, [])
        if parent is None:
            raise not_found(f"No {parent_set.name} with that key.", target=parent_set.name)
        parent_id = parent["Id"]
    sent = body.get(nav.field)
    if sent is not None and str(sent)[:15] != parent_id[:15]:
        raise bad_request(
            f"{nav.field} in the body names another {parent_set.name} than the URL.", target=nav.field
        )
    return target, create(source, model, target, body, {nav.field: parent_id})


def update(
    source: Source,
    model: Model,
    entity_set: EntitySet,
    record_id: str,
    body: dict,
    *,
    replace: bool,
    if_match: str | None,
) -> None:
    """Update the record ``record_id``: only what was sent, or (``replace``) clearing what was not."""
    payload = checked_payload(model, entity_set, body, "replace" if replace else "update")
    values = replace_values(entity_set, payload) if replace else dict(payload.values)
    current = precheck(source, entity_set, "Id", record_id, payload, if_match, must_exist=True)
    if values:
        call(lambda: source.update(entity_set.sobject, record_id, values), entity_set.name)
    elif current is None and read_record(source, entity_set, "Id", record_id, []) is None:
        raise not_found(f"No {entity_set.name} with key '{record_id}'.", target=entity_set.name)


def upsert(
    source: Source,
    model: Model,
    entity_set: EntitySet,
    field: str,
    value: str,
    body: dict,
    *,
    replace: bool,
    if_match: str | None,
) -> Upserted:
    """PATCH/PUT ``Set(Ext__c='k')``: Salesforce's upsert, one call that creates or updates."""
    payload = checked_payload(model, entity_set, body, "upsert")
    sent_key = payload.values.pop(field, None)
    if sent_key is not None and sent_key != value:
        raise bad_request(f"{field} in the body differs from the key in the URL ('{value}').", target=field)
    values = replace_values(entity_set, payload) if replace else dict(payload.values)
    values.pop(field, None)
    current = precheck(source, entity_set, field, value, payload, if_match, must_exist=False)
    if current is not None and if_match is not None:
        # If-Match means "only if it exists": update that record, never create one.
        record_id = current["Id"]
        if values:
            call(lambda: source.update(entity_set.sobject, record_id, values), entity_set.name)
        return Upserted(record_id, False)
    result = call(lambda: source.upsert(entity_set.sobject, field, value, values), entity_set.name)
    return Upserted(result["id"], bool(result.get("created")))


def delete(
    source: Source, model: Model, entity_set: EntitySet, key: KeyPredicate, if_match: str | None
) -> None:
    """Delete the keyed record (by Id, or by external ID after finding its Id)."""
    check_method_allowed(model, entity_set, "delete")
    key_prop = key_property(entity_set, key).name
    record_id = key.value
    if key_prop != entity_set.key or (if_match is not None and if_match.strip() != etags.ANY):
        current = read_record(source, entity_set, key_prop, key.value, _check_fields(entity_set))
        if if_match is not None:
            etags.check_if_match(if_match, current, entity_set.name)
        if current is None:
            raise not_found(f"No {entity_set.name} with that key.", target=entity_set.name)
        record_id = current["Id"]
    call(lambda: source.delete(entity_set.sobject, record_id), entity_set.name)
