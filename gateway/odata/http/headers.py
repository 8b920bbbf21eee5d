"""Request headers with protocol meaning, parsed in one place: ``Prefer`` and ``X-HTTP-Method``.

``Prefer`` (RFC 7240, OData Part 1 §8.2.8): comma-separated preferences, each ``name[=value][; params]``;
names are case-insensitive, values may be quoted, commas inside quotes do not separate. Unknown
preferences are ignored, as the RFC asks.

``X-HTTP-Method`` on a POST tunnels PATCH, MERGE, PUT or DELETE (for clients and proxies that only pass
GET and POST); anything else tunnelled is a 400.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.odata.http.errors import bad_request

WRITE_METHODS = frozenset({"POST", "PATCH", "MERGE", "PUT", "DELETE"})
TUNNELLED_METHODS = frozenset({"PATCH", "MERGE", "PUT", "DELETE"})
MAX_PAGE_SIZE_NAMES = ("odata.maxpagesize", "maxpagesize")  # 4.0 and 4.01 spellings
CONTINUE_ON_ERROR_NAMES = ("odata.continue-on-error", "continue-on-error")


@dataclass(frozen=True)
class Preference:
    name: str  # lower case
    value: str | None  # unquoted; None when the preference has no value


@dataclass(frozen=True)
class Preferences:
    """The preferences of one ``Prefer`` header, in the order sent."""

    items: tuple[Preference, ...] = ()

    def value(self, name: str) -> str | None:
        """The first value of preference ``name`` (None when absent or valueless)."""
        return next((p.value for p in self.items if p.name == name), None)

    @property
    def return_(self) -> str | None:
        """``minimal`` or ``representation`` (lower case) when ``return=`` was sent."""
        value = self.value("return")
        return value.lower() if value else None

    @property
    def continue_on_error(self) -> bool:
        return any(
            p.name in CONTINUE_ON_ERROR_NAMES and (p.value or "true").lower() != "false" for p in self.items
        )

    def max_page_size(self) -> tuple[int, str] | None:
        """The first valid ``odata.maxpagesize``/``maxpagesize`` (a positive integer) and its name."""
        for preference in self.items:
            value = preference.value or ""
            if preference.name in MAX_PAGE_SIZE_NAMES and value.isascii() and value.isdigit():
                if int(value) >= 1:
                    return int(value), preference.name
        return None


def parse_prefer(header: str | None) -> Preferences:
    items = []
    for text in _split_outside_quotes(header or "", ","):
        pieces = _split_outside_quotes(text, ";")  # the preference, then its parameters
        if not pieces:
            continue
        name, has_value, value = pieces[0].partition("=")
        name = name.strip().lower()
        if not name:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        items.append(Preference(name, value if has_value else None))
    return Preferences(tuple(items))


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts, current, quoted = [], [], False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p for p in (p.strip() for p in parts) if p]


def effective_method(method: str, headers: Mapping[str, str]) -> str:
    """The method meant: ``X-HTTP-Method`` on a POST tunnels PATCH, MERGE, PUT or DELETE; 400 otherwise."""
    tunnelled = headers.get("X-HTTP-Method")
    if method.upper() != "POST" or not tunnelled:
        return method.upper()
    meant = tunnelled.strip().upper()
    if meant not in TUNNELLED_METHODS:
        raise bad_request(
            f"X-HTTP-Method: {tunnelled} cannot be tunnelled over POST; use PATCH, MERGE, PUT or DELETE.",
            target="X-HTTP-Method",
        )
    return meant
