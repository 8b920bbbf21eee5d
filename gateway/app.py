"""The gateway's application factory: publication + source connection + OData blueprint → a Flask app.

``create_app`` is what ``gateway serve`` runs and what ``wsgi.py`` hands to gunicorn. The model (entity
sets from the publication and the source's describe) is built at start-up, so a bad publication fails
there with its file and line, and rebuilt from the describe cache when that expires.

The embedded demo org is used only when asked for (``allow_demo``: ``gateway serve`` on loopback, or
``GATEWAY_DEMO=1``); otherwise a missing ``SF_*`` configuration stops start-up with a message naming both.
Every start-up says on stderr which source it serves. The operation layer (request log, metrics, health,
governor, compression, public URL) is installed around every app (``gateway/operation/hooks.py``).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from flask import Flask, Response

from gateway.identity.config import IdentityConfig, identity_from_env
from gateway.identity.users import PerUserIdentity
from gateway.odata.http import csrf, request_body
from gateway.odata.http.access import Access
from gateway.odata.http.request_body import max_body_bytes
from gateway.odata.http.tokens import secret_from_env
from gateway.odata.model.describe_cache import DescribeCache
from gateway.odata.model.publication import load_publication
from gateway.odata.service import DEFAULT_PAGE_SIZE, DEFAULT_RECYCLE_DAYS, Gateway
from gateway.odata.v2.blueprint import create_blueprint as create_v2_blueprint
from gateway.odata.v4.blueprint import create_blueprint
from gateway.operation import hooks
from gateway.operation.governed_source import GovernedSource
from gateway.operation.settings import OperationSettings
from gateway.source.connection import SourceConfigError, SourceConnection
from gateway.source.protocol import Source

log = logging.getLogger(__name__)

NO_SOURCE = (
    "no source org is configured: set the SF_* variables (SF_INSTANCE_URL and a grant; see the README) "
    "to serve your Salesforce org, or GATEWAY_DEMO=1 to serve the embedded demo org with its fake data"
)
DEMO_FLAG = "GATEWAY_DEMO"


def demo_requested(env: Mapping[str, str]) -> bool:
    """``GATEWAY_DEMO=1`` (or true/yes/on): serve the embedded demo org when no SF_* variable is set."""
    return env.get(DEMO_FLAG, "").strip().lower() in ("1", "true", "yes", "on")


def default_metadata_path() -> Path:
    """``GATEWAY_METADATA``, else ``./metadata``, else the repository's ``metadata/`` next to the package."""
    here = Path.cwd() / "metadata"
    if here.exists():
        return here
    return Path(__file__).resolve().parent.parent / "metadata"


def recycle_days_from_env(env: Mapping[str, str]) -> int:
    """``GATEWAY_RECYCLE_DAYS``: the source org's recycle-bin retention (default 15); delta links last
    as long."""
    text = env.get("GATEWAY_RECYCLE_DAYS", "").strip()
    if not text:
        return DEFAULT_RECYCLE_DAYS
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"GATEWAY_RECYCLE_DAYS must be a whole number of days, at least 1: {text!r}")
    return int(text)


