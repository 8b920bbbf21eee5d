"""The local org's SQLite store: one table per sObject, bulk load, and Salesforce's record writes.

Layout (see docs/architecture.md): table ``"Account"``, one column per non-compound field, ``Id`` TEXT
PRIMARY KEY, an index on every reference field, ``IsDeleted`` = 1 for deleted records (they stay).
Every write runs in one transaction (``with store.transaction():``, nestable through SAVEPOINTs), so a
write that fails writes nothing. Every write, deletes included, sets ``SystemModstamp`` to a value above
every earlier one. Deleted records stay in the recycle bin (``queryAll`` sees them) for ``recycle_days``
of the store's clock, then they are purged: removed for good, as Salesforce empties its recycle bin.
Generated Ids come from a per-object sequence kept in ``_localorg_sequences`` that never hands out a
number twice, also across restarts of a file database.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from . import ids, records, validation
from .access import running_access
from .engine import COLLATION, register_sql_functions
from .errors import SalesforceError, invalid_type, not_found
from .schema import Schema, SObjectType

SEQUENCE_TABLE = "_localorg_sequences"
MAX_COLLECTION_RECORDS = 200
SYSTEM_DATETIMES = ("CreatedDate", "LastModifiedDate", "SystemModstamp")
ONE_MILLISECOND = dt.timedelta(milliseconds=1)
LOAD_RUN = 5_000  # records converted and inserted at a time by load_data
DEFAULT_RECYCLE_DAYS = 15  # Salesforce keeps deleted records in the recycle bin for 15 days


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(sobject: SObjectType) -> list[dict]:
    return [f for f in sobject.fields if records.sqlite_type(f["type"]) is not None]


def _unique_columns(sobject: SObjectType) -> list[dict]:
    """Fields whose values no two live records may share (the describe's ``unique``), Id aside."""
    return [f for f in _columns(sobject) if f.get("unique") and f["type"] != "id"]


class _RollbackAll(Exception):
    """Raised inside a transaction to undo it without it being an error."""


class Store:
    """The SQLite store. Hold ``lock`` while using ``conn``; write through ``transaction()``."""

    def __init__(
        self,
        schema: Schema,
        db_path: str = ":memory:",
        *,
        now: Callable[[], dt.datetime] = utc_now,
        recycle_days: int = DEFAULT_RECYCLE_DAYS,
    ):
        if recycle_days < 1:
            raise ValueError("recycle_days must be at least 1")
        self.schema = schema
        self.now = now
        self.recycle_days = recycle_days
        self.lock = threading.RLock()
        # isolation_level=None: no implicit transactions; transaction() issues BEGIN/SAVEPOINT itself.
        self.conn = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        # the engine's case-insensitive indexes use its collation: every write needs it registered
        register_sql_functions(self.conn)
        self._depth = 0
        self._sequences: dict[str, int] = {}
        self._last_modstamp: dt.datetime | None = None
        # The oldest deletion still in the recycle bin (None: not looked up yet), so that the check before
        # each read costs nothing until something is due to be purged.
        self._oldest_deletion: str | None = None
        self._deletions_known = False
        # Salesforce makes the running user the owner of what it creates; the local org's API sets this.
        self.running_user_id: str | None = None
        with self.lock:
            self._create_tables()
            self._load_sequences()

    # -- layout ---------------------------------------------------------------------------------

    def _create_tables(self) -> None:
        with self.transaction():
            self.conn.execute(
                f"CREATE TABLE IF NOT EXISTS {SEQUENCE_TABLE} "
                "(sobject TEXT PRIMARY KEY, last INTEGER NOT NULL)"
            )
            for sobject in self.schema.types:
                table = quote(sobject.name)
                columns = []
                for field in _columns(sobject):
                    column = f"{quote(field['name'])} {records.sqlite_type(field['type'])}"
                    if field["name"] == "Id":
                        column += " PRIMARY KEY"
                    elif field["type"] == "boolean":
                        column += " NOT NULL DEFAULT 0"
                    columns.append(column)
                self.conn.execute(f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(columns)})")
                existing = {row[1] for row in self.conn.execute(f"PRAGMA table_info({table})")}
                for field, column in zip(_columns(sobject), columns, strict=True):
                    if field["name"] not in existing:
                        self.conn.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
                for field in sobject.reference_fields:
                    index = quote(f"{sobject.name}_{field['name']}_idx")
                    self.conn.execute(
                        f"CREATE INDEX IF NOT EXISTS {index} ON {table} ({quote(field['name'])})"
                    )
                for field in _unique_columns(sobject):
                    # the name and shape the engine gives an equality index, so it reuses this one
                    collate = not field.get("caseSensitive")
                    index = quote(f"sf_{'ci' if collate else 'ix'}_{sobject.name}_{field['name']}")
                    column = quote(field["name"]) + (f" COLLATE {COLLATION}" if collate else "")
                    self.conn.execute(f'CREATE INDEX IF NOT EXISTS {index} ON {table} ({column}, "Id")')

    def _load_sequences(self) -> None:
        for name, last in self.conn.execute(f"SELECT sobject, last FROM {SEQUENCE_TABLE}"):
            self._sequences[name] = last

    def _allocate(self, sobject: SObjectType, count: int) -> int:
        """Reserve ``count`` sequence numbers for ``sobject``; returns the first."""
        first = self._sequences.get(sobject.name, 0) + 1
        self._set_sequence(sobject, first + count - 1)
        return first

    def _set_sequence(self, sobject: SObjectType, last: int) -> None:
        if last <= self._sequences.get(sobject.name, 0):
            return
        self._sequences[sobject.name] = last
        self.conn.execute(
            f"INSERT INTO {SEQUENCE_TABLE} (sobject, last) VALUES (?, ?) "
            "ON CONFLICT(sobject) DO UPDATE SET last = excluded.last",
            (sobject.name, last),
        )

    def new_id(self, sobject: SObjectType) -> str:
        with self.lock:
            return ids.make_id(sobject.key_prefix, self._allocate(sobject, 1))

    # -- transactions ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One SQLite transaction; nested calls are SAVEPOINTs that roll back on their own."""
        with self.lock:
            savepoint = f"sp{self._depth}" if self._depth else None
            self.conn.execute(f"SAVEPOINT {savepoint}" if savepoint else "BEGIN")
            self._depth += 1
            try:
                yield self.conn
            except BaseException:
                self._depth -= 1
                if savepoint:
                    self.conn.execute(f"ROLLBACK TO {savepoint}")
                    self.conn.execute(f"RELEASE {savepoint}")
                else:
                    self.conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            self.conn.execute(f"RELEASE {savepoint}" if savepoint else "COMMIT")

    # -- clock ----------------------------------------------------------------------------------

    def _timestamps(self) -> tuple[str, str]:
        """(now, SystemModstamp) stored; the modstamp rises on every write, even within one millisecond."""
        now = self.now().astimezone(dt.UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if self._last_modstamp is None:
            self._last_modstamp = self._max_modstamp()
        stamp = now
        if self._last_modstamp is not None and stamp <= self._last_modstamp:
            stamp = self._last_modstamp + ONE_MILLISECOND
        self._last_modstamp = stamp
        return records.stored_datetime(now), records.stored_datetime(stamp)

    def _max_modstamp(self) -> dt.datetime | None:
        latest = None
        for sobject in self.schema.types:
            if sobject.field("SystemModstamp") is None:
                continue
            (value,) = self.conn.execute(
                f'SELECT MAX("SystemModstamp") FROM {quote(sobject.name)}'
            ).fetchone()
            if value and (latest is None or value > latest):
                latest = value
        return records.parse_stored_datetime(latest) if latest else None

    # -- recycle bin ----------------------------------------------------------------------------

    def _recycled_types(self) -> list[SObjectType]:
        return [
            t for t in self.schema.types if t.field("IsDeleted") is not None and t.field("SystemModstamp")
        ]

    def _find_oldest_deletion(self) -> str | None:
        oldest = None
        for sobject in self._recycled_types():
            (value,) = self.conn.execute(
                f'SELECT MIN("SystemModstamp") FROM {quote(sobject.name)} WHERE "IsDeleted" = 1'
            ).fetchone()
            if value and (oldest is None or value < oldest):
                oldest = value
        return oldest

    def purge_recycle_bin(self) -> int:
        """Remove for good the deleted records older than ``recycle_days``; returns how many.

        A record's time in the recycle bin starts at its deletion (its last ``SystemModstamp``). Reads call
        this first, so what they see always follows the store's clock.
        """
        with self.lock:
            if not self._deletions_known:
                self._oldest_deletion = self._find_oldest_deletion()
                self._deletions_known = True
            cutoff = records.stored_datetime(self.now() - dt.timedelta(days=self.recycle_days))
            if self._oldest_deletion is None or self._oldest_deletion >= cutoff:
                return 0
            purged = 0
            with self.transaction():
                for sobject in self._recycled_types():
                    purged += self.conn.execute(
                        f'DELETE FROM {quote(sobject.name)} WHERE "IsDeleted" = 1 AND "SystemModstamp" < ?',
                        (cutoff,),
                    ).rowcount
            self._oldest_deletion = self._find_oldest_deletion()
            return purged

    def _noted_deletion(self, stamp: str) -> None:
        if self._deletions_known and (self._oldest_deletion is None or stamp < self._oldest_deletion):
            self._oldest_deletion = stamp

    # -- lookups --------------------------------------------------------------------------------

    def sobject(self, name: str) -> SObjectType:
        sobject = self.schema.get(name)
        if sobject is None:
            raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
        return sobject

    def _row(self, sobject: SObjectType, record_id: str) -> dict | None:
        cursor = self.conn.execute(f'SELECT * FROM {quote(sobject.name)} WHERE "Id" = ?', (record_id,))
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip((c[0] for c in cursor.description), row, strict=True))

    def record_state(self, sobject_name: str, record_id: str) -> str | None:
        """ "live", "deleted", or None when there is no such record."""
        row = self.conn.execute(
            f'SELECT "IsDeleted" FROM {quote(sobject_name)} WHERE "Id" = ?', (record_id,)
        ).fetchone()
        if row is None:
            return None
        return "deleted" if row[0] else "live"

    def _locate(self, sobject: SObjectType, record_id: Any, *, collection: bool = False) -> str:
        """The stored 18-character Id of a live record, or the error Salesforce gives for it.

        Single-record REST calls answer 404s; sObject Collections report MALFORMED_ID and friends.
        """
        self.purge_recycle_bin()
        normalized = ids.normalize_id(record_id)
        if normalized is None:
            if collection:
                raise SalesforceError(400, "MALFORMED_ID", f"malformed id {record_id}")
            raise SalesforceError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {record_id}",
            )
        state = None
        if ids.key_prefix(normalized) == sobject.key_prefix:
            state = self.record_state(sobject.name, normalized)
        if state == "deleted":
            raise SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted")
        if state is None:
            if collection:
                raise SalesforceError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
            raise not_found()
        return normalized

    # -- reads ----------------------------------------------------------------------------------

    def get(self, sobject_name: str, record_id: str, api_version: str = "59.0") -> dict:
        """The record in REST shape, with ``attributes`` and every field."""
        with self.lock:
            sobject = self.sobject(sobject_name)
            row = self._row(sobject, self._locate(sobject, record_id))
            assert row is not None
            return records.render_record(sobject.name, sobject.fields, row, api_version)

    # -- writes ---------------------------------------------------------------------------------

    def _derived_values(self, sobject: SObjectType, row: dict[str, Any]) -> None:
        """Values Salesforce computes: a person's ``Name`` from FirstName and LastName."""
        name = sobject.field("Name")
        if name and not name["createable"] and sobject.field("LastName") and sobject.field("FirstName"):
            parts = (row.get("FirstName"), row.get("LastName"))
            row["Name"] = " ".join(p for p in parts if p) or None

    def _insert_row(self, sobject: SObjectType, row: dict[str, Any]) -> None:
        names = list(row)
        self.conn.execute(
            f"INSERT INTO {quote(sobject.name)} ({', '.join(map(quote, names))}) "
            f"VALUES ({', '.join('?' for _ in names)})",
            [row[n] for n in names],
        )

    def _update_row(self, sobject: SObjectType, record_id: str, changes: dict[str, Any]) -> None:
        assignments = ", ".join(f"{quote(n)} = ?" for n in changes)
        self.conn.execute(
            f'UPDATE {quote(sobject.name)} SET {assignments} WHERE "Id" = ?', [*changes.values(), record_id]
        )

    def _defaults_on_create(self, sobject: SObjectType) -> dict[str, Any]:
        defaults: dict[str, Any] = {}
        for field in _columns(sobject):
            if field["name"] == "OwnerId" and self.running_user_id and "User" in field.get("referenceTo", []):
                defaults["OwnerId"] = self.running_user_id
            elif field["type"] == "boolean":
                defaults[field["name"]] = int(bool(field.get("defaultValue")))
            elif field["type"] in ("picklist", "multipicklist"):
                chosen = [p["value"] for p in field["picklistValues"] if p.get("defaultValue")]
                if chosen:
                    defaults[field["name"]] = chosen[0] if field["type"] == "picklist" else ";".join(chosen)
        return defaults

    def check_unique(
        self, sobject: SObjectType, stored: dict[str, Any], record_id: str | None = None
    ) -> None:
        """DUPLICATE_VALUE when a ``unique`` field's new value is already held by another live record
        (compared ignoring case unless the field is ``caseSensitive``, as Salesforce does)."""
        for field in _unique_columns(sobject):
            value = stored.get(field["name"])
            if value is None or value == "":
                continue
            collation = "" if field.get("caseSensitive") else f" COLLATE {COLLATION}"
            holder = self.conn.execute(
                f'SELECT "Id" FROM {quote(sobject.name)} WHERE {quote(field["name"])}{collation} = ? '
                'AND "IsDeleted" = 0 AND "Id" IS NOT ? LIMIT 1',
                (value, record_id),
            ).fetchone()
            if holder is not None:
                raise SalesforceError(
                    400,
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {field['name']} duplicates value on record with id: {holder[0]}",
                )

    def _insert(self, sobject: SObjectType, values: dict) -> str:
        access = running_access()
        if access is not None:  # the running user's object permission and field security come first
            validation.prepare_write(access.check_create(sobject), values, creating=True)
        stored = validation.prepare_write(sobject, values, creating=True)
        validation.check_references(self.schema, sobject, stored, self.record_state)
        self.check_unique(sobject, stored)
        now, stamp = self._timestamps()
        row = self._defaults_on_create(sobject)
        if access is not None and "OwnerId" in row:
            row["OwnerId"] = access.user_id
        row.update(stored)
        row["Id"] = ids.make_id(sobject.key_prefix, self._allocate(sobject, 1))
        row.update(self._system_values(sobject, created=now, modified=now, stamp=stamp))
        self._derived_values(sobject, row)
        self._insert_row(sobject, row)
        return row["Id"]

    def _system_values(self, sobject: SObjectType, **times: str) -> dict[str, Any]:
        values = {}
        for key, name in (
            ("created", "CreatedDate"),
            ("modified", "LastModifiedDate"),
            ("stamp", "SystemModstamp"),
        ):
            if key in times and sobject.field(name) is not None:
                values[name] = times[key]
        return values

    def _update(self, sobject: SObjectType, record_id: Any, values: dict, *, collection: bool = False) -> str:
        body = {k: v for k, v in values.items() if k.lower() != "id"}
        given_id = next((v for k, v in values.items() if k.lower() == "id"), None)
        stored_id = self._locate(sobject, record_id, collection=collection)
        if given_id is not None and ids.normalize_id(given_id) != stored_id:
            raise SalesforceError(
                400, "INVALID_ID_FIELD", f"Id in body does not match the record: {given_id}"
            )
        access = running_access()
        if access is not None:
            view = access.check_update(sobject, stored_id, collection=collection)
            validation.prepare_write(view, body, creating=False)
        changes = validation.prepare_write(sobject, body, creating=False)
        validation.check_references(self.schema, sobject, changes, self.record_state)
        self.check_unique(sobject, changes, stored_id)
        now, stamp = self._timestamps()
        changes.update(self._system_values(sobject, modified=now, stamp=stamp))
        if {"FirstName", "LastName"} & set(changes):
            row = self._row(sobject, stored_id)
            assert row is not None
            row.update(changes)
            self._derived_values(sobject, row)
            if "Name" in row and sobject.field("Name"):
                changes["Name"] = row["Name"]
        self._update_row(sobject, stored_id, changes)
        return stored_id

    def _delete(self, sobject: SObjectType, record_id: Any, *, collection: bool = False) -> str:
        stored_id = self._locate(sobject, record_id, collection=collection)
        access = running_access()
        if access is not None:
            access.check_delete(sobject, stored_id, collection=collection)
        now, stamp = self._timestamps()
        changes = {"IsDeleted": 1, **self._system_values(sobject, modified=now, stamp=stamp)}
        self._update_row(sobject, stored_id, changes)
        self._noted_deletion(stamp)
        return stored_id

    def insert(self, sobject_name: str, values: dict) -> str:
        """Create one record; returns its 18-character Id."""
        with self.transaction():
            return self._insert(self.sobject(sobject_name), values)

    def update(self, sobject_name: str, record_id: str, values: dict) -> None:
        with self.transaction():
            self._update(self.sobject(sobject_name), record_id, values)

    def delete(self, sobject_name: str, record_id: str) -> None:
        """Mark a record deleted (``IsDeleted`` = 1); a deleted record cannot be deleted again."""
        with self.transaction():
            self._delete(self.sobject(sobject_name), record_id)

    def upsert(self, sobject_name: str, field_name: str, value: Any, values: dict) -> tuple[str, bool]:
        """Create or update by an external ID (or idLookup) field; returns (Id, created).

        Several matches raise a 300 MULTIPLE_CHOICES error whose ``matching_ids`` lists them.
        """
        with self.transaction():
            sobject = self.sobject(sobject_name)
            field = self._external_id_field(sobject, field_name)
            if field["type"] == "id":
                return self._update(sobject, value, values), False
            matches = self._external_matches(sobject, field, value)
            if len(matches) > 1:
                raise _multiple_choices(field, value, matches)
            body = {k: v for k, v in values.items() if k.lower() != field["name"].lower()}
            if matches:
                return self._update(sobject, matches[0], body), False
            body[field["name"]] = value
            return self._insert(sobject, body), True

    def _external_id_field(self, sobject: SObjectType, field_name: str) -> dict:
        field = sobject.field(field_name)
        if field is None or not (field["externalId"] or field["idLookup"]):
            raise SalesforceError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {field_name}",
            )
        return field

    def _external_matches(self, sobject: SObjectType, field: dict, value: Any) -> list[str]:
        """The Ids of the live records whose external ID (or idLookup) field holds ``value``."""
        key = validation.convert_value(field, value)
        collate = "" if field.get("caseSensitive") else " COLLATE NOCASE"
        return [
            row[0]
            for row in self.conn.execute(
                f'SELECT "Id" FROM {quote(sobject.name)} WHERE {quote(field["name"])} = ?{collate} '
                'AND "IsDeleted" = 0 ORDER BY "Id"',
                (key,),
            )
        ]

    def find_by_external_id(self, sobject_name: str, field_name: str, value: Any) -> str:
        """The Id of the one live record whose external ID field holds ``value`` (``sobjects/X/F/v``).

        No such field: 404 NOT_FOUND naming it; no record: 404 NOT_FOUND; several: 300 MULTIPLE_CHOICES
        whose ``matching_ids`` lists them.
        """
        with self.lock:
            sobject = self.sobject(sobject_name)
            field = self._external_id_field(sobject, field_name)
            if field["type"] == "id":
                return self._locate(sobject, value)
            matches = self._external_matches(sobject, field, value)
            if len(matches) > 1:
                raise _multiple_choices(field, value, matches)
            if not matches:
                raise not_found()
            return matches[0]

    def composite(self, op: str, records_or_ids: list, all_or_none: bool = False) -> list[dict]:
        """sObject Collections: ``op`` is create, update or delete; one result entry per item, in order.

        Create and update items are records with ``attributes.type``; delete items are Ids.
        """
        if len(records_or_ids) > MAX_COLLECTION_RECORDS:
            raise SalesforceError(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than "
                f"{MAX_COLLECTION_RECORDS} records into this call",
            )
        if op not in ("create", "update", "delete"):
            raise ValueError(f"unknown composite operation: {op}")
        with self.lock:
            targets = [self._collection_target(op, item) for item in records_or_ids]
            outcomes: list[str | SalesforceError] = []
            try:
                with self.transaction():
                    for sobject, item in targets:
                        try:
                            with self.transaction():
                                outcomes.append(self._collection_write(op, sobject, item))
                        except SalesforceError as error:
                            outcomes.append(error)
                    if all_or_none and any(isinstance(o, SalesforceError) for o in outcomes):
                        raise _RollbackAll
            except _RollbackAll:
                return [_rolled_back_entry(o) for o in outcomes]
            return [_result_entry(o) for o in outcomes]

    def _collection_target(self, op: str, item: Any) -> tuple[SObjectType | None, Any]:
        if op == "delete":
            normalized = ids.normalize_id(item)
            return (self.schema.type_of_id(normalized) if normalized else None), item
        type_name = (item.get("attributes") or {}).get("type") if isinstance(item, dict) else None
        if not type_name:
            raise SalesforceError(400, "INVALID_TYPE", "Must send a concrete entity type.")
        sobject = self.schema.get(type_name)
        if sobject is None:
            raise SalesforceError(400, "INVALID_TYPE", f"sObject type '{type_name}' is not supported.")
        return sobject, item

    def _collection_write(self, op: str, sobject: SObjectType | None, item: Any) -> str:
        if op == "delete":
            if sobject is None:
                if ids.normalize_id(item) is None:
                    raise SalesforceError(400, "MALFORMED_ID", f"malformed id {item}")
                raise SalesforceError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
            return self._delete(sobject, item, collection=True)
        assert sobject is not None
        if op == "create":
            return self._insert(sobject, item)
        record_id = next((v for k, v in item.items() if k.lower() == "id"), None)
        if record_id is None:
            raise SalesforceError(400, "MISSING_ARGUMENT", "Id not specified in an update call")
        return self._update(sobject, record_id, item, collection=True)

    # -- bulk load ------------------------------------------------------------------------------

    def load_data(
        self, data: dict[str, list[dict]], progress: Callable[[int], None] | None = None
    ) -> dict[str, list[str]]:
        """Bulk-load ``{"Account": [{...}, ...], ...}``; returns the Ids of each object's records, in order.

        Records may carry their own ``Id``; others get a generated one. Values are converted and type-checked
        but references are not resolved, so objects may come in any order and records may point to each
        other. System fields may be given (a mirror keeps them); missing ones default to now / false.
        ``progress(n)`` is called each time ``n`` more records were stored (a big load can show progress).
        """
        loaded: dict[str, list[str]] = {}
        with self.transaction():
            now, stamp = self._timestamps()
            for sobject_name, rows in data.items():
                sobject = self.schema.get(sobject_name)
                if sobject is None:
                    raise invalid_type(sobject_name)
                with self._indexes_built_after(sobject, len(rows)):
                    loaded[sobject.name] = self._load_rows(sobject, rows, now, stamp, progress)
        self._deletions_known = False  # loaded records may be deleted ones
        return loaded

    @contextlib.contextmanager
    def _indexes_built_after(self, sobject: SObjectType, count: int) -> Iterator[None]:
        """Many records into an empty table: build its indexes after them, which is much faster than
        keeping them up to date row by row (inside the load's transaction, so a failure restores them)."""
        table = quote(sobject.name)
        if count <= LOAD_RUN or self.conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone():
            yield
            return
        indexes = self.conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            (sobject.name,),
        ).fetchall()
        for name, _ in indexes:
            self.conn.execute(f"DROP INDEX {quote(name)}")
        yield
        for _, sql in indexes:
            self.conn.execute(sql)

    def _load_rows(
        self,
        sobject: SObjectType,
        rows: list[dict],
        now: str,
        stamp: str,
        progress: Callable[[int], None] | None = None,
    ) -> list[str]:
        columns = [f["name"] for f in _columns(sobject)]
        defaults = self._defaults_on_create(sobject)
        defaults.update(self._system_values(sobject, created=now, modified=now, stamp=stamp))
        if "IsDeleted" in columns:
            defaults["IsDeleted"] = 0
        # Own Ids of our shape take their sequence numbers first, so generated Ids never collide with them.
        highest_own = _highest_own_id(sobject, rows)
        self._set_sequence(sobject, (ids.sequence_of(highest_own) or 0) if highest_own else 0)
        numbers = itertools.count(self._allocate(sobject, sum(1 for r in rows if not r.get("Id"))))
        insert = (
            f"INSERT INTO {quote(sobject.name)} ({', '.join(map(quote, columns))}) "
            f"VALUES ({', '.join('?' for _ in columns)})"
        )
        record_ids: list[str] = []
        for run in _runs_of_same_keys(rows):
            try:
                stored = self._stored_columns(sobject, run, columns, defaults, numbers)
            except SalesforceError:
                # columns are converted one at a time: report the error that the first bad row gives
                for row in run:
                    self._stored_columns(sobject, [row], columns, defaults, itertools.count(1))
                raise
            record_ids.extend(stored[columns.index("Id")])
            self.conn.executemany(insert, zip(*stored, strict=True))
            if progress is not None:
                progress(len(run))
        return record_ids

    def _stored_columns(
        self,
        sobject: SObjectType,
        run: list[dict],
        columns: list[str],
        defaults: dict[str, Any],
        numbers: Iterator[int],
    ) -> list[Sequence[Any]]:
        """The table's columns for records that all have the same keys, in stored form."""
        given: dict[str, Sequence[Any]] = {}
        for key, values in zip(run[0], zip(*(row.values() for row in run), strict=True), strict=True):
            if key == "attributes":
                continue
            field = sobject.field(key)
            if field is None or field["name"] not in columns:
                raise SalesforceError(
                    400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {sobject.name}"
                )
            given[field["name"]] = validation.stored_column(field, values)
        record_ids = []
        for given_id in given.get("Id") or [None] * len(run):
            if not given_id:
                record_ids.append(ids.make_id(sobject.key_prefix, next(numbers)))
                continue
            record_id = _canonical_id(given_id)
            if record_id is None:
                raise SalesforceError(400, "MALFORMED_ID", f"malformed id {given_id}")
            record_ids.append(record_id)
        given["Id"] = record_ids
        name = sobject.field("Name")
        if name and not name["createable"] and sobject.field("FirstName") and sobject.field("LastName"):
            nothing = [None] * len(run)
            given["Name"] = [
                " ".join(p for p in parts if p) or None
                for parts in zip(given.get("FirstName", nothing), given.get("LastName", nothing), strict=True)
            ]
        return [given[name] if name in given else [defaults.get(name)] * len(run) for name in columns]

    def close(self) -> None:
        with self.lock:
            self.conn.close()


