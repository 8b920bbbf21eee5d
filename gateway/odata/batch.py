"""``$batch``: multipart/mixed (OData 4.0) and JSON (4.01) batches; change sets become atomic composite calls.

Not built yet (issue 4): refused with 501.
"""

from __future__ import annotations

from flask import Response

from gateway.odata.errors import not_implemented


def handle_batch() -> Response:
    raise not_implemented("$batch is not supported yet; send each request on its own.")
