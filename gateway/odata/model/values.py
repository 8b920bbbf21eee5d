"""Salesforce values as OData sees them: datetimes in OData's form and the ETag of a record.

An entity's ETag is weak, ``W/"2024-03-01T12:00:00.000Z"``: its SystemModstamp as OData renders datetimes
(the value shaping writes and ``write/etags.py`` compares).
"""

from __future__ import annotations

import datetime as dt


def sf_datetime_to_odata(value: str) -> str:
    """``2024-03-01T12:00:00.000+0000`` → ``2024-03-01T12:00:00.000Z`` (always UTC, milliseconds)."""
    if len(value) == 28 and value.endswith("+0000"):  # what Salesforce sends: skip parsing
        return value[:23] + "Z"
    parsed = dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(dt.UTC)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S.") + f"{parsed.microsecond // 1000:03d}Z"


def etag_of(record: dict) -> str | None:
    """The weak ETag of a Salesforce record, from its SystemModstamp (None when it was not read)."""
    stamp = record.get("SystemModstamp")
    return None if stamp is None else f'W/"{sf_datetime_to_odata(stamp)}"'
