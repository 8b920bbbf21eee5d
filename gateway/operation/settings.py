"""The operator's settings of the governor, the cache, Redis and the metrics scraper, from the environment.

- ``GATEWAY_API_RESERVE`` (default ``5%``): daily API calls kept for the org's other integrations, a
  share (``10%``) or a number of calls.
- ``GATEWAY_RATE_LIMIT`` (default off): requests per principal in the ``limits`` notation, ``600/minute``
  or ``10/second;1000/hour``.
- ``GATEWAY_CACHE_TTL`` (default ``0``, off): seconds an identical read is answered from the result cache.
- ``GATEWAY_CACHE_MAX_MB`` (default ``64``): memory the in-process result cache may hold.
- ``GATEWAY_BATCH_MAX_CALLS`` (default ``100``): source API calls one ``$batch`` may spend.
- ``GATEWAY_REDIS_URL`` (default none): ``redis://host:6379/0``, the rate limit and the result cache
  shared by every instance.
- ``GATEWAY_METRICS_TOKEN`` (default none): a bearer token a Prometheus scraper may use for ``/metrics``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from limits import parse_many

DEFAULT_API_RESERVE = "5%"
DEFAULT_CACHE_MAX_MB = 64
DEFAULT_BATCH_MAX_CALLS = 100


class OperationConfigError(ValueError):
    """A governor, cache or metrics variable has a value that cannot be used."""


@dataclass(frozen=True)
class ApiReserve:
    """Daily API calls kept for the org's other integrations: a share of the limit, or a number."""

    share: float | None = None  # 0.1 for 10%
    calls: int | None = None

    @classmethod
    def parse(cls, text: str) -> ApiReserve:
        value = text.strip()
        try:
            if value.endswith("%"):
                share = float(value[:-1]) / 100
                if not 0 <= share < 1:
                    raise ValueError
                return cls(share=share)
            calls = int(value)
            if calls < 0:
                raise ValueError
            return cls(calls=calls)
        except ValueError:
            raise OperationConfigError(
                "GATEWAY_API_RESERVE must be a share such as 10% (0 to 99%) or a number of calls, "
                f"not {text!r}"
            ) from None

    def calls_for(self, limit: int) -> int:
        """The reserve in calls for an org whose daily limit is ``limit``."""
        if self.share is not None:
            return int(limit * self.share)
        return self.calls or 0

    def __str__(self) -> str:
        return f"{self.share * 100:g}%" if self.share is not None else str(self.calls)


@dataclass(frozen=True)
class OperationSettings:
    api_reserve: ApiReserve = ApiReserve.parse(DEFAULT_API_RESERVE)
    rate_limit: str | None = None
    cache_ttl: float = 0.0
    cache_max_bytes: int = DEFAULT_CACHE_MAX_MB * 1024 * 1024
    batch_max_calls: int = DEFAULT_BATCH_MAX_CALLS
    redis_url: str | None = None
    metrics_token: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OperationSettings:
        def text(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def number(name: str, default: float, kind: type = int) -> float:
            value = text(name)
            if value is None:
                return default
            try:
                parsed = kind(value)
            except ValueError:
                parsed = -1
            if parsed < 0:
                raise OperationConfigError(f"{name} must be a number ≥ 0, not {value!r}")
            return parsed

        rate_limit = text("GATEWAY_RATE_LIMIT")
        if rate_limit is not None and rate_limit.lower() != "off":
            try:
                parse_many(rate_limit)
            except ValueError:
                raise OperationConfigError(
                    f"GATEWAY_RATE_LIMIT must look like 600/minute or 10/second;1000/hour, not {rate_limit!r}"
                ) from None
        else:
            rate_limit = None
        redis_url = text("GATEWAY_REDIS_URL")
        if redis_url is not None and not redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise OperationConfigError(
                f"GATEWAY_REDIS_URL must be a redis://, rediss:// or unix:// URL, not {redis_url!r}"
            )
        batch_max_calls = int(number("GATEWAY_BATCH_MAX_CALLS", DEFAULT_BATCH_MAX_CALLS))
        if batch_max_calls < 1:
            raise OperationConfigError("GATEWAY_BATCH_MAX_CALLS must be at least 1")
        return cls(
            api_reserve=ApiReserve.parse(text("GATEWAY_API_RESERVE") or DEFAULT_API_RESERVE),
            rate_limit=rate_limit,
            cache_ttl=float(number("GATEWAY_CACHE_TTL", 0.0, float)),
            cache_max_bytes=int(number("GATEWAY_CACHE_MAX_MB", DEFAULT_CACHE_MAX_MB, float) * 1024 * 1024),
            batch_max_calls=batch_max_calls,
            redis_url=redis_url,
            metrics_token=text("GATEWAY_METRICS_TOKEN"),
        )
