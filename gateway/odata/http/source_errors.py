"""Turn failures of the source org into OData errors.

The Salesforce error code travels in ``details`` so an admin can look it up. Statuses: 504 when the source
timed out, 503 with ``Retry-After`` when the org's daily API limit is spent, 502 for any other source error
(the gateway asked correctly; the source failed) — except a search the org refuses for its search text
(``SEARCH_TEXT_CODES``: a wildcard standing for too many words, a term too short), which is 400
``SearchRefused`` with the reason in a sentence of its own (no SOSL, host or URL): the client's ``$search``
caused it, and only the org's index can tell.

Writes are different: a Salesforce refusal of a create/update/upsert/delete is usually about the data the
client sent, so ``odata_error_from_write`` maps it to a client error that carries Salesforce's code:
400 for field and validation errors (REQUIRED_FIELD_MISSING, STRING_TOO_LONG,
FIELD_CUSTOM_VALIDATION_EXCEPTION, INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, ...), 404 when the record
itself is gone (NOT_FOUND, ENTITY_IS_DELETED answered with 404), 409 for conflicts (DUPLICATE_VALUE,
locked rows, an external ID matching several records), 403 for missing access. Timeouts, the API limit
and 5xx stay 504/503/502. An unreachable org is 503 with ``Retry-After``.

No message or detail carries what only the gateway's operator should see: internal host names, ports and
URLs are cut out, and Salesforce's query errors lose the SOQL text they quote (the statement, the caret and
"ERROR at Row:…"), keeping the sentence that says what is wrong. The full error is logged server-side.
"""

from __future__ import annotations

import logging
import re

from gateway.odata.http.errors import ODataError
from gateway.operation.context import CallBudgetExceeded
from gateway.source.connection import InvalidAccessToken, SourceError, SourceTimeout

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = "3600"
UNREACHABLE_RETRY_AFTER_SECONDS = "30"
_SOQL_ERROR_LAYOUT = re.compile(r"ERROR at Row:\d+:Column:\d+\s*")
_URL = re.compile(r"\b(?:https?|wss?)://[^\s'\")]+|\burl: /\S+", re.I)
_HOST_PORT = re.compile(r"\b(?:host|hostname)='?[^\s',)]+'?|\bport=\d+|\b[\w.-]+\.[a-z]{2,}:\d{2,5}\b", re.I)


def safe_message(message: str) -> str:
    """Salesforce's message without the SOQL it quotes, URLs, host names or ports."""
    text = message or ""
    layout = list(_SOQL_ERROR_LAYOUT.finditer(text))
    if layout:
        text = text[layout[-1].end() :]
    text = _URL.sub("<url>", text)
    text = _HOST_PORT.sub("<host>", text)
    return " ".join(text.split())


CONFLICT_CODES = frozenset(
    {"DUPLICATE_VALUE", "DUPLICATES_DETECTED", "UNABLE_TO_LOCK_ROW", "ENTITY_IS_LOCKED", "MULTIPLE_CHOICES"}
)
GONE_CODES = frozenset({"NOT_FOUND", "ENTITY_IS_DELETED"})
# In sObject Collections the record's own Id that does not exist (or that the user's sharing hides) is
# reported as a bad cross reference without fields; with fields it is a lookup value, the client's error.
MISSING_RECORD_CODES = frozenset({"INVALID_CROSS_REFERENCE_KEY"})
ACCESS_CODES = frozenset(
    {
        "INSUFFICIENT_ACCESS",
        "INSUFFICIENT_ACCESS_OR_READONLY",
        "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
    }
)
# Search refusals caused by the search text (the org's index decides them, so the gateway cannot check them
# first): MALFORMED_SEARCH (e.g. a wildcard inside a term standing for more words than the org expands)
# and INVALID_SEARCH ("search term must be longer than one character").
SEARCH_TEXT_CODES = frozenset({"MALFORMED_SEARCH", "INVALID_SEARCH"})
_SOSL_TEXT = re.compile(r"[{}]|\b(?:FIND|RETURNING)\b", re.I)


def search_text_error(error: SourceError) -> ODataError:
    """400 for a search the org refused because of its search text: Salesforce's reason when it quotes no
    SOSL, else a general one, and its code in ``details``."""
    reason = safe_message(error.message)
    if not reason or _SOSL_TEXT.search(reason):
        reason = (
            "a term is too short or a wildcard stands for too many words; use terms of at least two "
            "characters and more characters before a wildcard."
        )
    return ODataError(
        400,
        "SearchRefused",
        f"The source org's search refused the $search text: {reason}",
        target="$search",
        details=[{"code": error.error_code}],
    )


