"""The gateway's application factory: publication + source connection + OData blueprint → a Flask app.

``create_app`` is what ``gateway serve`` runs and what ``wsgi.py`` hands to gunicorn. The model (entity
sets from the publication and the source's describe) is built at start-up, so a bad publication fails
there with its file and line, and rebuilt from the describe cache when that expires.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from gateway.odata.http import csrf
from gateway.odata.http.access import Access
from gateway.odata.http.tokens import secret_from_env
from gateway.odata.model.describe_cache import DescribeCache
from gateway.odata.model.publication import load_publication
from gateway.odata.service import DEFAULT_PAGE_SIZE, Gateway
from gateway.odata.v2.blueprint import create_blueprint as create_v2_blueprint
from gateway.odata.v4.blueprint import create_blueprint
from gateway.source.connection import SourceConnection

log = logging.getLogger(__name__)


def default_metadata_path() -> Path:
    """``GATEWAY_METADATA``, else ``./metadata``, else the repository's ``metadata/`` next to the package."""
    here = Path.cwd() / "metadata"
    if here.exists():
        return here
    return Path(__file__).resolve().parent.parent / "metadata"


def create_app(
    *,
    metadata_path: str | os.PathLike | None = None,
    source: Any = None,
    environ: Mapping[str, str] | None = None,
    host: str = "127.0.0.1",
    page_size: int = DEFAULT_PAGE_SIZE,
    demo_accounts: int | None = None,
    embedded: bool = False,
) -> Flask:
    """The gateway app. Without ``source`` and without SF_* variables it embeds the demo local org.

    ``embedded`` says that a given ``source`` is an embedded demo org (anonymous loopback access allowed).
    """
    env = os.environ if environ is None else environ
    if source is None:
        source = SourceConnection.from_env(env)
    if source is None:
        from gateway.source.embedded import DEFAULT_DEMO_ACCOUNTS, embedded_source

        source, _ = embedded_source(demo_accounts or DEFAULT_DEMO_ACCOUNTS)
        embedded = True
    path = Path(metadata_path or env.get("GATEWAY_METADATA") or default_metadata_path())
    publication = load_publication(path)
    secret, warning = secret_from_env(env)
    if warning:
        log.warning(warning)
    gateway = Gateway(
        source=source,
        publication=publication,
        describes=DescribeCache(source.describe, source.describe_global),
        secret=secret,
        access=Access.from_env(env, embedded_demo=embedded, host=host),
        embedded=embedded,
        page_size=page_size,
        csrf=csrf.enabled(env),
    )
    gateway.model()  # build now: a publication that does not match the source fails at start-up
    app = Flask(__name__)
    app.extensions["odata_gateway"] = gateway
    app.register_blueprint(create_blueprint())
    app.register_blueprint(create_v2_blueprint(env.get("GATEWAY_V2_SEARCH_PARAM") or None))
    return app


def gateway_from_env() -> Flask:
    """The gateway app for gunicorn (wsgi.py), configured by the environment only."""
    return create_app(host=os.environ.get("GATEWAY_HOST", "0.0.0.0"))
