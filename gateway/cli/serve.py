"""``gateway serve``: the OData service at ``/odata/`` over HTTP.

With no SF_* variables it serves the embedded local org with demo data and says so; bound to loopback, the
demo needs no credentials. A bad publication, access or source configuration stops start-up with a message
that names the problem (and, for publication files, the file and line).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from gateway.app import DEFAULT_PAGE_SIZE, create_app
from gateway.odata.http.access import AccessConfigError
from gateway.odata.model.publication import PublicationError
from gateway.source.connection import SourceConfigError, SourceError
from gateway.source.embedded import DEFAULT_DEMO_ACCOUNTS

NAME = "serve"
HELP = "serve the published objects as OData v4 at /odata/"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
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


def run(args: argparse.Namespace) -> int:
    from werkzeug.serving import make_server

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        app = create_app(
            metadata_path=args.metadata,
            host=args.host,
            page_size=args.page_size,
            demo_accounts=args.rows,
        )
    except (PublicationError, AccessConfigError, SourceConfigError) as error:
        print(f"gateway serve: {error}", file=sys.stderr)
        return 2
    except SourceError as error:
        print(f"gateway serve: cannot reach the source org: {error}", file=sys.stderr)
        return 2
    server = make_server(args.host, args.port, app, threaded=True)
    gateway = app.extensions["odata_gateway"]
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host}:{server.server_port}/odata/"
    print(f"OData gateway serving {url}", flush=True)
    if gateway.embedded:
        print(
            f"  source: the embedded local org with demo data ({args.rows} Accounts); no SF_* variables set",
            flush=True,
        )
    else:
        print("  source: the Salesforce org named by the SF_* variables", flush=True)
    names = ", ".join(gateway.model().entity_sets)
    print(f"  entity sets: {names}", flush=True)
    print(f"  access: {'anonymous (loopback demo)' if gateway.access.anonymous else 'credentials required'}")
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
