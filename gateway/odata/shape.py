"""Shape Salesforce records as OData v4 JSON.

Values: Salesforce datetimes (``2024-03-01T12:00:00.000+0000``) become ``2024-03-01T12:00:00.000Z``, times
lose their ``Z``, decimals stay JSON numbers unless the client asked for ``IEEE754Compatible=true`` (then
Decimal and Int64 values, and the count, are strings). Control information follows the metadata level:
``minimal`` (context, etag, nextLink, count), ``full`` (plus type, id, edit and navigation links),
``none`` (only nextLink and count).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from gateway.odata.model import EntitySet, Property


@dataclass(frozen=True)
class JsonFormat:
    """What the client asked for: ``metadata`` is minimal, full or none."""

    metadata: str = "minimal"
    ieee754: bool = False

    @property
    def content_type(self) -> str:
        text = f"application/json;odata.metadata={self.metadata}"
        if self.ieee754:
            text += ";IEEE754Compatible=true"
        return text


@dataclass(frozen=True)
class Expansion:
    """One expanded navigation property as shaping needs it."""

    name: str
    target: EntitySet
    select: tuple[str, ...]
    collection: bool


def odata_value(prop: Property, value: Any, fmt: JsonFormat) -> Any:
    """A Salesforce JSON value as the OData JSON value of ``prop``."""
    if value is None:
        return None
    edm = prop.edm_type
    if edm == "Edm.DateTimeOffset":
        return sf_datetime_to_odata(value)
    if edm == "Edm.TimeOfDay":
        return value.rstrip("Z")
    if edm == "Edm.Decimal":
        number = Decimal(str(value))
        if prop.scale is not None and prop.scale >= 0:
            number = number.quantize(Decimal(1).scaleb(-prop.scale)) if number == number else number
        return str(number) if fmt.ieee754 else _json_number(number)
    if edm in ("Edm.Int32", "Edm.Int64"):
        return str(int(value)) if fmt.ieee754 and edm == "Edm.Int64" else int(value)
    return value


def _json_number(number: Decimal) -> int | float:
    # Whole amounts print as integers (1500), others as the shortest float (1500.25).
    if number == number.to_integral_value():
        return int(number)
    return float(number)


def sf_datetime_to_odata(value: str) -> str:
    """``2024-03-01T12:00:00.000+0000`` → ``2024-03-01T12:00:00.000Z`` (always UTC, milliseconds)."""
    parsed = dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(dt.UTC)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S.") + f"{parsed.microsecond // 1000:03d}Z"


def key_segment(key: str) -> str:
    """``('001…')`` — the key predicate of an entity's canonical URL."""
    return "('" + quote(key.replace("'", "''"), safe="") + "')"


def etag(entity_set: EntitySet, record: dict) -> str | None:
    """A weak ETag from SystemModstamp, when it is published and was read."""
    stamp = record.get("SystemModstamp")
    if stamp is None or entity_set.property("SystemModstamp") is None:
        return None
    return f'W/"{sf_datetime_to_odata(stamp)}"'


def entity(
    entity_set: EntitySet,
    record: dict,
    select: tuple[str, ...],
    expansions: tuple[Expansion, ...],
    fmt: JsonFormat,
    service_root: str,
) -> dict:
    """One OData entity from one Salesforce record."""
    out: dict[str, Any] = {}
    key = record.get("Id")
    if fmt.metadata != "none":
        tag = etag(entity_set, record)
        if fmt.metadata == "full":
            out["@odata.type"] = f"#{_qualified(entity_set)}"
            if key is not None:
                out["@odata.id"] = f"{service_root}{entity_set.name}{key_segment(key)}"
                out["@odata.editLink"] = f"{entity_set.name}{key_segment(key)}"
        if tag:
            out["@odata.etag"] = tag
    for name in select:
        prop = entity_set.properties[name]
        out[name] = odata_value(prop, record.get(name), fmt)
    for expansion in expansions:
        nested = record.get(expansion.name)
        if expansion.collection:
            rows = (nested or {}).get("records", []) if nested else []
            out[expansion.name] = [
                entity(expansion.target, row, expansion.select, (), fmt, service_root) for row in rows
            ]
        else:
            out[expansion.name] = (
                None
                if nested is None
                else entity(expansion.target, nested, expansion.select, (), fmt, service_root)
            )
        if fmt.metadata == "full" and key is not None:
            out[f"{expansion.name}@odata.navigationLink"] = (
                f"{entity_set.name}{key_segment(key)}/{expansion.name}"
            )
    return out


def _qualified(entity_set: EntitySet) -> str:
    return f"Salesforce.{entity_set.entity_type}"


def select_clause(select: tuple[str, ...] | None, expansions: tuple[Expansion, ...]) -> str:
    """The parenthesised part of a context URL: ``(Name,Id,Contacts(LastName))``; '' when nothing is
    projected or expanded. ``select`` is None when the client asked for all properties."""
    parts = list(select or ())
    for expansion in expansions:
        every = expansion.select == tuple(expansion.target.properties)
        parts.append(f"{expansion.name}({'' if every else ','.join(expansion.select)})")
    return f"({','.join(parts)})" if parts else ""


def count_value(count: int, fmt: JsonFormat) -> int | str:
    return str(count) if fmt.ieee754 else count
