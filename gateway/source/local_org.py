"""Building a local org, once for every use: ``gateway localorg`` over HTTP and the embedded demo org.

``build_local_org`` makes the org's store (schema, then a data file, an existing database or generated demo
data), its security model and configuration, and its Flask app; the caller serves the app over HTTP or
reaches it in process (``embedded.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from gateway.localorg import demo
from gateway.localorg.api import create_app
from gateway.localorg.auth import load_public_key
from gateway.localorg.config import LocalOrgConfig
from gateway.localorg.schema import load_schema
from gateway.localorg.security import DEMO_SECURITY_PATH, load_security
from gateway.localorg.store import DEFAULT_RECYCLE_DAYS, Store
from gateway.operation.progress import load_demo_with_progress
from gateway.source.wsgi_transport import WsgiApp

DEFAULT_ROWS = 1000


class StartupError(ValueError):
    """A configuration the local org cannot start with; the message says what to fix."""


@dataclass
class LocalOrg:
    """A configured local org: its WSGI app, its configuration and where its data came from."""

    app: WsgiApp  # the local org's Flask app
    config: LocalOrgConfig
    data_source: str
    store: Store


def build_local_org(
    *,
    schema_path: str | None = None,
    data_path: str | None = None,
    db_path: str | None = None,
    rows: int = DEFAULT_ROWS,
    token: str | None = None,
    api_limit: int | None = None,
    request_log: str | None = None,
    url: str | None = None,
    recycle_days: int | None = None,
    security_path: str | None = None,
    jwt_cert: str | None = None,
    progress: bool = True,
) -> LocalOrg:
    """The local org app: schema (default: the demo org), data (file, existing database, or demo data).

    The security model is the file ``security_path``; without one, the demo org (demo schema, no data file)
    gets the demo sales team's model (``data/demo_security.toml``), any other org none (one all-seeing user).
    ``jwt_cert`` is the PEM certificate (or public key) that verifies JWT bearer assertions. ``progress``:
    generating a big demo org reports its progress on stderr.
    """
    schema = load_schema(schema_path or demo.DEMO_SCHEMA_PATH)
    store = Store(schema, db_path or ":memory:", recycle_days=recycle_days or DEFAULT_RECYCLE_DAYS)
    if not store_is_empty(store):
        data_source = f"existing data in {db_path}"
    elif data_path:
        with open(data_path, encoding="utf-8") as file:
            store.load_data(json.load(file))
        data_source = f"records from {data_path}"
    elif schema_path:
        data_source = "no records (a schema without a data file)"
    else:
        if progress:
            load_demo_with_progress(store, rows)
        else:
            demo.load_demo(store, accounts=rows)
        data_source = f"generated demo data ({rows} Accounts)"
    if jwt_cert is not None:
        try:
            load_public_key(jwt_cert)
        except (OSError, ValueError) as error:
            raise StartupError(
                f"JWT certificate {jwt_cert}: not a readable PEM certificate or public key"
            ) from error
    if security_path is None and schema_path is None and data_path is None:
        security_path = str(DEMO_SECURITY_PATH)
    settings: dict = {"token": token, "request_log": request_log, "jwt_certificate": jwt_cert}
    if security_path is not None:
        settings["security"] = load_security(security_path)
    if api_limit is not None:
        settings["api_limit"] = api_limit
    if url:
        settings["login_url"] = url
    config = LocalOrgConfig(**settings)
    return LocalOrg(create_app(config, store), config, data_source, store)


def store_is_empty(store) -> bool:
    """True when no sObject table holds a row (one table per sObject, named as the sObject)."""
    with store.lock:
        for sobject in store.schema.types:
            name = sobject.name.replace('"', '""')
            if store.conn.execute(f'SELECT 1 FROM "{name}" LIMIT 1').fetchone():
                return False
    return True
