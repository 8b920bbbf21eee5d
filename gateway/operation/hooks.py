"""The operation layer put around a gateway app: one call, ``install(app, gateway, settings, env)``.

It adds, at app level (so every face — V4, V2, any other blueprint — passes through it):

- before each request: open the request record (``X-Request-Id`` honoured or generated); for a face's
  request identify the principal (``identity.request.identify`` keeps it in the WSGI environ, so the face
  does not check the credentials again), apply the rate limit and, for data requests, the API reserve
  (refusals are ``ODataError`` s, which every face renders), and give a ``$batch`` its call budget;
- after it: ``X-Request-Id`` and ``Age`` headers; at teardown the JSON log line and the metrics;
- the endpoints ``/health``, ``/ready`` and ``/metrics`` (``endpoints.py``);
- response compression (flask-compress: brotli or gzip, as the client accepts);
- the public URL middleware (``GATEWAY_BASE_URL``, ``FORWARDED_ALLOW_IPS``).

A request dispatched inside another (a ``$batch`` part) adds to the outer request's record and budget and
is neither admitted again nor logged on its own. Per-request state lives in the WSGI environ, not in
``g``: an in-process request of the same app shares the outer request's app context (and so its ``g``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import unquote

from flask import Flask, Response, current_app, request
from flask_compress import Compress

from gateway.identity.request import identify
from gateway.odata.http.errors import ODataError
from gateway.operation import context
from gateway.operation.endpoints import create_blueprint
from gateway.operation.governed_source import GovernedSource
from gateway.operation.governor import GovernorRefusal, RateLimiter, ReserveGuard
from gateway.operation.metrics import Metrics
from gateway.operation.names import ENDPOINTS, OPERATION_KEY
from gateway.operation.public_url import PublicUrl
from gateway.operation.readiness import Readiness
from gateway.operation.request_log import RequestLog
from gateway.operation.result_cache import MemoryResultCache, RedisResultCache
from gateway.operation.settings import OperationSettings
from gateway.source.protocol import Source

_RECORD_KEY = "gateway.operation.record"
_OWNER_KEY = "gateway.operation.owner"
COMPRESSED_TYPES = [
    "application/json",
    "application/xml",
    "application/atom+xml",
    "multipart/mixed",
    "text/plain",
    "text/html",
]
# Paths under a face's prefix that read no data: refused neither at the reserve nor given a budget.
_NO_DATA = frozenset({"", "$metadata"})


@dataclass
class Operation:
    settings: OperationSettings
    metrics: Metrics
    request_log: RequestLog
    reserve: ReserveGuard
    limiter: RateLimiter | None
    readiness: Readiness


def governed_source(source: Source, settings: OperationSettings) -> GovernedSource:
    """The source wrapped with the governor's coalescing, cache (when ``GATEWAY_CACHE_TTL`` > 0) and
    accounting."""
    if isinstance(source, GovernedSource):
        return source
    cache = None
    if settings.cache_ttl > 0:
        cache = (
            RedisResultCache(settings.redis_url, settings.cache_ttl)
            if settings.redis_url
            else MemoryResultCache(settings.cache_ttl, settings.cache_max_bytes)
        )
    return GovernedSource(source, cache=cache)


def install(
    app: Flask,
    source: GovernedSource,
    settings: OperationSettings,
    env: Mapping[str, str],
    *,
    log_stream: TextIO | None = None,
) -> Operation:
    limiter = None
    if settings.rate_limit:
        limiter = RateLimiter(settings.rate_limit, settings.redis_url or "memory://")
    operation = Operation(
        settings=settings,
        metrics=Metrics(usage=source.usage.get),
        request_log=RequestLog(log_stream),
        reserve=ReserveGuard(settings.api_reserve, source.usage, source.inner.limits),
        limiter=limiter,
        readiness=Readiness(source.inner.limits),
    )
    app.extensions[OPERATION_KEY] = operation
    app.before_request(_begin)
    app.after_request(_after)
    app.teardown_request(_teardown)
    app.register_blueprint(create_blueprint())
    app.config.update(
        COMPRESS_MIMETYPES=COMPRESSED_TYPES,
        COMPRESS_ALGORITHM=["br", "gzip", "deflate"],
        # The fastest levels: a 200-row page (55 kB) costs gzip 6 1.4 ms, brotli 4 0.8 ms, as much as all the
        # rest of the gateway's work on it; gzip 1 takes 0.5 ms and brotli 1 0.4 ms for 10-15 % more bytes.
        COMPRESS_BR_LEVEL=1,
        COMPRESS_LEVEL=1,
        COMPRESS_MIN_SIZE=500,
    )
    Compress(app)
    app.wsgi_app = PublicUrl.from_env(app.wsgi_app, env)  # type: ignore[method-assign]
    return operation


def current_operation() -> Operation:
    return current_app.extensions[OPERATION_KEY]


def _face_path() -> str | None:
    """The path below the face's prefix (``Account(…)/Contacts``), or None outside a face."""
    if request.blueprint in (None, ENDPOINTS):
        return None
    prefix = current_app.blueprints[request.blueprint.split(".")[0]].url_prefix or ""
    return unquote(request.path[len(prefix) :].lstrip("/"))


def _entity_set(path: str) -> str | None:
    """The entity set a face path names (or ``$batch``/``$metadata``); None when it names none known."""
    first = path.split("/", 1)[0].split("(", 1)[0]
    if first.startswith("$"):
        return first if first in ("$batch", "$metadata") else None
    gateway = current_app.extensions.get("odata_gateway")
    try:
        return first if gateway is not None and first in gateway.model().entity_sets else None
    except Exception:  # the model cannot be built right now: the request itself will say why
        return None


def _begin() -> None:
    record, owner = context.begin(
        request.method, request.full_path.rstrip("?"), request.headers.get(context.REQUEST_ID_HEADER)
    )
    request.environ[_RECORD_KEY], request.environ[_OWNER_KEY] = record, owner
    path = _face_path()
    if path is None or not owner:
        return
    record.entity_set = _entity_set(path)
    gateway = current_app.extensions["odata_gateway"]
    # per-user identity: a user's source-org token or mapped user is the principal (keys and limits per user)
    principal, _ = identify(
        gateway, request.environ, request.headers, request.remote_addr, data=path not in _NO_DATA
    )
    record.principal = principal.name
    operation = current_operation()
    try:
        if operation.limiter is not None:
            operation.limiter.hit(principal.name)
        if path not in _NO_DATA:
            operation.reserve.check()
    except GovernorRefusal as refusal:
        record.refused = refusal.reason
        raise ODataError(
            refusal.status, refusal.code, refusal.message, headers={"Retry-After": str(refusal.retry_after)}
        ) from None
    if path.split("?")[0] == "$batch":
        record.call_budget = operation.settings.batch_max_calls


def _after(response: Response) -> Response:
    record = request.environ.get(_RECORD_KEY)
    if record is None or not request.environ.get(_OWNER_KEY):
        return response
    response.headers[context.REQUEST_ID_HEADER] = record.request_id
    age = record.age_seconds()
    if age is not None and response.status_code < 300:
        response.headers["Age"] = str(age)
    record.status = response.status_code
    return response


def _teardown(_error: BaseException | None) -> None:
    record = request.environ.pop(_RECORD_KEY, None)
    if record is None or not request.environ.pop(_OWNER_KEY, False):
        return
    try:
        record.finish(record.status or 500)
        operation = current_operation()
        if record.api_usage is None:  # no call in this request: the usage as last known
            record.api_usage = operation.reserve.usage.get()
        operation.request_log.write(record)
        operation.metrics.observe(record)
    finally:
        context.end()
