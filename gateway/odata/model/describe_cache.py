"""The source org's describe results, cached, so ``$metadata`` and query planning cost no API call when warm.

A TTL cache (cachetools) shared by all request threads. Concurrent misses for the same key wait for the
one fetch in flight instead of each calling the source (``condition=``, cachetools 6+). A fetch that
fails is not cached: the error goes to the caller (and to the callers that waited, each of which then
tries once more, one at a time). sObject names are case-insensitive, so are the cache keys.

The cached dicts are shared between callers: treat them as read-only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from cachetools import TTLCache, cached

DEFAULT_TTL_SECONDS = 15 * 60
DEFAULT_MAXSIZE = 1024


class DescribeCache:
    """``describe(name)`` and ``describe_global()`` of the source, cached for ``ttl`` seconds."""

    def __init__(
        self,
        fetch_describe: Callable[[str], dict],
        fetch_global: Callable[[], dict],
        ttl: float = DEFAULT_TTL_SECONDS,
        maxsize: int = DEFAULT_MAXSIZE,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cache: TTLCache = TTLCache(maxsize=maxsize, ttl=ttl, timer=timer)
        # One lock and condition for both functions: they share the cache (keys cannot collide).
        condition = threading.Condition()
        self._describe = cached(
            self._cache, key=lambda name: ("describe", name.lower()), condition=condition
        )(fetch_describe)
        self._describe_global = cached(self._cache, key=lambda: ("describe_global",), condition=condition)(
            fetch_global
        )
        self._condition = condition

    def describe(self, name: str) -> dict:
        return self._describe(name)

    def describe_global(self) -> dict:
        return self._describe_global()

    def clear(self) -> None:
        """Forget everything: the next calls fetch again (e.g. after the source's schema changed)."""
        with self._condition:
            self._cache.clear()
