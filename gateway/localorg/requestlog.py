"""The request log: one JSON line per request the local org answers, appended to a file.

Keys: ``time`` (UTC, ISO 8601 with milliseconds), ``method``, ``path``, ``soql`` (the ``q`` of a query,
else null), ``status``, ``rows`` (records returned, else null), ``counted`` (whether the request counted
against the API limit) and ``api_usage`` (the count after it).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from pathlib import Path


class RequestLog:
    """Appends one JSON line per entry to ``path``; a None path logs nothing. Thread-safe."""

    def __init__(self, path: str | Path | None, clock: Callable[[], float]):
        self.path = Path(path) if path else None
        self._clock = clock
        self._lock = threading.Lock()

    def write(
        self,
        *,
        method: str,
        path: str,
        soql: str | None,
        status: int,
        rows: int | None,
        counted: bool,
        api_usage: int | None,
    ) -> None:
        if self.path is None:
            return
        entry = {
            "time": _iso_time(self._clock()),
            "method": method,
            "path": path,
            "soql": soql,
            "status": status,
            "rows": rows,
            "counted": counted,
            "api_usage": api_usage,
        }
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as log_file:
            log_file.write(line)


def _iso_time(seconds: float) -> str:
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
