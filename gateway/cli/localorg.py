"""``gateway localorg``: run the local org (a Salesforce stand-in on SQLite) over HTTP.

The org is built by ``gateway.source.local_org.build_local_org`` (from a schema, a data file, an existing
database or demo data), the one builder the embedded demo org uses too; ``localorg_from_env`` builds it
from LOCALORG_* variables (for ``gunicorn``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

from gateway.source.local_org import DEFAULT_ROWS, LocalOrg, build_local_org

NAME = "localorg"
HELP = "run the local org (a Salesforce stand-in on SQLite) over HTTP"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8500


def credentials_text(url: str, local_org: LocalOrg) -> str:
    """What ``gateway localorg`` prints: the URL, the credentials and the SF_* lines to copy."""
    config = local_org.config
    lines = [
        f"Local org listening on {url}",
        f"  data            {local_org.data_source}",
        f"  username        {config.username}",
        f"  password        {config.password}",
        f"  security token  {config.security_token or '(none)'}",
        f"  client id       {config.client_id}",
        f"  client secret   {config.client_secret}",
    ]
    if config.token:
        lines.append(f"  access token    {config.token} (fixed, never expires)")
    if config.jwt_certificate:
        lines.append("  JWT bearer      assertions signed for the certificate given (iss = the client id)")
    lines.append(f"  API limit       {config.api_limit} requests")
    security = config.security
    if security is not None:
        lines += ["", "Users (OAuth password grant with the client above; JWT bearer with sub = username):"]
        for user in security.users.values():
            role = f", role {user.role}" if user.role else ""
            password = "(own password)" if user.password else f"password {config.password}"
            lines.append(f"  {user.username:<32} {user.profile}{role}; {password}")
    lines += [
        "",
        "Reach it with these environment variables:",
        f"  export SF_INSTANCE_URL={url}",
    ]
    if config.token:
        lines.append(f"  export SF_ACCESS_TOKEN={config.token}")
    else:
        lines += [
            f"  export SF_LOGIN_URL={url}",
            f"  export SF_USERNAME={config.username}",
            f"  export SF_PASSWORD={config.password}",
            f"  export SF_CLIENT_ID={config.client_id}",
            f"  export SF_CLIENT_SECRET={config.client_secret}",
        ]
        if config.security_token:
            lines.append(f"  export SF_SECURITY_TOKEN={config.security_token}")
    lines += ["", "Press Ctrl+C to stop."]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks a free one)"
    )
    parser.add_argument(
        "--schema",
        metavar="FILE",
        help="describe JSON: a list of sobjects/{name}/describe results (default: demo org)",
    )
    parser.add_argument("--data", metavar="FILE", help='records as JSON {"Account": [{...}], ...}')
    parser.add_argument("--db", metavar="FILE", help="SQLite database file (default: in memory)")
    parser.add_argument("--request-log", metavar="FILE", help="append one JSON line per API request")
    parser.add_argument(
        "--rows", type=int, default=DEFAULT_ROWS, help=f"demo Accounts to generate (default {DEFAULT_ROWS})"
    )
    parser.add_argument("--api-limit", type=int, metavar="N", help="daily API request limit (default 15000)")
    parser.add_argument("--token", metavar="TOKEN", help="a fixed access token that is always valid")
    parser.add_argument(
        "--security",
        metavar="FILE",
        help="security model: users, roles, profiles, sharing defaults (TOML; default: the demo model "
        "for the demo org, none otherwise)",
    )
    parser.add_argument(
        "--jwt-cert",
        metavar="FILE",
        help="PEM certificate (or public key) verifying JWT bearer grant assertions",
    )
    parser.add_argument(
        "--recycle-days",
        type=_positive,
        metavar="N",
        help="days deleted records stay in the recycle bin, visible to queryAll (default 15)",
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of days, at least 1: {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    from gateway.cli.serve import run_until_interrupted
    from gateway.localorg.server import LocalOrgServer

    # Bind first, so the printed URL carries the real port (also with --port 0).
    server = LocalOrgServer(args.host, args.port)
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host}:{server.server_port}"
    try:
        local_org = _build_from_args(args, url)
    except ValueError as error:  # a bad security file or certificate: say so, no trace
        server.server_close()
        print(f"gateway localorg: {error}", file=sys.stderr)
        return 2
    server.app = local_org.app
    print(credentials_text(url, local_org), flush=True)
    return run_until_interrupted(server)


def _build_from_args(args: argparse.Namespace, url: str) -> LocalOrg:
    return build_local_org(
        schema_path=args.schema,
        data_path=args.data,
        db_path=args.db,
        rows=args.rows,
        token=args.token,
        api_limit=args.api_limit,
        request_log=args.request_log,
        url=url,
        recycle_days=args.recycle_days,
        security_path=args.security,
        jwt_cert=args.jwt_cert,
    )


def localorg_from_env(environ: Mapping[str, str] = os.environ) -> LocalOrg:
    """The local org configured by LOCALORG_* variables (wsgi.py)."""

    def number(name: str) -> int | None:
        value = environ.get(name, "").strip()
        return int(value) if value else None

    return build_local_org(
        schema_path=environ.get("LOCALORG_SCHEMA") or None,
        data_path=environ.get("LOCALORG_DATA") or None,
        db_path=environ.get("LOCALORG_DB") or None,
        rows=number("LOCALORG_ROWS") or DEFAULT_ROWS,
        token=environ.get("LOCALORG_TOKEN") or None,
        api_limit=number("LOCALORG_API_LIMIT"),
        request_log=environ.get("LOCALORG_REQUEST_LOG") or None,
        url=environ.get("LOCALORG_URL") or None,
        recycle_days=number("LOCALORG_RECYCLE_DAYS"),
        security_path=environ.get("LOCALORG_SECURITY") or None,
        jwt_cert=environ.get("LOCALORG_JWT_CERT") or None,
    )
