"""Salesforce write validation: JSON values in, stored values out, or the error Salesforce gives.

``prepare_write`` checks a create or update body against the object's describe in Salesforce's order:
unknown fields (INVALID_FIELD), JSON types (JSON_PARSER_ERROR), fields that may not be written
(INVALID_FIELD_FOR_INSERT_UPDATE), required fields (REQUIRED_FIELD_MISSING), then values: lengths
(STRING_TOO_LONG), numeric range, restricted picklists, email addresses and reference Id shapes
(MALFORMED_ID / FIELD_INTEGRITY_EXCEPTION). Whether referenced records exist needs the store:
``check_references`` does that with a callback.
"""

from __future__ import annotations

import collections
import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from . import ids, records
from .errors import SalesforceError
from .schema import Schema, SObjectType

ROLLED_BACK_MESSAGE = (
    "Record rolled back because not all records were valid and the request was using AllOrNone header"
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|[+-]\d{2}:?\d{2})?)?$"
)
_TIME = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?Z?$")


def json_token(value: Any) -> str:
    """The name Salesforce's JSON parser (Jackson) gives the first token of a value, as its errors say."""
    if isinstance(value, bool):
        return "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, int):
        return "VALUE_NUMBER_INT"
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT"
    if isinstance(value, list):
        return "START_ARRAY"
    if isinstance(value, dict):
        return "START_OBJECT"
    return "VALUE_STRING"


def parser_error(field: dict, value: Any) -> SalesforceError:
    """What Salesforce's JSON deserializer says when a value does not fit the field's type."""
    token = json_token(value)
    if token in ("START_ARRAY", "START_OBJECT"):
        message = f"Cannot deserialize instance of {field['type']} from {token} value"
    else:
        shown = str(value).lower() if isinstance(value, bool) else value
        message = (
            f"Cannot deserialize instance of {field['type']} from {token} value {shown} "
            "or request may be missing a required field"
        )
    return SalesforceError(400, "JSON_PARSER_ERROR", message)


def parse_datetime(text: str) -> dt.datetime | None:
    """An aware datetime from the forms Salesforce accepts (offset ``Z``, ``+hh:mm``, ``+hhmm`` or none)."""
    match = _DATETIME.match(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        value = dt.datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro
        )
    except ValueError:
        return None
    if zone in (None, "Z"):
        return value.replace(tzinfo=dt.UTC)
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return value.replace(tzinfo=dt.timezone(sign * offset))


