"""What one user of the local org may see and do, as Salesforce decides it: sharing and field security.

``OrgSecurity(model, store)`` binds a ``security.SecurityModel`` to a store (usernames → User record Ids,
every object and field name checked against the schema). ``OrgSecurity.access_for(username)`` gives the
user's ``UserAccess``, or None for a user who may see and do everything (View/Modify All Data and no field
restricted) — the engine and the store then behave exactly as without a model.

``UserAccess`` answers, for one user:
- ``schema``: the schema as that user's describe shows it — only objects they can read, only fields they
  can read, ``createable``/``updateable``/``deletable`` as their permissions allow. The SOQL engine resolves
  names against it, so an unreadable field is "No such column" (INVALID_FIELD) and an unreadable object
  INVALID_TYPE, as in Salesforce;
- ``visibility_sql(object, alias)``: the SQL condition (no parameters) that keeps the records of ``object``
  (a table aliased ``alias``) the user can read. This is the one function a reader of records (the SOQL
  engine, the SOSL search, a record GET) calls to apply sharing;
- ``check_create/check_update/check_delete``: the write checks, raising Salesforce's errors.

Record access, as Salesforce grants it: View All Data / Modify All Data (profile), View All / Modify All on
the object, the organisation-wide default (Public Read Only: everyone reads; Public Read/Write: everyone
reads and edits), else ownership — the owner, and users whose role is above the owner's role. Deleting
needs ownership (or the hierarchy, or Modify All) even where the default is Public Read/Write.

The user a request runs as is set with ``start_acting(access)`` (a context variable, like Salesforce's
running user); the store's writes check ``running_access()``.
"""

from __future__ import annotations

import contextvars
import re
import threading
from typing import Any

from .errors import SalesforceError, not_found
from .schema import Schema, SObjectType
from .security import (
    FIELD_ACCESS,
    PRIVATE,
    PUBLIC_READ_WRITE,
    UNRESTRICTED_FIELDS,
    PermissionSet,
    SecurityFileError,
    SecurityModel,
    UserSpec,
)

_ID = re.compile(r"^[A-Za-z0-9]{15,18}$")
_running: contextvars.ContextVar[UserAccess | None] = contextvars.ContextVar("localorg_access", default=None)


def insufficient_access() -> SalesforceError:
    return SalesforceError(400, "INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id")


def start_acting(access: UserAccess | None) -> contextvars.Token:
    """Run as this user (None: unrestricted) until ``stop_acting(token)`` (a request's before and teardown
    hooks)."""
    return _running.set(access)


def stop_acting(token: contextvars.Token) -> None:
    _running.reset(token)


def running_access() -> UserAccess | None:
    """The user the current request runs as (None: unrestricted)."""
    return _running.get()


