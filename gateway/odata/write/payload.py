"""Write payloads: an OData JSON entity body → the Salesforce field values of one create/update/upsert.

Everything here runs before any call to the source, so a refused payload costs no API call and changes
nothing. One function per step, shared by single requests (``writes.py``) and ``$batch``:

- ``check_method_allowed(model, entity_set, operation)``: 405 (with ``Allow``) when the publication does
  not let this set be written that way, or when the gateway publishes nothing writable at all.
- ``parse_entity_body(raw)``: the JSON object of a request body, or 400.
- ``convert_entity(model, entity_set, body, operation)``: every property checked (published, writable for
  the operation, of the right Edm type, within MaxLength/range, not null when not nullable), values
  converted to what Salesforce's REST API takes, ``@odata.bind`` lookups resolved to Ids, required fields
  present on create. All problems are collected: one 400 whose ``details`` has an entry per problem and
  whose ``target`` is the first problem's field.
- ``unchanged_read_only_problems(entity_set, payload, current)``: a UI edit may send read-only fields; they
  are accepted when equal to the current record's values (the caller reads the record once).
- ``replace_values(entity_set, payload)``: PUT semantics, every updatable property not sent set to null
  (booleans to false).

Conversions (OData JSON → Salesforce JSON): Edm.Date ``"2024-01-31"``; Edm.DateTimeOffset with any offset
→ UTC ``2024-01-31T09:00:00.000Z``; Edm.TimeOfDay → ``HH:MM:SS.fffZ``; Edm.Decimal as a JSON number or a
string (IEEE754Compatible), checked against Precision/Scale; Edm.Int32 within its range; Edm.Boolean only
``true``/``false``; Edm.String within MaxLength, restricted picklist values within the published list.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from gateway.odata.http.errors import ODataError, method_not_allowed, not_implemented
from gateway.odata.http.request_body import parse_json
from gateway.odata.http.resource_path import parse_key
from gateway.odata.model.entities import HIDDEN, EntitySet, Model, Property
from gateway.odata.model.keys import is_salesforce_id, require_record_id

Operation = Literal["create", "update", "replace", "upsert", "delete"]

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,12}))?)?(Z|[+-]\d{2}:\d{2})$", re.I
)
_TIME = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,12}))?)?$")
_BIND_SUFFIX = "@odata.bind"


class ValueProblem(ValueError):
    """One value that cannot be written; the message names the rule it breaks."""


FIELD_SECURITY = "FieldSecurity"  # Problem.code of a field the source org does not let the user write


@dataclass(frozen=True)
class Problem:
    target: str
    message: str
    code: str = "InvalidValue"

    def detail(self) -> dict:
        return {"code": self.code, "message": self.message, "target": self.target}


@dataclass(frozen=True)
class WritePayload:
    """A checked body: what to send to Salesforce, and what must be compared with the current record."""

    values: dict[str, Any]  # Salesforce field name → Salesforce JSON value, to send
    read_only: dict[str, Any] = field(default_factory=dict)  # sent but not writable: must be unchanged


def problems_error(problems: list[Problem], status: int = 400) -> ODataError:
    """One OData error for ``problems``: the first names the target, ``details`` lists them all.

    Problems of field-level security come first and make it a 403: the user may not write those fields."""
    problems = sorted(problems, key=lambda p: p.code != FIELD_SECURITY)
    if problems[0].code == FIELD_SECURITY:
        status = 403
    first = problems[0]
    message = first.message if len(problems) == 1 else f"{len(problems)} problems: {first.message} …"
    return ODataError(status, first.code, message, first.target, [p.detail() for p in problems])


# --- may this set be written that way? ------------------------------------------------------------------


def allowed_methods(entity_set: EntitySet, *, single: bool) -> str:
    """The ``Allow`` header of an entity set (``single=False``) or of one of its entities."""
    if not single:
        return "GET, POST" if entity_set.insertable else "GET"
    methods = ["GET"]
    if entity_set.updatable:
        methods += ["PATCH", "PUT"]
    if entity_set.deletable:
        methods.append("DELETE")
    return ", ".join(methods)


def writable_anywhere(model: Model) -> bool:
    return any(s.insertable or s.updatable or s.deletable for s in model.entity_sets.values())


def check_method_allowed(
    model: Model, entity_set: EntitySet, operation: Operation, *, single: bool | None = None
) -> None:
    """405 with ``Allow`` when ``operation`` is not published for ``entity_set``.

    ``Allow`` names what the addressed resource accepts: the entity set (``single=False``) or one of its
    entities (default: an entity for every operation but create)."""
    single = operation != "create" if single is None else single
    allow = allowed_methods(entity_set, single=single)
    if not writable_anywhere(model):
        raise ODataError(
            405,
            "ReadOnlyGateway",
            "This gateway is read-only: its publication marks no entity set as writable "
            "(set 'writable' and 'deletable' in metadata/*.toml to allow writes).",
            headers={"Allow": allow},
        )
    needed = {
        "create": ("insertable", "inserted (POST)"),
        "update": ("updatable", "updated (PATCH)"),
        "replace": ("updatable", "replaced (PUT)"),
        "delete": ("deletable", "deleted (DELETE)"),
    }
    if operation == "upsert":
        if not (entity_set.insertable and entity_set.updatable):
            raise method_not_allowed(
                f"Upsert by external ID needs {entity_set.name} to be both insertable and updatable; the "
                "publication does not allow that.",
                allow,
                entity_set.name,
            )
        return
    flag, verb = needed[operation]
    if not getattr(entity_set, flag):
        raise method_not_allowed(
            f"{entity_set.name} entities cannot be {verb}: the publication does not allow it.",
            allow,
            entity_set.name,
        )


# --- the entity body ------------------------------------------------------------------------------------


def parse_entity_body(raw: bytes) -> dict:
    """The JSON object of an entity body; 400 for anything else."""
    if not raw.strip():
        raise ODataError(400, "BadRequest", "The request body is empty; send the entity as a JSON object.")
    body = parse_json(raw, "request body", parse_float=Decimal)
    if not isinstance(body, dict):
        raise ODataError(400, "BadRequest", "The request body must be a JSON object (one entity).")
    return body


def entity_from_json(value: Any) -> dict:
    """An entity body already decoded from JSON (a JSON batch part): the same check and the same values
    as ``parse_entity_body`` gives the text of it (numbers as the Decimal of what was written)."""
    if not isinstance(value, dict):
        raise ODataError(400, "BadRequest", "The request body must be a JSON object (one entity).")
    return _decimal_numbers(value)


def _decimal_numbers(value: Any) -> Any:
    # json.dumps writes a float as repr(); parse_entity_body reads that text with parse_float=Decimal.
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else value
    if isinstance(value, dict):
        return {key: _decimal_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decimal_numbers(item) for item in value]
    return value


def _writable_for(prop: Property, operation: Operation) -> bool:
    if operation == "create":
        return prop.insertable
    if operation == "upsert":  # may create or update: the field must allow both
        return prop.insertable and prop.updatable
    return prop.updatable


def convert_entity(model: Model, entity_set: EntitySet, body: dict, operation: Operation) -> WritePayload:
    """Check and convert ``body`` for ``operation`` (create, update, replace or upsert): the payload, or
    an ODataError (400 listing every problem; 501 for deep inserts).

    Read-only properties are not refused here: they land in ``WritePayload.read_only`` and the caller
    checks them against the current record (``unchanged_read_only_problems``), except on create, where
    nothing exists to compare with and a non-null read-only value is a problem.
    """
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    read_only: dict[str, Any] = {}
    for key, raw in body.items():
        if key.endswith(_BIND_SUFFIX):
            _bind(model, entity_set, key[: -len(_BIND_SUFFIX)], raw, operation, values, problems)
            continue
        if key.startswith("@") or "@" in key:
            continue  # control information (@odata.type, @odata.etag, Name@odata.type)
        nav = entity_set.navigation.get(key)
        if nav is not None:
            link = (
                f"set {nav.field} on each new {nav.target_set}"
                if nav.collection
                else f'link an existing one with "{key}@odata.bind": "{nav.target_set}(\'<Id>\')"'
            )
            raise not_implemented(
                f"Deep insert and deep update are not supported: '{key}' carries related entities. Create "
                f"or update them in {nav.target_set} on their own; {link}.",
                target=key,
            )
        prop = entity_set.properties.get(key)
        if prop is None:
            problems.append(Problem(key, f"'{key}' is not a published property of {entity_set.name}."))
            continue
        if prop.field_security == HIDDEN:
            # the user read it as null: null is "unchanged"; a value is refused without a call
            if raw is not None:
                problems.append(_field_security_problem(entity_set, prop))
            continue
        writable = prop.name != entity_set.key and _writable_for(prop, operation)
        try:
            # A read-only value is only compared with the record, so null passes (a UI sends what it read).
            value = None if raw is None and not writable else to_salesforce_value(prop, raw)
        except ValueProblem as problem:
            problems.append(Problem(key, f"{key}: {problem}"))
            continue
        if not writable:
            if operation == "create" and value is not None:
                problems.append(_read_only_problem(entity_set, prop, operation))
            elif operation != "create":
                read_only[prop.name] = value
            continue
        values[prop.name] = value
    if operation == "create":
        reported = {p.target for p in problems}
        for name in required_on_create(entity_set):
            if values.get(name) is None and name not in reported:
                problems.append(
                    Problem(name, f"{name} is required to create a {entity_set.name}.", "Required")
                )
    if problems:
        raise problems_error(problems)
    return WritePayload(values, read_only)


def _field_security_problem(entity_set: EntitySet, prop: Property) -> Problem:
    access = "hides it from you" if prop.field_security == HIDDEN else "lets you read but not edit it"
    return Problem(
        prop.name,
        f"{prop.name} cannot be written: field-level security on {entity_set.sobject}.{prop.name} in the "
        f"source org {access}.",
        FIELD_SECURITY,
    )


def _read_only_problem(entity_set: EntitySet, prop: Property, operation: Operation) -> Problem:
    if prop.field_security is not None:
        return _field_security_problem(entity_set, prop)
    verb = "set on create" if operation == "create" else "changed"
    return Problem(
        prop.name,
        f"{prop.name} cannot be {verb}: it is read-only in {entity_set.name} (computed by Salesforce or not "
        "published as writable).",
        "ReadOnlyProperty",
    )


_required: dict[int, tuple[EntitySet, tuple[str, ...]]] = {}
_REQUIRED_CACHE_SIZE = 512


def required_on_create(entity_set: EntitySet) -> tuple[str, ...]:
    """The properties a create must give a value (``is_required``), worked out once per entity set: a
    change set of 200 creates asks 200 times. Keyed by identity; a rebuilt model brings new entity sets."""
    cached = _required.get(id(entity_set))
    if cached is not None and cached[0] is entity_set:
        return cached[1]
    names = tuple(prop.name for prop in entity_set.properties.values() if is_required(prop))
    if len(_required) >= _REQUIRED_CACHE_SIZE:
        _required.clear()
    _required[id(entity_set)] = (entity_set, names)  # holding the set keeps its id from being reused
    return names


def is_required(prop: Property) -> bool:
    """Salesforce requires a value on create: not nillable, createable, not defaulted, not a checkbox."""
    d = prop.describe
    return (
        prop.insertable
        and not d.get("nillable", True)
        and not d.get("defaultedOnCreate", False)
        and prop.sf_type != "boolean"
    )


def _bind(
    model: Model,
    entity_set: EntitySet,
    name: str,
    raw: Any,
    operation: Operation,
    values: dict,
    problems: list[Problem],
) -> None:
    """``"Account@odata.bind": "Account('001…')"`` → ``AccountId = '001…'``."""
    nav = entity_set.navigation.get(name)
    if nav is None:
        problems.append(
            Problem(name, f"'{name}' is not a navigation property of {entity_set.name}; cannot bind it.")
        )
        return
    if nav.collection:
        raise not_implemented(
            f"Binding the collection '{name}' is not supported; set the lookup on each related "
            f"{nav.target_set} entity instead.",
            target=name,
        )
    lookup = entity_set.properties.get(nav.field)
    if lookup is None or not _writable_for(lookup, operation):
        problems.append(
            Problem(
                name,
                f"'{name}' cannot be set: its lookup field {nav.field} is not writable.",
                "ReadOnlyProperty",
            )
        )
        return
    if raw is None:
        values[nav.field] = None
        return
    if not isinstance(raw, str):
        problems.append(
            Problem(name, f"{name}@odata.bind must be an entity URL such as {nav.target_set}('<Id>').")
        )
        return
    path = unquote(urlsplit(raw).path).rstrip("/")
    segment = path.rsplit("/", 1)[-1]
    match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\((.*)\)$", segment, re.S)
    if match is None or match.group(1) != nav.target_set:
        problems.append(
            Problem(
                name, f"{name}@odata.bind must name an entity of {nav.target_set}: {nav.target_set}('<Id>')."
            )
        )
        return
    try:
        key = parse_key(match.group(2), segment)
    except ODataError as error:
        problems.append(Problem(name, f"{name}@odata.bind: {error.message}"))
        return
    if key.property not in (None, "Id"):
        raise not_implemented(
            f"{name}@odata.bind by the alternate key {key.property} is not supported; bind by Id: "
            f"{nav.target_set}('<Id>').",
            target=name,
        )
    if not is_salesforce_id(key.value):
        problems.append(Problem(name, f"{name}@odata.bind: '{key.value}' is not a Salesforce Id."))
        return
    target = model.entity_set(nav.target_set)
    if target is not None:
        require_record_id(target, key.value, target=name)  # an Id of another object: 404, nothing called
    values[nav.field] = key.value


# --- values ---------------------------------------------------------------------------------------------


def to_salesforce_value(prop: Property, value: Any) -> Any:
    """The Salesforce REST JSON value for an OData JSON ``value`` of ``prop``; ValueProblem when it does not
    fit the property's Edm type and facets."""
    if value is None:
        if not prop.nullable:
            raise ValueProblem("null is not allowed: the property is not nullable.")
        return None
    edm = prop.edm_type
    if edm == "Edm.String":
        return _string(prop, value)
    if edm == "Edm.Boolean":
        if not isinstance(value, bool):
            raise ValueProblem(f"expected true or false, got {_shown(value)}.")
        return value
    if edm == "Edm.Int32":
        return _int32(value)
    if edm == "Edm.Decimal":
        return _decimal(prop, value)
    if edm == "Edm.Date":
        return _date(value)
    if edm == "Edm.DateTimeOffset":
        return _datetime(value)
    if edm == "Edm.TimeOfDay":
        return _time(value)
    raise ValueProblem(f"properties of type {edm} cannot be written.")


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "…"


