"""The production HTTP server: gunicorn, run programmatically by ``gateway serve``.

Defaults: one worker process with ``DEFAULT_THREADS`` threads (gthread). One process keeps one result
cache, one coalescing table, one rate-limit count and one set of metrics, and the embedded demo org lives
in it, so every request sees the same org. Threads carry the concurrency: the gateway mostly waits for the
org. A client that sends its headers slowly holds one thread until it finishes or the connection drops;
32 threads leave 22 for everyone else while 10 such clients linger — in production put a buffering proxy
(nginx, a cloud load balancer) in front, which reads whole requests before passing them on.

More workers (``--workers``) need the shared store (``GATEWAY_REDIS_URL``) for the rate limit and the
cache to hold across them; the app is built once in the master before the workers fork, so a bad
configuration stops start-up before any socket is served, and each worker then drops the connections it
inherited (``after_fork``).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

DEFAULT_WORKERS = 1
DEFAULT_THREADS = 32
DEFAULT_TIMEOUT = 120
KEEPALIVE_SECONDS = 5

Addresses = list[tuple[str, int]]


class GatewayServer(BaseApplication):
    """gunicorn serving one WSGI app on a socket that is already bound (``listening``), configured by
    arguments (not by gunicorn's command line). Binding first lets the caller decide access from the
    address really bound before the app is built."""

    def __init__(
        self,
        app: Any,
        *,
        listening: socket.socket,
        workers: int = DEFAULT_WORKERS,
        threads: int = DEFAULT_THREADS,
        timeout: int = DEFAULT_TIMEOUT,
        forwarded_allow_ips: str = "",
        on_ready: Callable[[Addresses], None] | None = None,
        after_fork: Callable[[], None] | None = None,
        on_exit: Callable[[], None] | None = None,
    ):
        self.app = app
        self.listening = listening
        self.options: dict[str, Any] = {
            "bind": [f"fd://{listening.fileno()}"],
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": timeout,
            "graceful_timeout": 30,
            "keepalive": KEEPALIVE_SECONDS,
            "worker_connections": max(1000, threads * 4),
            "accesslog": None,  # the gateway writes its own JSON request log on stdout
            "errorlog": "-",
            "loglevel": "warning",
            # X-Forwarded-Proto and friends from these peers only; the app applies the same list itself.
            "forwarded_allow_ips": forwarded_allow_ips or "",
            "proxy_allow_ips": forwarded_allow_ips or "",
        }
        if on_ready is not None:
            self.options["when_ready"] = lambda arbiter: on_ready(bound_addresses(arbiter))
        if after_fork is not None:
            self.options["post_fork"] = lambda _arbiter, _worker: after_fork()
        if on_exit is not None:  # the master only (a worker's exit must not run it)
            self.options["on_exit"] = lambda _arbiter: on_exit()
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        return self.app


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (``0``: a free port), as gunicorn would make it."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def bound_addresses(arbiter: Any) -> Addresses:
    """The (host, port) of every socket the server really listens on (``--port 0`` resolved)."""
    addresses = []
    for listener in arbiter.LISTENERS:
        name = listener.sock.getsockname()
        addresses.append((str(name[0]), int(name[1])))
    return addresses
