"""The request log: one JSON line per request on stdout, no colours, one ``write`` per line.

A line holds the fields of ``RequestRecord.log_fields()``: time, request id, principal, method, path,
entity set, status, rows, each SOQL sent, source API calls spent, cache hits, coalesced reads, duration in
ms, the org's API usage and limit after the request, the governor's refusal and a source failure's cause
(host, status, Salesforce error) — the cause appears here and only here, never in the response body.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any, TextIO

from gateway.operation.context import RequestRecord


class RequestLog:
    """Writes request-log lines to a text stream (default: the process's stdout at the time of writing)."""

    def __init__(self, stream: TextIO | None = None):
        self._stream = stream
        self._lock = threading.Lock()

    def write(self, record: RequestRecord) -> None:
        self.write_fields(record.log_fields())

    def write_fields(self, fields: dict[str, Any]) -> None:
        line = json.dumps(fields, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
        stream = self._stream or sys.stdout
        with self._lock:
            stream.write(line)
            stream.flush()
