"""``gateway serve``: the OData service at ``/odata/`` under gunicorn (``--dev``: Werkzeug's development
server).

The socket is bound first, so access follows the address really bound: with no SF_* variables the embedded
demo org is served only on a loopback address (anonymously, and said loudly on start-up) or when
``GATEWAY_DEMO=1`` asks for it (then credentials are required off loopback). A bad publication, access,
source or governor configuration stops start-up with a message that names the problem. Start-up messages
go to stderr; stdout carries the JSON request log.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
from typing import Any

from gateway.app import DEFAULT_PAGE_SIZE, announce, create_app, demo_requested
from gateway.identity.config import IdentityConfigError
from gateway.odata.http.access import AccessConfigError
from gateway.odata.model.publication import PublicationError
from gateway.operation.metrics import MULTIPROCESS_DIR, enable_multiprocess
from gateway.operation.public_url import PublicUrlConfigError
from gateway.operation.server import DEFAULT_THREADS, DEFAULT_WORKERS, GatewayServer, listen
from gateway.operation.settings import OperationConfigError
from gateway.source.connection import SourceConfigError, SourceError, is_loopback
from gateway.source.embedded import DEFAULT_DEMO_ACCOUNTS

NAME = "serve"
HELP = "serve the published objects as OData v4 at /odata/ (gunicorn)"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks a free one)"
    )
    parser.add_argument(
        "--metadata",
        metavar="PATH",
        help="publication file or folder (default: GATEWAY_METADATA, else ./metadata)",
    )
    parser.add_argument(
        "--page-size",
        type=int,
        default=DEFAULT_PAGE_SIZE,
        help=f"rows per page unless the client prefers fewer (default {DEFAULT_PAGE_SIZE})",
    )
    parser.add_argument(
        "--rows",
        type=int,
        default=DEFAULT_DEMO_ACCOUNTS,
        help=f"demo Accounts in the embedded local org (default {DEFAULT_DEMO_ACCOUNTS})",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"gunicorn worker processes (default {DEFAULT_WORKERS}; more need GATEWAY_REDIS_URL to share "
        "the rate limit and the cache; the embedded demo org always runs in one)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=DEFAULT_THREADS,
        help=f"threads per worker: concurrent requests (default {DEFAULT_THREADS})",
    )
    parser.add_argument(
        "--dev",
        action="store_true",
        help="Werkzeug's development server instead of gunicorn (not for production)",
    )


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.workers < 1 or args.threads < 1:
        print("gateway serve: --workers and --threads must be at least 1", file=sys.stderr)
        return 2
    try:
        sock = listen(args.host, args.port)
    except OSError as error:
        print(f"gateway serve: cannot listen on {args.host}:{args.port}: {error.strerror}", file=sys.stderr)
        return 2
    bound_host, bound_port = sock.getsockname()[:2]
    loopback = is_loopback(bound_host)
    metrics_dir = None
    if args.workers > 1 and not args.dev and not os.environ.get(MULTIPROCESS_DIR):
        metrics_dir = tempfile.mkdtemp(prefix="gateway-metrics-")  # one set of metrics for all workers
        enable_multiprocess(metrics_dir)
    try:
        app = create_app(
            metadata_path=args.metadata,
            host=bound_host,
            page_size=args.page_size,
            demo_accounts=args.rows,
            allow_demo=loopback or demo_requested(os.environ),
        )
    except (
        PublicationError,
        AccessConfigError,
        SourceConfigError,
        OperationConfigError,
        PublicUrlConfigError,
        IdentityConfigError,
    ) as error:
        print(f"gateway serve: {error}", file=sys.stderr)
        sock.close()
        return 2
    except SourceError as error:
        print(f"gateway serve: cannot reach the source org: {error}", file=sys.stderr)
        sock.close()
        return 2
    gateway = app.extensions["odata_gateway"]
    workers = args.workers
    if gateway.embedded and workers > 1:
        announce(
            f"the embedded demo org lives in one process: serving with 1 worker and {args.threads} threads "
            f"instead of {workers} workers"
        )
        workers = 1
    settings = app.extensions["operation"].settings
    if workers > 1 and not settings.redis_url and (settings.rate_limit or settings.cache_ttl):
        announce(
            f"{workers} workers without GATEWAY_REDIS_URL: each keeps its own rate-limit count and cache"
        )
    host = f"[{bound_host}]" if ":" in bound_host else bound_host
    url = f"http://{host}:{bound_port}/odata/"
    announce(f"OData gateway serving {url}")
    announce(f"entity sets: {', '.join(gateway.model().entity_sets)}")
    access = "anonymous (the demo org on a loopback address)" if gateway.access.anonymous else "credentials"
    announce(f"access: {access}")
    if args.dev:
        announce("Werkzeug's development server (--dev): not for production")
        return run_development_server(app, sock)
    announce(f"server: gunicorn, {workers} worker(s) x {args.threads} threads")
    GatewayServer(
        app,
        listening=sock,
        workers=workers,
        threads=args.threads,
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", ""),
        after_fork=lambda: _drop_inherited_connections(gateway.source),
        on_exit=(lambda: shutil.rmtree(metrics_dir, ignore_errors=True)) if metrics_dir else None,
    ).run()
    return 0


def _drop_inherited_connections(source: Any) -> None:
    """A forked worker must not share the master's pooled connections to the org."""
    session = getattr(getattr(source, "inner", source), "session", None)
    if session is not None:
        session.close()


def run_development_server(app: Any, sock: Any) -> int:
    from werkzeug.serving import make_server

    host, port = sock.getsockname()[:2]
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the JSON request log replaces its access log
    server = make_server(host, port, app, threaded=True, fd=sock.fileno())
    return run_until_interrupted(server)


def run_until_interrupted(server: Any) -> int:
    """Serve until Ctrl+C, then release the socket; the exit status of a server command."""
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
