"""The V4 face's Flask blueprint at ``/odata/``: authentication, protocol headers, error bodies, routes.

Routes hand over to ``dispatch.py``; every failure becomes an OData error body and client input never
produces a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, Response, g, request
from werkzeug.exceptions import HTTPException

from gateway.odata.http import csrf
from gateway.odata.http.errors import ODataError
from gateway.odata.http.source_errors import odata_error_from_source
from gateway.odata.v4 import writes
from gateway.odata.v4.dispatch import metadata, resource, service_document
from gateway.odata.v4.negotiation import check_max_version
from gateway.odata.v4.request_context import SERVICE_PREFIX, current_gateway
from gateway.odata.v4.responses import error_response
from gateway.odata.write.payload import decode_content_encoding

log = logging.getLogger(__name__)

ODATA_VERSION = "4.0"
ODATA_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE", "MERGE"]


def create_blueprint() -> Blueprint:
    bp = Blueprint("odata", __name__, url_prefix=SERVICE_PREFIX)

    @bp.before_request
    def _authenticate_and_check_version() -> None:
        g.principal = current_gateway().access.authenticate(request.headers)
        check_max_version(request.headers)
        if current_gateway().csrf:
            csrf.check_write(
                writes.request_method(), request.headers, current_gateway().secret, g.principal.name
            )
        if request.headers.get("Content-Encoding"):
            # Replace the body every reader sees (writes, $batch) with the decompressed one.
            request._cached_data = decode_content_encoding(  # type: ignore[attr-defined]
                request.get_data(), request.headers["Content-Encoding"]
            )

    @bp.after_request
    def _odata_version(response: Response) -> Response:
        response.headers["OData-Version"] = ODATA_VERSION
        principal = g.get("principal")
        if (
            current_gateway().csrf
            and principal is not None
            and csrf.wants_token(request.method, request.headers)
        ):
            response.headers[csrf.HEADER] = csrf.issue(current_gateway().secret, principal.name)
        return response

    @bp.errorhandler(ODataError)
    def _odata_error(error: ODataError) -> Response:
        return error_response(error)

    @bp.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        mapped = odata_error_from_source(error)
        if mapped is not None:
            return error_response(mapped)
        if isinstance(error, HTTPException) and error.code is not None:  # such as 405 from routing
            allow = {k: v for k, v in error.get_headers() if k == "Allow"}
            mapped = ODataError(error.code, type(error).__name__, str(error.description), headers=allow)
            return error_response(mapped)
        log.exception("unexpected error serving %s", request.full_path)
        return error_response(
            ODataError(500, "InternalError", "The gateway failed unexpectedly; the error was logged.")
        )

    bp.add_url_rule("/", "service_document", _get_only(service_document), methods=ODATA_METHODS)
    bp.add_url_rule("/$metadata", "metadata", _get_only(metadata), methods=ODATA_METHODS)
    bp.add_url_rule("/<path:resource>", "resource", resource, methods=ODATA_METHODS)
    return bp


def _get_only(view: Callable[[], Response]) -> Callable[[], Response]:
    """The service document and $metadata answer GET (and HEAD); other methods get an OData 405."""

    def only_get() -> Response:
        if request.method not in ("GET", "HEAD"):
            raise ODataError(
                405, "MethodNotAllowed", f"{request.path} only answers GET.", headers={"Allow": "GET"}
            )
        return view()

    return only_get
