"""Request bodies, bounded before they are read: the size limit and JSON parsed with a nesting limit.

- ``GATEWAY_MAX_BODY_BYTES`` (default 16 MiB; Salesforce itself accepts 8 MB a request) bounds every request
  body, whatever the face: ``BodyLimit`` wraps the whole WSGI app, so a declared ``Content-Length`` over it
  is answered 413 before anything is read, and a body without one (chunked) is read through a stream that
  fails with 413 as soon as it passes the limit — never held whole. A compressed body is decompressed only
  up to the limit (``decode_content_encoding``). Every 413 is an OData error naming the limit.
  (Werkzeug's own ``MAX_CONTENT_LENGTH`` silently truncates a chunked body at the limit, so it is not used.)
- ``parse_json`` refuses JSON nested deeper than ``MAX_JSON_DEPTH`` with a 400 before Python's parser
  recurses into it (5,000 nested arrays were a ``RecursionError`` and a 500); entities and ``$batch``
  documents nest a handful of levels.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from werkzeug.exceptions import RequestEntityTooLarge

from gateway.odata.http.errors import ODataError

MAX_BODY_ENV = "GATEWAY_MAX_BODY_BYTES"
CONFIG_KEY = MAX_BODY_ENV  # the app's config entry holding the limit in force
ENVIRON_KEY = "gateway.max_body_bytes"  # BodyLimit puts the limit in force in each request's WSGI environ
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_JSON_DEPTH = 64
# strings (skipped whole, escapes included) and the brackets that nest
_JSON_NESTING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.S)
_OPENING = frozenset(b"[{")


def max_body_bytes(environ: Mapping[str, str]) -> int:
    """The body limit ``GATEWAY_MAX_BODY_BYTES`` sets (a positive number of bytes), else the default."""
    text = (environ.get(MAX_BODY_ENV) or "").strip()
    if not text:
        return DEFAULT_MAX_BODY_BYTES
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{MAX_BODY_ENV} must be a number of bytes, not {text!r}") from None
    if value <= 0:
        raise ValueError(f"{MAX_BODY_ENV} must be a positive number of bytes, not {value}")
    return value


def limit_in(environ: Mapping[str, Any]) -> int:
    """The body limit in force for a request (its WSGI environ), the default outside ``BodyLimit``."""
    return environ.get(ENVIRON_KEY) or DEFAULT_MAX_BODY_BYTES


def body_too_large(limit: int) -> ODataError:
    return ODataError(
        413,
        "PayloadTooLarge",
        f"The request body is larger than {limit} bytes, the most this gateway accepts ({MAX_BODY_ENV}); "
        "split the request (for example smaller $batch requests).",
    )


class _CappedStream:
    """``wsgi.input`` of a body without a declared length: 413 once more than ``limit`` bytes come."""

    def __init__(self, stream: Any, limit: int):
        self.stream = stream
        self.limit = limit
        self.read_so_far = 0

    def _count(self, data: bytes) -> bytes:
        self.read_so_far += len(data)
        if self.read_so_far > self.limit:
            raise RequestEntityTooLarge()
        return data

    def read(self, size: int = -1) -> bytes:
        wanted = self.limit + 1 - self.read_so_far if size is None or size < 0 else size
        return self._count(self.stream.read(max(wanted, 0)) if wanted > 0 else self._probe())

    def _probe(self) -> bytes:
        return self.stream.read(1)

    def readline(self, size: int = -1) -> bytes:
        cap = self.limit + 1 - self.read_so_far
        return self._count(self.stream.readline(cap if size is None or size < 0 else min(size, cap)))

    def __iter__(self) -> Any:
        return iter(self.readline, b"")


class BodyLimit:
    """WSGI middleware bounding every request body to ``limit`` bytes (see the module docstring)."""

    def __init__(self, wsgi_app: Callable, limit: int):
        self.wsgi_app = wsgi_app
        self.limit = limit

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        environ[ENVIRON_KEY] = self.limit
        declared = (environ.get("CONTENT_LENGTH") or "").strip()
        if declared.isdigit() and int(declared) > self.limit:
            error = body_too_large(self.limit)
            body = json.dumps(error.body()).encode("utf-8")
            start_response(
                "413 Content Too Large",
                [
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(body))),
                    ("Connection", "close"),
                ],
            )
            return [body]
        if not declared.isdigit() and environ.get("wsgi.input") is not None:
            environ["wsgi.input"] = _CappedStream(environ["wsgi.input"], self.limit)
        return self.wsgi_app(environ, start_response)


def nesting_depth_exceeds(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON text nests arrays and objects deeper than ``limit`` (brackets inside strings aside)."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False  # cannot be deeper than the number of brackets
    depth = 0
    for match in _JSON_NESTING.finditer(raw):
        first = match.group()[0]
        if first in _OPENING:
            depth += 1
            if depth > limit:
                return True
        elif first != ord('"'):
            depth -= 1
    return False


def parse_json(raw: bytes, what: str, parse_float: Callable[[str], Any] | None = None) -> Any:
    """``raw`` as JSON; 400 naming ``what`` when it is not UTF-8 JSON or nests deeper than the limit."""
    if nesting_depth_exceeds(raw):
        raise ODataError(
            400,
            "JsonTooDeep",
            f"The {what} nests JSON arrays and objects more than {MAX_JSON_DEPTH} levels deep, the most this "
            "gateway accepts.",
        )
    try:
        return json.loads(raw.decode("utf-8"), parse_float=parse_float)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ODataError(400, "BadRequest", f"The {what} is not valid JSON: {error}") from None


def decode_content_encoding(raw: bytes, encoding: str | None, limit: int | None = None) -> bytes:
    """A request body as sent, decompressed when ``Content-Encoding`` is gzip or deflate (Salesforce
    Connect's "Compress Requests") but never beyond ``limit`` bytes (413, the body limit); 415 for other
    encodings, 400 for a corrupt stream."""
    limit = limit or DEFAULT_MAX_BODY_BYTES
    name = (encoding or "").strip().lower()
    if name in ("", "identity"):
        return raw
    if name not in ("gzip", "x-gzip", "deflate"):
        raise ODataError(
            415, "UnsupportedMediaType", f"Content-Encoding '{encoding}' is not supported; use gzip or none."
        )
    decoder = zlib.decompressobj(wbits=47 if "gzip" in name else 15)  # 47: gzip or zlib header
    try:
        data = decoder.decompress(raw, limit + 1)
    except zlib.error as error:
        raise ODataError(
            400, "BadRequest", f"The {name} request body cannot be decompressed: {error}"
        ) from None
    if len(data) > limit or decoder.unconsumed_tail:
        raise body_too_large(limit)
    return data
