"""OAuth 2: the token endpoint's grants, the sessions they open, and the check every API request passes.

Grants of ``POST /services/oauth2/token`` (form-encoded, as Salesforce takes them):
- ``password``: username, password (+ security token), client_id, client_secret; also issues a refresh token
- ``client_credentials``: the connected app's id and secret (form fields or HTTP Basic); runs as the user
- ``refresh_token``: a refresh token from the password grant, client_id (and client_secret if given)
- ``urn:ietf:params:oauth:grant-type:jwt-bearer``: an RS256 JWT (iss = client_id, sub = username,
  aud = the login URL, exp) verified against the configured certificate's public key

Failures are 400 ``{"error", "error_description"}`` with Salesforce's codes and texts. Access tokens expire
``token_lifetime`` seconds after they are issued (by the configured clock); the fixed configured token never
does. API requests need ``Authorization: Bearer <token>`` (or ``OAuth <token>``), else 401
INVALID_SESSION_ID.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from flask import Blueprint, jsonify, request

from .config import LocalOrgConfig
from .errors import SalesforceError

TOKEN_PATH = "/services/oauth2/token"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
STANDARD_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")


def invalid_session() -> SalesforceError:
    return SalesforceError(401, "INVALID_SESSION_ID", "Session expired or invalid")


class OAuthError(Exception):
    """A token endpoint failure: 400 with ``error`` and ``error_description``."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


def authentication_failure() -> OAuthError:
    return OAuthError("invalid_grant", "authentication failure")


def invalid_client_id() -> OAuthError:
    return OAuthError("invalid_client_id", "client identifier invalid")


def invalid_client_credentials() -> OAuthError:
    return OAuthError("invalid_client", "invalid client credentials")


@dataclass(frozen=True)
class Session:
    """An open API session: who it runs as and when it expires (None: never)."""

    access_token: str
    username: str
    user_id: str
    expires_at: float | None


