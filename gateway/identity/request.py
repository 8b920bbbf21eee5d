"""``authenticate_request``: who a request comes from, and the gateway state it runs with.

In named mode this is the gateway's inbound check alone (``http/access.py``) and every request uses the one
source connection. In per-user mode a Bearer token that is not an API key is passed through as the user's
source-org token, and a Basic user in the user map acts as their source-org user; data requests then run
with that user's connection, model (field-level security) and paging-token key. The service document and
``$metadata`` always use the named connection (Salesforce Connect validates and syncs with it); gateway API
keys, unmapped Basic users and anonymous demo users may read those, and nothing else.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import threading
from collections.abc import Mapping

from cachetools import TTLCache
from werkzeug.wrappers import Request

from gateway.identity.users import MappedUserError, SourceUser
from gateway.odata.http.access import Principal, header
from gateway.odata.http.errors import forbidden
from gateway.odata.http.source_errors import odata_error_from_source
from gateway.odata.service import MODEL_TTL_SECONDS, Gateway, RequestContext
from gateway.source.connection import SourceError

SOURCE_TOKEN = "source-token"  # Principal.method of a passed-through source-org token
MAPPED = "mapped"  # Principal.method of a Basic user acting as their mapped source-org user


IDENTITY_KEY = "gateway.identity"  # WSGI environ key: (principal, gateway) of the request, once identified


def identify(
    gateway: Gateway, environ: dict, headers: Mapping[str, str], client: str | None = None, *, data: bool
) -> tuple[Principal, Gateway]:
    """``authenticate_request`` once per HTTP request: the answer is kept in the WSGI environ, so the
    operation layer (rate limit, request log) and the face that serves the request agree on who it is
    without checking the credentials twice."""
    known = environ.get(IDENTITY_KEY)
    if known is None:
        known = environ[IDENTITY_KEY] = authenticate_request(gateway, headers, client, data=data)
    return known


def open_request(gateway: Gateway, request: Request, *, data: bool) -> RequestContext:
    """A face's HTTP request identified once (``identify``): the context the pipeline serves it with (the
    user's own gateway in per-user mode). ``data``: the request reads or writes entities."""
    principal, request_gateway = identify(
        gateway, request.environ, request.headers, request.remote_addr, data=data
    )
    return request_gateway.context_for(principal)


def authenticate_request(
    gateway: Gateway, headers: Mapping[str, str], client: str | None = None, *, data: bool
) -> tuple[Principal, Gateway]:
    """(the principal, the ``Gateway`` to serve this request with); ODataError 401/403 otherwise.

    ``client``: the caller's address (the login throttle of ``Access``); ``data``: the request reads or
    writes entities (not the service document or ``$metadata``)."""
    identity = gateway.identity
    if identity is None:
        return gateway.access.authenticate(headers, client), gateway
    user: SourceUser | None = None
    token = _bearer_token(headers)
    if token is not None and not gateway.access.is_api_key(token):
        try:
            user = identity.token_user(token)
        except SourceError as error:
            mapped = odata_error_from_source(error)
            assert mapped is not None
            raise mapped from error
        principal = Principal(user.principal_name, SOURCE_TOKEN)
    else:
        principal = gateway.access.authenticate(headers, client)
        if principal.method == "basic":
            try:
                user = identity.mapped_user(principal.name)
            except MappedUserError as error:
                raise forbidden(
                    f"The source org refused to sign in '{error.source_username}' (GATEWAY_USER_MAP entry "
                    f"of '{error.gateway_user}') with the JWT bearer grant ({error.cause.error_code}): check "
                    "that the user exists and is pre-authorised for the connected app of SF_CLIENT_ID.",
                    code="UserNotAuthorized",
                ) from error
            if user is not None:
                principal = Principal(user.principal_name, MAPPED)
    if not data:
        return principal, gateway
    if user is None:
        raise forbidden(_needs_identity(principal), code="PerUserIdentityRequired")
    return principal, _user_gateway(gateway, user)


def _needs_identity(principal: Principal) -> str:
    base = (
        "This gateway runs with per-user identity (GATEWAY_IDENTITY=per-user): data requests need the "
        "requesting user's own identity in the source org"
    )
    if principal.method == "basic":
        return (
            f"{base}, and the user '{principal.name}' is not in GATEWAY_USER_MAP; map them to a source-org "
            "username, or send their source-org OAuth access token as 'Authorization: Bearer <token>'."
        )
    who = "Gateway API keys" if principal.method == "bearer" else "Anonymous requests"
    return (
        f"{base}. {who} may read the service document and $metadata only; send the user's source-org OAuth "
        "access token as 'Authorization: Bearer <token>', or HTTP Basic credentials of a user in "
        "GATEWAY_USER_MAP."
    )


def _user_gateway(gateway: Gateway, user: SourceUser) -> Gateway:
    """The gateway as ``user`` uses it for this request: their connection, their model, and a paging/CSRF
    key of their own (so a nextLink or CSRF token issued to one user is refused for another). Made per
    request, so the model in it never outlives the user's cached one."""
    model = gateway.identity.model_for(user, gateway.model())
    secret = hmac.new(gateway.secret, user.principal_name.encode(), hashlib.sha256).digest()
    cache: TTLCache = TTLCache(maxsize=1, ttl=MODEL_TTL_SECONDS)
    cache["model"] = model
    return dataclasses.replace(
        gateway, source=user.source, secret=secret, _model_cache=cache, _model_lock=threading.Lock()
    )


def _bearer_token(headers: Mapping[str, str]) -> str | None:
    scheme, _, credentials = (header(headers, "Authorization") or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()
