"""Inbound authentication: HTTP Basic with hashed passwords, Bearer API keys, and the loopback demo.

Configuration (environment):

- ``GATEWAY_USERS``: ``user:hash`` entries separated by commas or newlines, where ``hash`` is a Werkzeug
  password hash (``scrypt:32768:8:1$salt$hex`` or ``pbkdf2:sha256:600000$salt$hex``) made with
  ``hash_password`` (``gateway hash-password``). Hashes contain ``$``: single-quote them in a shell and
  write ``$$`` in docker-compose files, or put them in a file instead:
- ``GATEWAY_USERS_FILE``: a file with one ``user:hash`` per line; blank lines and ``#`` comments ignored.
- ``GATEWAY_API_KEYS``: Bearer API keys, comma-separated.

Anonymous access exists only for the embedded demo org bound to a loopback address, and only while no
credentials are configured (configured credentials are always enforced). Anywhere else the gateway
refuses to start without credentials (``AccessConfigError``) rather than serve the org openly.

Verifying a password hash is deliberately slow (tenths of a second), and Salesforce Connect sends Basic
credentials with every page, so successful verifications are remembered for a few minutes, keyed by an
HMAC of user and password under a random per-process key (the password itself is never stored). The
verifications that are left are bounded by ``login_throttle``: a few at a time per process, and none for a
client whose logins keep failing (429 with ``Retry-After``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cachetools import TTLCache
from werkzeug.security import check_password_hash, generate_password_hash

from gateway.odata.http.errors import ODataError
from gateway.odata.http.login_throttle import LoginThrottle
from gateway.source.connection import is_loopback

REALM = "OData gateway"
_HASH_METHODS = ("scrypt:", "pbkdf2:")
_VERIFIED_TTL_SECONDS = 300


class AccessConfigError(Exception):
    """The access configuration is missing or malformed: the gateway must not start."""


@dataclass(frozen=True)
class Principal:
    """Who made a request: a user name, an API key's position in GATEWAY_API_KEYS, or anonymous."""

    name: str
    method: str  # "basic", "bearer" or "anonymous"


ANONYMOUS = Principal("anonymous", "anonymous")


def hash_password(password: str) -> str:
    """A salted hash for ``GATEWAY_USERS`` (Werkzeug's default method, scrypt)."""
    if not password:
        raise ValueError("the password must not be empty")
    return generate_password_hash(password)


def parse_users(text: str, source: str = "GATEWAY_USERS") -> dict[str, str]:
    """``user:hash`` entries (commas or newlines between them) → {user: hash}; AccessConfigError if bad."""
    users: dict[str, str] = {}
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        if line.strip().startswith("#"):
            continue
        where = f"{source} line {number}" if len(lines) > 1 else source
        for entry in line.split(","):
            entry = entry.strip()
            if not entry:
                continue
            user, separator, password_hash = entry.partition(":")
            user = user.strip()
            if not separator or not user:
                raise AccessConfigError(f"{where}: expected 'user:hash', got an entry without a user name")
            if not _is_password_hash(password_hash):
                raise AccessConfigError(
                    f"{where}: the password of user '{user}' is not a password hash; make one with "
                    "`gateway hash-password` (it starts with 'scrypt:' or 'pbkdf2:sha256:')"
                )
            if user in users:
                raise AccessConfigError(f"{where}: user '{user}' is listed twice")
            users[user] = password_hash
    return users


def _is_password_hash(text: str) -> bool:
    """Whether ``text`` is a Werkzeug hash this Python can verify (checked without the slow hashing)."""
    method, *rest = text.split("$")
    if len(rest) != 2 or not all(rest):
        return False
    name, *arguments = method.split(":")
    if not all(argument.isascii() and argument.isdigit() for argument in arguments[name == "pbkdf2" :]):
        return False
    if name == "scrypt":
        return len(arguments) in (0, 3) and hasattr(hashlib, "scrypt")
    if name == "pbkdf2":
        return len(arguments) in (1, 2) and arguments[0] in hashlib.algorithms_available
    return False


def parse_api_keys(text: str) -> list[str]:
    return [key.strip() for key in text.split(",") if key.strip()]


