"""The V4 face's Flask blueprint at ``/odata/``: authentication, CSRF, protocol headers, then the pipeline.

Each HTTP request is authenticated and CSRF-checked once (a ``$batch`` included: its parts are not checked
again), becomes an ``ODataRequest`` and goes to ``dispatch.respond`` with the request's context
(``Gateway.context_for``). Every failure becomes an OData error body; client input never produces a 500.
"""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from gateway.identity.request import open_request
from gateway.odata.http import csrf
from gateway.odata.http.request import ODataRequest
from gateway.odata.service import Gateway
from gateway.odata.v4.dispatch import respond
from gateway.odata.v4.negotiation import check_max_version
from gateway.odata.v4.request_context import SERVICE_PREFIX, current_gateway, service_root
from gateway.odata.v4.responses import ODATA_VERSION, response_for_exception

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
    g.odata_context = open_request(gateway, request, data=data)
    check_max_version(request.headers)
    if gateway.csrf:
        csrf.check_request(request, gateway.secret, g.odata_context.principal.name)


def _view(resource: str = "") -> Response:
    return respond(g.odata_context, ODataRequest.from_http(request, resource, service_root()))


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
