"""One OData request as every face and ``$batch`` part hands it to the pipeline (no Flask).

Each face's blueprint builds one from the HTTP request (``from_http``: the Werkzeug request Flask hands
it); ``$batch`` builds one per part, so both go through the same dispatch (routing, negotiation, shaping)
with the authentication and CSRF checks done once.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from werkzeug.datastructures import Headers, MultiDict
from werkzeug.wrappers import Request

from gateway.odata.http.errors import bad_request, not_implemented
from gateway.odata.http.headers import Preferences, effective_method, parse_prefer
from gateway.odata.http.request_body import decode_content_encoding, limit_in


@dataclass(frozen=True)
class ODataRequest:
    method: str  # as sent, upper case (X-HTTP-Method not applied: see ``intended_method``)
    path: str  # the resource path after the service root, percent-decoded; "" is the service document
    args: MultiDict  # query options, decoded, in order (repeated options kept)
    headers: Headers  # case-insensitive
    body: bytes  # decoded (Content-Encoding already undone)
    service_root: str  # the absolute service root URL, ending in "/"

    @classmethod
    def from_relative_url(
        cls, method: str, url: str, headers: Headers, body: bytes, service_root: str
    ) -> ODataRequest:
        """A request for ``url`` relative to the service root (``Account?$top=2``), as in $batch parts."""
        parts = urlsplit(url)
        args = MultiDict(parse_qsl(parts.query, keep_blank_values=True))
        return cls(method.upper(), unquote(parts.path), args, headers, body, service_root)

    @classmethod
    def from_http(cls, request: Request, path: str, service_root: str) -> ODataRequest:
        """The request a face received over HTTP, for ``path`` (after the service root): its body
        decompressed when gzip/deflate-encoded, never beyond the body limit in force (413)."""
        raw = request.get_data()
        encoding = request.headers.get("Content-Encoding")
        body = decode_content_encoding(raw, encoding, limit_in(request.environ)) if encoding else raw
        return cls(request.method, path, request.args, request.headers, body, service_root)

    @property
    def intended_method(self) -> str:
        """The method meant: ``X-HTTP-Method`` tunnels PATCH, MERGE, PUT or DELETE over POST (else 400)."""
        return effective_method(self.method, self.headers)

    @property
    def preferences(self) -> Preferences:
        return parse_prefer(self.headers.get("Prefer"))


def batch_part_resource_under(url: str, service_root: str, prefix: str) -> str:
    """``batch_part_resource`` for a part of a batch whose own service root is ``service_root``: the root's
    path is the outer request's (``/odata``, or ``/gw/odata`` behind ``GATEWAY_BASE_URL``); a root-relative
    URL without the public prefix (``prefix``, e.g. ``/odata/v2``) is accepted too."""
    root_path = urlsplit(service_root).path.rstrip("/") or prefix
    if url.strip().startswith(prefix + "/"):
        root_path = prefix
    return batch_part_resource(url, root_path)


def batch_part_resource(url: str, prefix: str) -> str:
    """The part of a ``$batch`` request URL after the service root mounted at ``prefix`` (``/odata``):
    absolute, root-relative and relative URLs alike; 501 for ``$<Content-ID>`` references, 400 for a URL
    outside this service."""
    url = url.strip()
    if url.startswith("$") and not url.startswith(("$batch", "$metadata")):
        raise not_implemented("$<Content-ID> references in batch request URLs are not supported.")
    parts = urlsplit(url)
    path = parts.path
    root = prefix.rstrip("/") + "/"
    if parts.scheme or path.startswith("/"):
        if not path.startswith(root):
            raise bad_request(f"'{url}' is not a resource of this service (its root is {root}).")
        path = path[len(root) :]
    return path + ("?" + parts.query if parts.query else "")
