"""The V2 face's Flask blueprint at ``/odata/v2/``: authentication, protocol headers, error bodies, routes.

The same access rules as the V4 face (the gateway's ``Access``), ``DataServiceVersion: 2.0`` on every
response, errors in V2's JSON or XML shape (as the request asked), never a 500 for client input.
``MaxDataServiceVersion`` below 2.0 is refused: the answers use V2 features (``__count``, ``__next``).
Writes pass the same CSRF check as on V4 (``GATEWAY_CSRF``; the token from ``X-CSRF-Token: Fetch`` on a
GET); gzip/deflate request bodies are decompressed first.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, g, request
from werkzeug.exceptions import HTTPException

from gateway.odata.http import csrf
from gateway.odata.http.errors import ODataError, bad_request
from gateway.odata.http.headers import effective_method
from gateway.odata.http.source_errors import odata_error_from_source
from gateway.odata.v2 import dispatch
from gateway.odata.v2.errors import error_json, error_xml
from gateway.odata.v2.negotiation import error_format
from gateway.odata.v2.responses import SERVICE_PREFIX, XML_TYPE, current_gateway, json_response
from gateway.odata.write.payload import decode_content_encoding

log = logging.getLogger(__name__)

DATA_SERVICE_VERSION = "2.0"


def error_response(error: ODataError) -> Response:
    """The V2 error body in the format the request asked for."""
    if error_format(request.args, request.headers.get("Accept")) == "json":
        response = json_response(error_json(error), error.status)
    else:
        response = Response(error_xml(error), error.status, content_type=XML_TYPE)
    response.headers.update(error.headers)
    return response


def check_max_version(value: str | None) -> None:
    if not value:
        return
    try:
        version = float(value.split(";")[0].strip())
    except ValueError:
        raise bad_request(f"MaxDataServiceVersion: {value} is not a version number.") from None
    if version < 2.0:
        raise bad_request(
            f"MaxDataServiceVersion {value} cannot be honoured: this service answers OData 2.0."
        )


def create_blueprint(search_param: str | None = None) -> Blueprint:
    """``search_param``: the custom query option answered by the search of V4's ``$search``
    (``GATEWAY_V2_SEARCH_PARAM``, Salesforce Connect's "Custom Query Option for Salesforce Search")."""
    bp = Blueprint("odata_v2", __name__, url_prefix=SERVICE_PREFIX)

    @bp.record_once
    def _configure(state) -> None:  # type: ignore[no-untyped-def]
        state.app.config[dispatch.SEARCH_PARAM_CONFIG] = search_param

    @bp.before_request
    def _authenticate_and_check_version() -> None:
        gateway = current_gateway()
        g.principal = gateway.access.authenticate(request.headers)
        check_max_version(request.headers.get("MaxDataServiceVersion"))
        if gateway.csrf:
            method = effective_method(request.method, request.headers)
            csrf.check_write(method, request.headers, gateway.secret, g.principal.name)
        if request.headers.get("Content-Encoding"):
            # Replace the body every reader sees with the decompressed one.
            request._cached_data = decode_content_encoding(  # type: ignore[attr-defined]
                request.get_data(), request.headers["Content-Encoding"]
            )

    @bp.after_request
    def _data_service_version(response: Response) -> Response:
        response.headers["DataServiceVersion"] = DATA_SERVICE_VERSION
        principal = g.get("principal")
        gateway = current_gateway()
        if gateway.csrf and principal is not None and csrf.wants_token(request.method, request.headers):
            response.headers[csrf.HEADER] = csrf.issue(gateway.secret, principal.name)
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
            return error_response(ODataError(error.code, type(error).__name__, str(error.description)))
        log.exception("unexpected error serving %s", request.full_path)
        return error_response(
            ODataError(500, "InternalError", "The gateway failed unexpectedly; the error was logged.")
        )

    bp.add_url_rule("/", "service_document", dispatch.service_document, methods=["GET"])
    bp.add_url_rule("/$metadata", "metadata", dispatch.metadata, methods=["GET"])
    bp.add_url_rule(
        "/<path:resource>",
        "resource",
        dispatch.read_resource,
        methods=["GET", "POST", "PUT", "MERGE", "PATCH", "DELETE"],
    )
    return bp
