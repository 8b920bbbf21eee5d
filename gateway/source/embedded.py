"""The embedded default source: a local org with demo data, reached in-process without a socket.

``gateway serve`` uses it when no SF_* variables name a source org. It is a whole local org (its own store,
sessions, API accounting) behind the same source connection a real org would get, so nothing in the
gateway knows the difference. ``embedded_describe`` gives the demo schema's describes without an org.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from gateway.localorg.demo import DEMO_SCHEMA_PATH
from gateway.localorg.schema import load_schema
from gateway.localorg.store import Store
from gateway.source.connection import SourceConnection
from gateway.source.local_org import DEFAULT_ROWS, build_local_org

DEFAULT_DEMO_ACCOUNTS = DEFAULT_ROWS


def embedded_source(
    accounts: int = DEFAULT_DEMO_ACCOUNTS,
    *,
    api_limit: int | None = None,
    progress: bool = False,
) -> tuple[SourceConnection, Store]:
    """A fresh demo local org in memory and an in-process connection to it (``progress``: a big one shows
    its loading progress on stderr). The demo sales team can log in too; the gateway's own token is the
    admin's, who sees everything."""
    token = secrets.token_urlsafe(24)
    org = build_local_org(rows=accounts, token=token, api_limit=api_limit, progress=progress)
    return SourceConnection.in_process(org.app, access_token=token), org.store


def embedded_describe() -> Callable[[str], dict]:
    """Describes of the embedded local org's demo schema; an unknown object raises LookupError."""
    schema = load_schema(DEMO_SCHEMA_PATH)

    def describe(name: str) -> dict:
        sobject = schema.get(name)
        if sobject is None:
            raise LookupError(f"sObject type '{name}' is not supported.")
        return sobject.describe

    return describe