class Access:
    """Checks each request's credentials against the configured users and API keys."""

    def __init__(
        self,
        users: Mapping[str, str],
        api_keys: list[str],
        anonymous: bool = False,
        *,
        source_tokens: bool = False,
    ) -> None:
        # source_tokens: per-user identity, where a Bearer token may be the user's source-org token
        self.source_tokens = source_tokens
        if not users and not api_keys and not anonymous and not source_tokens:
            raise AccessConfigError(
                "no credentials configured: set GATEWAY_USERS (or GATEWAY_USERS_FILE) for HTTP Basic "
                "or GATEWAY_API_KEYS for Bearer API keys; anonymous access is only allowed for the "
                "embedded demo org bound to a loopback address (e.g. --host 127.0.0.1)"
            )
        self.users = dict(users)
        self.anonymous = anonymous
        self._key_digests = [hashlib.sha256(key.encode("utf-8")).digest() for key in api_keys]
        self._dummy_hash: str | None = None  # made on first use: see _password_ok
        self._verified_key = secrets.token_bytes(32)
        self._verified: TTLCache = TTLCache(maxsize=1024, ttl=_VERIFIED_TTL_SECONDS)
        self._verified_lock = threading.Lock()
        self.password_checks = 0  # slow hash verifications performed (the rest came from memory)
        self.throttle = LoginThrottle()

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str],
        *,
        embedded_demo: bool,
        host: str | None,
        source_tokens: bool = False,
    ) -> Access:
        """Access for a gateway serving the embedded demo org (or not) listening on ``host`` (the address
        really bound; None when unknown, as under a WSGI server of the operator's: never anonymous).

        ``source_tokens`` (per-user identity): users bring their own source-org tokens, so the gateway may
        start without users or API keys of its own."""
        users = parse_users(environ.get("GATEWAY_USERS", ""))
        users_file = environ.get("GATEWAY_USERS_FILE", "").strip()
        if users_file:
            try:
                text = Path(users_file).read_text(encoding="utf-8")
            except OSError as error:
                raise AccessConfigError(f"GATEWAY_USERS_FILE {users_file}: {error.strerror}") from None
            for user, password_hash in parse_users(text, source=users_file).items():
                if user in users:
                    raise AccessConfigError(f"user '{user}' is in both GATEWAY_USERS and {users_file}")
                users[user] = password_hash
        api_keys = parse_api_keys(environ.get("GATEWAY_API_KEYS", ""))
        anonymous = embedded_demo and is_loopback(host) and not users and not api_keys
        if not users and not api_keys and not anonymous and not source_tokens:
            reason = (
                "a source org is configured"
                if not embedded_demo
                else f"host {host!r} is not loopback"
                if host
                else "the listening address is not known to be loopback"
            )
            raise AccessConfigError(
                f"refusing to serve without credentials ({reason}): set GATEWAY_USERS (or "
                "GATEWAY_USERS_FILE) for HTTP Basic or GATEWAY_API_KEYS for Bearer API keys; anonymous "
                "access is only allowed for the embedded demo org bound to a loopback address"
            )
        return cls(users, api_keys, anonymous, source_tokens=source_tokens)

    def challenge(self) -> str:
        """The ``WWW-Authenticate`` value: the schemes that are configured, Basic first."""
        schemes = []
        if self.users:
            schemes.append(f'Basic realm="{REALM}", charset="UTF-8"')
        if self._key_digests or self.source_tokens:
            schemes.append(f'Bearer realm="{REALM}"')
        return ", ".join(schemes)

    def unauthorized(self, message: str) -> ODataError:
        return ODataError(401, "Unauthorized", message, headers={"WWW-Authenticate": self.challenge()})

    def authenticate(self, headers: Mapping[str, str], client: str | None = None) -> Principal:
        """The request's principal, or ODataError 401 — or 429 when ``client`` (its address) failed too
        many logins lately or the process is busy verifying others (``login_throttle``)."""
        if self.anonymous:
            return ANONYMOUS
        authorization = header(headers, "Authorization")
        if authorization is None or not authorization.strip():
            raise self.unauthorized(
                "Authentication required: send HTTP Basic credentials or an API key as "
                "'Authorization: Bearer <key>'"
            )
        scheme, _, credentials = authorization.strip().partition(" ")
        scheme, credentials = scheme.lower(), credentials.strip()
        if scheme == "basic":
            return self._basic(credentials, client)
        if scheme == "bearer":
            return self._bearer(credentials)
        raise self.unauthorized(
            f"The Authorization scheme '{scheme[:20]}' is not supported; use Basic or Bearer"
        )

    def _basic(self, credentials: str, client: str | None = None) -> Principal:
        if not self.users:
            raise self.unauthorized("HTTP Basic authentication is not enabled; use a Bearer API key")
        try:
            decoded = base64.b64decode(credentials.encode("ascii"), validate=True)
        except (UnicodeEncodeError, binascii.Error):
            raise self.unauthorized("The Authorization header is malformed: Basic needs base64") from None
        try:
            text = decoded.decode("utf-8")
        except UnicodeDecodeError:
            text = decoded.decode("latin-1")  # clients that ignore charset="UTF-8"
        user, separator, password = text.partition(":")
        if not separator:
            raise self.unauthorized("The Authorization header is malformed: Basic needs 'user:password'")
        if not self._password_ok(user, password, client):
            raise self.unauthorized("The user name or password is not valid")
        return Principal(user, "basic")

    def _password_ok(self, user: str, password: str, client: str | None = None) -> bool:
        user_bytes = user.encode("utf-8", "surrogatepass")
        # Length-prefixed, so no other (user, password) pair gives the same bytes.
        pair = len(user_bytes).to_bytes(4, "big") + user_bytes + password.encode("utf-8", "surrogatepass")
        remembered = hmac.new(self._verified_key, pair, hashlib.sha256).digest()
        with self._verified_lock:
            if self._verified.get(remembered):
                return True
        self.throttle.check(client)  # only unverified credentials get here: valid users are not slowed
        with self.throttle.verifying():
            ok = self._verify(user, password)
        if not ok:
            self.throttle.failed(client)
            return False
        self.throttle.succeeded(client)
        with self._verified_lock:
            self._verified[remembered] = True
        return True

    def _verify(self, user: str, password: str) -> bool:
        password_hash = self.users.get(user)
        self.password_checks += 1
        if password_hash is None:
            # Unknown users cost as much time as known ones, so timing does not tell which users exist.
            check_password_hash(self._unknown_user_hash(), password)
            return False
        try:
            return check_password_hash(password_hash, password)
        except ValueError:  # a hash parse_users accepted but this Werkzeug cannot read
            return False

    def _unknown_user_hash(self) -> str:
        if self._dummy_hash is None:
            method = next(iter(self.users.values())).split("$")[0]
            self._dummy_hash = generate_password_hash(secrets.token_hex(8), method=method)
        return self._dummy_hash

    def is_api_key(self, credentials: str) -> bool:
        """Whether a Bearer credential is one of the gateway's API keys (compared in constant time)."""
        digest = hashlib.sha256(credentials.encode("utf-8", "surrogatepass")).digest()
        found = False
        for key_digest in self._key_digests:
            found |= hmac.compare_digest(digest, key_digest)
        return found

    def _bearer(self, credentials: str) -> Principal:
        if not self._key_digests:
            raise self.unauthorized("API keys are not enabled; use HTTP Basic authentication")
        if not credentials:
            raise self.unauthorized("The Authorization header is malformed: Bearer needs an API key")
        digest = hashlib.sha256(credentials.encode("utf-8", "surrogatepass")).digest()
        matched = None
        for number, key_digest in enumerate(self._key_digests, start=1):
            # Compare with every key, so the time taken does not say which one (if any) matched.
            if hmac.compare_digest(digest, key_digest) and matched is None:
                matched = number
        if matched is None:
            raise self.unauthorized("The API key is not valid")
        return Principal(f"api-key-{matched}", "bearer")


def header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    for key, value in headers.items():  # plain dicts are case-sensitive; HTTP header names are not
        if key.lower() == name.lower():
            return value
    return None
