"""Who a request is in the source org, and what that user's own describe lets them see.

- **OAuth pass-through**: a Bearer token that is not a gateway API key is the user's source-org access
  token. It is checked with the org's userinfo endpoint (not an API call) and the answer kept for
  ``token_check_seconds``, keyed by a SHA-256 of the token (the token itself is never stored as a key nor
  logged). Its calls go out with that token; an org that refuses it makes the request 401
  ``invalid_token``.
- **Mapped users**: an HTTP Basic user listed in ``GATEWAY_USER_MAP`` acts as the source-org username it
  maps to; the gateway obtains that user's session with the JWT bearer grant (the connected app's key) and
  keeps one connection per source user, renewed by the same grant when the session expires.
- **The user's model** (their describe of every published object: one API call per object) is kept per
  source user for ``MODEL_TTL_SECONDS``.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cachetools import TTLCache

from gateway.identity.config import IdentityConfig
from gateway.identity.user_model import restrict_model
from gateway.odata.model.entities import Model
from gateway.source.connection import SourceError
from gateway.source.protocol import Source

MODEL_TTL_SECONDS = 15 * 60
MAX_USERS = 4096


@dataclass(frozen=True)
class SourceUser:
    """A source-org user and the connection that acts as them."""

    user_id: str
    username: str
    organization_id: str
    source: Source

    @property
    def principal_name(self) -> str:
        """The name every per-user key uses (caches, paging and CSRF tokens): stable across token
        refreshes, never the token."""
        return f"source-user:{self.organization_id}/{self.user_id}"


def _user(info: dict, source: Source) -> SourceUser:
    return SourceUser(
        str(info["user_id"]),
        str(info.get("preferred_username") or info["user_id"]),
        str(info.get("organization_id") or ""),
        source,
    )


class MappedUserError(Exception):
    """The source org refused to sign in a mapped user (JWT bearer grant)."""

    def __init__(self, gateway_user: str, source_username: str, cause: SourceError):
        super().__init__(f"{gateway_user} -> {source_username}: {cause.error_code}")
        self.gateway_user = gateway_user
        self.source_username = source_username
        self.cause = cause


class PerUserIdentity:
    """The per-user side of the gateway: source users by token or by map, and their models. Thread-safe."""

    def __init__(
        self,
        config: IdentityConfig,
        named_source: Source,
        clock: Callable[[], float] = time.monotonic,
        wrap_source: Callable[[Any], Any] = lambda source: source,
    ):
        """``wrap_source`` wraps each user's new connection the way the app wraps its named one (e.g. the
        operation package's governed source: accounting, rate limit, result cache keyed by principal)."""
        self.config = config
        self.named_source = named_source
        self.wrap_source = wrap_source
        self._tokens: TTLCache = TTLCache(MAX_USERS, config.token_check_seconds, timer=clock)
        self._mapped: dict[str, SourceUser] = {}
        self._models: TTLCache = TTLCache(MAX_USERS, MODEL_TTL_SECONDS, timer=clock)
        self._lock = threading.Lock()
        self._user_locks: dict[str, threading.Lock] = {}
        self.token_checks = 0  # userinfo calls made (the rest came from memory)

    # --- who ---------------------------------------------------------------------------------------

    def token_user(self, token: str) -> SourceUser:
        """The user a source-org access token belongs to; InvalidAccessToken when the org refuses it."""
        key = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
        with self._lock:
            known = self._tokens.get(key)
        if known is not None:
            return known
        source = self.named_source.as_user(access_token=token)
        self.token_checks += 1
        user = _user(source.userinfo(), self.wrap_source(source))
        with self._lock:
            self._tokens[key] = user
        return user

    def source_username(self, gateway_user: str) -> str | None:
        return self.config.user_map.get(gateway_user)

    def mapped_user(self, gateway_user: str) -> SourceUser | None:
        """The source user a Basic user is mapped to (signed in on first use); None when not mapped."""
        username = self.source_username(gateway_user)
        if username is None:
            return None
        with self._lock:
            known = self._mapped.get(username.lower())
            lock = self._user_locks.setdefault(username.lower(), threading.Lock())
        if known is not None:
            return known
        with lock:  # one sign-in per source user, however many requests arrive at once
            with self._lock:
                known = self._mapped.get(username.lower())
            if known is not None:
                return known
            source = self.named_source.as_user(
                username=username,
                client_id=self.config.client_id,
                private_key_file=self.config.private_key_file,
            )
            try:
                user = _user(source.userinfo(), self.wrap_source(source))
            except SourceError as error:
                raise MappedUserError(gateway_user, username, error) from error
            with self._lock:
                self._mapped[username.lower()] = user
            return user

    # --- what they see -----------------------------------------------------------------------------

    def model_for(self, user: SourceUser, named_model: Model) -> Model:
        """The published model as ``user`` sees it (their describes; cached per user)."""
        key = user.principal_name
        with self._lock:
            cached = self._models.get(key)
            lock = self._user_locks.setdefault("model:" + key, threading.Lock())
        if cached is not None and cached[0] is named_model:
            return cached[1]
        with lock:
            with self._lock:
                cached = self._models.get(key)
            if cached is not None and cached[0] is named_model:
                return cached[1]
            model = restrict_model(named_model, lambda name: _describe_or_none(user.source, name))
            with self._lock:
                self._models[key] = (named_model, model)
            return model


def _describe_or_none(source: Source, sobject: str) -> dict | None:
    """The user's describe of ``sobject``; None when the org says they cannot see that object."""
    try:
        return source.describe(sobject)
    except SourceError as error:
        if error.status == 404 or error.error_code in ("NOT_FOUND", "INVALID_TYPE"):
            return None
        raise
