"""OData errors: every refusal and failure the gateway reports is an ``ODataError``.

The body is OData's JSON error format: ``{"error": {"code", "message", "target", "details"}}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ODataError(Exception):
    status: int
    code: str
    message: str
    target: str | None = None
    details: list[dict] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def body(self) -> dict:
        error: dict = {"code": self.code, "message": self.message}
        if self.target is not None:
            error["target"] = self.target
        if self.details:
            error["details"] = self.details
        return {"error": error}


def bad_request(message: str, target: str | None = None, code: str = "BadRequest") -> ODataError:
    return ODataError(400, code, message, target)


def not_implemented(message: str, target: str | None = None, code: str = "NotImplemented") -> ODataError:
    return ODataError(501, code, message, target)


def not_found(message: str, target: str | None = None) -> ODataError:
    return ODataError(404, "NotFound", message, target)


def method_not_allowed(message: str, allow: str | None = None, target: str | None = None) -> ODataError:
    """405, with the ``Allow`` header when the methods the resource does take are known."""
    return ODataError(
        405, "MethodNotAllowed", message, target, headers={} if allow is None else {"Allow": allow}
    )


def forbidden(message: str, target: str | None = None, code: str = "Forbidden") -> ODataError:
    return ODataError(403, code, message, target)