def _convert_number(field: dict, value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise parser_error(field, value)
    number: float
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise parser_error(field, value) from None
    else:
        number = value
    if isinstance(number, float) and not math.isfinite(number):
        raise parser_error(field, value)
    if field["type"] == "int":
        if number != int(number):
            raise parser_error(field, value)
        return int(number)
    scale = field.get("scale") or 0
    precision = field.get("precision") or 18
    rounded = round(float(number), scale)
    if abs(rounded) >= 10 ** max(precision - scale, 0):
        raise SalesforceError(
            400,
            "NUMBER_OUTSIDE_VALID_RANGE",
            f"{field['label']}: value outside of valid range on numeric field: {value}",
            [field["name"]],
        )
    return rounded


def convert_value(field: dict, value: Any) -> Any:
    """The stored form of one JSON value for ``field``: type conversion only, no length or picklist rules."""
    field_type = field["type"]
    if field_type == "boolean":
        if value is None:
            return 0
        if not isinstance(value, bool):
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return int(value.lower() == "true")
            raise parser_error(field, value)
        return int(value)
    if value is None:
        return None
    if field_type in ("int", "double", "currency", "percent"):
        return _convert_number(field, value)
    if isinstance(value, list | dict):
        raise parser_error(field, value)
    if field_type == "datetime":
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise parser_error(field, value)
        return records.stored_datetime(parsed)
    if field_type == "date":
        match = _DATE.match(value) if isinstance(value, str) else None
        try:
            if match is None:
                raise ValueError
            return dt.date(*(int(g) for g in match.groups())).isoformat()
        except ValueError:
            raise parser_error(field, value) from None
    if field_type == "time":
        match = _TIME.match(value) if isinstance(value, str) else None
        if match is None:
            raise parser_error(field, value)
        hour, minute, second, fraction = match.groups()
        if int(hour) > 23 or int(minute) > 59 or int(second or 0) > 59:
            raise parser_error(field, value)
        return f"{hour}:{minute}:{second or '00'}.{(fraction or '0')[:3].ljust(3, '0')}Z"
    text = str(value).lower() if isinstance(value, bool) else str(value)
    # Salesforce stores an empty string as null.
    return text if text != "" else None


# (a year below 1000 is left out: convert_value's strftime writes it without padding)
_STORED_DATETIME = re.compile(r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
_STORED_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A value of this form is kept as it is once parsing shows it names a real day and time.
_STORED_TEMPORAL = {
    "datetime": (_STORED_DATETIME, dt.datetime.fromisoformat),
    "date": (_STORED_DATE, dt.date.fromisoformat),
}


def stored_value_converter(field: dict) -> Callable[[Any], Any]:
    """A function giving the same result as ``convert_value(field, value)``, but quick for values that are
    already in their stored form (the bulk load's common case); anything else takes ``convert_value``."""
    field_type = field["type"]

    def convert(value: Any) -> Any:
        return convert_value(field, value)

    if field_type in records.TEXT_TYPES:

        def convert_text(value: Any) -> Any:
            if value.__class__ is str and value:
                return value
            return None if value is None else convert(value)

        return convert_text
    if field_type == "boolean":
        return lambda value: 1 if value is True else 0 if value is False else convert(value)
    if field_type == "int":
        return lambda value: value if value.__class__ is int or value is None else convert(value)
    if field_type in records.NUMBER_TYPES:
        scale = field.get("scale") or 0
        bound = 10 ** max((field.get("precision") or 18) - scale, 0)

        def convert_number(value: Any) -> Any:
            if value.__class__ is float or value.__class__ is int:
                rounded = round(float(value), scale)
                if -bound < rounded < bound:  # false for NaN and infinities too
                    return rounded
            return None if value is None else convert(value)

        return convert_number
    if field_type not in _STORED_TEMPORAL:
        return convert
    pattern, parse = _STORED_TEMPORAL[field_type]

    def convert_temporal(value: Any) -> Any:
        if value.__class__ is str and pattern.fullmatch(value):
            try:
                parse(value)
            except ValueError:
                return convert(value)
            return value
        return None if value is None else convert(value)

    return convert_temporal


def stored_column(field: dict, values: Sequence[Any]) -> Sequence[Any]:
    """``[convert_value(field, v) for v in values]``, but a column already all in stored form is checked
    with a few passes at C speed and given back as it is."""
    kinds = set(map(type, values))
    field_type = field["type"]
    if field_type == "boolean":
        if kinds <= {bool}:  # SQLite stores True and False as 1 and 0
            return values
    elif field_type == "int":
        if kinds <= {int, type(None)}:
            return values
    elif kinds <= {str, type(None)} and "" not in values:
        if field_type in records.TEXT_TYPES:
            return values
        if field_type in _STORED_TEMPORAL:
            pattern, parse = _STORED_TEMPORAL[field_type]
            present = list(filter(None, values))
            if all(map(pattern.fullmatch, present)):
                try:
                    collections.deque(map(parse, present), maxlen=0)
                except ValueError:
                    pass
                else:
                    return values
    return list(map(stored_value_converter(field), values))


def _check_value(field: dict, stored: Any) -> Any:
    """Length, picklist, email and Id-shape rules on a converted value; returns the value to store."""
    if stored is None:
        return None
    field_type = field["type"]
    name, label = field["name"], field["label"]
    if field_type in ("picklist", "multipicklist") and field.get("restrictedPicklist"):
        allowed = {p["value"] for p in field["picklistValues"] if p.get("active", True)}
        chosen = stored.split(";") if field_type == "multipicklist" else [stored]
        for value in chosen:
            if value not in allowed:
                raise SalesforceError(
                    400,
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{label}: bad value for restricted picklist field: {value}",
                    [name],
                )
    if field_type == "multipicklist":
        unique = list(dict.fromkeys(v.strip() for v in stored.split(";") if v.strip()))
        stored = ";".join(unique) or None
        if stored is None:
            return None
    if field_type in ("id", "reference"):
        normalized = ids.normalize_id(stored)
        if normalized is None:
            raise SalesforceError(
                400, "MALFORMED_ID", f"{label}: id value of incorrect type: {stored}", [name]
            )
        return normalized
    if isinstance(stored, str) and field_type in records.TEXT_TYPES:
        length = field.get("length") or 0
        if length and len(stored) > length:
            raise SalesforceError(
                400,
                "STRING_TOO_LONG",
                f"{label}: data value too large: {stored} (max length={length})",
                [name],
            )
    if field_type == "email" and not _EMAIL.match(stored):
        raise SalesforceError(
            400, "INVALID_EMAIL_ADDRESS", f"{label}: invalid email address: {stored}", [name]
        )
    return stored


def is_required(field: dict) -> bool:
    """Salesforce requires a value for a createable, non-nillable field it does not default."""
    return (
        not field["nillable"]
        and field["createable"]
        and not field["defaultedOnCreate"]
        and field["type"] != "boolean"
    )


def _required_missing(fields: list[str]) -> SalesforceError:
    return SalesforceError(
        400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(fields)}]", fields
    )


