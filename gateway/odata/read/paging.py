"""Server-driven paging: the page state, its signed ``$skiptoken``, nextLinks and page sizes.

``PageState`` is the one form of "where a paged read stands": the resource path and query options of the
first request, the keyset position (sort-key values of the last row served, Id last), the rows served and
the count once known. ``read/execute.py`` reads a page from one and returns the next; the token carries it
(signed by ``http/tokens.py``), so any gateway instance that knows the same secret serves the next page,
after a restart too, without cursors or server-side state. Tokens signed with another secret or of an
older format version are refused with 400: the client starts again from the first page. The token is not
encrypted: it holds query options and sort-key values of rows the client has already seen, nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from gateway.odata.http import tokens
from gateway.odata.http.errors import ODataError, bad_request
from gateway.odata.http.headers import parse_prefer

PURPOSE = "gateway.odata.paging.skiptoken"

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


@dataclass(frozen=True)
class PageState:
    """What the service puts in a token: enough to run the next page's query from scratch."""

    path: str  # the resource path of the original request: "Account", "Account('001...')/Contacts"
    options: dict[str, str]  # the original request's options, which every nextLink repeats
    last_values: list  # keyset position: sort-key values of the last row served (Id last), JSON-safe
    served: int  # rows served so far, so $top can cap the total across pages
    count: int | None = None  # @odata.count when known, so later pages need no count query

    @classmethod
    def first(cls, path: str, options: Mapping[str, str]) -> PageState:
        """The state before the first page of ``path`` with the request's ``options``."""
        return cls(path, dict(options), [], 0)

    @property
    def after(self) -> tuple | None:
        """The keyset position to read after; None on the first page."""
        return tuple(self.last_values) if self.last_values else None

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


def _invalid_token() -> ODataError:
    return bad_request(INVALID_TOKEN_MESSAGE, target="$skiptoken")


def encode_token(state: dict, secret: bytes) -> str:
    """Sign a page state (``PageState.to_dict()``) into an opaque, URL-safe ``$skiptoken``."""
    return tokens.sign(state, secret, PURPOSE)


def decode_token(token: str, secret: bytes) -> dict:
    """The state signed into ``token``; ODataError 400 for anything not issued with ``secret``."""
    try:
        return tokens.verify(token, secret, PURPOSE)
    except tokens.TokenError as error:
        raise bad_request(
            OLD_VERSION_MESSAGE if error.outdated else INVALID_TOKEN_MESSAGE, "$skiptoken"
        ) from None


def state_from_token(token: str, secret: bytes, path: str, params: Mapping[str, str]) -> PageState:
    """The page state of a nextLink request: 400 unless the token is ours, for ``path``, and the request's
    options are those of the request that issued it."""
    state = PageState.from_dict(decode_token(token, secret))
    if state.path != path:
        raise bad_request("The $skiptoken belongs to another resource; follow @odata.nextLink as returned.")
    check_options(params, canonical_options(state.options))
    return state


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
    wanted = parse_prefer(prefer_header).max_page_size()
    if wanted is None:
        return default, None
    size = min(wanted[0], maximum)
    return size, f"{wanted[1]}={size}"
