"""The publication: the source objects and fields the gateway exposes, from TOML files in ``metadata/``.

A publication file holds one ``[[entity_set]]`` table per published object::

    [[entity_set]]
    sobject = "Account"            # the Salesforce object (required)
    name = "Account"               # entity set name clients use (default: the sObject name)
    fields = ["Name", "Industry"]  # published fields, or "*" for every publishable field; Id always
    writable = ["Name"]            # fields clients may set, or "*" (every published createable/updateable
                                   # field); default [] (read-only)
    external_ids = ["Ext__c"]      # published externalId/idLookup fields, declared as alternate keys
    insertable = true              # POST allowed (default: true when any field is writable)
    updatable = true               # PATCH allowed (default: true when any field is writable)
    deletable = false              # DELETE allowed (default: false)
    searchable = false             # $search allowed (default: true, when the object is searchable)

A folder is read as all its ``*.toml`` files in name order. A bad file stops start-up with a
``PublicationError`` naming the file, the line and the problem; checks that need the source's describe
(unknown sObjects and fields) happen in ``model_builder.build_model`` and report the same way.

``gateway publish`` (``gateway/cli/publish.py``) writes a starter file in this format.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

ALL: Literal["*"] = "*"
FieldList = tuple[str, ...] | Literal["*"]

ENTITY_SET_KEYS = (
    "name",
    "sobject",
    "fields",
    "writable",
    "external_ids",
    "insertable",
    "updatable",
    "deletable",
    "searchable",
)
# An OData SimpleIdentifier (CSDL): letters, digits and underscores, not starting with a digit.
SIMPLE_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_SYNTAX_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_ENTITY_SET_HEADER = re.compile(r"^\s*\[\[\s*entity_set\s*\]\]")
_TABLE_HEADER = re.compile(r"^\s*\[")


class PublicationError(Exception):
    """A publication file is wrong: ``file:line: problem``."""

    def __init__(self, file: str, line: int, problem: str):
        super().__init__(f"{file}:{line}: {problem}")
        self.file = file
        self.line = line
        self.problem = problem


@dataclass(frozen=True)
class EntitySetSpec:
    """One ``[[entity_set]]`` as written, with where each part was written (for error messages)."""

    name: str
    sobject: str
    fields: FieldList
    writable: FieldList
    external_ids: tuple[str, ...]
    insertable: bool
    updatable: bool
    deletable: bool
    file: str = ""
    searchable: bool = True
    line: int = 1
    # "key" -> line of ``key = ...``; "key/value" -> line where a list item is written.
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def line_of(self, key: str | None = None, value: str | None = None) -> int:
        """The line of ``key`` (or of ``value`` in ``key``'s list); the table header when unknown."""
        if key is None:
            return self.line
        if value is not None and f"{key}/{value}" in self.lines:
            return self.lines[f"{key}/{value}"]
        return self.lines.get(key, self.line)

    def error(self, problem: str, key: str | None = None, value: str | None = None) -> PublicationError:
        return PublicationError(self.file, self.line_of(key, value), problem)


@dataclass(frozen=True)
class Publication:
    entity_sets: tuple[EntitySetSpec, ...]
    files: tuple[str, ...] = ()


# ----- loading ------------------------------------------------------------------------------------


def load_publication(path: str | os.PathLike[str]) -> Publication:
    """The publication in a TOML file, or in every ``*.toml`` file of a folder (name order)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".toml" and p.is_file())
        if not files:
            raise PublicationError(str(path), 0, "the folder holds no *.toml publication file")
    elif path.is_file():
        files = [path]
    else:
        raise PublicationError(str(path), 0, "no such publication file or folder")
    specs: list[EntitySetSpec] = []
    for file in files:
        try:
            text = file.read_bytes().decode("utf-8")
        except UnicodeDecodeError as error:
            raise PublicationError(str(file), 1, f"not UTF-8 text ({error.reason})") from None
        specs.extend(parse_publication_text(text, str(file)))
    if not specs:
        raise PublicationError(str(files[0]), 1, "publishes nothing: add an [[entity_set]] table")
    check_unique(specs)
    return Publication(tuple(specs), tuple(str(f) for f in files))


def parse_publication_text(text: str, file: str) -> list[EntitySetSpec]:
    """The entity sets of one publication file's text; ``file`` names it in errors."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        position = _SYNTAX_POSITION.search(message)
        if position:
            line, column = int(position.group(1)), int(position.group(2))
            message = f"{message[: position.start()]} (column {column})"
        else:
            line = max(1, text.count("\n") + (0 if text.endswith("\n") else 1))
        raise PublicationError(file, line, f"TOML syntax error: {message}") from None
    lines = text.splitlines()
    for key in document:
        if key != "entity_set":
            raise PublicationError(
                file,
                _key_line(lines, 0, len(lines), key) or 1,
                f"unknown key {key!r}: expected [[entity_set]]",
            )
    tables = document.get("entity_set", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise PublicationError(
            file,
            _key_line(lines, 0, len(lines), "entity_set") or 1,
            "entity_set must be [[entity_set]] tables",
        )
    blocks = _entity_set_blocks(lines, len(tables))
    return [_parse_entity_set(table, file, lines, block) for table, block in zip(tables, blocks, strict=True)]


def check_unique(specs: Sequence[EntitySetSpec]) -> None:
    """Entity set names and sObjects are each published once (names compared case-insensitively)."""
    names: dict[str, EntitySetSpec] = {}
    sobjects: dict[str, EntitySetSpec] = {}
    for spec in specs:
        earlier = names.get(spec.name.lower())
        if earlier:
            raise spec.error(
                f"duplicate entity set name {spec.name!r} (also at {earlier.file}:{earlier.line})", "name"
            )
        names[spec.name.lower()] = spec
        earlier = sobjects.get(spec.sobject.lower())
        if earlier:
            # One set per object keeps navigation targets unambiguous.
            raise spec.error(
                f"sObject {spec.sobject!r} is already published as {earlier.name!r} "
                f"({earlier.file}:{earlier.line})",
                "sobject",
            )
        sobjects[spec.sobject.lower()] = spec


def _entity_set_blocks(lines: list[str], count: int) -> list[tuple[int, int]]:
    """(first, end) line indexes of each ``[[entity_set]]`` table; (0, len) when they cannot be told apart."""
    starts = [i for i, line in enumerate(lines) if _ENTITY_SET_HEADER.match(line)]
    if len(starts) != count:
        return [(0, len(lines))] * count
    blocks = []
    for start in starts:
        end = next((i for i in range(start + 1, len(lines)) if _TABLE_HEADER.match(lines[i])), len(lines))
        blocks.append((start, end))
    return blocks


def _key_line(lines: list[str], start: int, end: int, key: str) -> int | None:
    """1-based line of ``key = ...`` between line indexes start and end."""
    pattern = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*=")
    return next((i + 1 for i in range(start, end) if pattern.match(lines[i])), None)


def _value_line(lines: list[str], key_line: int, end: int, value: str) -> int | None:
    """1-based line, from ``key_line`` on, where the string ``value`` is written (until the next key)."""
    quoted = (f'"{value}"', f"'{value}'")
    next_key = re.compile(r"^\s*[\w\"']+\s*=")
    for i in range(key_line - 1, end):
        if i > key_line - 1 and next_key.match(lines[i]):
            break
        if any(q in lines[i] for q in quoted):
            return i + 1
    return None


def _parse_entity_set(table: dict, file: str, lines: list[str], block: tuple[int, int]) -> EntitySetSpec:
    start, end = block
    header_line = start + 1
    key_lines = {key: _key_line(lines, start, end, key) or header_line for key in table}

    def fail(problem: str, key: str | None = None) -> PublicationError:
        return PublicationError(file, key_lines.get(key, header_line) if key else header_line, problem)

    for key in table:
        if key not in ENTITY_SET_KEYS:
            raise fail(f"unknown key {key!r} in [[entity_set]] (known: {', '.join(ENTITY_SET_KEYS)})", key)
    if "sobject" not in table:
        raise fail('[[entity_set]] needs sobject = "<Salesforce object name>"')
    sobject = table["sobject"]
    if not isinstance(sobject, str) or not SIMPLE_IDENTIFIER.fullmatch(sobject):
        raise fail(f"sobject must be a Salesforce object name, not {sobject!r}", "sobject")
    name = table.get("name", sobject)
    if not isinstance(name, str) or not SIMPLE_IDENTIFIER.fullmatch(name):
        raise fail(
            f"name must be an identifier (letters, digits, underscores; no leading digit), not {name!r}",
            "name",
        )
    fields = _field_list(table, "fields", ALL, fail)
    writable = _field_list(table, "writable", (), fail)
    external_ids = _field_list(table, "external_ids", (), fail, allow_all=False)
    flags = {}
    for key in ("insertable", "updatable", "deletable", "searchable"):
        value = table.get(key)
        if value is not None and not isinstance(value, bool):
            raise fail(f"{key} must be true or false, not {value!r}", key)
        flags[key] = value
    any_writable = writable == ALL or bool(writable)
    item_lines = {key: line for key, line in key_lines.items()}
    for key in ("fields", "writable", "external_ids"):
        values = table.get(key)
        if isinstance(values, list):
            for value in values:
                item_lines[f"{key}/{value}"] = (
                    _value_line(lines, key_lines[key], end, value) or key_lines[key]
                )
    return EntitySetSpec(
        name=name,
        sobject=sobject,
        fields=fields,
        writable=writable,
        external_ids=external_ids,  # type: ignore[arg-type]
        insertable=any_writable if flags["insertable"] is None else flags["insertable"],
        updatable=any_writable if flags["updatable"] is None else flags["updatable"],
        deletable=bool(flags["deletable"]),
        searchable=flags["searchable"] is not False,
        file=file,
        line=header_line,
        lines=item_lines,
    )


def _field_list(
    table: dict,
    key: str,
    default: FieldList,
    fail: Callable[..., PublicationError],
    allow_all: bool = True,
) -> FieldList:
    if key not in table:
        return default
    value = table[key]
    if allow_all and value == ALL:
        return ALL
    expected = 'a list of field names or "*"' if allow_all else "a list of field names"
    if not isinstance(value, list):
        raise fail(f"{key} must be {expected}, not {value!r}", key)
    seen: set[str] = set()
    for item in value:
        if not isinstance(item, str) or not SIMPLE_IDENTIFIER.fullmatch(item):
            raise fail(f"{key} must be {expected}; {item!r} is not a field name", key)
        if item.lower() in seen:
            raise fail(f"{key} lists {item!r} twice", key)
        seen.add(item.lower())
    return tuple(value)
