"""multipart/mixed batch bodies (OData 4.0 and V2 alike): parse the requests, write the responses.

A batch body is a MIME multipart/mixed message. Each part is either one request (``Content-Type:
application/http``, ``Content-Transfer-Encoding: binary``; its body is a request line, headers, a blank
line and the request body) or a change set: a nested multipart/mixed whose parts are requests, each with a
``Content-ID``. Lines end in CRLF; a bare LF is accepted too, as many clients send it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from gateway.odata.http.errors import ODataError


class MultipartError(ValueError):
    """The body is not a well-formed multipart/mixed batch."""


@dataclass(frozen=True)
class HttpRequestPart:
    method: str
    url: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    content_id: str | None = None


@dataclass(frozen=True)
class ChangeSetPart:
    requests: tuple[HttpRequestPart, ...]


@dataclass
class HttpResponsePart:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    content_id: str | None = None


_BOUNDARY_PARAM = re.compile(r';\s*boundary\s*=\s*("(?P<quoted>[^"]+)"|(?P<plain>[^;\s]+))', re.I)
_BOUNDARY_CHARS = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{1,70}")
_REQUEST_LINE = re.compile(r"^(?P<method>[A-Za-z]+)\s+(?P<url>\S+)(?:\s+HTTP/\d\.\d)?\s*$")


def boundary_of(content_type: str) -> str | None:
    """The boundary of a ``multipart/mixed`` content type, or None when it is not one or has none."""
    if not content_type.lower().startswith("multipart/mixed"):
        return None
    match = _BOUNDARY_PARAM.search(content_type)
    if match is None:
        return None
    boundary = match["quoted"] or match["plain"]
    if not _BOUNDARY_CHARS.fullmatch(boundary) or boundary.endswith(" "):
        raise MultipartError(
            "the boundary must be 1 to 70 ASCII letters, digits or '()+_,-./:=? (RFC 2046), "
            f"not {boundary[:80]!r}"
        )
    return boundary


def _split_parts(body: bytes, boundary: str) -> list[bytes]:
    """The parts between ``--boundary`` delimiters, up to the closing ``--boundary--``."""
    delimiter = b"--" + boundary.encode("latin-1")
    # Delimiters sit at the start of a line; the line break before one belongs to the delimiter.
    pieces = re.split(rb"(?:^|\r?\n)" + re.escape(delimiter), body)
    if len(pieces) < 2:
        raise MultipartError(f"the body has no part delimited by '--{boundary}'")
    parts: list[bytes] = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            return parts
        rest = piece.lstrip(b" \t")  # transport padding may follow a delimiter
        if not (rest.startswith(b"\r\n") or rest.startswith(b"\n")):
            raise MultipartError(f"the delimiter '--{boundary}' must end its line")
        parts.append(rest.split(b"\n", 1)[1])
    raise MultipartError(f"the body does not end with the closing delimiter '--{boundary}--'")


def _split_head(data: bytes) -> tuple[dict[str, str], list[str], bytes]:
    """(headers, the raw head lines, body) of a MIME part or an embedded HTTP message."""
    match = re.search(rb"\r?\n\r?\n", data)
    if match is None:
        head, rest = data, b""
    else:
        head, rest = data[: match.start()], data[match.end() :]
    if data.startswith(b"\r\n") or data.startswith(b"\n"):  # no headers at all
        head, rest = b"", data.split(b"\n", 1)[1]
    lines = [line.rstrip("\r") for line in head.decode("utf-8", "replace").split("\n")] if head else []
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if colon and name.strip():
            headers[name.strip().lower()] = value.strip()
    return headers, lines, rest


def _parse_http_request(data: bytes, part_headers: dict[str, str]) -> HttpRequestPart:
    match = re.search(rb"\r?\n", data)
    request_line = (data[: match.start()] if match else data).decode("utf-8", "replace")
    parsed = _REQUEST_LINE.match(request_line.strip())
    if parsed is None:
        shown = request_line.strip()[:80]
        raise MultipartError(f"'{shown}' is not an HTTP request line (METHOD URL HTTP/1.1)")
    rest = data[match.end() :] if match else b""
    if rest.startswith(b"\r\n") or rest.startswith(b"\n"):
        headers, body = {}, rest.split(b"\n", 1)[1]
    else:
        headers, _, body = _split_head(rest)
    content_id = part_headers.get("content-id") or headers.get("content-id")
    return HttpRequestPart(parsed["method"].upper(), parsed["url"], headers, body, content_id)


def _parse_request_part(data: bytes, in_change_set: bool) -> HttpRequestPart | ChangeSetPart:
    part_headers, _, content = _split_head(data)
    content_type = part_headers.get("content-type", "")
    nested = boundary_of(content_type)
    if nested is not None:
        if in_change_set:
            raise MultipartError("a change set cannot contain another change set")
        requests = []
        for piece in _split_parts(content, nested):
            item = _parse_request_part(piece, in_change_set=True)
            assert isinstance(item, HttpRequestPart)
            requests.append(item)
        return ChangeSetPart(tuple(requests))
    if not content_type.lower().startswith("application/http"):
        raise MultipartError(
            "each batch part must have Content-Type application/http or multipart/mixed, "
            f"not '{content_type}'"
        )
    encoding = part_headers.get("content-transfer-encoding", "binary").lower()
    if encoding != "binary":
        raise MultipartError(f"Content-Transfer-Encoding must be binary, not '{encoding}'")
    return _parse_http_request(content, part_headers)


def parse_batch(body: bytes, content_type: str) -> list[HttpRequestPart | ChangeSetPart]:
    """The requests and change sets of a multipart/mixed batch body, in order."""
    boundary = boundary_of(content_type)
    if boundary is None:
        raise MultipartError("Content-Type must be multipart/mixed with a boundary parameter")
    return [_parse_request_part(piece, in_change_set=False) for piece in _split_parts(body, boundary)]


def bad_multipart(error: MultipartError) -> ODataError:
    return ODataError(400, "BadRequest", f"The multipart/mixed batch body is malformed: {error}")


# --- writing ------------------------------------------------------------------------------------------

_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    412: "Precondition Failed",
    424: "Failed Dependency",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def new_boundary(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _http_response(part: HttpResponsePart) -> bytes:
    head = [
        "Content-Type: application/http",
        "Content-Transfer-Encoding: binary",
    ]
    if part.content_id is not None:
        head.append(f"Content-ID: {part.content_id}")
    lines = [f"HTTP/1.1 {part.status} {_REASONS.get(part.status, 'Unknown')}"]
    lines += [f"{name}: {value}" for name, value in part.headers.items()]
    message = "\r\n".join(lines).encode("utf-8") + b"\r\n\r\n" + part.body
    return "\r\n".join(head).encode("utf-8") + b"\r\n\r\n" + message


def _multipart(boundary: str, parts: list[bytes]) -> bytes:
    delimiter = b"--" + boundary.encode("latin-1")
    out = b"".join(delimiter + b"\r\n" + part + b"\r\n" for part in parts)
    return out + delimiter + b"--\r\n"


def write_change_set(responses: list[HttpResponsePart]) -> bytes:
    """A successful change set's responses: a nested multipart/mixed part."""
    boundary = new_boundary("changesetresponse")
    content = _multipart(boundary, [_http_response(r) for r in responses])
    return f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n".encode("latin-1") + content