def salesforce_details(error: SourceError) -> list[dict]:
    """One ``details`` entry per Salesforce error in the body: code, message, target (the fields)."""
    entries = error.body if isinstance(error.body, list) and error.body else None
    if entries is None or not all(isinstance(e, dict) for e in entries):
        entries = [{"errorCode": error.error_code, "message": error.message, "fields": error.fields}]
    details = []
    for entry in entries:
        code = entry.get("errorCode") or entry.get("statusCode") or error.error_code
        detail = {"code": code, "message": safe_message(entry.get("message") or error.message)}
        fields = entry.get("fields") or []
        if fields:
            detail["target"] = ",".join(fields)
        details.append(detail)
    return details


def invalid_token_error() -> ODataError:
    """401 for a user's source-org access token the org no longer accepts (per-user identity): the
    ``WWW-Authenticate`` challenge tells an OAuth client (Salesforce Connect) to refresh it."""
    return ODataError(
        401,
        "InvalidToken",
        "The source org does not accept this access token (expired or revoked); obtain a new one.",
        headers={
            "WWW-Authenticate": 'Bearer error="invalid_token", error_description="The access token '
            'expired or was revoked"'
        },
    )


def odata_error_from_write(error: SourceError, target: str | None = None) -> ODataError:
    """The OData error for a Salesforce refusal of a write (``target``: the entity set, when no field is
    named)."""
    status = error.status
    if isinstance(error, InvalidAccessToken):
        return invalid_token_error()
    if isinstance(error, SourceTimeout) or error.error_code == "REQUEST_LIMIT_EXCEEDED" or status >= 500:
        mapped = odata_error_from_source(error)
        assert mapped is not None
        if status >= 500 or isinstance(error, SourceTimeout):
            mapped.message += " The write may not have been applied; read the entity before retrying."
        return mapped
    details = salesforce_details(error)
    field = details[0].get("target") or target
    code = error.error_code
    if code in CONFLICT_CODES or status in (300, 409):
        new_status = 409
    elif (
        code in GONE_CODES
        and (status == 404 or not error.fields)
        or (code in MISSING_RECORD_CODES and not error.fields)
    ):
        new_status = 404
    elif code in ACCESS_CODES or status == 403:
        new_status = 403
    else:
        new_status = 400
    if code == "MULTIPLE_CHOICES":
        message = "More than one record in the source org has that external ID; the write was not applied."
    else:
        message = f"The Salesforce source org refused the write ({code}): {safe_message(error.message)}"
    return ODataError(new_status, code, message, field, details)


def odata_error_from_source(error: BaseException) -> ODataError | None:
    """The OData error for a source failure, or None when ``error`` is not one.

    A request that would pass its budget of source calls (``GATEWAY_BATCH_MAX_CALLS``) is 413: nothing
    failed at the source, the request is too big to answer within what it may spend."""
    if isinstance(error, CallBudgetExceeded):
        return ODataError(413, "BatchCallBudgetExceeded", str(error))
    if not isinstance(error, SourceError):
        return None
    if isinstance(error, InvalidAccessToken):
        return invalid_token_error()
    log.warning("source error %s %s: %s", error.status, error.error_code, error.message)
    if error.error_code == "UNREACHABLE":
        return ODataError(
            503,
            "SourceUnavailable",
            "The Salesforce source org cannot be reached right now; try again shortly.",
            headers={"Retry-After": UNREACHABLE_RETRY_AFTER_SECONDS},
        )
    if error.error_code in SEARCH_TEXT_CODES and error.status == 400:
        return search_text_error(error)
    message = safe_message(error.message)
    details = [{"code": error.error_code, "message": message, "target": ",".join(error.fields) or None}]
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
    if error.status >= 500:
        # The cause (host, status, what the org said) is for the operator: the request log has it.
        return ODataError(
            502,
            "SourceUnavailable",
            "The Salesforce source org could not be reached or failed; the cause is in the gateway's "
            "request log under this response's X-Request-Id.",
            details=[{"code": error.error_code}],
        )
    return ODataError(
        502,
        "SourceError",
        f"The Salesforce source org refused the request ({error.error_code}): {message}",
        details=details,
    )
