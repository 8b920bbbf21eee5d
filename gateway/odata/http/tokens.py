"""Signed, stateless tokens: ``$skiptoken`` page state, CSRF tokens, and any token still to come.

A token is a small JSON object signed with the gateway secret (``GATEWAY_SECRET``), so any instance that
shares the secret accepts it, after a restart too, without server-side state. Layout, base64url without
padding::

    version (1 byte) | encoding (1 byte: 0 JSON, 1 zlib-compressed JSON) | payload | HMAC-SHA256 (16 bytes)

The MAC covers version, encoding and payload, so any change to any byte is refused. Each kind of token
signs with a key of its own, derived from the secret and the token's ``purpose``, so a token of one kind
is never accepted as another. ``bound_to`` (a principal name, for instance) enters the MAC without being
written into the token: the token is then valid for that value only. Tokens are not encrypted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import zlib
from collections.abc import Mapping

TOKEN_VERSION = 2  # 2: one token format for page state and CSRF (page state keys p, o, k, n, c)
_JSON = 0
_ZLIB_JSON = 1
_MAC_SIZE = 16  # HMAC-SHA256 truncated to 128 bits: unforgeable in practice, and keeps URLs short
_HEADER_SIZE = 2

_process_secret: bytes | None = None


class TokenError(ValueError):
    """A token that was not issued by this gateway with this secret for this purpose (or was altered).

    ``outdated`` is True for a correctly signed token of an older format version."""

    def __init__(self, outdated: bool = False):
        super().__init__("outdated token" if outdated else "invalid token")
        self.outdated = outdated


def _mac(secret: bytes, purpose: str, signed: bytes, bound_to: str) -> bytes:
    key = hmac.new(secret, purpose.encode("utf-8"), hashlib.sha256).digest()
    message = signed if not bound_to else signed + b"\0" + bound_to.encode("utf-8", "surrogatepass")
    return hmac.new(key, message, hashlib.sha256).digest()[:_MAC_SIZE]


def sign(state: dict, secret: bytes, purpose: str, *, bound_to: str = "") -> str:
    """``state`` (JSON-safe: str, int, float, bool, None, lists, dicts) as an opaque, URL-safe token.

    Dates and datetimes must already be ISO strings; anything else is a programming error (TypeError).
    """
    try:
        payload = json.dumps(state, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    except ValueError as error:
        raise TypeError(f"token state is not JSON-safe: {error}") from None
    encoding = _JSON
    compressed = zlib.compress(payload, 9)
    if len(compressed) < len(payload):
        payload, encoding = compressed, _ZLIB_JSON
    signed = bytes([TOKEN_VERSION, encoding]) + payload
    raw = signed + _mac(secret, purpose, signed, bound_to)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def verify(token: str, secret: bytes, purpose: str, *, bound_to: str = "") -> dict:
    """The state signed into ``token``; ``TokenError`` for anything not issued that way."""
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii") + b"=" * (-len(token) % 4))
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise TokenError() from None
    # Re-encoding must give the same text: refuses non-canonical spellings of the same bytes.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token:
        raise TokenError()
    if len(raw) < _HEADER_SIZE + _MAC_SIZE:
        raise TokenError()
    signed, mac = raw[:-_MAC_SIZE], raw[-_MAC_SIZE:]
    if not hmac.compare_digest(mac, _mac(secret, purpose, signed, bound_to)):
        raise TokenError()
    version, encoding, payload = signed[0], signed[1], signed[_HEADER_SIZE:]
    if version != TOKEN_VERSION:
        raise TokenError(outdated=True)
    try:
        if encoding == _ZLIB_JSON:
            payload = zlib.decompress(payload)
        elif encoding != _JSON:
            raise ValueError(encoding)
        state = json.loads(payload)
    except (zlib.error, ValueError):
        raise TokenError() from None
    if not isinstance(state, dict):
        raise TokenError()
    return state


def secret_from_env(environ: Mapping[str, str]) -> tuple[bytes, str | None]:
    """The signing secret from ``GATEWAY_SECRET``, and a warning for the caller to log (or None).

    Unset: a random secret, the same for the whole process, so tokens do not survive a restart and are
    not accepted by other processes or instances.
    """
    global _process_secret
    configured = environ.get("GATEWAY_SECRET", "")
    if configured:
        warning = None
        if len(configured) < 16:
            warning = "GATEWAY_SECRET is short; use at least 32 random characters to sign paging tokens"
        return configured.encode("utf-8"), warning
    if _process_secret is None:
        _process_secret = secrets.token_bytes(32)
    warning = (
        "GATEWAY_SECRET is not set: paging tokens (@odata.nextLink) are signed with a random secret of "
        "this process and stop working after a restart or on another instance or worker; set "
        "GATEWAY_SECRET to the same random value on every instance behind one URL"
    )
    return _process_secret, warning
