"""The API governor's request checks: the org's API reserve and the per-principal rate limit.

- **Reserve** (``GATEWAY_API_RESERVE``): the org's daily API usage is read from the ``Sforce-Limit-Info``
  header of every answer. When the calls remaining fall to the reserve, data requests are refused (503,
  ``Retry-After``) so the org's own integrations keep working. While refused, the gateway asks the org's
  ``limits`` resource at most once a minute whether calls became free again (the daily allocation is a
  rolling 24-hour window), so a refused gateway costs at most one call a minute.
- **Rate limit** (``GATEWAY_RATE_LIMIT``): a moving window per principal, kept by the ``limits`` library in
  memory or, with ``GATEWAY_REDIS_URL``, in Redis shared by every instance; refused with 429 and
  ``Retry-After``. While Redis is unreachable requests are served unlimited (logged), not failed.

Both raise ``GovernorRefusal``; a face turns it into its own error format.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from gateway.operation.settings import ApiReserve

RESERVE_RECHECK_SECONDS = 60
log = logging.getLogger(__name__)


class GovernorRefusal(Exception):
    """A request the governor will not let through: HTTP status, error code, message, Retry-After."""

    def __init__(self, status: int, code: str, message: str, retry_after: int, reason: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.reason = reason  # the metrics label: "api_reserve" or "rate_limit"


class ApiUsage:
    """The org's daily API usage as last reported; thread-safe.

    Answers to concurrent calls may be handled out of order, so a lower count under the same limit is
    ignored — except from the ``limits`` resource, which is asked on purpose and replaces what was known
    (the rolling window may really have freed calls)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._usage: tuple[int, int] | None = None

    def get(self) -> tuple[int, int] | None:
        return self._usage

    def observe(self, usage: tuple[int, int] | None) -> None:
        if usage is None:
            return
        with self._lock:
            known = self._usage
            if known is None or known[1] != usage[1] or usage[0] > known[0]:
                self._usage = usage

    def replace(self, usage: tuple[int, int]) -> None:
        with self._lock:
            self._usage = usage


def usage_from_limits(body: dict) -> tuple[int, int] | None:
    """(used, max) from the ``limits`` resource's ``DailyApiRequests``."""
    daily = body.get("DailyApiRequests") if isinstance(body, dict) else None
    try:
        return int(daily["Max"]) - int(daily["Remaining"]), int(daily["Max"])
    except (TypeError, KeyError, ValueError):
        return None


class ReserveGuard:
    """Refuses data requests while the org's remaining daily API calls are at or below the reserve."""

    def __init__(
        self,
        reserve: ApiReserve,
        usage: ApiUsage,
        fetch_limits: Callable[[], dict],
        clock: Callable[[], float] = time.monotonic,
    ):
        self.reserve = reserve
        self.usage = usage
        self._fetch_limits = fetch_limits
        self._clock = clock
        self._lock = threading.Lock()
        self._last_recheck: float | None = None

    def in_reserve(self) -> bool:
        usage = self.usage.get()
        if usage is None:
            return False
        used, maximum = usage
        reserve = self.reserve.calls_for(maximum)
        return reserve > 0 and maximum - used <= reserve  # a reserve of 0: the org's own limit decides

    def check(self) -> None:
        """Raise ``GovernorRefusal`` (503) when the org is down to its reserve."""
        if not self.in_reserve():
            return
        self._recheck()
        if not self.in_reserve():
            return
        used, maximum = self.usage.get() or (0, 0)
        raise GovernorRefusal(
            503,
            "ApiReserveReached",
            f"The source org has {maximum - used} of its {maximum} daily API calls left, which is the "
            f"reserve kept for its other integrations (GATEWAY_API_RESERVE={self.reserve}); try again later.",
            RESERVE_RECHECK_SECONDS,
            "api_reserve",
        )

    def _recheck(self) -> None:
        """Ask the org's ``limits`` resource again, at most once per ``RESERVE_RECHECK_SECONDS``."""
        with self._lock:
            now = self._clock()
            if self._last_recheck is not None and now - self._last_recheck < RESERVE_RECHECK_SECONDS:
                return
            self._last_recheck = now
        try:
            usage = usage_from_limits(self._fetch_limits())
        except Exception:  # the org is unreachable or refused: stay refused, try again later
            return
        if usage is not None:
            self.usage.replace(usage)


class RateLimiter:
    """``GATEWAY_RATE_LIMIT`` per principal (a moving window), in memory or in Redis."""

    def __init__(self, limit: str, storage_uri: str = "memory://", namespace: str = "gateway"):
        self.text = limit
        self.limits = parse_many(limit)
        self.storage = storage_from_string(storage_uri)
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.namespace = namespace

    def hit(self, principal: str) -> None:
        """Count one request of ``principal``; raise ``GovernorRefusal`` (429) when over the limit."""
        for limit in self.limits:
            try:
                allowed = self.strategy.hit(limit, self.namespace, principal)
            except Exception as error:  # the shared store is unreachable: serve, and say so
                log.warning("rate limit not applied: its store is unreachable (%s)", error)
                return
            if not allowed:
                reset_at, _ = self.strategy.get_window_stats(limit, self.namespace, principal)
                retry_after = max(1, math.ceil(reset_at - time.time()))
                raise GovernorRefusal(
                    429,
                    "RateLimitExceeded",
                    f"Too many requests: at most {limit} per user (GATEWAY_RATE_LIMIT={self.text}); "
                    f"try again in {retry_after} s.",
                    retry_after,
                    "rate_limit",
                )
