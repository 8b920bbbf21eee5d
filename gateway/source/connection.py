"""The source connection: the only code in the gateway that talks to a Salesforce org.

Built on simple-salesforce for the REST calls; the OAuth grants are ours, so that every grant (password,
client credentials, JWT bearer, refresh token) goes through the same transport and can refresh a session.

- ``SourceConnection.from_env(os.environ)`` reads the ``SF_*`` variables (None when none are set: the caller
  then uses the embedded local org).
- ``SourceConnection.in_process(wsgi_app, access_token)`` reaches a local org app without a socket.
- An ``http://`` instance or login URL is accepted on loopback only (a standalone ``gateway localorg``).
  simple-salesforce always builds ``https://host:port`` URLs, so a plain-HTTP adapter is mounted on that
  prefix; an in-process adapter likewise.
- INVALID_SESSION_ID (401) re-authenticates with the configured grant and retries once; a fixed access
  token alone cannot be renewed, so the error is raised.
- ``api_calls`` counts API requests sent (OAuth token calls excluded); ``api_usage`` is the org's
  ``Sforce-Limit-Info: api-usage=used/max``, the highest count seen (responses may arrive out of order).
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus, urlencode, urlsplit

import jwt
import orjson
import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError as SimpleSalesforceError

from gateway.source.transport import (
    PooledTransport,
    TransportFailure,
    TransportTimeout,
    WsgiTransport,
    environment_ca_bundle,
)
from gateway.source.wsgi_transport import WsgiAdapter, WsgiApp

DEFAULT_API_VERSION = "59.0"
DEFAULT_TIMEOUT = 30.0
DEFAULT_LOGIN_URL = "https://login.salesforce.com"
IN_PROCESS_URL = "https://localorg.invalid"
TOKEN_PATH = "/services/oauth2/token"
JWT_LIFETIME_SECONDS = 180  # Salesforce accepts assertions valid for at most 3 minutes
# Salesforce refuses a URI over 16,384 bytes (414); longer queries travel in a Composite request's body
MAX_QUERY_URI = 16_000


class SourceError(Exception):
    """An error answer from the org: HTTP status and the first entry of Salesforce's error list."""

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        fields: list[str] | None = None,
        body: Any = None,
    ):
        super().__init__(f"{status} {error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = list(fields or [])
        self.body = body


class InvalidAccessToken(SourceError):
    """A user's own access token (per-user identity) that the org no longer accepts: expired or revoked."""


class SourceTimeout(SourceError):
    """The org did not answer within the configured timeout."""


class SourceConfigError(ValueError):
    """The SF_* settings do not describe a way to reach an org."""


@dataclass(frozen=True)
class Credentials:
    """How to reach and authenticate with one org."""

    instance_url: str | None = None
    access_token: str | None = None
    username: str | None = None
    password: str | None = None
    security_token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    login_url: str | None = None
    private_key_file: str | None = None
    private_key: str | None = None  # PEM text, an alternative to private_key_file
    jwt_audience: str | None = None  # default: the login URL
    refresh_token: str | None = None
    api_version: str = DEFAULT_API_VERSION
    timeout: float = DEFAULT_TIMEOUT

    @property
    def grant(self) -> str | None:
        """The OAuth grant that can (re)issue a session, or None when only a fixed token is given."""
        if self.client_id and self.username and (self.private_key_file or self.private_key):
            return "jwt"
        if self.username and self.password:
            return "password"
        if self.client_id and self.client_secret:
            return "client_credentials"
        if self.refresh_token and self.client_id:
            return "refresh_token"
        return None


ENV_NAMES = {
    "SF_INSTANCE_URL": "instance_url",
    "SF_ACCESS_TOKEN": "access_token",
    "SF_USERNAME": "username",
    "SF_PASSWORD": "password",
    "SF_SECURITY_TOKEN": "security_token",
    "SF_CLIENT_ID": "client_id",
    "SF_CLIENT_SECRET": "client_secret",
    "SF_LOGIN_URL": "login_url",
    "SF_PRIVATE_KEY_FILE": "private_key_file",
    "SF_REFRESH_TOKEN": "refresh_token",
    "SF_API_VERSION": "api_version",
    "SF_TIMEOUT": "timeout",
}


def credentials_from_env(environ: Mapping[str, str]) -> Credentials | None:
    """Credentials from the SF_* variables; None when none of them is set."""
    values: dict[str, Any] = {
        field: environ[name] for name, field in ENV_NAMES.items() if environ.get(name, "").strip()
    }
    if not values:
        return None
    if "timeout" in values:
        try:
            values["timeout"] = float(values["timeout"])
        except ValueError as error:
            raise SourceConfigError(
                f"SF_TIMEOUT must be a number of seconds, not {values['timeout']!r}"
            ) from error
    credentials = Credentials(**values)
    if credentials.grant is None and not (credentials.access_token and credentials.instance_url):
        raise SourceConfigError(
            "SF_* settings are incomplete: give SF_INSTANCE_URL + SF_ACCESS_TOKEN; or SF_USERNAME + "
            "SF_PASSWORD (+ SF_SECURITY_TOKEN, SF_CLIENT_ID, SF_CLIENT_SECRET); or SF_CLIENT_ID + "
            "SF_CLIENT_SECRET; or SF_CLIENT_ID + SF_USERNAME + SF_PRIVATE_KEY_FILE"
        )
    return credentials


def is_loopback(host: str | None) -> bool:
    """Whether binding to ``host`` keeps the server on this machine (no DNS lookups: names could lie)."""
    if not host:
        return False
    host = host.strip().strip("[]").lower()
    if host in ("localhost", "localhost."):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def https_origin(url: str) -> str:
    """The ``https://host[:port]`` prefix simple-salesforce will build for ``url``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceConfigError(f"not an http(s) URL: {url!r}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise SourceConfigError(f"plain http:// is accepted for a loopback org only, not {url!r}")
    default_port = 443 if parts.scheme == "https" else 80
    port = parts.port or default_port
    return f"https://{parts.hostname}" + ("" if port == 443 else f":{port}")


class PlainHttpAdapter(HTTPAdapter):
    """Sends ``https://host:port/...`` requests as ``http://host:port/...`` (a loopback local org)."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        plain = request.copy()
        if plain.url and plain.url.startswith("https://"):
            plain.url = "http://" + plain.url[len("https://") :]
        return super().send(plain, *args, **kwargs)


class _ObservedSession(requests.Session):
    """The requests session under simple-salesforce: a default timeout (requests has none), the proxy and
    CA settings read once per origin instead of on every call (``trust_env`` off), and every call reported
    to the connection's accounting."""

    def __init__(self, timeout: float, connection: SourceConnection):
        super().__init__()
        self.trust_env = False
        self.verify = environment_ca_bundle()
        self.default_timeout = timeout
        self._connection = connection
        self._proxies: dict[str, dict[str, str]] = {}

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.default_timeout)
        kwargs.setdefault("proxies", self._proxies_for(str(url)))
        return super().request(method, url, *args, **kwargs)

    def _proxies_for(self, url: str) -> dict[str, str]:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        proxies = self._proxies.get(origin)
        if proxies is None:
            proxies = self._proxies[origin] = requests.utils.get_environ_proxies(origin)
        return proxies

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        url = request.url or ""
        self._connection._before_call(url)
        try:
            response = super().send(request, **kwargs)
        except requests.RequestException as error:
            self._connection._call_failed(url, error)
            raise
        self._connection._after_call(url, response.status_code, response.headers, response.content)
        return response


