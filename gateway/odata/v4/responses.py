"""Building the V4 face's responses, in one place: JSON bodies, OData error bodies, failures mapped."""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, has_request_context, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from gateway.odata.http.errors import ODataError
from gateway.odata.http.json_body import dump_json
from gateway.odata.http.request_body import body_too_large, limit_in
from gateway.odata.http.source_errors import odata_error_from_source

log = logging.getLogger(__name__)

ODATA_VERSION = "4.0"
ODATA_JSON = "application/json;odata.metadata=minimal"


def json_response(
    body: Any, status: int = 200, content_type: str = "application/json", **headers: str
) -> Response:
    response = Response(dump_json(body), status=status, content_type=content_type)
    response.headers.update(headers)
    return response


def error_response(error: ODataError) -> Response:
    response = json_response(error.body(), error.status, ODATA_JSON)
    response.headers.update(error.headers)
    return response


def response_for_exception(error: Exception, where: str) -> Response:
    """The OData error response for any failure: refusals as raised, source failures mapped (502, 503,
    504, ...), anything else a logged 500 that shows no internals."""
    if isinstance(error, ODataError):
        return error_response(error)
    mapped = odata_error_from_source(error)
    if mapped is not None:
        return error_response(mapped)
    if isinstance(error, RequestEntityTooLarge):  # a chunked body passing the limit while it is read
        return error_response(body_too_large(limit_in(request.environ if has_request_context() else {})))
    if isinstance(error, HTTPException) and error.code is not None:  # such as 413 from reading the body
        allow = {k: v for k, v in error.get_headers() if k == "Allow"}
        return error_response(
            ODataError(error.code, type(error).__name__, str(error.description), headers=allow)
        )
    log.error("unexpected error serving %s", where, exc_info=error)
    return error_response(
        ODataError(500, "InternalError", "The gateway failed unexpectedly; the error was logged.")
    )
