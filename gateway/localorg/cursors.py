"""Query locators: the server-side cursors behind ``nextRecordsUrl``.

As Salesforce: a user holds at most 10 open cursors (opening an 11th releases the oldest), a cursor not
used for 15 minutes expires, and a cursor closes when its last batch has been fetched. A locator that is
released, expired, closed, unknown or asked for an offset other than where its cursor stands gives
400 INVALID_QUERY_LOCATOR. Locator ids look like Salesforce's: an 18-character Id with key prefix
``01g``, followed in URLs by ``-<offset>`` (records already delivered).
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import ids
from .errors import SalesforceError

LOCATOR_KEY_PREFIX = "01g"
MAX_OPEN_PER_USER = 10
IDLE_SECONDS = 15 * 60


def invalid_query_locator() -> SalesforceError:
    return SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")


@dataclass
class Cursor:
    """An open query result: the engine's result, how many records were delivered, and for whom."""

    locator_id: str
    user: str
    result: Any  # engine.QueryResult: total_size, next_batch(n), done
    resource: str  # "query" or "queryAll": the resource its nextRecordsUrl names
    position: int
    last_used: float
    batch_size: int  # of the query that opened it: used when a fetch asks for none
    max_batch_size: int  # Salesforce's cap for this query (200 with two long text fields)
    lock: threading.Lock = field(default_factory=threading.Lock)


class CursorRegistry:
    """All open cursors of the org, in opening order. Thread-safe."""

    def __init__(
        self,
        clock: Callable[[], float],
        max_open_per_user: int = MAX_OPEN_PER_USER,
        idle_seconds: float = IDLE_SECONDS,
    ):
        self._clock = clock
        self.max_open_per_user = max_open_per_user
        self.idle_seconds = idle_seconds
        self._cursors: OrderedDict[str, Cursor] = OrderedDict()
        self._sequence = itertools.count(1)
        self._lock = threading.Lock()

    def open(
        self, user: str, result: Any, resource: str, position: int, batch_size: int, max_batch_size: int
    ) -> Cursor:
        """Register a cursor for the rest of ``result``; releases the user's oldest cursor past the max."""
        with self._lock:
            self._drop_expired()
            owned = [c for c in self._cursors.values() if c.user == user]
            for oldest in owned[: max(0, len(owned) - self.max_open_per_user + 1)]:
                del self._cursors[oldest.locator_id]
            locator_id = ids.make_id(LOCATOR_KEY_PREFIX, next(self._sequence))
            cursor = Cursor(
                locator_id, user, result, resource, position, self._clock(), batch_size, max_batch_size
            )
            self._cursors[locator_id] = cursor
            return cursor

    def fetch(self, user: str, locator: str, batch_size: int | None) -> tuple[Cursor, list[dict]]:
        """The next batch of the cursor a ``<id>-<offset>`` locator names; closes it after its last batch.

        INVALID_QUERY_LOCATOR when the cursor is gone, belongs to someone else or stands elsewhere.
        """
        locator_id, _, offset_text = locator.partition("-")
        with self._lock:
            self._drop_expired()
            cursor = self._cursors.get(locator_id)
            if cursor is None or cursor.user != user:
                raise invalid_query_locator()
            cursor.last_used = self._clock()
        # Fetch outside the registry lock so other cursors stay usable; the cursor's own lock makes two
        # concurrent fetches of one locator deliver one batch, not the same one twice.
        with cursor.lock:
            if not offset_text.isdigit() or int(offset_text) != cursor.position:
                raise invalid_query_locator()
            records = cursor.result.next_batch(min(batch_size or cursor.batch_size, cursor.max_batch_size))
            cursor.position += len(records)
            if cursor.result.done:
                self.close(cursor)
        return cursor, records

    def close(self, cursor: Cursor) -> None:
        with self._lock:
            self._cursors.pop(cursor.locator_id, None)

    def open_count(self, user: str) -> int:
        with self._lock:
            self._drop_expired()
            return sum(1 for c in self._cursors.values() if c.user == user)

    def _drop_expired(self) -> None:
        now = self._clock()
        for locator_id in [k for k, c in self._cursors.items() if now - c.last_used > self.idle_seconds]:
            del self._cursors[locator_id]


def locator_path(cursor: Cursor, api_version: str) -> str:
    """The ``nextRecordsUrl`` of a cursor: a path naming its id and the offset of its next batch."""
    return f"/services/data/v{api_version}/{cursor.resource}/{cursor.locator_id}-{cursor.position}"