def _runs_of_same_keys(rows: list[dict], longest: int = LOAD_RUN) -> Iterator[list[dict]]:
    """Consecutive records with the same keys in the same order, at most ``longest`` at a time."""
    run: list[dict] = []
    keys: tuple = ()
    for row in rows:
        row_keys = tuple(row)
        if run and (row_keys != keys or len(run) == longest):
            yield run
            run = []
        keys = row_keys
        run.append(row)
    if run:
        yield run


def _canonical_id(value: Any) -> str | None:
    """``ids.normalize_id``, but an Id already in canonical form is checked with one checksum, not two."""
    if value.__class__ is str and len(value) == 18:
        try:
            if ids.to_18(value) == value:
                return value
        except ValueError:
            return None
    return ids.normalize_id(value)


def _highest_own_id(sobject: SObjectType, rows: list[dict]) -> str | None:
    """The given Id of our shape (``ids.make_id``) with the highest sequence number, if it is valid.

    Base-62 digits sort as text in numeric order, so the text maximum has the highest number. An invalid
    Id makes the whole load fail anyway, so only the maximum needs checking.
    """
    prefix = sobject.key_prefix + ids.INSTANCE
    candidates = [
        given[:15]
        for given in (row.get("Id") for row in rows)
        if given.__class__ is str and given.startswith(prefix) and len(given) in (15, 18)
    ]
    highest = max(candidates, default=None)
    return ids.normalize_id(highest) if highest else None


def _multiple_choices(field: dict, value: Any, matches: list[str]) -> SalesforceError:
    error = SalesforceError(
        300,
        "MULTIPLE_CHOICES",
        f"More than one record found for external id field {field['name']} with value {value}",
    )
    error.matching_ids = matches  # type: ignore[attr-defined]
    return error


def _result_entry(outcome: str | SalesforceError) -> dict:
    if isinstance(outcome, SalesforceError):
        return {"success": False, "errors": [outcome.composite_entry()]}
    return {"id": outcome, "success": True, "errors": []}


def _rolled_back_entry(outcome: str | SalesforceError) -> dict:
    if isinstance(outcome, SalesforceError):
        return {"success": False, "errors": [outcome.composite_entry()]}
    rolled_back = SalesforceError(400, "ALL_OR_NONE_OPERATION_ROLLED_BACK", validation.ROLLED_BACK_MESSAGE)
    return {"success": False, "errors": [rolled_back.composite_entry()]}
