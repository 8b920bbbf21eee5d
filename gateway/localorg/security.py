"""The local org's security model, as a file: users, roles, profiles, permission sets, sharing defaults.

``gateway localorg --security FILE`` loads a TOML file of this shape (docs/localorg-security.md has it in
full; ``data/demo_security.toml`` is the demo org's):

```toml
[defaults]                  # organisation-wide defaults; an object not listed is "Public Read/Write"
Account = "Private"         # "Private" | "Public Read Only" | "Public Read/Write"

[roles]                     # role = its parent role ("" for a top role)
"CEO" = ""
"Sales Manager" = "CEO"

[profiles."System Administrator"]
view_all_data = true        # read every record of every object
modify_all_data = true      # and edit and delete them (implies view_all_data)

[profiles."Sales Rep".objects]
Account = ["read", "create", "edit", "delete"]    # also "view_all", "modify_all"
[profiles."Sales Rep".fields]
"Account.AnnualRevenue" = "none"                  # "none" | "read" | "edit" (not listed: "edit")

[permission_sets."Revenue Reader".fields]         # same keys as a profile; they add to it
"Account.AnnualRevenue" = "read"

[users."rep@example.test"]  # must be the Username of a User record
profile = "Sales Rep"
role = "Sales Manager"      # optional
permission_sets = ["Revenue Reader"]   # optional
password = "..."            # optional: default the org's password
```

An object a profile (or permission set) does not list cannot be seen at all by its users. This module only
reads and checks the file; ``access.py`` applies it to records.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEMO_SECURITY_PATH = Path(__file__).parent / "data" / "demo_security.toml"

PRIVATE = "Private"
PUBLIC_READ_ONLY = "Public Read Only"
PUBLIC_READ_WRITE = "Public Read/Write"
SHARING_DEFAULTS = (PRIVATE, PUBLIC_READ_ONLY, PUBLIC_READ_WRITE)
OBJECT_PERMISSIONS = ("read", "create", "edit", "delete", "view_all", "modify_all")
FIELD_ACCESS = ("none", "read", "edit")  # weakest first
# Fields whose access no profile can restrict (Salesforce has no field-level security on them).
UNRESTRICTED_FIELDS = frozenset({"id", "isdeleted", "createddate", "lastmodifieddate", "systemmodstamp"})


class SecurityFileError(ValueError):
    """A security file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class PermissionSet:
    """A profile or permission set: object permissions and field access (keys lower-cased)."""

    name: str
    objects: dict[str, frozenset[str]] = field(default_factory=dict)  # object -> permissions
    fields: dict[tuple[str, str], str] = field(default_factory=dict)  # (object, field) -> access
    view_all_data: bool = False
    modify_all_data: bool = False


@dataclass(frozen=True)
class UserSpec:
    username: str
    profile: str
    role: str | None
    permission_sets: tuple[str, ...]
    password: str | None


@dataclass(frozen=True)
class SecurityModel:
    """The whole file, checked for internal consistency (names against the schema are checked on binding)."""

    users: dict[str, UserSpec]  # lower-cased username -> spec
    roles: dict[str, str | None]  # role -> parent role
    profiles: dict[str, PermissionSet]
    permission_sets: dict[str, PermissionSet]
    defaults: dict[str, str]  # lower-cased object name -> sharing default

    def user(self, username: str) -> UserSpec | None:
        return self.users.get(username.lower())

    def sharing_default(self, sobject_name: str) -> str:
        return self.defaults.get(sobject_name.lower(), PUBLIC_READ_WRITE)

    def roles_below(self, role: str) -> set[str]:
        """The roles under ``role`` in the hierarchy (not ``role`` itself)."""
        below: set[str] = set()
        frontier = {role}
        while frontier:
            frontier = {r for r, parent in self.roles.items() if parent in frontier} - below
            below |= frontier
        return below


def load_security(path: str | Path) -> SecurityModel:
    """Read and check a security file; SecurityFileError names the file and what is wrong."""
    source = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise SecurityFileError(f"{source}: cannot read: {error.strerror or error}") from error
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SecurityFileError(f"{source}: not valid TOML: {error}") from error
    return parse_security(data, source)


