"""The published model as one source-org user sees it, from their own describe.

A published property the user's describe does not list is ``hidden`` (null in every answer, refused in
``$filter``/``$orderby``, refused in writes unless null); one they can read but not create or update (where
the publication allows it) is ``read-only`` for them. Entity sets keep their published operations: whether
the user may write a record is the source org's answer (sharing), not a guess here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from gateway.odata.model.entities import HIDDEN, READ_ONLY, EntitySet, Model, Property


def restrict_model(model: Model, describe: Callable[[str], dict | None]) -> Model:
    """``model`` with each property's ``field_security`` set from ``describe(sobject)`` (the user's own;
    None when they cannot see the object at all: every property but the key is then hidden and the entity set
    not ``readable``: reads of it and expansions to it are 403)."""
    described: dict[str, dict | None] = {}
    sets = {}
    for name, entity_set in model.entity_sets.items():
        key = entity_set.sobject.lower()
        if key not in described:
            described[key] = describe(entity_set.sobject)
        sets[name] = _restrict_set(entity_set, described[key])
    return dataclasses.replace(model, entity_sets=sets)


def _restrict_set(entity_set: EntitySet, describe: dict | None) -> EntitySet:
    fields = {f["name"].lower(): f for f in (describe or {}).get("fields", [])}
    properties = {}
    for name, prop in entity_set.properties.items():
        field = fields.get(name.lower())
        if field is None and name != entity_set.key:
            properties[name] = _restricted(prop, HIDDEN, insertable=False, updatable=False)
            continue
        field = field or {}
        insertable = prop.insertable and bool(field.get("createable", True))
        updatable = prop.updatable and bool(field.get("updateable", True))
        if (insertable, updatable) != (prop.insertable, prop.updatable):
            properties[name] = _restricted(prop, READ_ONLY, insertable=insertable, updatable=updatable)
        else:
            properties[name] = prop
    return dataclasses.replace(entity_set, properties=properties, readable=describe is not None)


def _restricted(prop: Property, security: str, *, insertable: bool, updatable: bool) -> Property:
    return dataclasses.replace(prop, field_security=security, insertable=insertable, updatable=updatable)
