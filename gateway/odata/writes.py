"""Write-back: create, update, replace, delete and upsert through the source org's REST API.

Not built yet (issue 4): every write is refused with 405 and says so.
"""

from __future__ import annotations

from flask import Response, request

from gateway.odata.errors import ODataError
from gateway.odata.model import EntitySet
from gateway.odata.resource_path import ResourcePath


def handle_write(entity_set: EntitySet, path: ResourcePath) -> Response:
    """Answer a POST, PATCH, MERGE, PUT or DELETE on ``path``."""
    raise ODataError(
        405,
        "MethodNotAllowed",
        f"{request.method} is not supported yet: this gateway is read-only (write-back is not built).",
        headers={"Allow": "GET"},
    )
