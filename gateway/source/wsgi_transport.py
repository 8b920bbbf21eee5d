"""A requests transport adapter that serves requests by calling a WSGI application in-process.

Mount it on a ``requests.Session`` (``session.mount("https://localorg.invalid/", WsgiAdapter(app))``) and
every request to that prefix becomes one call of ``app(environ, start_response)``: no socket, no thread.
Request bodies reach the application byte for byte (gzip included); responses come back as a real
``requests.Response`` (status, reason, every header, body), decoded exactly as one read from a socket.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import unquote, urlsplit

from requests import PreparedRequest, Response
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3 import HTTPHeaderDict, HTTPResponse

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]

# Headers that WSGI carries outside HTTP_* (PEP 3333).
_UNPREFIXED_HEADERS = {"CONTENT_TYPE", "CONTENT_LENGTH"}


class WsgiAdapter(BaseAdapter):
    """Send each request to a WSGI application and return its answer as a ``requests.Response``."""

    def __init__(self, app: WsgiApp):
        super().__init__()
        self.app = app

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: object = None,
        verify: object = True,
        cert: object = None,
        proxies: object = None,
    ) -> Response:
        status, headers, body = _run(self.app, build_environ(request))
        return build_response(request, status, headers, body, self)

    def close(self) -> None:
        pass


def _run(app: WsgiApp, environ: dict) -> tuple[str, list[tuple[str, str]], bytes]:
    """Call the app once: its status line, headers and whole body."""
    captured: dict = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Callable:
        captured["status"] = status
        captured["headers"] = headers
        return lambda chunk: captured.setdefault("written", []).append(chunk)

    result = app(environ, start_response)
    try:
        body = b"".join(captured.get("written", [])) + b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return captured["status"], captured["headers"], body


def call_wsgi(
    app: WsgiApp, method: str, url: str, headers: Mapping[str, str], body: bytes
) -> tuple[int, list[tuple[str, str]], bytes]:
    """One request to the app without requests in between: status code, headers, body."""
    status, answer_headers, data = _run(app, environ_for(method, url, headers.items(), body))
    return int(status.partition(" ")[0]), answer_headers, data


def build_environ(request: PreparedRequest) -> dict:
    """The WSGI environ (PEP 3333) for one prepared request."""
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    elif not isinstance(body, bytes):
        # A file-like or generator body: read it whole, as a server would before calling the app.
        body = body.read() if hasattr(body, "read") else b"".join(body)
    return environ_for(request.method or "GET", request.url or "", request.headers.items(), body)


def environ_for(method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes) -> dict:
    """The WSGI environ (PEP 3333) for a request to the absolute URL ``target``."""
    url = urlsplit(target)
    default_port = "443" if url.scheme == "https" else "80"
    environ = {
        "REQUEST_METHOD": method.upper(),
        "SCRIPT_NAME": "",
        # WSGI wants the percent-decoded path as latin-1 text of its UTF-8 bytes.
        "PATH_INFO": unquote(url.path or "/", encoding="latin-1"),
        "QUERY_STRING": url.query,
        "SERVER_NAME": url.hostname or "localhost",
        "SERVER_PORT": str(url.port or default_port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": url.scheme or "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers:
        key = name.upper().replace("-", "_")
        if key not in _UNPREFIXED_HEADERS:
            key = "HTTP_" + key
        if key == "CONTENT_LENGTH":
            continue  # always the real body length, set above
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    if "HTTP_HOST" not in environ:
        environ["HTTP_HOST"] = url.netloc
    return environ


def build_response(
    request: PreparedRequest,
    status: str,
    headers: list[tuple[str, str]],
    body: bytes,
    adapter: BaseAdapter,
) -> Response:
    """A ``requests.Response`` as ``HTTPAdapter`` would build it from a socket read."""
    code, _, reason = status.partition(" ")
    header_dict = HTTPHeaderDict()
    for name, value in headers:
        header_dict.add(name, value)
    raw = HTTPResponse(
        body=io.BytesIO(body),
        headers=header_dict,
        status=int(code),
        reason=reason,
        preload_content=False,
        decode_content=True,
        request_method=request.method,
        request_url=request.url,
    )
    response = Response()
    response.status_code = int(code)
    response.reason = reason
    response.headers = CaseInsensitiveDict(raw.headers)  # repeated headers joined with ", "
    response.encoding = get_encoding_from_headers(response.headers)
    response.raw = raw
    response.url = request.url or ""
    response.request = request
    response.connection = adapter
    return response
