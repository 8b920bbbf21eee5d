"""Values in OData V2's forms, both ways.

Out (Salesforce REST JSON value → V2):

=================  ==========================  ==================================
V4 type (model)    JSON verbose                Atom (``m:properties``)
=================  ==========================  ==================================
Edm.Date           ``"/Date(1706659200000)/"``  ``2024-01-31T00:00:00`` (DateTime)
Edm.DateTimeOffset ``"/Date(ms)/"`` (UTC)       ``2024-01-31T10:00:00.000`` (DateTime)
Edm.TimeOfDay      ``"PT10H30M00S"``            ``PT10H30M00S`` (Time)
Edm.Decimal        ``"1234.50"`` (a string)     ``1234.50``
Edm.Int64          ``"123"`` (a string)         ``123``
others             as they are                 text (booleans ``true``/``false``)
=================  ==========================  ==================================

In (a V2 request body → the V4 JSON value the core's payload checks take): ``/Date(ms)/`` (UTC; the
``/Date(ms+mmmm)/`` form is refused, clients disagree on what its ms mean) or an ISO date-time without
offset (read as UTC) → ``2024-01-31`` for a date property (it must be midnight UTC) or
``2024-01-31T10:00:00.000Z``; ``PT10H30M`` → ``10:30:00``; numbers
given as strings → ``Decimal``/``int``; Atom text is typed by the property (``true``, ``12``, ``1.5``).
Whatever does not fit is passed on unchanged, so the payload checks report it with the property's name.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from gateway.odata.model.entities import Property

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_JSON_DATE = re.compile(r"^/Date\((-?\d{1,15})(?:([+-])(\d{1,4}))?\)/$")
_ISO = re.compile(
    r"^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?))?(Z|[+-]\d{2}:\d{2})?$", re.I
)
_DURATION = re.compile(r"^PT(?:(\d{1,2})H)?(?:(\d{1,2})M)?(?:(\d{1,2})(?:\.(\d{1,7}))?S)?$")


class V2ValueError(ValueError):
    """A V2 value that cannot mean anything for its property."""


# --- out -------------------------------------------------------------------------------------------


def _sf_instant(value: str) -> dt.datetime:
    """A Salesforce datetime (``2024-03-01T12:00:00.000+0000``) or date (``2024-03-01``) as UTC."""
    if len(value) == 10:
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    if len(value) == 28 and value.endswith("+0000"):  # what Salesforce sends: the fast path
        return dt.datetime.fromisoformat(value[:23]).replace(tzinfo=dt.UTC)
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(dt.UTC)


def _milliseconds(instant: dt.datetime) -> int:
    return (instant - EPOCH) // dt.timedelta(milliseconds=1)


def json_date(value: str) -> str:
    """``/Date(ms)/`` of a Salesforce date or datetime."""
    return f"/Date({_milliseconds(_sf_instant(value))})/"


def atom_date(value: str) -> str:
    """The Atom (xsd:dateTime, no offset, UTC) text of a Salesforce date or datetime."""
    if len(value) == 10:
        return value + "T00:00:00"
    if len(value) == 28 and value.endswith("+0000"):  # already UTC with milliseconds
        return value[:23]
    instant = _sf_instant(value)
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}"


def duration(value: str) -> str:
    """``10:30:00.000Z`` (a Salesforce time) → ``PT10H30M00S``."""
    hours, minutes, rest = value.rstrip("Z").split(":")
    seconds, _, fraction = rest.partition(".")
    fraction = fraction.rstrip("0")
    return f"PT{hours}H{minutes}M{seconds}{'.' + fraction if fraction else ''}S"


def _decimal_text(value: Any) -> str:
    return str(Decimal(str(value)))


def _boolean_text(value: Any) -> str:
    return "true" if value else "false"


Converter = Callable[[Any], Any]


def json_converter(prop: Property) -> Converter | None:
    """How a Salesforce JSON value of ``prop`` becomes its V2 JSON verbose value (None: unchanged).
    Converters are not called with None."""
    edm = prop.edm_type
    if edm in ("Edm.Date", "Edm.DateTimeOffset"):
        return json_date
    if edm == "Edm.TimeOfDay":
        return duration
    if edm == "Edm.Decimal":
        return _decimal_text
    if edm == "Edm.Int64":
        return lambda value: str(int(value))
    return None


def atom_converter(prop: Property) -> Converter:
    """How a (non-null) Salesforce JSON value of ``prop`` becomes its Atom text."""
    edm = prop.edm_type
    if edm in ("Edm.Date", "Edm.DateTimeOffset"):
        return atom_date
    if edm == "Edm.TimeOfDay":
        return duration
    if edm == "Edm.Decimal":
        return _decimal_text
    if edm == "Edm.Boolean":
        return _boolean_text
    return str


# --- in --------------------------------------------------------------------------------------------


def _instant_from_v2(text: str) -> dt.datetime | None:
    match = _JSON_DATE.match(text)
    if match:
        if match[2]:  # clients disagree on whether ms is then UTC or local: refuse rather than guess
            return None
        try:
            return EPOCH + dt.timedelta(milliseconds=int(match[1]))
        except OverflowError:
            return None
    match = _ISO.match(text)
    if match:
        day, time, offset = match[1], match[2] or "00:00:00", match[3] or "+00:00"
        try:
            return dt.datetime.fromisoformat(
                f"{day}T{time}{offset.upper().replace('Z', '+00:00')}"
            ).astimezone(dt.UTC)
        except ValueError:
            return None
    return None


def _v4_datetime(prop: Property, text: str) -> Any:
    instant = _instant_from_v2(text)
    if instant is None:
        raise V2ValueError(
            f"'{text}' is not an Edm.DateTime: send /Date(<ms>)/ or yyyy-mm-ddThh:mm:ss (UTC)."
        )
    if prop.edm_type == "Edm.Date":
        if instant.timetz().replace(tzinfo=None) != dt.time(0):
            raise V2ValueError(f"'{text}' is not midnight UTC: {prop.name} holds a date only.")
        return instant.date().isoformat()
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


def _v4_time(text: str) -> Any:
    match = _DURATION.match(text)
    if not match or not any(match.groups()):
        raise V2ValueError(f"'{text}' is not an Edm.Time: send PThhHmmMssS, e.g. PT10H30M00S.")
    hours, minutes, seconds = (int(g or 0) for g in match.groups()[:3])
    if hours > 23 or minutes > 59 or seconds > 59:
        raise V2ValueError(f"'{text}' is not a time of day.")
    fraction = f".{match[4]}" if match[4] else ""
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{fraction}"


def _v4_number(prop: Property, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        number = Decimal(value.strip().rstrip("MmLlDdFf"))
    except InvalidOperation:
        return value
    if not number.is_finite():
        return value
    if prop.edm_type in ("Edm.Int16", "Edm.Int32", "Edm.Int64"):
        return int(number) if number == number.to_integral_value() else value
    return number


def from_json(prop: Property, value: Any) -> Any:
    """The V4 JSON value of a V2 JSON verbose value of ``prop`` (V2ValueError when it cannot be one)."""
    if value is None:
        return None
    edm = prop.edm_type
    if edm in ("Edm.Date", "Edm.DateTimeOffset") and isinstance(value, str):
        return _v4_datetime(prop, value)
    if edm == "Edm.TimeOfDay" and isinstance(value, str):
        return _v4_time(value)
    if edm in ("Edm.Decimal", "Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Double", "Edm.Single"):
        return _v4_number(prop, value)
    return value


def from_atom(prop: Property, text: str | None) -> Any:
    """The V4 JSON value of an Atom property's text (None for ``m:null="true"``)."""
    if text is None:
        return None
    if prop.edm_type == "Edm.Boolean":
        lowered = text.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        return text
    if prop.edm_type == "Edm.String":
        return text
    return from_json(prop, text.strip())