class OrgSecurity:
    """A security model bound to a store's schema and User records."""

    def __init__(self, model: SecurityModel, store: Any):
        self.model = model
        self.store = store
        self.user_ids = self._user_ids(store)
        self._check_names(store.schema)
        self._access: dict[str, UserAccess | None] = {}
        self._lock = threading.Lock()

    def _user_ids(self, store: Any) -> dict[str, str]:
        """lower-cased username -> User Id, from the store's User records."""
        user_type = store.schema.get("User")
        if self.model.users and (user_type is None or user_type.field("Username") is None):
            raise SecurityFileError("the security model lists users but the schema has no User.Username")
        found: dict[str, str] = {}
        if user_type is not None and user_type.field("Username") is not None:
            with store.lock:
                for user_id, username in store.conn.execute(
                    f'SELECT "Id", "Username" FROM "{user_type.name}" WHERE "IsDeleted" = 0'
                ):
                    if username:
                        found[username.lower()] = user_id
        missing = [spec.username for key, spec in self.model.users.items() if key not in found]
        if missing:
            raise SecurityFileError(f"no User record has the Username {', '.join(missing)}")
        return {key: found[key] for key in self.model.users}

    def _check_names(self, schema: Schema) -> None:
        sets = [*self.model.profiles.values(), *self.model.permission_sets.values()]
        objects = (
            set(self.model.defaults)
            | {o for s in sets for o in s.objects}
            | {o for s in sets for o, _ in s.fields}
        )
        unknown = sorted(o for o in objects if schema.get(o) is None)
        if unknown:
            raise SecurityFileError(
                f"the security model names objects the schema lacks: {', '.join(unknown)}"
            )
        for permission_set in sets:
            for object_name, field_name in permission_set.fields:
                if schema.get(object_name).field(field_name) is None:  # type: ignore[union-attr]
                    raise SecurityFileError(
                        f"the security model names an unknown field {object_name}.{field_name}"
                    )

    def user(self, username: str) -> UserSpec | None:
        return self.model.user(username)

    def user_id(self, username: str) -> str | None:
        return self.user_ids.get(username.lower())

    def access_for(self, username: str) -> UserAccess | None:
        """The user's access (cached); None when they may see and do everything, or are not in the model."""
        key = username.lower()
        with self._lock:
            if key not in self._access:
                spec = self.model.user(username)
                self._access[key] = None if spec is None else self._build(spec)
            return self._access[key]

    def _build(self, spec: UserSpec) -> UserAccess | None:
        grants = [
            self.model.profiles[spec.profile],
            *(self.model.permission_sets[n] for n in spec.permission_sets),
        ]
        access = UserAccess(self, spec, self.user_ids[spec.username.lower()], grants)
        return None if access.unrestricted else access

    def owners_visible_to(self, spec: UserSpec, user_id: str) -> frozenset[str]:
        """The user and every user whose role is below theirs: the owners whose records they can reach."""
        below = self.model.roles_below(spec.role) if spec.role else set()
        owners = {user_id}
        for key, other in self.model.users.items():
            if other.role in below:
                owners.add(self.user_ids[key])
        return frozenset(owners)