def prepare_write(sobject: SObjectType, values: dict, *, creating: bool) -> dict[str, Any]:
    """Validate a create (``creating``) or update body; return ``{field name: stored value}``.

    ``attributes`` is ignored. Raises the ``SalesforceError`` Salesforce would answer.
    """
    body = {k: v for k, v in values.items() if k != "attributes"}
    fields: list[tuple[dict, Any]] = []
    for key, value in body.items():
        field = sobject.field(key)
        if field is None or field["type"] in records.COMPOUND_TYPES:
            raise SalesforceError(
                400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {sobject.name}"
            )
        fields.append((field, value))
    converted = [(field, convert_value(field, value)) for field, value in fields]
    if creating and any(f["name"] == "Id" for f, _ in converted):
        raise SalesforceError(400, "INVALID_FIELD", "cannot specify Id in an insert call")
    flag = "createable" if creating else "updateable"
    refused = [f["name"] for f, _ in converted if not f[flag]]
    if refused:
        raise SalesforceError(
            400,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(refused)}. Please check the security settings of "
            "this field and verify that it is read/write for your profile or permission set.",
            refused,
        )
    stored = {field["name"]: value for field, value in converted}
    if creating:
        missing = [f["name"] for f in sobject.fields if is_required(f) and stored.get(f["name"]) is None]
    else:
        missing = [
            name for name, value in stored.items() if value is None and is_required(sobject.field(name))
        ]
    if missing:
        raise _required_missing(missing)
    return {name: _check_value(sobject.field(name), value) for name, value in stored.items()}


RecordState = Callable[[str, str], str | None]
"""``state(sobject name, id) -> "live" | "deleted" | None`` (None: no such record)."""


def check_references(
    schema: Schema, sobject: SObjectType, stored: dict[str, Any], state: RecordState
) -> None:
    """Every reference value must point to a live record of one of the field's ``referenceTo`` objects."""
    for name, value in stored.items():
        field = sobject.field(name)
        if value is None or field["type"] != "reference":
            continue
        target = schema.type_of_id(value)
        targets = {t.lower() for t in field["referenceTo"]}
        if target is None or target.name.lower() not in targets:
            raise SalesforceError(
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                f"{field['label']}: id value of incorrect type: {value}",
                [name],
            )
        found = state(target.name, value)
        if found == "deleted":
            raise SalesforceError(400, "ENTITY_IS_DELETED", "entity is deleted", [name])
        if found is None:
            raise SalesforceError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [name])
