"""A real local org behind a real source connection for the operation tests, with a configurable delay per
query (a network's latency), so concurrent reads really overlap."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from gateway.localorg.api import create_app as create_localorg_app
from gateway.localorg.config import LocalOrgConfig
from gateway.localorg.demo import DEMO_SCHEMA_PATH, load_demo
from gateway.localorg.schema import load_schema
from gateway.localorg.store import Store
from gateway.source.connection import SourceConnection


class Latency:
    """WSGI middleware: each query/ call waits ``seconds`` before the org answers (tests that need
    concurrent reads to overlap use a wide margin: on a busy 2-core machine threads start late)."""

    def __init__(self, app: Any, seconds: float):
        self.app = app
        self.seconds = seconds

    def __call__(self, environ: dict, start_response: Any) -> Any:
        if "/query" in environ.get("PATH_INFO", ""):
            time.sleep(self.seconds)
        return self.app(environ, start_response)


@dataclass
class Org:
    app: Any
    store: Store
    latency: Latency

    @property
    def api_used(self) -> int:
        """The org's own count of API requests (what its admin sees)."""
        return self.app.extensions["localorg"].accounting.used

    def connection(self, token: str) -> SourceConnection:
        return SourceConnection.in_process(self.latency, access_token=token)


def local_org(
    accounts: int = 20, api_limit: int = 15000, latency: float = 0.0
) -> tuple[Org, SourceConnection]:
    store = Store(load_schema(DEMO_SCHEMA_PATH))
    load_demo(store, accounts=accounts)
    token = secrets.token_urlsafe(16)
    app = create_localorg_app(LocalOrgConfig(token=token, api_limit=api_limit), store)
    org = Org(app, store, Latency(app, latency))
    return org, org.connection(token)
