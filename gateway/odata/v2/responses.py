"""One V2 call as the pipeline sees it, and how the V2 face answers: JSON, entries, errors, media types.

``Call`` bundles the request's context (gateway, principal, the source to use — ``Gateway.context_for``),
the ``ODataRequest`` and the face's settings; handlers take it instead of Flask's globals, so ``$batch``
parts go through exactly the same code as top-level requests.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import Response
from werkzeug.exceptions import HTTPException

from gateway.odata.http.errors import ODataError
from gateway.odata.http.json_body import dump_json
from gateway.odata.http.request import ODataRequest
from gateway.odata.http.source_errors import odata_error_from_source
from gateway.odata.model.entities import Model
from gateway.odata.service import RequestContext
from gateway.odata.v2.entries import EntryShaper, atom_entry_document
from gateway.odata.v2.errors import error_json, error_xml
from gateway.odata.v2.negotiation import Format, error_format, v2_format
from gateway.odata.v2.xmlwriter import ATOM_NS, to_xml
from gateway.source.protocol import Source

log = logging.getLogger(__name__)

SERVICE_PREFIX = "/odata/v2"
DATA_SERVICE_VERSION = "2.0"
JSON_TYPE = "application/json;charset=utf-8"
XML_TYPE = "application/xml;charset=utf-8"
ATOM_FEED_TYPE = "application/atom+xml;type=feed;charset=utf-8"
ATOM_ENTRY_TYPE = "application/atom+xml;type=entry;charset=utf-8"
TEXT_TYPE = "text/plain;charset=utf-8"


@dataclass(frozen=True)
class Call:
    ctx: RequestContext
    req: ODataRequest
    search_param: str | None = None  # GATEWAY_V2_SEARCH_PARAM

    @property
    def model(self) -> Model:
        return self.ctx.model()

    @property
    def source(self) -> Source:
        return self.ctx.source

    @property
    def root(self) -> str:
        return self.req.service_root

    def format(self, *, plain_text: bool = False) -> Format:
        return v2_format(self.req.args, self.req.headers.get("Accept"), plain_text=plain_text)

    def search(self, args: Any) -> str | None:
        """The custom search parameter's value among ``args`` (None when not configured or not sent)."""
        return args.get(self.search_param) if self.search_param else None


def json_response(body: Any, status: int = 200, **headers: str) -> Response:
    response = Response(dump_json(body), status=status, content_type=JSON_TYPE)
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


def error_response(error: ODataError, req: Any) -> Response:
    """The V2 error body in the format ``req`` (an ``ODataRequest``, or anything with ``args`` and
    ``headers``) asked for; XML when unclear."""
    wants = error_format(req.args, req.headers.get("Accept"))
    if wants == "json":
        response = json_response(error_json(error), error.status)
    else:
        response = Response(error_xml(error), error.status, content_type=XML_TYPE)
    response.headers.update(error.headers)
    return response


def response_for_exception(error: Exception, req: Any, where: str) -> Response:
    """Any failure as a V2 error: refusals as raised, source failures mapped, anything else a logged 500
    that shows no internals."""
    if isinstance(error, ODataError):
        return error_response(error, req)
    mapped = odata_error_from_source(error)
    if mapped is not None:
        return error_response(mapped, req)
    if isinstance(error, HTTPException) and error.code is not None:
        return error_response(ODataError(error.code, type(error).__name__, str(error.description)), req)
    log.error("unexpected error serving %s", where, exc_info=error)
    return error_response(
        ODataError(500, "InternalError", "The gateway failed unexpectedly; the error was logged."), req
    )
