"""``GET /health`` (liveness), ``GET /ready`` (readiness) and ``GET /metrics`` (Prometheus).

- ``/health``: no authentication, no source call — the process answers.
- ``/ready``: no authentication; 200 when the publication is loaded and the source org answered within
  the last check (``readiness.py``: at most one API call per 30 s), else 503 with ``Retry-After``.
- ``/metrics``: the gateway's credentials (as for ``/odata/``) or ``Authorization: Bearer
  <GATEWAY_METRICS_TOKEN>``.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, request

from gateway.odata.http.errors import ODataError
from gateway.operation.metrics import bearer_token_matches
from gateway.operation.names import ENDPOINTS, OPERATION_KEY
from gateway.operation.readiness import CHECK_INTERVAL_SECONDS


def _operation() -> Any:
    """The installed ``hooks.Operation`` (metrics, readiness, settings)."""
    return current_app.extensions[OPERATION_KEY]


def _json(body: dict, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(body), status=status, content_type="application/json")
    response.headers.update(headers or {})
    response.headers["Cache-Control"] = "no-store"
    return response


def health() -> Response:
    return _json({"status": "ok"})


def ready() -> Response:
    gateway = current_app.extensions.get("odata_gateway")
    if gateway is None or gateway.publication is None:
        return _json({"status": "not ready", "reason": "no publication loaded"}, 503, {"Retry-After": "30"})
    state = _operation().readiness.state()
    if not state.ready:
        retry = str(int(CHECK_INTERVAL_SECONDS))
        return _json({"status": "not ready", "reason": state.detail}, 503, {"Retry-After": retry})
    return _json({"status": "ready", "source": state.detail})


def metrics() -> Response:
    operation = _operation()
    if not bearer_token_matches(request.headers, operation.settings.metrics_token):
        current_app.extensions["odata_gateway"].access.authenticate(request.headers, request.remote_addr)
    return Response(operation.metrics.render(), content_type=operation.metrics.content_type)


def _error(error: ODataError) -> Response:
    return _json(error.body(), error.status, error.headers)


def create_blueprint() -> Blueprint:
    bp = Blueprint(ENDPOINTS, __name__)
    bp.add_url_rule("/health", "health", health, methods=["GET"])
    bp.add_url_rule("/ready", "ready", ready, methods=["GET"])
    bp.add_url_rule("/metrics", "metrics", metrics, methods=["GET"])
    bp.register_error_handler(ODataError, _error)
    return bp
