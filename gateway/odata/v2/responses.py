"""What every V2 handler needs from Flask's context and how it answers: the gateway, the V2 service root,
JSON and entry responses, the media types."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, request

from gateway.odata.v2.entries import EntryShaper, atom_entry_document
from gateway.odata.v2.negotiation import Format
from gateway.odata.v2.xmlwriter import ATOM_NS, to_xml

SERVICE_PREFIX = "/odata/v2"
JSON_TYPE = "application/json;charset=utf-8"
XML_TYPE = "application/xml;charset=utf-8"
ATOM_FEED_TYPE = "application/atom+xml;type=feed;charset=utf-8"
ATOM_ENTRY_TYPE = "application/atom+xml;type=entry;charset=utf-8"
TEXT_TYPE = "text/plain;charset=utf-8"


def current_gateway() -> Any:
    """The ``Gateway`` of the running app (shared with the V4 face)."""
    return current_app.extensions["odata_gateway"]


def service_root() -> str:
    """The absolute V2 service root of this request, ending in ``/``."""
    return request.host_url.rstrip("/") + SERVICE_PREFIX + "/"


def json_response(body: Any, status: int = 200, **headers: str) -> Response:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    response = Response(text, status=status, content_type=JSON_TYPE)
    response.headers.update(headers)
    return response


def entry_response(
    shaper: EntryShaper, record: dict, fmt: Format, status: int = 200, **headers: str
) -> Response:
    """One entity as ``{"d": {...}}`` or an Atom ``<entry>``, with its ETag header."""
    etag = shaper.etag(record)
    if etag:
        headers["ETag"] = etag
    if fmt == "json":
        return json_response({"d": shaper.to_json(record)}, status, **headers)
    response = Response(
        to_xml(atom_entry_document(shaper, record), ATOM_NS), status, content_type=ATOM_ENTRY_TYPE
    )
    response.headers.update(headers)
    return response
