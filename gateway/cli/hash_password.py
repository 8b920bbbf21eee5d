"""``gateway hash-password``: print a ``GATEWAY_USERS`` entry (user:hash) for a password read from stdin."""

from __future__ import annotations

import argparse
import sys

from gateway.odata.http.access import hash_password

NAME = "hash-password"
HELP = "print a GATEWAY_USERS entry (user:hash) for a password read from stdin"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("user", help="the user name Salesforce Connect (or a BI tool) will send")


def run(args: argparse.Namespace) -> int:
    """Read a password (from stdin when piped) and print a ``GATEWAY_USERS`` entry for it."""
    import getpass

    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass()
    if not password:
        print("gateway hash-password: empty password", file=sys.stderr)
        return 2
    print(f"{args.user}:{hash_password(password)}")
    return 0
