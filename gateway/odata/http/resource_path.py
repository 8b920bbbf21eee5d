"""Parse the resource path of an OData URL (the part after the service root).

Supported shapes: ``Set``, ``Set/$count``, ``Set('key')``, ``Set(Id='key')``, ``Set(Ext__c='k')``,
``Set('key')/Property``, ``Set('key')/Property/$value``, ``Set('key')/Nav``, ``Set('key')/Nav/$count``.
Names are checked against the model later (bind); this module only knows the syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from gateway.odata.http.errors import bad_request, not_implemented

_SEGMENT = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:\((?P<key>.*)\))?$", re.S)
_NAMED_KEY = re.compile(r"^\s*(?P<prop>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>.+?)\s*$", re.S)


@dataclass(frozen=True)
class KeyPredicate:
    """``('001…')`` has property None (the entity key); ``(Ext__c='K-1')`` names an alternate key."""

    value: str
    property: str | None = None


@dataclass(frozen=True)
class ResourcePath:
    entity_set: str
    key: KeyPredicate | None = None
    member: str | None = None  # a property or navigation property after the key
    count: bool = False  # ends in /$count
    raw_value: bool = False  # ends in /$value


def _string_literal(text: str, segment: str) -> str:
    text = text.strip()
    if len(text) < 2 or text[0] != "'" or text[-1] != "'":
        raise bad_request(
            f"The key in '{segment}' must be a string literal in single quotes, e.g. Account('001…').",
            target="key",
        )
    body = text[1:-1]
    if re.search(r"(?<!')'(?!')", body.replace("''", "")):
        raise bad_request(f"The key literal in '{segment}' has an unescaped quote; write '' for '.")
    return body.replace("''", "'")


def parse_key(text: str, segment: str) -> KeyPredicate:
    named = _NAMED_KEY.match(text)
    if named and not text.strip().startswith("'"):
        return KeyPredicate(_string_literal(named["value"], segment), named["prop"])
    return KeyPredicate(_string_literal(text, segment))


def parse_resource_path(path: str) -> ResourcePath:
    """``path`` is percent-decoded and has no leading slash; empty paths are the service document."""
    segments = [s for s in path.split("/") if s != ""]
    if not segments:
        raise ValueError("the service document has no resource path")
    for segment in segments[1:-1]:
        if segment in ("$count", "$value", "$ref"):
            raise bad_request(f"'{path}': {segment} can only end a resource path.")
    first = _SEGMENT.match(segments[0])
    if not first:
        raise bad_request(f"'{segments[0]}' is not a valid resource path segment.")
    key = parse_key(first["key"], segments[0]) if first["key"] is not None else None
    rest = segments[1:]
    count = bool(rest) and rest[-1] == "$count"
    raw_value = bool(rest) and rest[-1] == "$value"
    if count or raw_value:
        rest = rest[:-1]
    if key is None:
        if rest:
            raise not_implemented(
                f"'{path}': only an entity (Set('key')) can be followed by a property or navigation.",
            )
        if raw_value:
            raise bad_request("$value applies to a single property or media entity, not an entity set.")
        return ResourcePath(first["name"], count=count)
    if len(rest) > 1:
        raise not_implemented(
            f"'{path}': paths deeper than Set('key')/Member are not supported; use $expand or query the "
            "related entity set with $filter."
        )
    member = rest[0] if rest else None
    if member is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", member):
        raise bad_request(f"'{member}' is not a valid property name.")
    if count and member is None:
        raise bad_request("$count applies to a collection, not to a single entity.")
    if raw_value and member is None:
        raise bad_request("$value applies to a property, not to an entity.")
    return ResourcePath(first["name"], key, member, count, raw_value)


def key_segment(key: str, property: str | None = None) -> str:
    """``('001…')`` — the key predicate of an entity's canonical URL; ``(Ext__c='K-1')`` for an
    alternate key."""
    literal = "'" + quote(key.replace("'", "''"), safe="") + "'"
    return f"({literal})" if property is None else f"({property}={literal})"
