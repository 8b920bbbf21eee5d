"""OAuth 2: the token endpoint's grants, the sessions they open, and the check every API request passes.

Grants of ``POST /services/oauth2/token`` (form-encoded, as Salesforce takes them):
- ``password``: username, password (+ security token), client_id, client_secret; also issues a refresh token
- ``client_credentials``: the connected app's id and secret (form fields or HTTP Basic); runs as the user
- ``refresh_token``: a refresh token from the password grant, client_id (and client_secret if given)
- ``urn:ietf:params:oauth:grant-type:jwt-bearer``: an RS256 JWT (iss = client_id, sub = username,
  aud = the login URL, exp) verified against the configured certificate's public key

With a security model (``access.OrgSecurity``) every user it lists logs in as themselves (password and
JWT bearer grants; their own password, else the org's); without one only the configured user exists. The
client credentials grant runs as the configured user.

``GET|POST /services/oauth2/userinfo`` answers who a token belongs to (403 ``Bad_OAuth_Token`` for a token
that is not valid); ``POST /services/oauth2/revoke`` (``token=``) revokes an access token, or a refresh token
and every access token issued from it (400 ``unsupported_token_type`` for an unknown token). Neither counts
as an API request.

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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from flask import Blueprint, Response, jsonify, request

from .config import LocalOrgConfig
from .errors import SalesforceError

if TYPE_CHECKING:
    from .access import OrgSecurity

TOKEN_PATH = "/services/oauth2/token"
USERINFO_PATH = "/services/oauth2/userinfo"
REVOKE_PATH = "/services/oauth2/revoke"
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

    def __init__(self, config: LocalOrgConfig, security: OrgSecurity | None = None):
        self.config = config
        self.security = security
        self._sessions: dict[str, Session] = {}
        # refresh token -> (client_id it was issued to, username, user Id)
        self._refresh_tokens: dict[str, tuple[str, str, str]] = {}
        self._issued_from: dict[str, str] = {}  # access token -> the refresh token that issued it
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

    def revoke(self, token: str) -> bool:
        """Revoke an access token, or a refresh token and the access tokens it issued; False if unknown."""
        with self._lock:
            if token in self._sessions:
                del self._sessions[token]
                self._issued_from.pop(token, None)
                return True
            if token in self._refresh_tokens:
                del self._refresh_tokens[token]
                for access_token in [a for a, r in self._issued_from.items() if r == token]:
                    self._sessions.pop(access_token, None)
                    del self._issued_from[access_token]
                return True
        return False

    # --- token endpoint ------------------------------------------------------------------------------

    def grant(self, form: dict[str, str], basic_auth: tuple[str, str] | None, host_url: str) -> dict:
        """The success body of a token request; raises OAuthError."""
        grant_type = form.get("grant_type", "")
        if grant_type == "password":
            self._check_client(form.get("client_id"), form.get("client_secret"), secret_required=True)
            username, user_id = self._check_user(form.get("username"), form.get("password"))
            return self._issue(host_url, username, user_id, with_refresh_token=form["client_id"])
        if grant_type == "client_credentials":
            client_id, client_secret = basic_auth or (form.get("client_id"), form.get("client_secret"))
            self._check_client(client_id, client_secret, secret_required=True)
            return self._issue(host_url, self.config.username, self.config.user_id)
        if grant_type == "refresh_token":
            self._check_client(form.get("client_id"), form.get("client_secret"), secret_required=False)
            refresh_token = form.get("refresh_token") or ""
            with self._lock:
                issued = self._refresh_tokens.get(refresh_token)
            if issued is None or issued[0] != form.get("client_id"):
                raise OAuthError("invalid_grant", "expired access/refresh token")
            return self._issue(host_url, issued[1], issued[2], from_refresh_token=refresh_token)
        if grant_type == JWT_BEARER_GRANT:
            username, user_id = self._check_assertion(form.get("assertion") or "", host_url)
            return self._issue(host_url, username, user_id)
        raise OAuthError("unsupported_grant_type", "grant type not supported")

    def _check_client(self, client_id: str | None, client_secret: str | None, secret_required: bool) -> None:
        if not client_id or not hmac.compare_digest(client_id, self.config.client_id):
            raise invalid_client_id()
        if client_secret is None and not secret_required:
            return
        if not client_secret or not hmac.compare_digest(client_secret, self.config.client_secret):
            raise invalid_client_credentials()

    def _known_user(self, username: str) -> tuple[str, str, str] | None:
        """(username as stored, user Id, password) of a user who may log in, or None."""
        config = self.config
        spec = self.security.user(username) if self.security else None
        if spec is not None and self.security is not None:
            user_id = self.security.user_id(spec.username)
            assert user_id is not None
            return spec.username, user_id, spec.password or config.password
        if username.lower() == config.username.lower():
            return config.username, config.user_id, config.password
        return None

    def _check_user(self, username: str | None, password: str | None) -> tuple[str, str]:
        config = self.config
        user = self._known_user(username or "")
        if user is None:
            raise authentication_failure()
        accepted = [user[2] + config.security_token]
        if not config.security_token:
            accepted.append(user[2])
        if not any(hmac.compare_digest((password or "").encode(), c.encode()) for c in accepted):
            raise authentication_failure()
        return user[0], user[1]

    def _check_assertion(self, assertion: str, host_url: str) -> tuple[str, str]:
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
        user = self._known_user(str(claims.get("sub", "")))
        if user is None:
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")
        return user[0], user[1]

    def _audiences(self, host_url: str) -> list[str]:
        extra = [self.config.login_url, host_url, self.config.instance_url or ""]
        return [a for a in (*STANDARD_AUDIENCES, *extra) if a]

    def identity_url(self, user_id: str) -> str:
        return f"{self.config.login_url.rstrip('/')}/id/{self.config.org_id}/{user_id}"

    def _issue(
        self,
        host_url: str,
        username: str,
        user_id: str,
        with_refresh_token: str | None = None,
        from_refresh_token: str | None = None,
    ) -> dict:
        config = self.config
        now = config.clock()
        access_token = f"{config.org_id[:15]}!{secrets.token_urlsafe(72)}"
        session = Session(access_token, username, user_id, now + config.token_lifetime)
        identity_url = self.identity_url(user_id)
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
                self._refresh_tokens[refresh_token] = (with_refresh_token, username, user_id)
                body["refresh_token"] = refresh_token
                from_refresh_token = refresh_token
            if from_refresh_token:
                self._issued_from[access_token] = from_refresh_token
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


def userinfo(authority: Authority, session: Session, user: dict | None) -> dict:
    """The OpenID Connect userinfo of a session's user (``user``: their User record's fields, if any)."""
    user = user or {}
    config = authority.config
    first, last = user.get("FirstName"), user.get("LastName")
    return {
        "sub": authority.identity_url(session.user_id),
        "user_id": session.user_id,
        "organization_id": config.org_id,
        "preferred_username": session.username,
        "nickname": user.get("CommunityNickname") or session.username.partition("@")[0],
        "name": user.get("Name") or " ".join(p for p in (first, last) if p) or session.username,
        "email": user.get("Email") or session.username,
        "email_verified": True,
        "given_name": first,
        "family_name": last,
        "zoneinfo": user.get("TimeZoneSidKey") or "America/Los_Angeles",
        "locale": user.get("LocaleSidKey") or "en_US",
        "language": user.get("LanguageLocaleKey") or "en_US",
        "active": bool(user.get("IsActive", True)),
        "user_type": "STANDARD",
        "is_app_installed": True,
        "updated_at": user.get("LastModifiedDate"),
    }


def token_blueprint(
    authority: Authority, user_record: Callable[[str], dict | None] = lambda _: None
) -> Blueprint:
    """The OAuth endpoints: token, userinfo and revoke. ``user_record(user_id)`` reads a User record."""
    blueprint = Blueprint("oauth", __name__)

    @blueprint.route(USERINFO_PATH, methods=["GET", "POST"])
    def user_info():
        try:
            session = authority.session_for(request.headers.get("Authorization"))
        except SalesforceError:
            return Response("Bad_OAuth_Token", status=403, mimetype="text/plain")
        return jsonify(userinfo(authority, session, user_record(session.user_id)))

    @blueprint.route(REVOKE_PATH, methods=["GET", "POST"])
    def revoke():
        token = (request.form.get("token") or request.args.get("token") or "").strip()
        if not token:
            return _oauth_error(OAuthError("invalid_request", "token parameter is required"))
        if not authority.revoke(token):
            return _oauth_error(OAuthError("unsupported_token_type", "this token type is not supported"))
        return Response(status=200)

    @blueprint.route(TOKEN_PATH, methods=["POST"])
    def token():
        form = {**request.args.to_dict(), **request.form.to_dict()}
        basic = _basic_auth(request.headers.get("Authorization"))
        try:
            body = authority.grant(form, basic, request.host_url)
        except OAuthError as error:
            response = _oauth_error(error)
        else:
            response = jsonify(body)
        response.headers["Cache-Control"] = "no-cache,must-revalidate,max-age=0,no-store,private"
        return response

    return blueprint


def _oauth_error(error: OAuthError) -> Response:
    response = jsonify(error.body())
    response.status_code = error.status
    return response
