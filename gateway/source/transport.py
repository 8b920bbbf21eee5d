"""How the source connection's hot calls (queries, sObject collections) reach an org: lean, kept alive.

requests (under simple-salesforce) re-reads the proxy environment, netrc and CA variables on every call
and builds a handful of objects around each one; for a 200-row page that was a third of the gateway's own
CPU. The hot calls therefore go through ``PooledTransport``:

- one urllib3 pool per org host and proxy, shared by every ``SourceConnection`` of the process (per-user
  connections reuse the same kept-alive sockets), HTTP/1.1 keep-alive, gzip asked for and decoded;
- the proxy variables (``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY``/``NO_PROXY``) and the CA bundle
  (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``, else certifi's) are read once per org origin, the first time
  it is called, with the same variables and precedence requests uses; restart to change them;
- a connection failure before anything was sent is retried once (a kept-alive socket the org closed); a
  read of an idempotent GET is retried once too; writes are never re-sent.

``WsgiTransport`` answers the same calls from an in-process local org (tests, the embedded demo).
"""

from __future__ import annotations

import gzip
import os
import threading
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import requests.utils
import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from gateway.source.wsgi_transport import WsgiApp, call_wsgi

POOL_SIZE = 32  # kept-alive connections per org host: gunicorn's default thread count


class _RetryDropped(urllib3.Retry):
    """urllib3's retry, but a timeout is never retried: the caller waited long enough already."""

    def increment(self, *args: object, **kwargs: object) -> urllib3.Retry:
        error = kwargs.get("error")
        if isinstance(error, Urllib3Timeout) and not isinstance(error, NewConnectionError):
            raise error
        return super().increment(*args, **kwargs)  # type: ignore[arg-type]


_GET_RETRY = _RetryDropped(total=1, connect=1, read=1, redirect=0, status=0, other=0, raise_on_status=False)
_WRITE_RETRY = _RetryDropped(total=1, connect=1, read=0, redirect=0, status=0, other=0, raise_on_status=False)


@dataclass(frozen=True)
class Answer:
    """An org's HTTP answer: status, headers (case-insensitive lookups), the body decoded from gzip."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class TransportTimeout(Exception):
    """The org did not answer within the timeout."""


class TransportFailure(Exception):
    """The org could not be reached (refused, reset, DNS, TLS)."""


_managers: dict[str | None, urllib3.PoolManager] = {}
_managers_lock = threading.Lock()


def _manager(proxy: str | None, ca_bundle: str) -> urllib3.PoolManager:
    """The process-wide pool manager for a proxy (None: direct) and CA bundle."""
    key = f"{proxy}|{ca_bundle}"
    with _managers_lock:
        manager = _managers.get(key)
        if manager is None:
            # requests accepts a folder of certificates as its bundle too
            where = "ca_cert_dir" if os.path.isdir(ca_bundle) else "ca_certs"
            options = {"maxsize": POOL_SIZE, "block": False, where: ca_bundle, "num_pools": 64}
            manager = urllib3.ProxyManager(proxy, **options) if proxy else urllib3.PoolManager(**options)
            _managers[key] = manager
        return manager


def environment_proxy(url: str) -> str | None:
    """The proxy requests would use for ``url`` (its scheme's variable, ALL_PROXY, NO_PROXY honoured)."""
    proxies = requests.utils.get_environ_proxies(url)
    return requests.utils.select_proxy(url, proxies)


def environment_ca_bundle() -> str:
    """The CA bundle requests would verify with: REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, else certifi's."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or certifi.where()


class PooledTransport:
    """Calls over kept-alive sockets (see the module docstring); thread-safe."""

    def __init__(self, timeout: float):
        self.timeout = urllib3.Timeout(connect=timeout, read=timeout)
        self._origins: dict[str, urllib3.PoolManager] = {}
        self._lock = threading.Lock()

    def _pools_for(self, url: str) -> urllib3.PoolManager:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        manager = self._origins.get(origin)
        if manager is None:
            manager = _manager(environment_proxy(origin), environment_ca_bundle())
            with self._lock:
                self._origins[origin] = manager
        return manager

    def request(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None) -> Answer:
        try:
            answer = self._pools_for(url).request(
                method,
                url,
                body=body,
                headers=dict(headers),
                timeout=self.timeout,
                retries=_GET_RETRY if method == "GET" else _WRITE_RETRY,
                redirect=False,
                preload_content=True,
                decode_content=True,
            )
        except NewConnectionError as error:  # refused or unresolvable: urllib3 files it under timeouts
            raise TransportFailure(str(error)) from error
        except Urllib3Timeout as error:
            raise TransportTimeout(str(error)) from error
        except Urllib3Error as error:
            raise TransportFailure(str(error)) from error
        return Answer(answer.status, answer.headers, answer.data)


class WsgiTransport:
    """The same calls answered by a WSGI app in this process (an in-process local org)."""

    def __init__(self, app: WsgiApp):
        self.app = app

    def request(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None) -> Answer:
        # No wire, so nothing to compress; a body compressed anyway is decoded as a client would.
        sent = {name: value for name, value in headers.items() if name.lower() != "accept-encoding"}
        status, answer_headers, data = call_wsgi(self.app, method, url, sent, body or b"")
        lookup = requests.structures.CaseInsensitiveDict(answer_headers)
        encoding = (lookup.get("Content-Encoding") or "").lower()
        if encoding == "gzip":
            data = gzip.decompress(data)
        elif encoding == "deflate":
            data = zlib.decompress(data)
        return Answer(status, lookup, data)


Transport = PooledTransport | WsgiTransport
