"""The embedded default source: a local org with demo data, reached in-process without a socket.

``gateway serve`` uses it when no SF_* variables name a source org. It is a whole local org (its own store,
sessions, API accounting) behind the same source connection a real org would get, so nothing in the
gateway knows the difference. ``embedded_describe`` gives the demo schema's describes without an org.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from gateway.localorg.api import create_app as create_localorg_app
from gateway.localorg.config import LocalOrgConfig
from gateway.localorg.demo import DEMO_SCHEMA_PATH, load_demo
from gateway.localorg.schema import load_schema
from gateway.localorg.security import DEMO_SECURITY_PATH, load_security
from gateway.localorg.store import Store
from gateway.operation.progress import load_demo_with_progress
from gateway.source.connection import SourceConnection

DEFAULT_DEMO_ACCOUNTS = 1000


def embedded_source(
    accounts: int = DEFAULT_DEMO_ACCOUNTS,
    *,
    api_limit: int | None = None,
    progress: bool = False,
) -> tuple[SourceConnection, Store]:
    """A fresh demo local org in memory and an in-process connection to it (``progress``: a big one shows
    its loading progress on stderr)."""
    store = Store(load_schema(DEMO_SCHEMA_PATH))
    if progress:
        load_demo_with_progress(store, accounts)
    else:
        load_demo(store, accounts=accounts)
    token = secrets.token_urlsafe(24)
    # the demo sales team can log in too; the gateway's own token is the admin's, who sees everything
    config = LocalOrgConfig(token=token, security=load_security(DEMO_SECURITY_PATH))
    if api_limit is not None:
        config.api_limit = api_limit
    app = create_localorg_app(config, store)
    return SourceConnection.in_process(app, access_token=token), store


def embedded_describe() -> Callable[[str], dict]:
    """Describes of the embedded local org's demo schema; an unknown object raises LookupError."""
    schema = load_schema(DEMO_SCHEMA_PATH)

    def describe(name: str) -> dict:
        sobject = schema.get(name)
        if sobject is None:
            raise LookupError(f"sObject type '{name}' is not supported.")
        return sobject.describe

    return describe