def write_batch(items: list[HttpResponsePart | bytes]) -> tuple[bytes, str]:
    """(body, Content-Type) of a batch response. ``bytes`` items are change sets from write_change_set."""
    boundary = new_boundary("batchresponse")
    parts = [item if isinstance(item, bytes) else _http_response(item) for item in items]
    return _multipart(boundary, parts), f"multipart/mixed; boundary={boundary}"


def parse_http_response(data: bytes) -> HttpResponsePart:
    """An ``application/http`` response message (used by tests and clients reading our answers)."""
    match = re.search(rb"\r?\n", data)
    status_line = (data[: match.start()] if match else data).decode("latin-1")
    status = int(status_line.split()[1])
    headers, _, body = _split_head(data[match.end() :] if match else b"")
    return HttpResponsePart(status, headers, body)


def parse_batch_response(body: bytes, content_type: str) -> list[HttpResponsePart | list[HttpResponsePart]]:
    """A batch response: a response per request part; a list of responses per successful change set."""
    boundary = boundary_of(content_type)
    if boundary is None:
        raise MultipartError("not a multipart/mixed response")
    out: list[HttpResponsePart | list[HttpResponsePart]] = []
    for piece in _split_parts(body, boundary):
        headers, _, content = _split_head(piece)
        nested = boundary_of(headers.get("content-type", ""))
        if nested is not None:
            changes = []
            for inner in _split_parts(content, nested):
                inner_headers, _, inner_content = _split_head(inner)
                response = parse_http_response(inner_content)
                response.content_id = inner_headers.get("content-id")
                changes.append(response)
            out.append(changes)
        else:
            response = parse_http_response(content)
            response.content_id = headers.get("content-id")
            out.append(response)
    return out
