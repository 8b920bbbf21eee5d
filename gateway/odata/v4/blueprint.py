"""The V4 face's Flask blueprint at ``/odata/``: authentication, CSRF, protocol headers, then the pipeline.

Each HTTP request is authenticated and CSRF-checked once (a ``$batch`` included: its parts are not checked
again), becomes an ``ODataRequest`` and goes to ``dispatch.respond`` with the request's context
(``Gateway.context_for``). Every failure becomes an OData error body; client input never produces a 500.
"""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from gateway.identity.request import identify
from gateway.odata.http import csrf
from gateway.odata.http.headers import effective_method
from gateway.odata.http.request import ODataRequest
from gateway.odata.http.request_body import limit_in
from gateway.odata.service import Gateway
from gateway.odata.v4.dispatch import respond
from gateway.odata.v4.negotiation import check_max_version
from gateway.odata.v4.request_context import SERVICE_PREFIX, current_gateway, service_root
from gateway.odata.v4.responses import ODATA_VERSION, response_for_exception
from gateway.odata.write.payload import decode_content_encoding

ODATA_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE", "MERGE"]


def create_blueprint() -> Blueprint:
    bp = Blueprint("odata", __name__, url_prefix=SERVICE_PREFIX)
    bp.before_request(_authenticate_and_check)
    bp.after_request(_protocol_headers)
    bp.register_error_handler(Exception, _error)
    bp.add_url_rule("/", "service_document", _view, methods=ODATA_METHODS)
    bp.add_url_rule(
        "/$metadata", "metadata", _view, methods=ODATA_METHODS, defaults={"resource": "$metadata"}
    )
    bp.add_url_rule("/<path:resource>", "resource", _view, methods=ODATA_METHODS)
    return bp


def _authenticate_and_check() -> None:
    gateway: Gateway = current_gateway()
    # The operation layer (gateway/operation/hooks.py) identified this request already; per-user
    # identity: a data request runs with the user's view of the gateway (their source, model and paging
    # key), while CSRF tokens stay signed by the app's secret, bound to the principal (the user).
    data = request.endpoint == "odata.resource"  # not the service document or $metadata
    principal, request_gateway = identify(
        gateway, request.environ, request.headers, request.remote_addr, data=data
    )
    g.odata_context = request_gateway.context_for(principal)
    check_max_version(request.headers)
    if gateway.csrf:
        method = effective_method(request.method, request.headers)
        csrf.check_write(method, request.headers, gateway.secret, principal.name)


def _view(resource: str = "") -> Response:
    raw = request.get_data()
    encoding = request.headers.get("Content-Encoding")
    req = ODataRequest(
        method=request.method,
        path=resource,
        args=request.args,
        headers=request.headers,
        body=decode_content_encoding(raw, encoding, limit_in(request.environ)) if encoding else raw,
        service_root=service_root(),
    )
    return respond(g.odata_context, req)


def _protocol_headers(response: Response) -> Response:
    response.headers.setdefault("OData-Version", ODATA_VERSION)  # 4.01 where 4.01 forms were used
    gateway: Gateway = current_gateway()
    context = g.get("odata_context")
    if gateway.csrf and context is not None and csrf.wants_token(request.method, request.headers):
        response.headers[csrf.HEADER] = csrf.issue(gateway.secret, context.principal.name)
    return response


def _error(error: Exception) -> Response:
    """Failures before the pipeline (authentication, CSRF, OData-MaxVersion) as OData error bodies."""
    return response_for_exception(error, request.full_path)
