"""What the V4 blueprint takes from Flask's context: the gateway and the service root URL."""

from __future__ import annotations

from flask import current_app, request

from gateway.odata.service import Gateway

SERVICE_PREFIX = "/odata"
"""Where the service root is mounted."""


def current_gateway() -> Gateway:
    """The ``Gateway`` of the running app (source, model, secrets, access rules)."""
    return current_app.extensions["odata_gateway"]


def service_root() -> str:
    """The absolute service root URL of this request, ending in ``/``: scheme, host and script root as the
    public URL middleware set them (``GATEWAY_BASE_URL``, trusted proxies)."""
    return request.url_root.rstrip("/") + SERVICE_PREFIX + "/"
