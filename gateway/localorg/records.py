"""How the local org stores field values in SQLite and how it writes them back as Salesforce JSON.

Storage (one SQLite column per field, named exactly as the field):
- text-like types (id, reference, string, textarea, picklist, multipicklist, email, phone, url, combobox,
  encryptedstring, base64): TEXT; multi-select picklist values joined by ``;``
- boolean: INTEGER 0/1, never NULL
- int: INTEGER; double, currency, percent: REAL
- date: TEXT ``YYYY-MM-DD``; datetime: TEXT ``YYYY-MM-DDTHH:MM:SS.fffZ`` in UTC (so text order is time
  order); time: TEXT ``HH:MM:SS.fffZ``
Compound types (address, location) have no column.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

TEXT_TYPES = frozenset(
    {
        "id",
        "reference",
        "string",
        "textarea",
        "picklist",
        "multipicklist",
        "email",
        "phone",
        "url",
        "combobox",
        "encryptedstring",
        "base64",
    }
)
NUMBER_TYPES = frozenset({"double", "currency", "percent"})
COMPOUND_TYPES = frozenset({"address", "location"})


def sqlite_type(field_type: str) -> str | None:
    """The SQLite column type for a Salesforce field type; None for compound fields (no column)."""
    if field_type in COMPOUND_TYPES:
        return None
    if field_type in ("boolean", "int"):
        return "INTEGER"
    if field_type in NUMBER_TYPES:
        return "REAL"
    return "TEXT"


def stored_datetime(value: dt.datetime) -> str:
    """The stored form of an aware datetime: UTC with milliseconds and ``Z``."""
    utc = value.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_stored_datetime(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def to_json_value(field_type: str, stored: Any) -> Any:
    """The value as the REST API shows it (datetime ``2024-03-01T12:00:00.000+0000``)."""
    if field_type == "boolean":
        return bool(stored)
    if stored is None:
        return None
    if field_type == "datetime":
        return stored[:-1] + "+0000"
    if field_type == "int":
        return int(stored)
    if field_type in NUMBER_TYPES:
        return float(stored)
    return stored


def record_url(sobject: str, record_id: str, api_version: str = "59.0") -> str:
    return f"/services/data/v{api_version}/sobjects/{sobject}/{record_id}"


def _compound_key(compound_name: str, component_name: str) -> str:
    """The key of a compound part: ``BillingStreet`` of ``BillingAddress`` → ``street``,
    ``Loc__Latitude__s`` of ``Loc__c`` → ``latitude``."""
    common = 0
    while (
        common < min(len(compound_name), len(component_name))
        and compound_name[common] == component_name[common]
    ):
        common += 1
    key = component_name[common:].removesuffix("__s")
    return key[:1].lower() + key[1:]


def render_record(sobject: str, fields: list[dict], row: dict[str, Any], api_version: str = "59.0") -> dict:
    """A stored row as the REST API returns it: ``attributes`` first, then every field in describe order.

    Compound fields (address, location) are built from their component fields, or null when all are null.
    """
    record: dict[str, Any] = {
        "attributes": {"type": sobject, "url": record_url(sobject, row["Id"], api_version)}
    }
    for field in fields:
        name = field["name"]
        if field["type"] in COMPOUND_TYPES:
            parts = {
                _compound_key(name, f["name"]): to_json_value(f["type"], row.get(f["name"]))
                for f in fields
                if f.get("compoundFieldName") == name
            }
            record[name] = parts if any(v is not None for v in parts.values()) else None
        else:
            record[name] = to_json_value(field["type"], row.get(name))
    return record
