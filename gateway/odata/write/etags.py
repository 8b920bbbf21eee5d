"""ETags from SystemModstamp and the conditional headers If-Match / If-None-Match.

An entity's ETag is weak, ``W/"2024-03-01T12:00:00.000Z"``: its SystemModstamp as ``shape.py`` renders
``@odata.etag``. Salesforce changes SystemModstamp on every write to the record, so a changed ETag means
the record changed. Comparison is weak (RFC 9110 §8.8.3.2): the opaque part decides, ``W/`` does not.
"""

from __future__ import annotations

from gateway.odata.http.errors import ODataError
from gateway.odata.model.values import etag_of

__all__ = ["ANY", "etag_of", "matches", "parse_etags"]

ANY = "*"


def parse_etags(header: str) -> list[str]:
    """The entity tags of an If-Match / If-None-Match header: ``["*"]`` or the opaque tags, unquoted."""
    header = header.strip()
    if header == ANY:
        return [ANY]
    tags = []
    for part in _split(header):
        part = part.strip()
        if part.startswith("W/"):
            part = part[2:]
        if len(part) >= 2 and part[0] == '"' and part[-1] == '"':
            tags.append(part[1:-1])
        elif part:
            raise ODataError(400, "BadRequest", f"'{part}' is not an entity tag; send it quoted as received.")
    return tags


def _split(header: str) -> list[str]:
    """Split on commas outside quotes (an ETag here never holds a comma, but a client may send one)."""
    parts, current, quoted = [], "", False
    for char in header:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def matches(header: str, etag: str | None) -> bool:
    """Whether ``etag`` (of an existing entity; None when it has none) matches the header's tags."""
    tags = parse_etags(header)
    if ANY in tags:
        return True
    return etag is not None and parse_etags(etag)[0] in tags


def check_if_match(header: str | None, record: dict | None, name: str) -> None:
    """412 when an If-Match header does not match ``record`` (None: it does not exist)."""
    if header is None:
        return
    if record is None:
        raise ODataError(412, "PreconditionFailed", f"If-Match: the {name} does not exist.", name)
    if not matches(header, etag_of(record)):
        raise ODataError(
            412,
            "PreconditionFailed",
            f"If-Match: the {name} was changed since that ETag was issued (its ETag is now "
            f"{etag_of(record)}); read it again and retry.",
            name,
            headers={"ETag": etag_of(record) or ""},
        )
