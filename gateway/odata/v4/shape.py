"""Shape Salesforce records as OData v4 JSON.

Values: Salesforce datetimes (``2024-03-01T12:00:00.000+0000``) become ``2024-03-01T12:00:00.000Z``, times
lose their ``Z``, decimals stay JSON numbers unless the client asked for ``IEEE754Compatible=true`` (then
Decimal and Int64 values, and the count, are strings). Control information follows the metadata level:
``minimal`` (context, etag, nextLink, count), ``full`` (plus type, id, edit and navigation links),
``none`` (only nextLink and count).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gateway.odata.http.resource_path import key_segment
from gateway.odata.model.entities import EntitySet, Property
from gateway.odata.model.values import etag_of, sf_datetime_to_odata
from gateway.odata.read.plan import ExpandPlan


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


Converter = Callable[[Any], Any]


def _decimal_string(value: Any) -> Any:
    return None if value is None else str(Decimal(str(value)))


def _int64_string(value: Any) -> Any:
    return None if value is None else str(int(value))


def _datetime(value: Any) -> Any:
    return None if value is None else sf_datetime_to_odata(value)


def _time_of_day(value: Any) -> Any:
    return None if value is None else value.rstrip("Z")


def value_converter(prop: Property, fmt: JsonFormat) -> Converter | None:
    """How a Salesforce JSON value of ``prop`` becomes its OData JSON value; None when it stays as it is
    (numbers stay JSON numbers unless IEEE754Compatible asks for Decimal and Int64 as strings)."""
    edm = prop.edm_type
    if edm == "Edm.DateTimeOffset":
        return _datetime
    if edm == "Edm.TimeOfDay":
        return _time_of_day
    if fmt.ieee754 and edm == "Edm.Decimal":
        return _decimal_string
    if fmt.ieee754 and edm == "Edm.Int64":
        return _int64_string
    return None


def odata_value(prop: Property, value: Any, fmt: JsonFormat) -> Any:
    """A Salesforce JSON value as the OData JSON value of ``prop``."""
    convert = value_converter(prop, fmt)
    return value if convert is None else convert(value)


@dataclass(frozen=True)
class Shaper:
    """Shapes records of one entity set for one response: converters are chosen once, not per row."""

    entity_set: EntitySet
    fmt: JsonFormat
    service_root: str
    namespace: str
    fields: tuple[tuple[str, Converter | None], ...]
    expansions: tuple[tuple[ExpandPlan, Shaper], ...]
    with_etag: bool

    @classmethod
    def build(
        cls,
        entity_set: EntitySet,
        select: tuple[str, ...],
        expansions: tuple[ExpandPlan, ...],
        fmt: JsonFormat,
        service_root: str,
        namespace: str = "Salesforce",
    ) -> Shaper:
        fields = tuple((n, value_converter(entity_set.properties[n], fmt)) for n in select)
        nested = tuple(
            (e, cls.build(e.target, e.select, (), fmt, service_root, namespace)) for e in expansions
        )
        with_etag = fmt.metadata != "none" and entity_set.property("SystemModstamp") is not None
        return cls(entity_set, fmt, service_root, namespace, fields, nested, with_etag)

    def shape(self, record: dict) -> dict:
        """One OData entity from one Salesforce record."""
        out: dict[str, Any] = {}
        key = record.get("Id")
        full = self.fmt.metadata == "full"
        if full:
            out["@odata.type"] = f"#{self.namespace}.{self.entity_set.entity_type}"
            if key is not None:
                out["@odata.id"] = f"{self.service_root}{self.entity_set.name}{key_segment(key)}"
                out["@odata.editLink"] = f"{self.entity_set.name}{key_segment(key)}"
        tag = etag_of(record) if self.with_etag else None
        if tag is not None:
            out["@odata.etag"] = tag
        for name, convert in self.fields:
            value = record.get(name)
            out[name] = value if convert is None else convert(value)
        for expansion, shaper in self.expansions:
            nested = record.get(expansion.name)
            if expansion.collection:
                rows = nested.get("records", []) if nested else []
                out[expansion.name] = [shaper.shape(row) for row in rows]
            else:
                out[expansion.name] = None if nested is None else shaper.shape(nested)
            if full and key is not None:
                out[f"{expansion.name}@odata.navigationLink"] = (
                    f"{self.entity_set.name}{key_segment(key)}/{expansion.name}"
                )
        return out


def select_clause(select: tuple[str, ...] | None, expansions: tuple[ExpandPlan, ...]) -> str:
    """The parenthesised part of a context URL: ``(Name,Id,Contacts(LastName))``; '' when nothing is
    projected or expanded. ``select`` is None when the client asked for all properties."""
    parts = list(select or ())
    for expansion in expansions:
        parts.append(f"{expansion.name}({'' if expansion.selects_all else ','.join(expansion.select)})")
    return f"({','.join(parts)})" if parts else ""


def count_value(count: int, fmt: JsonFormat) -> int | str:
    return str(count) if fmt.ieee754 else count
