"""Readiness (``GET /ready``): the publication is loaded and the source org answers.

The source is asked (one cheap API call: the ``limits`` resource) at most once per
``CHECK_INTERVAL_SECONDS``; probes in between get the last answer, so however often an orchestrator
probes, readiness costs at most two API calls a minute.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

CHECK_INTERVAL_SECONDS = 30.0


@dataclass(frozen=True)
class ReadyState:
    ready: bool
    detail: str
    checked_at: float  # wall-clock seconds


class Readiness:
    def __init__(
        self,
        check_source: Callable[[], object],
        *,
        interval: float = CHECK_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.time,
    ):
        self._check_source = check_source
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._state: ReadyState | None = None

    def state(self) -> ReadyState:
        """The last known state, refreshed when older than the interval (one check at a time)."""
        with self._lock:
            state = self._state
            if state is not None and self._clock() - state.checked_at < self._interval:
                return state
            try:
                self._check_source()
                state = ReadyState(True, "the source org answers", self._clock())
            except Exception as error:  # any failure to reach or use the org means not ready
                state = ReadyState(
                    False, f"the source org does not answer: {type(error).__name__}", self._clock()
                )
            self._state = state
            return state
