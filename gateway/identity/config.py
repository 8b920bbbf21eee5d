"""Identity settings from the environment.

- ``GATEWAY_IDENTITY``: ``named`` (default: one source connection for everyone) or ``per-user``.
- ``GATEWAY_USER_MAP``: a file of ``gateway-user = source-username`` lines (``#`` comments and blank lines
  ignored): HTTP Basic users of the gateway and the source-org users they act as (per-user mode only).
- ``SF_CLIENT_ID`` and ``SF_PRIVATE_KEY_FILE``: the connected app and its key, with which the gateway signs
  the JWT bearer grant for a mapped user (needed when the map is not empty). No user password is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

NAMED = "named"
PER_USER = "per-user"
MODES = (NAMED, PER_USER)
# How long a checked access token is trusted before it is checked again: a token revoked in the source
# org stops working through the gateway within this bound (and at once for any call that reaches the org).
TOKEN_CHECK_SECONDS = 30.0


class IdentityConfigError(ValueError):
    """Identity settings the gateway cannot start with; the message names the variable to fix."""


@dataclass(frozen=True)
class IdentityConfig:
    mode: str = NAMED
    user_map: dict[str, str] = field(default_factory=dict)  # gateway user -> source-org username
    client_id: str | None = None
    private_key_file: str | None = None
    token_check_seconds: float = TOKEN_CHECK_SECONDS

    @property
    def per_user(self) -> bool:
        return self.mode == PER_USER


def parse_user_map(text: str, source: str = "GATEWAY_USER_MAP") -> dict[str, str]:
    """``gateway-user = source-username`` lines → {gateway user: source username}."""
    mapping: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, separator, username = (part.strip() for part in line.partition("="))
        if not separator or not user or not username:
            raise IdentityConfigError(f"{source} line {number}: expected 'gateway-user = source-username'")
        if user in mapping:
            raise IdentityConfigError(f"{source} line {number}: gateway user '{user}' is mapped twice")
        mapping[user] = username
    return mapping


def identity_from_env(environ: Mapping[str, str]) -> IdentityConfig:
    mode = (environ.get("GATEWAY_IDENTITY") or NAMED).strip().lower()
    if mode not in MODES:
        raise IdentityConfigError(f"GATEWAY_IDENTITY must be 'named' or 'per-user', not {mode!r}")
    map_file = (environ.get("GATEWAY_USER_MAP") or "").strip()
    if mode == NAMED:
        if map_file:
            raise IdentityConfigError("GATEWAY_USER_MAP is only used with GATEWAY_IDENTITY=per-user")
        return IdentityConfig()
    user_map: dict[str, str] = {}
    if map_file:
        try:
            text = Path(map_file).read_text(encoding="utf-8")
        except OSError as error:
            raise IdentityConfigError(f"GATEWAY_USER_MAP {map_file}: {error.strerror or error}") from None
        user_map = parse_user_map(text, map_file)
    client_id = (environ.get("SF_CLIENT_ID") or "").strip() or None
    key_file = (environ.get("SF_PRIVATE_KEY_FILE") or "").strip() or None
    if user_map and not (client_id and key_file):
        raise IdentityConfigError(
            "GATEWAY_USER_MAP needs SF_CLIENT_ID and SF_PRIVATE_KEY_FILE: the gateway signs in each mapped "
            "user with the JWT bearer grant of that connected app"
        )
    if key_file and user_map and not Path(key_file).is_file():
        raise IdentityConfigError(f"SF_PRIVATE_KEY_FILE {key_file}: no such file")
    return IdentityConfig(PER_USER, user_map, client_id, key_file)
