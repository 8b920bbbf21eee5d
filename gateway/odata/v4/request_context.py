"""What a request handler of the OData service needs from Flask's context: the gateway and its URLs."""

from __future__ import annotations

from typing import Any

from flask import current_app, request

SERVICE_PREFIX = "/odata"
"""Where the service root is mounted."""


def current_gateway() -> Any:
    """The ``app.Gateway`` of the running app (source, model, secrets, access rules)."""
    return current_app.extensions["odata_gateway"]


def service_root() -> str:
    """The absolute service root URL of this request, ending in ``/``."""
    return request.host_url.rstrip("/") + SERVICE_PREFIX + "/"
