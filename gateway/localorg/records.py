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
