"""Server-driven paging: signed, stateless page tokens (``$skiptoken``), nextLinks and page sizes.

A token carries everything needed to serve the next page, so any gateway instance that knows the same
secret serves it, after a restart too, without cursors or server-side state. Layout, base64url without
padding::

    version (1 byte) | encoding (1 byte: 0 JSON, 1 zlib-compressed JSON) | payload | HMAC-SHA256 (16 bytes)

The MAC covers version, encoding and payload, so any change to any byte is refused (400). Tokens signed
with another secret (another deployment, or a secret that was rotated) and tokens of an older format
version are refused with 400 too: the client starts again from the first page. The token is not
encrypted: it holds query options and sort-key values of rows the client has already seen, nothing else.

The signing key is ``GATEWAY_SECRET``, shared by every instance behind one URL. Without it each process
draws a random secret: tokens then fail after a restart and between processes (gunicorn workers), so
``secret_from_env`` returns a warning for the caller to log.
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
from dataclasses import dataclass
from urllib.parse import quote

from gateway.odata.http.errors import ODataError, bad_request

TOKEN_VERSION = 1
_JSON = 0
_ZLIB_JSON = 1
_MAC_SIZE = 16  # HMAC-SHA256 truncated to 128 bits: unforgeable in practice, and keeps nextLinks short
_HEADER_SIZE = 2

INVALID_TOKEN_MESSAGE = "The $skiptoken is invalid or was altered; follow @odata.nextLink exactly as returned"
OLD_VERSION_MESSAGE = (
    "The $skiptoken was issued by an older version of the gateway and can no longer be served; "
    "request the first page again"
)
ALTERED_OPTIONS_MESSAGE = (
    "nextLink was altered: the query option {option} differs from the request that issued the "
    "$skiptoken; follow @odata.nextLink exactly as returned, or request the first page again"
)

# Options a client may change when following a nextLink (Salesforce Connect sends its own $top).
NEXT_LINK_FREE_OPTIONS = frozenset({"$skiptoken", "$top", "$count", "$format"})

_process_secret: bytes | None = None


@dataclass(frozen=True)
class PageState:
    """What the service puts in a token: enough to run the next page's query from scratch."""

    path: str  # the resource path of the original request: "Account", "Account('001...')/Contacts"
    options: dict[str, str]  # canonical_options() of the original request
    last_values: list  # keyset position: sort-key values of the last row served (Id last), JSON-safe
    served: int  # rows served so far, so $top can cap the total across pages
    count: int | None = None  # @odata.count when known, so later pages need no count query

    def to_dict(self) -> dict:
        state: dict = {"p": self.path, "o": self.options, "k": self.last_values, "n": self.served}
        if self.count is not None:
            state["c"] = self.count
        return state

    @classmethod
    def from_dict(cls, state: dict) -> PageState:
        try:
            page = cls(
                path=state["p"],
                options=state["o"],
                last_values=state["k"],
                served=state["n"],
                count=state.get("c"),
            )
        except (KeyError, TypeError):
            raise _invalid_token() from None
        valid = (
            isinstance(page.path, str)
            and isinstance(page.options, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in page.options.items())
            and isinstance(page.last_values, list)
            and _is_count(page.served)
            and (page.count is None or _is_count(page.count))
        )
        if not valid:
            raise _invalid_token()
        return page


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _mac_key(secret: bytes) -> bytes:
    # A key of its own, so the same GATEWAY_SECRET could sign other things without confusion.
    return hmac.new(secret, b"gateway.odata.paging.skiptoken", hashlib.sha256).digest()


def _mac(secret: bytes, signed: bytes) -> bytes:
    return hmac.new(_mac_key(secret), signed, hashlib.sha256).digest()[:_MAC_SIZE]


def _invalid_token() -> ODataError:
    return bad_request(INVALID_TOKEN_MESSAGE, target="$skiptoken")


