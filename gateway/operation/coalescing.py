"""Coalescing of identical concurrent reads: while one read is in flight, the same read asked again (same
key: principal, SOQL, batch size, cache generations) waits for it and shares its answer instead of spending
another API call. Ten identical list-view loads at once cost one call.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Hashable
from typing import Any


class _Flight:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class Coalescer:
    """Runs one call per key at a time; callers that arrive meanwhile get (a copy of) its outcome."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[Hashable, _Flight] = {}

    def run(self, key: Hashable, call: Callable[[], Any]) -> tuple[Any, bool]:
        """``(result, shared)``: ``shared`` is True when the result came from a call another caller made.
        An error of the shared call is raised to every caller that waited for it."""
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if leader:
                flight = self._flights[key] = _Flight()
        assert flight is not None
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return copy.deepcopy(flight.result), True
        try:
            flight.result = call()
            return flight.result, False
        except BaseException as error:
            flight.error = error
            raise
        finally:
            with self._lock:
                del self._flights[key]
            flight.done.set()