def parse_security(data: dict[str, Any], source: str = "security") -> SecurityModel:
    """The model of a parsed security file."""

    def fail(problem: str) -> SecurityFileError:
        return SecurityFileError(f"{source}: {problem}")

    unknown = set(data) - {"defaults", "roles", "profiles", "permission_sets", "users"}
    if unknown:
        raise fail(f"unknown section(s) {', '.join(sorted(unknown))}")
    defaults = {}
    for name, value in _table(data, "defaults", fail).items():
        if value not in SHARING_DEFAULTS:
            raise fail(f"defaults.{name} is {value!r}; use one of {', '.join(map(repr, SHARING_DEFAULTS))}")
        defaults[name.lower()] = value
    roles: dict[str, str | None] = {}
    for name, parent in _table(data, "roles", fail).items():
        if not isinstance(parent, str):
            raise fail(f'roles.{name} must be the name of its parent role, or ""')
        roles[name] = parent or None
    for name, parent in roles.items():
        if parent is not None and parent not in roles:
            raise fail(f"role {name!r} has an unknown parent role {parent!r}")
        seen = {name}
        while parent is not None:
            if parent in seen:
                raise fail(f"role {name!r} is its own ancestor")
            seen.add(parent)
            parent = roles[parent]
    profiles = {
        n: _permission_set(n, v, f"profiles.{n}", fail) for n, v in _table(data, "profiles", fail).items()
    }
    permission_sets = {
        n: _permission_set(n, v, f"permission_sets.{n}", fail)
        for n, v in _table(data, "permission_sets", fail).items()
    }
    users: dict[str, UserSpec] = {}
    for username, entry in _table(data, "users", fail).items():
        where = f"users.{username!r}"
        if not isinstance(entry, dict):
            raise fail(f"{where} must be a table")
        extra = set(entry) - {"profile", "role", "permission_sets", "password"}
        if extra:
            raise fail(f"{where} has unknown key(s) {', '.join(sorted(extra))}")
        profile = entry.get("profile")
        if profile not in profiles:
            raise fail(f"{where} needs a profile defined under [profiles] (got {profile!r})")
        role = entry.get("role")
        if role is not None and role not in roles:
            raise fail(f"{where} has an unknown role {role!r}")
        sets = entry.get("permission_sets", [])
        if not isinstance(sets, list) or any(s not in permission_sets for s in sets):
            raise fail(f"{where}: permission_sets must list names defined under [permission_sets]")
        password = entry.get("password")
        if password is not None and not isinstance(password, str):
            raise fail(f"{where}: password must be a string")
        if username.lower() in users:
            raise fail(f"user {username!r} is listed twice")
        users[username.lower()] = UserSpec(username, profile, role, tuple(sets), password)
    return SecurityModel(users, roles, profiles, permission_sets, defaults)


def _table(data: dict, key: str, fail: Any) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise fail(f"[{key}] must be a table")
    return value


def _permission_set(name: str, entry: Any, where: str, fail: Any) -> PermissionSet:
    if not isinstance(entry, dict):
        raise fail(f"{where} must be a table")
    extra = set(entry) - {"objects", "fields", "view_all_data", "modify_all_data"}
    if extra:
        raise fail(f"{where} has unknown key(s) {', '.join(sorted(extra))}")
    objects: dict[str, frozenset[str]] = {}
    for object_name, permissions in _table(entry, "objects", fail).items():
        if not isinstance(permissions, list) or any(p not in OBJECT_PERMISSIONS for p in permissions):
            raise fail(
                f"{where}.objects.{object_name} must list permissions among {', '.join(OBJECT_PERMISSIONS)}"
            )
        granted = set(permissions)
        # Salesforce's dependencies: each permission implies those it needs.
        if "modify_all" in granted:
            granted |= {"view_all", "edit", "delete"}
        if granted & {"create", "edit", "view_all"}:
            granted.add("read")
        if "delete" in granted:
            granted |= {"read", "edit"}
        objects[object_name.lower()] = frozenset(granted)
    fields: dict[tuple[str, str], str] = {}
    for dotted, access in _table(entry, "fields", fail).items():
        object_name, _, field_name = dotted.partition(".")
        if not object_name or not field_name or "." in field_name:
            raise fail(f"{where}.fields: {dotted!r} must be Object.Field")
        if access not in FIELD_ACCESS:
            raise fail(f"{where}.fields.{dotted!r} is {access!r}; use one of {', '.join(FIELD_ACCESS)}")
        if field_name.lower() in UNRESTRICTED_FIELDS:
            raise fail(
                f"{where}.fields: {field_name} cannot be restricted (Salesforce has no field security on it)"
            )
        fields[(object_name.lower(), field_name.lower())] = access
    flags = {}
    for flag in ("view_all_data", "modify_all_data"):
        value = entry.get(flag, False)
        if not isinstance(value, bool):
            raise fail(f"{where}.{flag} must be true or false")
        flags[flag] = value
    return PermissionSet(
        name,
        objects,
        fields,
        view_all_data=flags["view_all_data"] or flags["modify_all_data"],
        modify_all_data=flags["modify_all_data"],
    )
