"""Turn failures of the source org into OData errors.

The Salesforce error code travels in ``details`` so an admin can look it up. Statuses: 504 when the source
timed out, 503 with ``Retry-After`` when the org's daily API limit is spent, 502 for any other source error
(the gateway asked correctly; the source failed).
"""

from __future__ import annotations

from gateway.odata.errors import ODataError
from gateway.source import SourceError, SourceTimeout

RETRY_AFTER_SECONDS = "3600"


def odata_error_from_source(error: BaseException) -> ODataError | None:
    """The OData error for a source failure, or None when ``error`` is not one."""
    if not isinstance(error, SourceError):
        return None
    details = [{"code": error.error_code, "message": error.message, "target": ",".join(error.fields) or None}]
    details = [{k: v for k, v in d.items() if v is not None} for d in details]
    if isinstance(error, SourceTimeout):
        return ODataError(
            504,
            "SourceTimeout",
            "The Salesforce source org did not answer in time; try again or narrow the request.",
            details=details,
        )
    if error.error_code == "REQUEST_LIMIT_EXCEEDED":
        return ODataError(
            503,
            "SourceApiLimitExceeded",
            "The Salesforce source org has used up its daily API requests; try again later.",
            details=details,
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )
    return ODataError(
        502,
        "SourceError",
        f"The Salesforce source org refused the request ({error.error_code}): {error.message}",
        details=details,
    )
