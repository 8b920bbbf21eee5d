"""The V2 face's Flask blueprint at ``/odata/v2/``: authentication, CSRF, protocol headers, then the pipeline.

The same access rules as the V4 face (the gateway's ``Access``, ``Gateway.context_for``), the same CSRF
check for writes (``GATEWAY_CSRF``; the token from ``X-CSRF-Token: Fetch`` on a GET), gzip/deflate request
bodies decompressed first; then each HTTP request becomes an ``ODataRequest`` for ``dispatch.respond``.
``DataServiceVersion: 2.0`` is on every response; errors come in V2's JSON or XML shape, never a 500 for
client input. ``MaxDataServiceVersion`` below 2.0 is refused: the answers use V2 features (``__count``,
``__next``).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, request

from gateway.identity.request import open_request
from gateway.odata.http import csrf
from gateway.odata.http.errors import bad_request
from gateway.odata.http.request import ODataRequest
from gateway.odata.service import Gateway
from gateway.odata.v2.dispatch import respond
from gateway.odata.v2.responses import DATA_SERVICE_VERSION, SERVICE_PREFIX, Call, response_for_exception

V2_METHODS = ["GET", "POST", "PUT", "MERGE", "PATCH", "DELETE"]


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


def _gateway() -> Gateway:
    return current_app.extensions["odata_gateway"]


def create_blueprint(search_param: str | None = None) -> Blueprint:
    """``search_param``: the custom query option answered by the search of V4's ``$search``
    (``GATEWAY_V2_SEARCH_PARAM``, Salesforce Connect's "Custom Query Option for Salesforce Search")."""
    bp = Blueprint("odata_v2", __name__, url_prefix=SERVICE_PREFIX)

    @bp.before_request
    def _authenticate_and_check() -> None:
        gateway = _gateway()
        # per-user identity: a data request runs with the user's view of the gateway (their source, model
        # and paging key); CSRF tokens stay signed by the app's secret, bound to the principal (the user)
        data = request.endpoint == "odata_v2.resource"  # not the service document or $metadata
        g.odata_context = open_request(gateway, request, data=data)
        check_max_version(request.headers.get("MaxDataServiceVersion"))
        if gateway.csrf:
            csrf.check_request(request, gateway.secret, g.odata_context.principal.name)

    def _view(resource: str = "") -> Response:
        req = ODataRequest.from_http(request, resource, request.url_root.rstrip("/") + SERVICE_PREFIX + "/")
        return respond(Call(g.odata_context, req, search_param))

    @bp.after_request
    def _protocol_headers(response: Response) -> Response:
        response.headers["DataServiceVersion"] = DATA_SERVICE_VERSION
        gateway = _gateway()
        context = g.get("odata_context")
        if gateway.csrf and context is not None and csrf.wants_token(request.method, request.headers):
            response.headers[csrf.HEADER] = csrf.issue(gateway.secret, context.principal.name)
        return response

    @bp.errorhandler(Exception)
    def _error(error: Exception) -> Response:
        """Failures before the pipeline (authentication, CSRF, MaxDataServiceVersion) as V2 error bodies."""
        return response_for_exception(error, request, request.full_path)

    bp.add_url_rule("", "service_root", _view, methods=V2_METHODS)  # /odata/v2 without the slash too
    bp.add_url_rule("/", "service_document", _view, methods=V2_METHODS)
    bp.add_url_rule("/$metadata", "metadata", _view, methods=V2_METHODS, defaults={"resource": "$metadata"})
    bp.add_url_rule("/<path:resource>", "resource", _view, methods=V2_METHODS)
    return bp