def parse_limit_info(header: str) -> tuple[int, int] | None:
    """``api-usage=18/15000`` (possibly among other comma-separated entries) → (18, 15000)."""
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "api-usage":
            used, _, maximum = value.partition("/")
            try:
                return int(used), int(maximum)
            except ValueError:
                return None
    return None


def _later_usage(known: tuple[int, int] | None, reported: tuple[int, int] | None) -> tuple[int, int] | None:
    """The usage to keep after a response reported ``reported``: a lower count under the same maximum is
    an older response that arrived late; a new maximum (the limit was changed) is taken as it comes."""
    if reported is None:
        return known
    if known is not None and known[1] == reported[1] and known[0] > reported[0]:
        return known
    return reported


class SourceConnection:
    """One org, reached through simple-salesforce; thread-safe."""

    def __init__(self, credentials: Credentials, *, wsgi_app: WsgiApp | None = None):
        if credentials.grant is None and not credentials.access_token:
            raise SourceConfigError("no access token and no grant to obtain one")
        self.credentials = credentials
        self._in_process = wsgi_app is not None
        self._observers: tuple[Any, ...] = ()
        self.session = _ObservedSession(credentials.timeout, self)
        self._wsgi_app = wsgi_app
        self._transport = WsgiTransport(wsgi_app) if wsgi_app else PooledTransport(credentials.timeout)
        self._mounted: set[str] = set()
        self._lock = threading.RLock()
        self._api_calls = 0
        self._api_usage: tuple[int, int] | None = None
        self._instance_url = credentials.instance_url or credentials.login_url
        self._access_token = credentials.access_token
        self._refresh_token = credentials.refresh_token
        self._token_calls = 0
        self._user_token = False  # a user's own token passed through (as_user): never renewed here
        for url in (credentials.instance_url, credentials.login_url):
            if url:
                self._route(url)
        self._client: Salesforce | None = None

    # ----- construction -------------------------------------------------------------------------

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SourceConnection | None:
        """A connection configured by the SF_* variables, or None when none is set."""
        credentials = credentials_from_env(environ)
        return None if credentials is None else cls(credentials)

    @classmethod
    def in_process(
        cls, wsgi_app: WsgiApp, access_token: str | None = None, **credentials: Any
    ) -> SourceConnection:
        """A connection to a local org WSGI app, called in-process (no socket)."""
        fields = {"instance_url": IN_PROCESS_URL, "login_url": IN_PROCESS_URL, **credentials}
        return cls(Credentials(access_token=access_token, **fields), wsgi_app=wsgi_app)

    def as_user(
        self,
        *,
        access_token: str | None = None,
        username: str | None = None,
        client_id: str | None = None,
        private_key_file: str | None = None,
    ) -> SourceConnection:
        """A connection to the same org (URLs, transport, API version, timeout) as another user: with
        their access token (no renewal), or by the JWT bearer grant for ``username`` signed with the
        connected app's key (renewed when it expires). Nothing of this connection's session is shared."""
        c = self.credentials
        credentials = Credentials(
            instance_url=self._instance_url if access_token else c.instance_url,
            access_token=access_token,
            username=None if access_token else username,
            client_id=None if access_token else client_id,
            private_key_file=None if access_token else private_key_file,
            login_url=c.login_url,
            jwt_audience=c.jwt_audience,
            api_version=c.api_version,
            timeout=c.timeout,
        )
        connection = SourceConnection(credentials, wsgi_app=self._wsgi_app)
        connection._user_token = access_token is not None
        return connection

    def userinfo(self) -> dict:
        """Who this connection's access token belongs to (``/services/oauth2/userinfo``; not an API call).

        SourceError 401 when the org does not accept the token (Salesforce answers 401 or 403)."""
        origin = self._route(self._instance_url or self._login_url())
        if not self._access_token:
            self._salesforce()  # obtain a session by the configured grant first
        try:
            response = self.session.get(
                origin + "/services/oauth2/userinfo",
                headers={"Authorization": f"Bearer {self._access_token}", "Accept": "application/json"},
            )
        except requests.RequestException as error:
            raise _transport_error(error) from error
        if response.status_code in (401, 403):
            raise InvalidAccessToken(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if response.status_code != 200:
            raise SourceError(response.status_code, f"HTTP_{response.status_code}", response.text[:300])
        try:
            body = response.json()
        except ValueError as error:
            raise SourceError(502, "BAD_RESPONSE", "userinfo did not answer JSON") from error
        if not isinstance(body, dict) or not body.get("user_id"):
            raise SourceError(502, "BAD_RESPONSE", "userinfo did not name a user")
        return body

    def _route(self, url: str) -> str:
        """Mount the adapter that ``url`` needs on the session; return simple-salesforce's https origin."""
        origin = https_origin(url)
        with self._lock:
            if origin not in self._mounted:
                if self._wsgi_app is not None:
                    self.session.mount(origin + "/", WsgiAdapter(self._wsgi_app))
                elif url.lower().startswith("http://"):
                    self.session.mount(origin + "/", PlainHttpAdapter())
                self._mounted.add(origin)
        return origin

    # ----- accounting -------------------------------------------------------------------------

    def add_call_observer(self, observer: Any) -> None:
        """Report every API call this connection sends, on either path (OAuth token calls excluded), to
        ``observer.before_call(url)`` (it may raise to stop the call), ``after_call(url, status, headers,
        body)`` and ``call_failed(url, error)`` (no answer: timeout, unreachable)."""
        with self._lock:
            if observer not in self._observers:
                self._observers = (*self._observers, observer)

    def _before_call(self, url: str) -> None:
        if not _is_token_call(url):
            for observer in self._observers:
                observer.before_call(url)

    def _after_call(self, url: str, status: int, headers: Mapping[str, str], body: bytes) -> None:
        if _is_token_call(url):
            return
        usage = parse_limit_info(headers.get("Sforce-Limit-Info", ""))
        with self._lock:
            self._api_calls += 1
            self._api_usage = _later_usage(self._api_usage, usage)
        for observer in self._observers:
            observer.after_call(url, status, headers, body)

    def _call_failed(self, url: str, error: Exception) -> None:
        if not _is_token_call(url):
            for observer in self._observers:
                observer.call_failed(url, error)

    @property
    def api_calls(self) -> int:
        """API requests this connection sent (OAuth token calls not included)."""
        return self._api_calls

    @property
    def api_usage(self) -> tuple[int, int] | None:
        """(used, max) from the Sforce-Limit-Info headers, None before the first answer.

        Concurrent responses may be handled out of order, so the highest count seen under the same maximum
        is kept: the usage never goes backwards."""
        return self._api_usage

    @property
    def token_calls(self) -> int:
        """OAuth token requests this connection sent."""
        return self._token_calls

    # ----- authentication -----------------------------------------------------------------------

    def _salesforce(self) -> Salesforce:
        with self._lock:
            if self._client is None:
                if not self._access_token:
                    self._authenticate()
                self._client = self._build_client()
            return self._client

    def _build_client(self) -> Salesforce:
        return Salesforce(
            instance_url=self._instance_url,
            session_id=self._access_token,
            session=self.session,
            version=self.credentials.api_version,
            object_pairs_hook=dict,
        )

    def _reauthenticate(self, stale: Salesforce) -> None:
        """Replace the session that failed with a new one, unless another thread already did."""
        with self._lock:
            if self._client is not stale:
                return
            self._authenticate()
            self._client = self._build_client()

    def _authenticate(self) -> None:
        """Obtain a new access token: the refresh token first when one was issued, else the grant."""
        credentials = self.credentials
        if self._refresh_token and credentials.client_id:
            try:
                self._take_token(self._token_request(self._refresh_form()))
                return
            except SourceError as error:
                if credentials.grant in (None, "refresh_token") or isinstance(error, SourceTimeout):
                    raise
        grant = credentials.grant
        if grant is None or grant == "refresh_token" and not self._refresh_token:
            raise SourceConfigError("the session expired and no grant is configured to renew it")
        forms: dict[str, Callable[[], dict[str, str]]] = {
            "password": self._password_form,
            "client_credentials": self._client_credentials_form,
            "jwt": self._jwt_form,
            "refresh_token": self._refresh_form,
        }
        self._take_token(self._token_request(forms[grant]()))

    def _password_form(self) -> dict[str, str]:
        c = self.credentials
        form = {
            "grant_type": "password",
            "username": c.username or "",
            "password": (c.password or "") + (c.security_token or ""),
        }
        return form | self._client_form()

    def _client_credentials_form(self) -> dict[str, str]:
        return {"grant_type": "client_credentials"} | self._client_form()

    def _refresh_form(self) -> dict[str, str]:
        return {
            "grant_type": "refresh_token",
            "refresh_token": self._refresh_token or "",
        } | self._client_form()

    def _client_form(self) -> dict[str, str]:
        c = self.credentials
        form = {}
        if c.client_id:
            form["client_id"] = c.client_id
        if c.client_secret:
            form["client_secret"] = c.client_secret
        return form

    def _jwt_form(self) -> dict[str, str]:
        c = self.credentials
        key = c.private_key
        if key is None:
            with open(c.private_key_file or "", encoding="utf-8") as file:
                key = file.read()
        claims = {
            "iss": c.client_id,
            "sub": c.username,
            "aud": c.jwt_audience or self._login_url(),
            "exp": int(time.time()) + JWT_LIFETIME_SECONDS,
        }
        assertion = jwt.encode(claims, key, algorithm="RS256")
        return {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}

    def _login_url(self) -> str:
        c = self.credentials
        return (c.login_url or c.instance_url or DEFAULT_LOGIN_URL).rstrip("/")

    def _token_request(self, form: dict[str, str]) -> dict:
        login_url = self._login_url()
        url = self._route(login_url) + TOKEN_PATH
        with self._lock:
            self._token_calls += 1
        try:
            response = self.session.post(url, data=form, headers={"Accept": "application/json"})
        except requests.Timeout as error:
            raise SourceTimeout(504, "TIMEOUT", f"no answer from {login_url} in time: {error}") from error
        except requests.ConnectionError as error:
            raise SourceError(503, "UNREACHABLE", f"cannot reach {login_url}: {error}") from error
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
            if isinstance(body, dict):
                code = body.get("error", "invalid_grant")
                message = body.get("error_description", "authentication failure")
            else:
                code, message = "invalid_grant", str(body)[:500]
            raise SourceError(response.status_code, code, message, body=body)
        return body

    def _take_token(self, body: dict) -> None:
        self._access_token = body["access_token"]
        if body.get("refresh_token"):
            self._refresh_token = body["refresh_token"]
        if body.get("instance_url") and not self._in_process:
            self._route(body["instance_url"])
            self._instance_url = body["instance_url"]

    # ----- calling ------------------------------------------------------------------------------

    def _call(self, operation: Callable[[Salesforce], Any]) -> Any:
        """Run one call with the current session (a simple-salesforce call, or ``_send`` with its session
        Id); on INVALID_SESSION_ID renew the session and retry once."""
        client = self._salesforce()
        try:
            return operation(client)
        except (SimpleSalesforceError, ErrorAnswer) as error:
            renewable = self.credentials.grant is not None or bool(self._refresh_token)
            if self._user_token and _is_invalid_session(error):
                raise InvalidAccessToken(401, "INVALID_SESSION_ID", "Session expired or invalid") from error
            if not (renewable and _is_invalid_session(error)):
                raise _source_error(error) from error
        except requests.RequestException as error:
            raise _transport_error(error) from error
        self._reauthenticate(client)
        try:
            return operation(self._salesforce())
        except (SimpleSalesforceError, ErrorAnswer) as error:
            raise _source_error(error) from error
        except requests.RequestException as error:
            raise _transport_error(error) from error

    def _lean(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> Any:
        """A hot call (queries, collections) on the lean transport: the answer's JSON, None when empty."""
        return self._call(lambda sf: self._send(sf.session_id, method, path, body, headers))

    def _send(self, token: str, method: str, path: str, body: Any, headers: Mapping[str, str] | None) -> Any:
        parts = urlsplit(self._instance_url or "")
        url = f"{parts.scheme}://{parts.netloc}{path}"
        sent = {"Authorization": f"Bearer {token}", "Accept": "application/json", "Accept-Encoding": "gzip"}
        data = None
        if body is not None:
            data = orjson.dumps(body, default=str, option=_PASSTHROUGH)
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        self._before_call(url)
        try:
            answer = self._transport.request(method, url, sent, data)
        except TransportTimeout as error:
            self._call_failed(url, error)
            raise SourceTimeout(504, "TIMEOUT", f"the org did not answer in time: {error}") from error
        except TransportFailure as error:
            self._call_failed(url, error)
            raise SourceError(503, "UNREACHABLE", f"cannot reach the org: {error}") from error
        self._after_call(url, answer.status, answer.headers, answer.body)
        if answer.status >= 300:
            raise ErrorAnswer(answer.status, _content(answer.body))
        try:
            return decode_json(answer.body) if answer.body else None
        except ValueError:  # a proxy's page, a truncated body: never a 500
            raise SourceError(502, "UNEXPECTED_RESPONSE", "the org's answer is not JSON") from None

    def query(self, soql: str, batch_size: int | None = None) -> dict:
        """The first batch of a SOQL query, as the REST API returns it."""
        if self._too_long_for_a_url(soql, "query"):
            return self._query_in_body(soql, "query", batch_size)
        path = f"{self.data_path()}/query/?q={quote_plus(soql)}"
        return _query_result(self._lean("GET", path, None, _query_options(batch_size)))

    def query_all(self, soql: str, batch_size: int | None = None) -> dict:
        """The first batch of a queryAll (deleted records included)."""
        if self._too_long_for_a_url(soql, "queryAll"):
            return self._query_in_body(soql, "queryAll", batch_size)
        path = f"{self.data_path()}/queryAll/?q={quote_plus(soql)}"
        return _query_result(self._lean("GET", path, None, _query_options(batch_size)))

    def _too_long_for_a_url(self, soql: str, resource: str) -> bool:
        return len(f"{self.data_path()}/{resource}/?q={quote_plus(soql)}") > MAX_QUERY_URI

    def _query_in_body(self, soql: str, resource: str, batch_size: int | None) -> dict:
        """A query whose URL would pass Salesforce's URI limit, sent in the body of one Composite request
        (Salesforce's advice; still one API call); its answer or error as a plain query's."""
        subrequest = {
            "method": "GET",
            "url": f"{self.data_path()}/{resource}/?q={quote_plus(soql)}",
            "referenceId": "query",
            "httpHeaders": _query_options(batch_size),
        }
        answer = self.composite_request([subrequest])
        entries = answer.get("compositeResponse") if isinstance(answer, dict) else None
        entry = entries[0] if isinstance(entries, list) and entries and isinstance(entries[0], dict) else None
        if entry is None:
            raise SourceError(502, "UNEXPECTED_RESPONSE", "the org's composite answer has no subresponse")
        status, body = entry.get("httpStatusCode"), entry.get("body")
        if isinstance(status, int) and status < 300 and isinstance(body, dict):
            return _query_result(body)
        first = _first_error(body)
        code = first.get("errorCode") or f"HTTP_{status}"
        raise SourceError(
            status if isinstance(status, int) else 502, code, first.get("message") or "", [], body
        )

    def query_more(self, next_records_url: str, batch_size: int | None = None) -> dict:
        """The batch at ``nextRecordsUrl`` (a path such as /services/data/v59.0/query/01g...-2000).

        The batch size is a per-request preference, so it is sent again with every batch.
        """
        return _query_result(self._lean("GET", next_records_url, None, _query_options(batch_size)))

    def query_records(self, soql: str, batch_size: int | None = None, include_deleted: bool = False):
        """Every record of a query, fetching batch after batch by ``nextRecordsUrl``."""
        result = self.query_all(soql, batch_size) if include_deleted else self.query(soql, batch_size)
        while True:
            yield from result["records"]
            if result.get("done", True):
                return
            result = self.query_more(result["nextRecordsUrl"], batch_size)

    def search(self, sosl: str) -> dict:
        """A SOSL search: ``{"searchRecords": [...]}`` (API versions that answer a bare list included)."""
        result = self._call(lambda sf: sf.search(sosl))
        if isinstance(result, list):
            return {"searchRecords": result}
        return result or {"searchRecords": []}

    def describe_global(self) -> dict:
        return _expect(dict, self._call(lambda sf: sf.describe()), "describe")

    def describe(self, name: str) -> dict:
        return _expect(
            dict, self._call(lambda sf: sf.restful(f"sobjects/{quote(name)}/describe/")), "describe"
        )

    def limits(self) -> dict:
        return _expect(dict, self._call(lambda sf: sf.limits()), "limits")

    def get(self, name: str, record_id: str) -> dict:
        return _expect(
            dict, self._call(lambda sf: sf.restful(f"sobjects/{quote(name)}/{quote(record_id)}")), "record"
        )

    def create(self, name: str, values: dict) -> dict:
        """Create one record → ``{"id", "success", "errors"}``."""
        return _expect(
            dict,
            self._call(lambda sf: sf.restful(f"sobjects/{quote(name)}/", method="POST", data=_json(values))),
            "create",
        )

    def update(self, name: str, record_id: str, values: dict) -> None:
        self._call(
            lambda sf: sf.restful(
                f"sobjects/{quote(name)}/{quote(record_id)}", method="PATCH", data=_json(values)
            )
        )

    def delete(self, name: str, record_id: str) -> None:
        self._call(lambda sf: sf.restful(f"sobjects/{quote(name)}/{quote(record_id)}", method="DELETE"))

    def upsert(self, name: str, field: str, value: str, values: dict) -> dict:
        """Upsert by external ID → ``{"id", "success", "errors", "created"}``."""
        record_path = f"{quote(field)}/{quote(str(value), safe='')}"

        def call(sf: Salesforce) -> dict:
            sobject = getattr(sf, name)
            response = sobject.upsert(record_path, values, raw_response=True)
            body = _expect(dict, response.json() if response.content else {}, "upsert")
            # API versions before 46.0 answer 204 without a body when they update.
            return {"success": True, "errors": [], **body, "created": response.status_code == 201}

        return self._call(call)

    def composite(self, method: str, records: list, all_or_none: bool = False) -> list:
        """sObject Collections: POST creates, PATCH updates ``records``; DELETE deletes Ids ``records``."""
        method = method.upper()
        path = f"{self.data_path()}/composite/sobjects"
        if method == "DELETE":
            query = urlencode({"ids": ",".join(records), "allOrNone": str(all_or_none).lower()})
            return _expect(list, self._lean("DELETE", f"{path}?{query}"), "collection")
        body = {"allOrNone": all_or_none, "records": records}
        return _expect(list, self._lean(method, path, body), "collection")

    def composite_upsert(self, name: str, field: str, records: list, all_or_none: bool = False) -> list:
        """sObject Collections upsert by the external ID ``field`` (up to 200 records) → result entries."""
        path = f"{self.data_path()}/composite/sobjects/{quote(name)}/{quote(field)}"
        body = {"allOrNone": all_or_none, "records": records}
        return _expect(list, self._lean("PATCH", path, body), "collection")

    def composite_request(self, subrequests: list[dict], all_or_none: bool = False) -> dict:
        """The Composite resource: up to 25 subrequests in one API call → ``{"compositeResponse": [...]}``.

        Each subrequest is ``{"method", "url", "referenceId", "body"?}``; ``url`` is a path that starts
        with ``data_path()``.
        """
        body = {"allOrNone": all_or_none, "compositeRequest": subrequests}
        return _expect(dict, self._lean("POST", f"{self.data_path()}/composite", body), "composite")

    def data_path(self) -> str:
        """``/services/data/vXX.X``: the prefix of the REST paths of this connection's API version."""
        return f"/services/data/v{self.credentials.api_version}"


def _expect(kind: type, answer: Any, what: str) -> Any:
    """The org's answer when it has the shape the REST API documents; a 502 SourceError otherwise (a proxy's
    page, a truncated body, a list where an object belongs), so a malformed answer never becomes a 500."""
    if not isinstance(answer, kind):
        raise SourceError(
            502,
            "UNEXPECTED_RESPONSE",
            f"the org's {what} answer is a {type(answer).__name__}, not a {kind.__name__}",
        )
    return answer


def _query_result(answer: Any) -> dict:
    """A query batch: an object whose ``records`` is a list of objects."""
    result = _expect(dict, answer, "query")
    records = result.get("records")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise SourceError(502, "UNEXPECTED_RESPONSE", "the org's query answer has no list of records")
    return result


def _query_options(batch_size: int | None) -> dict[str, str]:
    return {"Sforce-Query-Options": f"batchSize={batch_size}"} if batch_size else {}


def _json(values: Any) -> str:
    return json.dumps(values, default=str)


class ErrorAnswer(Exception):
    """An error status from the lean transport, shaped as simple-salesforce's errors: status, content."""

    def __init__(self, status: int, content: Any):
        super().__init__(status)
        self.status = status
        self.content = content


# datetimes and dataclasses go to ``default=str`` as json.dumps(default=str) sent them
_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def decode_json(body: bytes) -> Any:
    """The org's JSON answer (orjson; the standard library for what orjson refuses and json accepts,
    such as lone surrogate escapes), so every answer decodes exactly as before."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def _content(body: bytes) -> Any:
    """An error answer's body: its JSON, else its text (as simple-salesforce keeps it)."""
    try:
        return decode_json(body)
    except ValueError:
        return body.decode("utf-8", "replace")


def _is_token_call(url: str) -> bool:
    return urlsplit(url).path.startswith("/services/oauth2/")


def _is_invalid_session(error: SimpleSalesforceError | ErrorAnswer) -> bool:
    return error.status == 401 and _first_error(error.content).get("errorCode") == "INVALID_SESSION_ID"


def _first_error(content: Any) -> dict:
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return content[0]
    if isinstance(content, dict):
        return content
    return {}


def _source_error(error: SimpleSalesforceError | ErrorAnswer) -> SourceError:
    """simple-salesforce's exception → SourceError with the first entry of Salesforce's error list."""
    content = error.content
    if error.status == 300:
        # Upsert by external ID matched several records: the body lists their URLs.
        return SourceError(
            300, "MULTIPLE_CHOICES", "More than one record matches the external ID", body=content
        )
    first = _first_error(content)
    code = first.get("errorCode") or first.get("error") or f"HTTP_{error.status}"
    message = (
        first.get("message")
        or first.get("error_description")
        or (content if isinstance(content, str) else "")
    )
    return SourceError(error.status, code, message, first.get("fields") or [], content)


def _transport_error(error: requests.RequestException) -> SourceError:
    if isinstance(error, requests.Timeout):
        return SourceTimeout(504, "TIMEOUT", f"the org did not answer in time: {error}")
    return SourceError(503, "UNREACHABLE", f"cannot reach the org: {error}")


__all__ = [
    "Credentials",
    "InvalidAccessToken",
    "SourceConfigError",
    "SourceConnection",
    "SourceError",
    "SourceTimeout",
    "credentials_from_env",
]
