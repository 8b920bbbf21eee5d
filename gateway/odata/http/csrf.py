"""CSRF token exchange, as Salesforce Connect does it when "CSRF Protection" is on (``GATEWAY_CSRF=on``).

A GET with ``X-CSRF-Token: Fetch`` receives a token in the ``X-CSRF-Token`` response header; every write
(POST, PATCH, MERGE, PUT, DELETE, ``$batch``) must then carry it, else 403 with ``X-CSRF-Token: Required``.
Tokens are stateless: the expiry signed by ``tokens.py`` with the gateway secret (``GATEWAY_SECRET``),
bound to the authenticated principal, so any instance sharing the secret accepts them and one client's
token is useless to another. They last ``TOKEN_LIFETIME_SECONDS``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from werkzeug.wrappers import Request

from gateway.odata.http import tokens
from gateway.odata.http.errors import ODataError
from gateway.odata.http.headers import WRITE_METHODS, effective_method

HEADER = "X-CSRF-Token"
TOKEN_LIFETIME_SECONDS = 30 * 60
PURPOSE = "gateway.odata.csrf"


def enabled(environ: Mapping[str, str]) -> bool:
    return environ.get("GATEWAY_CSRF", "").strip().lower() in ("on", "true", "1", "yes")


def issue(secret: bytes, principal: str, now: float | None = None) -> str:
    expiry = int(now if now is not None else time.time()) + TOKEN_LIFETIME_SECONDS
    return tokens.sign({"e": expiry}, secret, PURPOSE, bound_to=principal)


def is_valid(token: str | None, secret: bytes, principal: str, now: float | None = None) -> bool:
    if not token:
        return False
    try:
        expiry = tokens.verify(token.strip(), secret, PURPOSE, bound_to=principal).get("e")
    except tokens.TokenError:
        return False
    if not isinstance(expiry, int) or isinstance(expiry, bool):
        return False
    return expiry >= (now if now is not None else time.time())


def check_request(request: Request, secret: bytes, principal: str) -> None:
    """``check_write`` for a face's HTTP request, by the method it means (``X-HTTP-Method`` applied)."""
    check_write(effective_method(request.method, request.headers), request.headers, secret, principal)


def check_write(method: str, headers: Mapping[str, str], secret: bytes, principal: str) -> None:
    """403 when a write carries no valid token."""
    if method.upper() not in WRITE_METHODS:
        return
    token = headers.get(HEADER)
    if is_valid(token, secret, principal):
        return
    problem = (
        "carries no CSRF token"
        if not token or token.lower() == "fetch"
        else "carries an invalid or expired CSRF token"
    )
    raise ODataError(
        403,
        "CsrfTokenRequired",
        f"This write {problem}. CSRF protection is on: fetch a token with a GET carrying "
        f"'{HEADER}: Fetch' and send it back in the {HEADER} header.",
        headers={HEADER: "Required"},
    )


def wants_token(method: str, headers: Mapping[str, str]) -> bool:
    return method.upper() in ("GET", "HEAD") and (headers.get(HEADER) or "").strip().lower() == "fetch"