def _string(prop: Property, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueProblem(f"expected a string, got {_shown(value)}.")
    if prop.max_length is not None and len(value) > prop.max_length:
        raise ValueProblem(f"the value has {len(value)} characters; at most {prop.max_length} are allowed.")
    if prop.sf_type in ("id", "reference") and value and not is_salesforce_id(value):
        raise ValueProblem(f"'{value}' is not a Salesforce Id (15 or 18 letters and digits).")
    if prop.describe.get("restrictedPicklist") and value:
        chosen = value.split(";") if prop.sf_type == "multipicklist" else [value]
        unknown = [v for v in chosen if v not in prop.picklist_values]
        if unknown:
            raise ValueProblem(
                f"'{unknown[0]}' is not one of the allowed values: {', '.join(prop.picklist_values)}."
            )
    return value


def _int32(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        raise ValueProblem(f"expected an integer (Edm.Int32), got {_shown(value)}.")
    if value != int(value):
        raise ValueProblem(f"expected an integer (Edm.Int32), got {value}.")
    number = int(value)
    if not INT32_MIN <= number <= INT32_MAX:
        raise ValueProblem(f"{number} is outside the Edm.Int32 range {INT32_MIN}..{INT32_MAX}.")
    return number


def _decimal(prop: Property, value: Any) -> int | float | str:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise ValueProblem(f"expected a number (Edm.Decimal), got {_shown(value)}.")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueProblem(f"'{value}' is not a decimal number.") from None
    if not number.is_finite():
        raise ValueProblem(f"'{value}' is not a finite number.")
    if prop.precision is not None:
        integer_digits = prop.precision - (prop.scale or 0)
        if abs(number) >= Decimal(10) ** integer_digits:
            raise ValueProblem(
                f"{value} is out of range: at most {integer_digits} digits before the decimal point "
                f"(Precision {prop.precision}, Scale {prop.scale or 0})."
            )
    # Salesforce takes JSON numbers; an integral value is sent as an int, others as the shortest float that
    # reads back as the same decimal, or as the decimal string when a float would change it.
    if number == number.to_integral_value():
        return int(number)
    as_float = float(number)
    return as_float if Decimal(repr(as_float)) == number else str(number)


def _date(value: Any) -> str:
    match = _DATE.match(value) if isinstance(value, str) else None
    try:
        if match is None:
            raise ValueError
        return dt.date(*(int(g) for g in match.groups())).isoformat()
    except ValueError:
        raise ValueProblem(f'expected a date (Edm.Date) such as "2024-01-31", got {_shown(value)}.') from None


def _datetime(value: Any) -> str:
    match = _DATETIME.match(value) if isinstance(value, str) else None
    example = '"2024-01-31T10:00:00Z" or "2024-01-31T11:00:00+01:00"'
    if match is None:
        raise ValueProblem(f"expected a date and time with an offset (Edm.DateTimeOffset) such as {example}.")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        parsed = dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=_zone(zone),
        )
        utc = parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise ValueProblem(f"{_shown(value)} is not a valid date and time.") from None
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _zone(zone: str) -> dt.tzinfo:
    if zone.upper() == "Z":
        return dt.UTC
    sign = -1 if zone[0] == "-" else 1
    return dt.timezone(sign * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))


