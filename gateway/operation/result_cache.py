"""The optional result cache (``GATEWAY_CACHE_TTL``): answers of identical reads kept for a few seconds.

Entries are JSON bytes, so the in-process cache is bounded by the bytes it holds (``GATEWAY_CACHE_MAX_MB``,
least recently used evicted first) and the Redis cache (``GATEWAY_REDIS_URL``) is shared by every instance.

Invalidation by generations: every object has a generation number that each write through the gateway to
that object increments; a read's key includes the generations of what it reads, so after a write its old
entries are never found again (and expire by TTL). A query that follows relationships (subqueries, dotted
fields) reads more than its FROM object, so it also depends on the generation ``*`` that every write
increments; a write whose objects are unknown increments ``**``, on which every read depends.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable
from typing import Protocol

from cachetools import LRUCache

log = logging.getLogger(__name__)

ANY_OBJECT = "*"  # increments with every write; relationship queries depend on it
EVERYTHING = "**"  # increments with a write of unknown objects; every read depends on it

_TOKEN = re.compile(r"'(?:[^'\\]|\\.)*'|\(|\)|[A-Za-z_][A-Za-z0-9_.]*|.", re.S)


def read_dependencies(soql: str) -> tuple[str, ...]:
    """The generation tags a query's answer depends on: its FROM object (and ``*`` for relationships);
    a SOSL search depends on ``*`` (any write)."""
    depth = 0
    relational = False
    expect_object = False
    sobject = None
    for match in _TOKEN.finditer(soql):
        token = match.group(0)
        if token == "(":
            depth += 1
            relational = True if _after_select_list(soql, match.start()) else relational
        elif token == ")":
            depth -= 1
        elif token.startswith("'") or token.isspace():
            continue
        elif expect_object:
            sobject = token
            expect_object = False
        elif depth == 0 and token.upper() == "FROM" and sobject is None:
            expect_object = True
        elif len(token) > 1 and "." in token:  # an identifier path such as Account.Name
            relational = True
    if sobject is None:  # a SOSL search (RETURNING several objects) or a statement we do not know
        return (EVERYTHING, ANY_OBJECT)
    tags = [EVERYTHING, sobject.lower()]
    if relational:
        tags.append(ANY_OBJECT)
    return tuple(tags)


def _after_select_list(soql: str, position: int) -> bool:
    """Whether ``(`` at ``position`` opens a subquery: ``(SELECT``."""
    return soql[position + 1 : position + 8].lstrip().upper().startswith("SELECT")


def write_dependencies(objects: Iterable[str] | None) -> tuple[str, ...]:
    """The tags a write increments: each object and ``*``; ``**`` when the objects are unknown."""
    if objects is None:
        return (EVERYTHING,)
    return (ANY_OBJECT, *sorted({name.lower() for name in objects}))


class ResultCache(Protocol):
    def get(self, key: str) -> tuple[bytes, float] | None: ...
    def put(self, key: str, value: bytes) -> None: ...
    def generations(self, tags: tuple[str, ...]) -> tuple[int, ...]: ...
    def invalidate(self, tags: tuple[str, ...]) -> None: ...


class MemoryResultCache:
    """One instance's cache: LRU bounded by bytes, entries older than the TTL are misses."""

    def __init__(self, ttl: float, max_bytes: int, clock=time.time):
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: LRUCache = LRUCache(maxsize=max_bytes, getsizeof=lambda entry: len(entry[0]) + 200)
        self._generations: dict[str, int] = {}

    def get(self, key: str) -> tuple[bytes, float] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and self._clock() - entry[1] >= self.ttl:
                del self._entries[key]
                return None
            return entry

    def put(self, key: str, value: bytes) -> None:
        with self._lock:
            try:
                self._entries[key] = (value, self._clock())
            except ValueError:  # larger than the whole cache
                pass

    def generations(self, tags: tuple[str, ...]) -> tuple[int, ...]:
        with self._lock:
            return tuple(self._generations.get(tag, 0) for tag in tags)

    def invalidate(self, tags: tuple[str, ...]) -> None:
        with self._lock:
            for tag in tags:
                self._generations[tag] = self._generations.get(tag, 0) + 1

    def __len__(self) -> int:
        return len(self._entries)


class RedisResultCache:
    """The cache shared by every instance through Redis (entries expire by Redis's own TTL).

    Redis being unreachable makes reads misses and is logged; it never fails a request."""

    PREFIX = "gateway:cache:"

    def __init__(self, url: str, ttl: float, clock=time.time):
        import redis

        self.ttl = ttl
        self._clock = clock
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._errors = (redis.RedisError, OSError)

    def get(self, key: str) -> tuple[bytes, float] | None:
        try:
            raw = self._redis.get(self.PREFIX + "entry:" + key)
        except self._errors as error:
            log.warning("result cache: Redis unreachable (%s); answering without the cache", error)
            return None
        if raw is None:
            return None
        stamp, _, value = raw.partition(b"\n")
        return value, float(stamp)

    def put(self, key: str, value: bytes) -> None:
        stamp = repr(self._clock()).encode()
        try:
            entry = stamp + b"\n" + value
            self._redis.set(self.PREFIX + "entry:" + key, entry, px=max(1, int(self.ttl * 1000)))
        except self._errors as error:
            log.warning("result cache: Redis unreachable (%s); answer not cached", error)

    def generations(self, tags: tuple[str, ...]) -> tuple[int, ...]:
        try:
            values = self._redis.mget([self.PREFIX + "generation:" + tag for tag in tags])
        except self._errors as error:
            log.warning("result cache: Redis unreachable (%s)", error)
            return (-1,) * len(tags)  # a key no one else uses; put() will fail the same way
        return tuple(int(value or 0) for value in values)

    def invalidate(self, tags: tuple[str, ...]) -> None:
        try:
            with self._redis.pipeline() as pipe:
                for tag in tags:
                    pipe.incr(self.PREFIX + "generation:" + tag)
                pipe.execute()
        except self._errors as error:
            log.error("result cache: Redis unreachable (%s); a write could not invalidate %s", error, tags)
