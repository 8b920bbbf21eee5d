"""The local org's HTTP server: HTTP/1.1 with keep-alive, as Salesforce's REST endpoints answer.

werkzeug's development server closes every connection (``Connection: close``), so each API call paid a
TCP handshake that no client of a real org pays, and benchmarks measured the stand-in instead of the
gateway. cheroot (CherryPy's WSGI server) keeps connections open between requests, answers chunked when
a length is unknown, and runs requests on a pool of threads, so one process (one in-memory store) serves
concurrent clients.

``LocalOrgServer`` binds at construction (``port=0`` picks a free port, readable as ``server_port``), so a
caller can print the real URL before the app is ready; ``app`` may be set afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from cheroot import wsgi

DEFAULT_THREADS = 16
IDLE_TIMEOUT_SECONDS = 60  # how long a kept-alive connection may wait for its next request

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]


def _starting(environ: dict, start_response: Callable) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting"]


class LocalOrgServer:
    """A bound HTTP/1.1 server for a WSGI app; ``serve_forever`` until ``server_close`` (any thread)."""

    def __init__(self, host: str, port: int, app: WsgiApp | None = None, threads: int = DEFAULT_THREADS):
        self.app: WsgiApp = app or _starting
        self._server = wsgi.Server(
            (host, port),
            self._dispatch,
            numthreads=threads,
            timeout=IDLE_TIMEOUT_SECONDS,
            server_name="localorg",
        )
        self._server.prepare()  # binds the socket and starts the thread pool

    @property
    def server_port(self) -> int:
        return int(self._server.bind_addr[1])

    def _dispatch(self, environ: dict, start_response: Callable) -> Any:
        return self.app(environ, start_response)

    def serve_forever(self) -> None:
        self._server.serve()

    def server_close(self) -> None:
        """Stop serving, close the socket and every kept-alive connection, and end the threads."""
        self._server.stop()

    shutdown = server_close
