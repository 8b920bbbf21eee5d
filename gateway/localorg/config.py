"""How one local org is set up: its user and connected app, tokens, limits, paths and clock.

Defaults give a working org with well-known credentials, so ``gateway localorg`` can print them and tests
can log in without configuration.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from . import ids
from .security import SecurityModel

DEFAULT_API_LIMIT = 15000
DEFAULT_TOKEN_LIFETIME = 2 * 60 * 60  # Salesforce's default session timeout: two hours


@dataclass
class LocalOrgConfig:
    """Credentials, limits and paths of a local org; ``clock`` (seconds since the epoch) drives expiry."""

    username: str = "admin@localorg.test"
    password: str = "localorg"
    # The password grant accepts password + security token, or the bare password when this is empty.
    security_token: str = ""
    client_id: str = "localorg-client"
    client_secret: str = "localorg-secret"
    # A fixed access token that is always valid and never expires (tests, ``--token``).
    token: str | None = None
    token_lifetime: float = DEFAULT_TOKEN_LIFETIME
    api_limit: int = DEFAULT_API_LIMIT
    # PEM text or a path to a PEM file (X.509 certificate or public key) for the JWT bearer grant.
    jwt_certificate: str | None = None
    # Users, roles, profiles and sharing defaults (security.load_security); None: only the configured user,
    # who sees and does everything.
    security: SecurityModel | None = None
    request_log: str | None = None
    # The instance URL reported by the token endpoint; None: the URL the request came in on.
    instance_url: str | None = None
    login_url: str = "https://login.salesforce.com"
    clock: Callable[[], float] = field(default=time.time)
    org_id: str = field(default_factory=lambda: ids.make_id("00D", 1))
    user_id: str = field(default_factory=lambda: ids.make_id("005", 1))