def _time(value: Any) -> str:
    match = _TIME.match(value) if isinstance(value, str) else None
    if match is None or int(match[1]) > 23 or int(match[2]) > 59 or int(match[3] or 0) > 59:
        raise ValueProblem(f'expected a time of day (Edm.TimeOfDay) such as "13:30:00", got {_shown(value)}.')
    hour, minute, second, fraction = match.groups()
    return f"{hour}:{minute}:{second or '00'}.{(fraction or '0')[:3].ljust(3, '0')}Z"


# --- read-only fields a UI edit sends back, and PUT ------------------------------------------------------


def same_value(prop: Property, sent: Any, current: Any) -> bool:
    """Whether a converted value equals the record's Salesforce value (as the source returns it)."""
    if sent is None or current is None:
        # Salesforce stores an empty string as null.
        return (sent is None or sent == "") and (current is None or current == "")
    if prop.edm_type == "Edm.DateTimeOffset":
        return _instant(sent) == _instant(current)
    if prop.edm_type == "Edm.Decimal" or prop.edm_type == "Edm.Int32":
        return Decimal(str(sent)) == Decimal(str(current))
    if prop.edm_type == "Edm.TimeOfDay":
        return str(sent).rstrip("Z") == str(current).rstrip("Z")
    if prop.sf_type in ("id", "reference"):
        return str(sent)[:15] == str(current)[:15]
    return sent == current