class Authority:
    """The org's sessions and refresh tokens, and the grants that open them. Thread-safe."""

    def __init__(self, config: LocalOrgConfig):
        self.config = config
        self._sessions: dict[str, Session] = {}
        self._refresh_tokens: dict[str, str] = {}  # refresh token -> client_id it was issued to
        self._lock = threading.Lock()
        self._jwt_key = load_public_key(config.jwt_certificate) if config.jwt_certificate else None

    # --- API requests -------------------------------------------------------------------------------

    def session_for(self, authorization: str | None) -> Session:
        """The valid session an ``Authorization`` header names; INVALID_SESSION_ID otherwise."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() not in ("bearer", "oauth") or not token:
            raise invalid_session()
        if self.config.token and hmac.compare_digest(token, self.config.token):
            return Session(token, self.config.username, self.config.user_id, None)
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                raise invalid_session()
            if session.expires_at is not None and self.config.clock() >= session.expires_at:
                del self._sessions[token]
                raise invalid_session()
            return session

    # --- token endpoint ------------------------------------------------------------------------------

    def grant(self, form: dict[str, str], basic_auth: tuple[str, str] | None, host_url: str) -> dict:
        """The success body of a token request; raises OAuthError."""
        grant_type = form.get("grant_type", "")
        if grant_type == "password":
            self._check_client(form.get("client_id"), form.get("client_secret"), secret_required=True)
            self._check_user(form.get("username"), form.get("password"))
            return self._issue(host_url, with_refresh_token=form["client_id"])
        if grant_type == "client_credentials":
            client_id, client_secret = basic_auth or (form.get("client_id"), form.get("client_secret"))
            self._check_client(client_id, client_secret, secret_required=True)
            return self._issue(host_url)
        if grant_type == "refresh_token":
            self._check_client(form.get("client_id"), form.get("client_secret"), secret_required=False)
            with self._lock:
                issued_to = self._refresh_tokens.get(form.get("refresh_token") or "")
            if issued_to != form.get("client_id"):
                raise OAuthError("invalid_grant", "expired access/refresh token")
            return self._issue(host_url)
        if grant_type == JWT_BEARER_GRANT:
            self._check_assertion(form.get("assertion") or "", host_url)
            return self._issue(host_url)
        raise OAuthError("unsupported_grant_type", "grant type not supported")

    def _check_client(self, client_id: str | None, client_secret: str | None, secret_required: bool) -> None:
        if not client_id or not hmac.compare_digest(client_id, self.config.client_id):
            raise invalid_client_id()
        if client_secret is None and not secret_required:
            return
        if not client_secret or not hmac.compare_digest(client_secret, self.config.client_secret):
            raise invalid_client_credentials()

    def _check_user(self, username: str | None, password: str | None) -> None:
        config = self.config
        accepted = [config.password + config.security_token]
        if not config.security_token:
            accepted.append(config.password)
        if (username or "").lower() != config.username.lower() or not any(
            hmac.compare_digest(password or "", candidate) for candidate in accepted
        ):
            raise authentication_failure()

    def _check_assertion(self, assertion: str, host_url: str) -> None:
        if self._jwt_key is None:
            raise OAuthError("invalid_grant", "invalid assertion")
        try:
            # exp and aud are checked below, against the org's clock and with Salesforce's messages.
            claims = jwt.decode(
                assertion,
                self._jwt_key,
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_aud": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.PyJWTError as error:
            raise OAuthError("invalid_grant", "invalid assertion") from error
        if claims.get("iss") != self.config.client_id:
            raise invalid_client_id()
        audiences = claims.get("aud")
        audiences = audiences if isinstance(audiences, list) else [audiences]
        if not any(_same_url(a, allowed) for a in audiences for allowed in self._audiences(host_url)):
            raise OAuthError("invalid_grant", "audience is invalid")
        try:
            expires = float(claims["exp"])
        except (KeyError, TypeError, ValueError) as error:
            raise OAuthError("invalid_grant", "invalid assertion") from error
        if expires <= self.config.clock():
            raise OAuthError("invalid_grant", "expired authorization code")
        if str(claims.get("sub", "")).lower() != self.config.username.lower():
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")

    def _audiences(self, host_url: str) -> list[str]:
        extra = [self.config.login_url, host_url, self.config.instance_url or ""]
        return [a for a in (*STANDARD_AUDIENCES, *extra) if a]

    def _issue(self, host_url: str, with_refresh_token: str | None = None) -> dict:
        config = self.config
        now = config.clock()
        access_token = f"{config.org_id[:15]}!{secrets.token_urlsafe(72)}"
        session = Session(access_token, config.username, config.user_id, now + config.token_lifetime)
        identity_url = f"{config.login_url.rstrip('/')}/id/{config.org_id}/{config.user_id}"
        issued_at = str(int(now * 1000))
        body = {
            "access_token": access_token,
            "instance_url": (config.instance_url or host_url).rstrip("/"),
            "id": identity_url,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": _signature(config.client_secret, identity_url + issued_at),
        }
        with self._lock:
            self._sessions[access_token] = session
            if with_refresh_token:
                refresh_token = f"5Aep861{secrets.token_urlsafe(64)}"
                self._refresh_tokens[refresh_token] = with_refresh_token
                body["refresh_token"] = refresh_token
        return body


def _signature(secret: str, message: str) -> str:
    """Salesforce's ``signature``: base64 HMAC-SHA256 of id + issued_at keyed by the client secret."""
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _same_url(a: object, b: str) -> bool:
    return isinstance(a, str) and a.rstrip("/").lower() == b.rstrip("/").lower()


def load_public_key(certificate: str):
    """The public key of a PEM certificate or public key, given as PEM text or a file path."""
    pem = certificate if "-----BEGIN" in certificate else Path(certificate).read_text(encoding="ascii")
    data = pem.encode("ascii")
    if b"CERTIFICATE-----" in data:
        return x509.load_pem_x509_certificate(data).public_key()
    return load_pem_public_key(data)


def _basic_auth(header: str | None) -> tuple[str, str] | None:
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, client_secret = base64.b64decode(encoded.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id, client_secret


def token_blueprint(authority: Authority) -> Blueprint:
    """The OAuth token endpoint."""
    blueprint = Blueprint("oauth", __name__)

    @blueprint.route(TOKEN_PATH, methods=["POST"])
    def token():
        form = {**request.args.to_dict(), **request.form.to_dict()}
        basic = _basic_auth(request.headers.get("Authorization"))
        try:
            body = authority.grant(form, basic, request.host_url)
        except OAuthError as error:
            response = jsonify(error.body())
            response.status_code = error.status
        else:
            response = jsonify(body)
        response.headers["Cache-Control"] = "no-cache,must-revalidate,max-age=0,no-store,private"
        return response

    return blueprint
