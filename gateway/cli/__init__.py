"""The ``gateway`` console script: one argparse subcommand per module of this package.

Each command module declares ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``; the
commands are listed here explicitly (no registration by import side effect). ``register`` adds one more
(tests use it).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gateway.cli import hash_password, localorg, publish, serve
from gateway.cli.localorg import localorg_from_env

AddArguments = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]

__all__ = ["COMMANDS", "Command", "build_parser", "localorg_from_env", "main", "register"]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    add_arguments: AddArguments
    run: Run


COMMANDS: dict[str, Command] = {
    module.NAME: Command(module.NAME, module.HELP, module.add_arguments, module.run)
    for module in (localorg, serve, publish, hash_password)
}


def register(name: str, help: str, add_arguments: AddArguments, run: Run) -> None:
    """Make ``gateway <name>`` available."""
    COMMANDS[name] = Command(name, help, add_arguments, run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gateway", description="OData v4 gateway in front of a Salesforce org, and its local org."
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS.values():
        subparser = subparsers.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(subparser)
        subparser.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)
