"""``gateway publish``: write a starter publication file for source objects.

``gateway publish [--writable] [--output FILE] SPEC...`` with SPEC ``Object`` (all publishable fields) or
``Object:Field1,Field2``. The text is checked by loading it back and building the model from the same
describes, so what it writes always starts.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from gateway.odata.model.builder import build_model
from gateway.odata.model.publication import (
    SIMPLE_IDENTIFIER,
    Publication,
    PublicationError,
    check_unique,
    parse_publication_text,
)
from gateway.source.connection import SourceConnection, SourceError
from gateway.source.embedded import embedded_describe

NAME = "publish"
HELP = "write a starter publication file for source objects (SPEC: Object or Object:Field1,Field2)"

# Compound and binary fields are not published (their components are ordinary fields); see model_builder.
UNPUBLISHABLE_TYPES = frozenset({"address", "location", "base64", "anyType", "complexvalue", "json"})


def publishable(field_describe: dict) -> bool:
    return field_describe.get("type") not in UNPUBLISHABLE_TYPES


def parse_spec(spec: str) -> tuple[str, tuple[str, ...] | None]:
    """``Object`` → (Object, None: all fields); ``Object:F1,F2`` → (Object, (F1, F2))."""
    sobject, _, field_text = spec.partition(":")
    sobject = sobject.strip()
    if not SIMPLE_IDENTIFIER.fullmatch(sobject):
        raise ValueError(f"{spec!r}: expected Object or Object:Field1,Field2")
    if not _:
        return sobject, None
    fields = tuple(f.strip() for f in field_text.split(",") if f.strip())
    if not fields:
        raise ValueError(f"{spec!r}: no field names after ':'")
    for name in fields:
        if not SIMPLE_IDENTIFIER.fullmatch(name):
            raise ValueError(f"{spec!r}: {name!r} is not a field name")
    return sobject, fields


def starter_text(specs: Sequence[str], describe: Callable[[str], dict], writable: bool = False) -> str:
    """A publication file for ``specs`` (see ``parse_spec``), from the source org's describes."""
    parts = [
        "# Publication written by `gateway publish`. Edit freely: remove fields you do not want to expose.",
        "# Format: see metadata/README.md. Id is always published.",
    ]
    for spec in specs:
        sobject, wanted = parse_spec(spec)
        object_describe = describe(sobject)
        by_lower = {f["name"].lower(): f for f in object_describe.get("fields", [])}
        if wanted is None:
            chosen = [f for f in object_describe.get("fields", []) if publishable(f)]
        else:
            chosen = []
            for name in wanted:
                found = by_lower.get(name.lower())
                if found is None:
                    raise ValueError(f"{spec!r}: {object_describe['name']} has no field {name!r}")
                if not publishable(found):
                    raise ValueError(
                        f"{spec!r}: {found['name']} is of type {found['type']}, which is not published"
                    )
                chosen.append(found)
            if "id" in by_lower and all(f["name"] != by_lower["id"]["name"] for f in chosen):
                chosen.insert(0, by_lower["id"])
        parts.append(_starter_entity_set(object_describe, chosen, writable))
    return "\n".join(parts) + "\n"


def _starter_entity_set(object_describe: dict, fields: list[dict], writable: bool) -> str:
    name = object_describe["name"]
    out = ["", "[[entity_set]]", f'name = "{name}"', f'sobject = "{name}"', "fields = ["]
    for f in fields:
        out.append(f'    "{f["name"]}",  # {_type_note(f)}')
    out.append("]")
    writable_fields = [f["name"] for f in fields if writable and (f.get("createable") or f.get("updateable"))]
    out.append(_toml_list("writable", writable_fields))
    external_ids = [f["name"] for f in fields if f.get("externalId")]
    out.append(_toml_list("external_ids", external_ids))
    out.append(
        f"insertable = {_toml_bool(bool(writable_fields) and object_describe.get('createable', True))}"
    )
    out.append(f"updatable = {_toml_bool(bool(writable_fields) and object_describe.get('updateable', True))}")
    out.append("deletable = false")
    return "\n".join(out)


def _type_note(field_describe: dict) -> str:
    kind = field_describe.get("type", "?")
    if kind in (
        "string",
        "textarea",
        "email",
        "phone",
        "url",
        "picklist",
        "multipicklist",
    ) and field_describe.get("length"):
        kind += f"({field_describe['length']})"
    if kind == "reference":
        kind += " → " + ", ".join(field_describe.get("referenceTo") or [])
    if not (field_describe.get("createable") or field_describe.get("updateable")):
        kind += ", read-only"
    return kind


def _toml_list(key: str, names: list[str]) -> str:
    return f"{key} = [" + ", ".join(f'"{n}"' for n in names) + "]"


def _toml_bool(value: bool) -> str:
    return "true" if value else "false"


def write_starter(
    specs: Sequence[str],
    describe: Callable[[str], dict],
    writable: bool = False,
    output: str | os.PathLike[str] | None = None,
) -> str:
    """Write a starter publication (to ``output``, or nowhere) and return its text.

    The text is checked by loading it back and building the model from the same describes, so what
    ``gateway publish`` writes always starts.
    """
    text = starter_text(specs, describe, writable)
    label = str(output) if output else "<gateway publish>"
    specs_parsed = parse_publication_text(text, label)
    check_unique(specs_parsed)
    build_model(Publication(tuple(specs_parsed), (label,)), describe)
    if output:
        Path(output).write_text(text, encoding="utf-8")
    return text


def source_describe(environ: Mapping[str, str]) -> tuple[Callable[[str], dict], str]:
    """The describe of the source org configured by SF_* (or of the embedded local org) and its label."""
    connection = SourceConnection.from_env(environ)
    if connection is not None:
        return connection.describe, "the source org (SF_* environment)"
    return embedded_describe(), "the embedded local org (no SF_* variables set)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "specs", nargs="+", metavar="SPEC", help="Object (all fields) or Object:Field1,Field2"
    )
    parser.add_argument(
        "--writable", action="store_true", help="make every createable/updateable published field writable"
    )
    parser.add_argument("--output", metavar="FILE", help="write the file here (default: print it)")


def run(args: argparse.Namespace) -> int:
    describe, source_label = source_describe(os.environ)
    try:
        text = write_starter(args.specs, describe, args.writable, args.output)
    except (ValueError, LookupError, PublicationError, SourceError) as error:
        print(f"gateway publish: {error}", file=sys.stderr)
        return 2
    if args.output:
        print(f"Wrote {args.output} from {source_label}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
