"""Salesforce's error model: every failure the local org reports is a ``SalesforceError``.

The REST API answers errors as a JSON list ``[{"message", "errorCode", "fields"}]``; composite results use
``statusCode`` in place of ``errorCode``.
"""

from __future__ import annotations


class SalesforceError(Exception):
    """One Salesforce error: the HTTP status, the ``errorCode`` and message, and the fields it concerns."""

    def __init__(self, status: int, error_code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = list(fields or [])

    def body(self) -> list[dict]:
        """The REST API error body."""
        entry: dict = {"message": self.message, "errorCode": self.error_code}
        if self.fields:
            entry["fields"] = self.fields
        return [entry]

    def composite_entry(self) -> dict:
        """The error as one entry of a composite result's ``errors`` list."""
        return {"statusCode": self.error_code, "message": self.message, "fields": self.fields}


def malformed_query(message: str) -> SalesforceError:
    return SalesforceError(400, "MALFORMED_QUERY", message)


def invalid_field(message: str, fields: list[str] | None = None) -> SalesforceError:
    return SalesforceError(400, "INVALID_FIELD", message, fields)


def invalid_type(sobject: str) -> SalesforceError:
    return SalesforceError(
        400,
        "INVALID_TYPE",
        f"sObject type '{sobject}' is not supported. If you are attempting to use a custom object, be sure "
        "to append the '__c' after the entity name. Please reference your WSDL or the describe call for "
        "the appropriate names.",
    )


def not_found() -> SalesforceError:
    return SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