class UserAccess:
    """One user's object, field and record access (see the module docstring)."""

    def __init__(self, org: OrgSecurity, spec: UserSpec, user_id: str, grants: list[PermissionSet]):
        self.org = org
        self.username = spec.username
        self.user_id = user_id
        self.view_all_data = any(g.view_all_data for g in grants)
        self.modify_all_data = any(g.modify_all_data for g in grants)
        self._grants = grants
        self._owners = org.owners_visible_to(spec, user_id)
        schema = org.store.schema
        self._objects = {t.name.lower(): self._object_permissions(t.name) for t in schema.types}
        self._fields = {
            (t.name.lower(), f["name"].lower()): self._field_access(t.name, f["name"])
            for t in schema.types
            for f in t.fields
        }
        self.unrestricted = self.modify_all_data and all(a == "edit" for a in self._fields.values())
        self.schema = self._user_schema(schema)

    # -- permissions --

    def _object_permissions(self, name: str) -> frozenset[str]:
        if self.modify_all_data:
            return frozenset({"read", "create", "edit", "delete", "view_all", "modify_all"})
        granted: set[str] = set()
        for grant in self._grants:
            granted |= grant.objects.get(name.lower(), frozenset())
        if self.view_all_data and "read" in granted:
            granted.add("view_all")
        return frozenset(granted)

    def _field_access(self, object_name: str, field_name: str) -> str:
        key = (object_name.lower(), field_name.lower())
        if field_name.lower() in UNRESTRICTED_FIELDS:
            return "edit"
        profile, *sets = self._grants
        levels = [profile.fields.get(key, "edit")] + [s.fields[key] for s in sets if key in s.fields]
        return max(levels, key=FIELD_ACCESS.index)

    def can(self, permission: str, object_name: str) -> bool:
        """An object permission: read, create, edit, delete, view_all, modify_all."""
        return permission in self._objects.get(object_name.lower(), frozenset())

    def field_access(self, object_name: str, field_name: str) -> str:
        """ "none", "read" or "edit" (before the field's own createable/updateable)."""
        if not self.can("read", object_name):
            return "none"
        return self._fields.get((object_name.lower(), field_name.lower()), "none")

    # -- the user's describe --

    def _user_schema(self, schema: Schema) -> Schema:
        types = []
        for sobject in schema.types:
            name = sobject.name
            if not self.can("read", name):
                continue
            describe = dict(sobject.describe)
            fields = []
            for field in sobject.fields:
                level = self.field_access(name, field["name"])
                if level == "none":
                    continue
                if level == "read" and (field["createable"] or field["updateable"]):
                    field = {**field, "createable": False, "updateable": False}
                fields.append(field)
            describe["fields"] = fields
            readable = {f["name"].lower() for f in fields}
            describe["childRelationships"] = [
                r
                for r in sobject.describe.get("childRelationships", [])
                if self.field_access(r["childSObject"], r["field"]) != "none"
            ]
            for flag, permission in (
                ("createable", "create"),
                ("updateable", "edit"),
                ("deletable", "delete"),
            ):
                describe[flag] = bool(sobject.describe.get(flag, True)) and self.can(permission, name)
            describe["undeletable"] = bool(sobject.describe.get("undeletable")) and self.can("delete", name)
            assert "id" in readable
            types.append(SObjectType(describe))
        return Schema(types)

    # -- records --

    def _sharing(self, object_name: str) -> str:
        sobject = self.org.store.schema.get(object_name)
        if sobject is None or sobject.field("OwnerId") is None:
            return PUBLIC_READ_WRITE  # no owner: nothing to share by (Salesforce: controlled by parent)
        return self.org.model.sharing_default(sobject.name)

    def reads_all(self, object_name: str) -> bool:
        return (
            self.view_all_data or self.can("view_all", object_name) or self._sharing(object_name) != PRIVATE
        )

    def edits_all(self, object_name: str) -> bool:
        return (
            self.modify_all_data
            or self.can("modify_all", object_name)
            or self._sharing(object_name) == PUBLIC_READ_WRITE
        )

    def deletes_all(self, object_name: str) -> bool:
        return self.modify_all_data or self.can("modify_all", object_name)

    def _owner_condition(self, alias: str) -> str:
        owners = sorted(self._owners)
        assert all(_ID.match(o) for o in owners)  # our own User Ids: safe to write into the SQL
        return f'{alias}."OwnerId" IN ({", ".join(repr(o) for o in owners)})'

    def visibility_sql(self, object_name: str, alias: str) -> str:
        """SQL (no parameters) true for the records of ``object_name`` (table alias ``alias``) this user
        can read; ``"0"`` when they cannot read the object at all."""
        if not self.can("read", object_name):
            return "0"
        if self.reads_all(object_name):
            return "1"
        return self._owner_condition(alias)

    def _owner_of(self, sobject: SObjectType, record_id: str) -> str | None:
        row = self.org.store.conn.execute(
            f'SELECT "OwnerId" FROM "{sobject.name}" WHERE "Id" = ?', (record_id,)
        ).fetchone()
        return row[0] if row else None

    def can_see(self, sobject: SObjectType, record_id: str) -> bool:
        if not self.can("read", sobject.name):
            return False
        if self.reads_all(sobject.name):
            return True
        return self._owner_of(sobject, record_id) in self._owners

    def check_visible(self, sobject: SObjectType, record_id: str, *, collection: bool = False) -> None:
        """NOT_FOUND (collections: INVALID_CROSS_REFERENCE_KEY) for a record the user cannot see."""
        if not self.can_see(sobject, record_id):
            if collection:
                raise SalesforceError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
            raise not_found()

    # -- writes (the store calls these with the record located and the values not yet validated) --

    def user_type(self, sobject: SObjectType) -> SObjectType | None:
        return self.schema.get(sobject.name)

    def check_create(self, sobject: SObjectType) -> SObjectType:
        """The user's view of the object, to validate the body with; refuses without Create."""
        view = self.user_type(sobject)
        if view is None or not self.can("create", sobject.name):
            raise insufficient_access()
        return view

    def check_update(self, sobject: SObjectType, record_id: str, *, collection: bool = False) -> SObjectType:
        self.check_visible(sobject, record_id, collection=collection)
        view = self.user_type(sobject)
        owned = self._owner_of(sobject, record_id) in self._owners if sobject.field("OwnerId") else True
        if view is None or not self.can("edit", sobject.name) or not (owned or self.edits_all(sobject.name)):
            raise insufficient_access()
        return view

    def check_delete(self, sobject: SObjectType, record_id: str, *, collection: bool = False) -> None:
        self.check_visible(sobject, record_id, collection=collection)
        owned = self._owner_of(sobject, record_id) in self._owners if sobject.field("OwnerId") else True
        if not self.can("delete", sobject.name) or not (owned or self.deletes_all(sobject.name)):
            raise insufficient_access()