def encode_token(state: dict, secret: bytes) -> str:
    """Sign ``state`` (JSON-safe: str, int, float, bool, None, lists, dicts) into an opaque, URL-safe token.

    Dates and datetimes must already be ISO strings; anything else is a programming error (TypeError).
    """
    try:
        payload = json.dumps(state, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    except ValueError as error:
        raise TypeError(f"page token state is not JSON-safe: {error}") from None
    encoding = _JSON
    compressed = zlib.compress(payload, 9)
    if len(compressed) < len(payload):
        payload, encoding = compressed, _ZLIB_JSON
    signed = bytes([TOKEN_VERSION, encoding]) + payload
    raw = signed + _mac(secret, signed)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_token(token: str, secret: bytes) -> dict:
    """The state signed into ``token``; ODataError 400 for anything not issued with ``secret``."""
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii") + b"=" * (-len(token) % 4))
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise _invalid_token() from None
    # Re-encoding must give the same text: refuses non-canonical spellings of the same bytes.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token:
        raise _invalid_token()
    if len(raw) < _HEADER_SIZE + _MAC_SIZE:
        raise _invalid_token()
    signed, mac = raw[:-_MAC_SIZE], raw[-_MAC_SIZE:]
    if not hmac.compare_digest(mac, _mac(secret, signed)):
        raise _invalid_token()
    version, encoding, payload = signed[0], signed[1], signed[_HEADER_SIZE:]
    if version != TOKEN_VERSION:
        raise bad_request(OLD_VERSION_MESSAGE, target="$skiptoken")
    try:
        if encoding == _ZLIB_JSON:
            payload = zlib.decompress(payload)
        elif encoding != _JSON:
            raise ValueError(encoding)
        state = json.loads(payload)
    except (zlib.error, ValueError):
        raise _invalid_token() from None
    if not isinstance(state, dict):
        raise _invalid_token()
    return state


def secret_from_env(environ: Mapping[str, str]) -> tuple[bytes, str | None]:
    """The token signing secret from ``GATEWAY_SECRET``, and a warning for the caller to log (or None).

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


def canonical_options(params: Mapping[str, str]) -> dict[str, str]:
    """The query options that define a result set: all but $skiptoken, $top, $count and $format."""
    return {name: value for name, value in params.items() if name.lower() not in NEXT_LINK_FREE_OPTIONS}


def check_options(params: Mapping[str, str], token_options: Mapping[str, str]) -> None:
    """400 "nextLink was altered" unless a nextLink request's options match those signed in its token."""
    request_options = canonical_options(params)
    for name in sorted(set(request_options) | set(token_options)):
        if request_options.get(name) != token_options.get(name):
            raise bad_request(ALTERED_OPTIONS_MESSAGE.format(option=name), target=name)


def _quote_path(path: str) -> str:
    # Keep key predicates readable: Account('001...')/Contacts
    return quote(path, safe="/'()=,:@!$*;")


def _quote_query(text: str) -> str:
    # '&', '=', '+', '#' and '%' must be escaped in a query; the rest of OData syntax may stay readable.
    return quote(text, safe="$'(),:/@!*;")


def next_link(base_url: str, path: str, params: Mapping[str, str], token: str) -> str:
    """``<base_url>/<path>?<params>&$skiptoken=<token>``, percent-encoded.

    ``path`` is the resource path relative to ``base_url`` (decoded); ``params`` the request's query
    options (decoded), in order. A ``$skiptoken`` among them is replaced by ``token``.
    """
    link = base_url.rstrip("/") + "/" + _quote_path(path.lstrip("/"))
    pairs = [
        f"{_quote_query(name)}={_quote_query(value)}"
        for name, value in params.items()
        if name.lower() != "$skiptoken"
    ]
    pairs.append(f"$skiptoken={token}")
    return link + "?" + "&".join(pairs)


def page_size(prefer_header: str | None, default: int = 200, maximum: int = 2000) -> tuple[int, str | None]:
    """The page size for a request's ``Prefer`` header, and the ``Preference-Applied`` value to echo.

    Honours ``odata.maxpagesize=N`` and OData 4.01's ``maxpagesize=N`` (the first valid one); a size above
    ``maximum`` is served as ``maximum`` (still within the client's maximum) and echoed as such. Zero,
    negative or non-numeric sizes and unknown preferences are ignored: ``(default, None)``.
    """
    for preference in _split_preferences(prefer_header or ""):
        name, _, value = preference.split(";", 1)[0].partition("=")
        name = name.strip().lower()
        if name not in ("odata.maxpagesize", "maxpagesize"):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if not (value.isascii() and value.isdigit()) or int(value) < 1:
            continue
        size = min(int(value), maximum)
        return size, f"{name}={size}"
    return default, None


def _split_preferences(header: str) -> list[str]:
    """Comma-separated preferences; commas inside quoted strings do not separate."""
    preferences, current, quoted = [], [], False
    for char in header:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            preferences.append("".join(current))
            current = []
        else:
            current.append(char)
    preferences.append("".join(current))
    return [p for p in (p.strip() for p in preferences) if p]