def _instant(text: str) -> dt.datetime:
    if text.endswith("Z"):
        text = text[:-1] + "+0000"
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def unchanged_read_only_problems(
    entity_set: EntitySet, payload: WritePayload, current: dict
) -> list[Problem]:
    """Problems for read-only values sent that differ from ``current`` (the record as the source has it)."""
    problems = []
    for name, sent in payload.read_only.items():
        prop = entity_set.properties[name]
        if not same_value(prop, sent, current.get(name)):
            problems.append(_read_only_problem(entity_set, prop, "update"))
    return problems


def replace_values(entity_set: EntitySet, payload: WritePayload) -> dict[str, Any]:
    """PUT: the values sent, plus null (checkboxes: false) for every updatable property not sent.

    Non-nullable properties Salesforce defaults on create (OwnerId) keep their value; other non-nullable
    ones must be sent (400)."""
    values = dict(payload.values)
    problems = []
    for prop in entity_set.properties.values():
        if not prop.updatable or prop.name in values or prop.name == entity_set.key:
            continue
        if prop.sf_type == "boolean":
            values[prop.name] = bool(prop.describe.get("defaultValue") or False)
        elif prop.nullable:
            values[prop.name] = None
        elif prop.describe.get("defaultedOnCreate"):
            continue  # Salesforce's own default (OwnerId: the user); there is no null to reset it to
        else:
            problems.append(
                Problem(prop.name, f"{prop.name} is required: PUT replaces the whole entity.", "Required")
            )
    if problems:
        raise problems_error(problems)
    return values
