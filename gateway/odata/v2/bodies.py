"""V2 request bodies (JSON verbose and Atom entries) → the OData JSON-shaped dict the core's writes check.

Salesforce Connect's 2.0 adapter writes in the format it reads, so both are accepted:

- JSON: ``{"Name": "Acme", "AnnualRevenue": "12.50", "CloseDate": "/Date(1706659200000)/",
  "Account": {"__metadata": {"uri": "…/Account('001…')"}}}`` (also wrapped in ``{"d": …}``);
  ``__metadata`` is dropped; a navigation property carrying only ``__metadata.uri`` links an existing entity
  (→ ``Account@odata.bind``); one carrying data stays as it is, so the core refuses it as a deep insert.
- Atom: ``<entry>`` with ``<content type="application/xml"><m:properties>`` (or ``m:properties`` directly
  under the entry), ``m:null="true"`` for nulls, ``<link rel="…/related/Account" href="Account('001…')"/>`` to
  link an existing entity.

Values are converted by ``values.from_json``/``from_atom`` into V4 JSON values; a value that cannot mean
anything for its property is a 400 listing every such property (as the core lists its own problems).
Unknown names pass through: the core refuses them with its usual message.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any

from gateway.odata.http.errors import ODataError
from gateway.odata.http.request_body import parse_json
from gateway.odata.model.entities import EntitySet
from gateway.odata.v2.entries import RELATED
from gateway.odata.v2.values import V2ValueError, from_atom, from_json
from gateway.odata.v2.xmlwriter import ATOM_NS, D_NS, M_NS, q
from gateway.odata.write.payload import Problem, problems_error

BIND = "@odata.bind"
MAX_XML_DEPTH = 32


def _bad(message: str) -> ODataError:
    return ODataError(400, "BadRequest", message)


def _convert(entity_set: EntitySet, name: str, value: Any, convert: Any, problems: list[Problem]) -> Any:
    prop = entity_set.properties.get(name)
    if prop is None:
        return value
    try:
        return convert(prop, value)
    except V2ValueError as error:
        problems.append(Problem(name, f"{name}: {error}"))
        return value


def parse_json_entity(raw: bytes, entity_set: EntitySet) -> dict:
    """The V4-shaped body of a V2 JSON verbose entity."""
    if not raw.strip():
        raise _bad("The request body is empty; send the entity as a JSON object or an Atom entry.")
    body = parse_json(raw, "request body", parse_float=Decimal)  # bounded nesting, as every face
    if isinstance(body, dict) and set(body) == {"d"} and isinstance(body["d"], dict):
        body = body["d"]
    if not isinstance(body, dict):
        raise _bad("The request body must be a JSON object (one entity).")
    out: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, value in body.items():
        if name == "__metadata":
            continue
        nav = entity_set.navigation.get(name)
        if nav is not None:
            uri = _link_uri(value)
            if uri is not None:
                out[name + BIND] = uri
                continue
            if isinstance(value, dict) and set(value) == {"__deferred"}:
                continue  # an entry read and sent back unchanged
            out[name] = value  # data: the core refuses deep inserts
            continue
        out[name] = _convert(entity_set, name, value, from_json, problems)
    if problems:
        raise problems_error(problems)
    return out


def _link_uri(value: Any) -> str | None:
    """``{"__metadata": {"uri": "…"}}`` → the URI; None for anything else."""
    if isinstance(value, dict) and set(value) == {"__metadata"} and isinstance(value["__metadata"], dict):
        uri = value["__metadata"].get("uri")
        return uri if isinstance(uri, str) else None
    return None


def _depth(element: ET.Element, limit: int) -> int:
    deepest = 0
    stack = [(element, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        stack.extend((child, level + 1) for child in node)
    return deepest


def parse_atom_entity(raw: bytes, entity_set: EntitySet) -> dict:
    """The V4-shaped body of an Atom ``<entry>``."""
    if not raw.strip():
        raise _bad("The request body is empty; send the entity as a JSON object or an Atom entry.")
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
        raise _bad("The Atom entry must not carry a DOCTYPE or entity declarations.")
    try:
        entry = ET.fromstring(raw)
    except ET.ParseError as error:
        raise _bad(f"The request body is not well-formed XML: {error}") from None
    if entry.tag != q(ATOM_NS, "entry"):
        raise _bad("The request body must be one Atom <entry> (namespace http://www.w3.org/2005/Atom).")
    if _depth(entry, MAX_XML_DEPTH) > MAX_XML_DEPTH:
        raise _bad("The Atom entry is nested too deeply.")
    out: dict[str, Any] = {}
    for link in entry.findall(q(ATOM_NS, "link")):
        rel = link.get("rel") or ""
        if not rel.startswith(RELATED):
            continue
        name = rel[len(RELATED) :]
        if link.find(q(M_NS, "inline")) is not None:
            out[name] = [{}]  # inline data: the core refuses deep inserts
        elif link.get("href"):
            out[name + BIND] = link.get("href")
    properties = entry.find(f"{q(ATOM_NS, 'content')}/{q(M_NS, 'properties')}")
    if properties is None:
        properties = entry.find(q(M_NS, "properties"))
    problems: list[Problem] = []
    for element in [] if properties is None else list(properties):
        if not element.tag.startswith("{" + D_NS + "}"):
            continue
        name = element.tag[len(D_NS) + 2 :]
        text = None if element.get(q(M_NS, "null")) == "true" else (element.text or "")
        out[name] = _convert(entity_set, name, text, from_atom, problems)
    if problems:
        raise problems_error(problems)
    return out


def parse_entity(raw: bytes, content_type: str | None, entity_set: EntitySet) -> tuple[dict, str]:
    """The V4-shaped body and the format it came in (``json`` or ``atom``), by ``Content-Type`` (by the
    first character when it says neither)."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media in ("application/atom+xml", "application/xml", "text/xml"):
        return parse_atom_entity(raw, entity_set), "atom"
    if media == "application/json":
        return parse_json_entity(raw, entity_set), "json"
    if media and media not in ("application/octet-stream", "text/plain"):
        raise ODataError(
            415,
            "UnsupportedMediaType",
            f"Content-Type {content_type} is not accepted; send JSON or an Atom entry.",
        )
    if raw.lstrip().startswith(b"<"):
        return parse_atom_entity(raw, entity_set), "atom"
    return parse_json_entity(raw, entity_set), "json"