def create_app(
    *,
    metadata_path: str | os.PathLike | None = None,
    source: Source | None = None,
    environ: Mapping[str, str] | None = None,
    host: str | None = "127.0.0.1",
    page_size: int = DEFAULT_PAGE_SIZE,
    demo_accounts: int | None = None,
    embedded: bool = False,
    allow_demo: bool = True,
    log_stream: TextIO | None = None,
) -> Flask:
    """The gateway app. Without ``source`` and without SF_* variables it embeds the demo local org when
    ``allow_demo`` (else ``SourceConfigError`` naming SF_* and GATEWAY_DEMO).

    ``embedded`` says that a given ``source`` is an embedded demo org (anonymous loopback access allowed).
    ``host`` is the address the server really listens on (None: unknown, so never anonymous).
    ``log_stream`` receives the JSON request log (default: stdout).
    """
    env = os.environ if environ is None else environ
    settings = OperationSettings.from_env(env)
    if source is None:
        source = SourceConnection.from_env(env)
        if source is not None:
            credentials = source.credentials
            announce(f"source: the Salesforce org at {credentials.instance_url or credentials.login_url}")
    if source is None:
        if not allow_demo:
            raise SourceConfigError(NO_SOURCE)
        source = _demo_source(demo_accounts)
        embedded = True
    path = Path(metadata_path or env.get("GATEWAY_METADATA") or default_metadata_path())
    publication = load_publication(path)
    identity_config = identity_from_env(env)
    secret, warning = secret_from_env(env)
    if warning:
        log.warning(warning)
    source = hooks.governed_source(source, settings)
    gateway = Gateway(
        source=source,
        publication=publication,
        describes=DescribeCache(source.describe, source.describe_global),
        secret=secret,
        access=Access.from_env(
            env, embedded_demo=embedded, host=host, source_tokens=identity_config.per_user
        ),
        embedded=embedded,
        page_size=page_size,
        csrf=csrf.enabled(env),
        recycle_days=recycle_days_from_env(env),
        identity=_identity(identity_config, source),
    )
    gateway.model()  # build now: a publication that does not match the source fails at start-up
    app = Flask(__name__)
    # every face's request bodies: refused before reading beyond the limit (413), decompression included
    app.config[request_body.CONFIG_KEY] = max_body_bytes(env)
    app.wsgi_app = request_body.BodyLimit(app.wsgi_app, app.config[request_body.CONFIG_KEY])
    app.extensions["odata_gateway"] = gateway
    app.after_request(_no_content_type_without_content)
    hooks.install(app, source, settings, env, log_stream=log_stream)
    app.register_blueprint(create_blueprint())
    app.register_blueprint(create_v2_blueprint(env.get("GATEWAY_V2_SEARCH_PARAM") or None))
    return app


def _identity(config: IdentityConfig, source: GovernedSource) -> PerUserIdentity | None:
    """Per-user identity, its users' connections governed like the named one (the same result cache,
    keyed by the principal, and API usage)."""
    if not config.per_user:
        return None
    return PerUserIdentity(
        config, source, wrap_source=lambda user: GovernedSource(user, cache=source.cache, usage=source.usage)
    )


def announce(message: str) -> None:
    """A start-up message for the operator, on stderr (stdout carries the JSON request log)."""
    print(f"gateway: {message}", file=sys.stderr, flush=True)


def _demo_source(demo_accounts: int | None) -> Source:
    from gateway.source.embedded import DEFAULT_DEMO_ACCOUNTS, embedded_source

    accounts = demo_accounts or DEFAULT_DEMO_ACCOUNTS
    announce(
        f"source: the embedded DEMO org ({accounts} generated Accounts, fake data, in this process) — "
        "set the SF_* variables to serve your Salesforce org"
    )
    return embedded_source(accounts, progress=True)[0]


def _no_content_type_without_content(response: Response) -> Response:
    """204 and 304 carry no body, so no Content-Type, on every face (SAP's CAP client reads Flask's default
    text/html on a 204 as a failure)."""
    if response.status_code in (204, 304):
        response.headers.pop("Content-Type", None)
    return response


def gateway_from_env() -> Flask:
    """The gateway app for gunicorn (``wsgi.py``), configured by the environment only.

    Needs SF_* or GATEWAY_DEMO=1; credentials are always required (the bound address is not known here).
    A configuration that cannot work stops the process with a message instead of a traceback."""
    from gateway.odata.http.access import AccessConfigError
    from gateway.odata.model.publication import PublicationError
    from gateway.operation.public_url import PublicUrlConfigError
    from gateway.operation.settings import OperationConfigError

    try:
        return create_app(host=None, allow_demo=demo_requested(os.environ))
    except (SourceConfigError, AccessConfigError, PublicationError, OperationConfigError,
            PublicUrlConfigError) as error:  # fmt: skip
        announce(f"cannot start: {error}")
        raise SystemExit(2) from None
