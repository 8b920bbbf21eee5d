"""Building the V4 face's responses: JSON bodies and OData error bodies, in one place."""

from __future__ import annotations

import json
from typing import Any

from flask import Response

from gateway.odata.http.errors import ODataError


def json_response(
    body: Any, status: int = 200, content_type: str = "application/json", **headers: str
) -> Response:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    response = Response(text, status=status, content_type=content_type)
    response.headers.update(headers)
    return response


def error_response(error: ODataError) -> Response:
    response = json_response(error.body(), error.status, "application/json;odata.metadata=minimal")
    response.headers.update(error.headers)
    return response
