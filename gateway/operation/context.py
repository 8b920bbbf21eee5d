"""The record of the request in flight: what the request log and the metrics report about it.

A face opens one record per HTTP request (``begin``/``finish``); the source seam adds to it — each SOQL
sent, each API call spent, the org's usage after it, cache hits, the cause of a source failure — without
knowing which face asked. The record lives in a context variable, so threads never see each other's
records, and a request dispatched inside another (a ``$batch`` part) adds to the outer record: a batch is
one line in the log and one budget of source calls.
"""

from __future__ import annotations

import contextvars
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from time import perf_counter
from time import time as wall_clock
from typing import Any

REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")


class CallBudgetExceeded(Exception):
    """The request would spend more source API calls than its budget allows (``GATEWAY_BATCH_MAX_CALLS``)."""

    def __init__(self, budget: int, needed: int | None = None):
        spend = f"needs at least {needed}" if needed is not None else "would spend more than"
        super().__init__(
            f"This $batch {spend} source API calls; GATEWAY_BATCH_MAX_CALLS allows {budget} for one $batch. "
            "Split it into smaller batches."
        )
        self.budget = budget
        self.needed = needed


@dataclass
class RequestRecord:
    """One HTTP request as the operator sees it; ``log_fields()`` is its request-log line."""

    request_id: str
    method: str
    path: str
    time: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds"))
    started: float = field(default_factory=perf_counter)
    principal: str | None = None
    entity_set: str | None = None
    status: int | None = None
    rows: int | None = None
    soql: list[str] = field(default_factory=list)
    api_calls: int = 0
    api_usage: tuple[int, int] | None = None
    cache_hits: int = 0
    cache_misses: int = 0
    coalesced: int = 0
    oldest_cached_at: float | None = None  # wall-clock seconds when the oldest cached answer used was stored
    source_error: dict[str, Any] | None = None
    refused: str | None = None  # the governor's reason, when it refused the request
    call_budget: int | None = None
    duration_ms: float | None = None

    def note_soql(self, soql: str) -> None:
        self.soql.append(soql)

    def before_call(self) -> None:
        """Raise ``CallBudgetExceeded`` when one more source call would pass the request's budget."""
        if self.call_budget is not None and self.api_calls >= self.call_budget:
            raise CallBudgetExceeded(self.call_budget)

    def note_api_call(self, usage: tuple[int, int] | None) -> None:
        self.api_calls += 1
        if usage is not None:
            self.api_usage = usage

    def note_cached(self, stored_at: float) -> None:
        self.cache_hits += 1
        if self.oldest_cached_at is None or stored_at < self.oldest_cached_at:
            self.oldest_cached_at = stored_at

    def age_seconds(self, now: float | None = None) -> int | None:
        """The ``Age`` of the answer: seconds since the oldest cached source answer in it was fetched."""
        if self.oldest_cached_at is None:
            return None
        return max(0, int((now if now is not None else wall_clock()) - self.oldest_cached_at))

    def note_source_error(self, host: str | None, status: int | None, code: str, message: str) -> None:
        self.source_error = {"host": host, "status": status, "error_code": code, "message": message}

    def finish(self, status: int) -> None:
        self.status = status
        self.duration_ms = round((perf_counter() - self.started) * 1000, 1)

    def log_fields(self) -> dict[str, Any]:
        """The request-log line: every field always present (null when unknown), in a fixed order."""
        used, maximum = self.api_usage if self.api_usage else (None, None)
        return {
            "time": self.time,
            "request_id": self.request_id,
            "principal": self.principal,
            "method": self.method,
            "path": self.path,
            "entity_set": self.entity_set,
            "status": self.status,
            "rows": self.rows,
            "soql": list(self.soql),
            "api_calls": self.api_calls,
            "cache_hits": self.cache_hits,
            "cache_misses": self.cache_misses,
            "coalesced": self.coalesced,
            "duration_ms": self.duration_ms,
            "api_usage": used,
            "api_limit": maximum,
            "refused": self.refused,
            "source_error": self.source_error,
        }


_current: contextvars.ContextVar[RequestRecord | None] = contextvars.ContextVar(
    "request_record", default=None
)


def current() -> RequestRecord | None:
    """The record of the request in flight in this thread, or None outside a request."""
    return _current.get()


def request_id_from(header_value: str | None) -> str:
    """The client's ``X-Request-Id`` when it is a sane token, else a new random one."""
    if header_value and _REQUEST_ID.match(header_value):
        return header_value
    return secrets.token_hex(16)


def begin(method: str, path: str, request_id_header: str | None) -> tuple[RequestRecord, bool]:
    """Open the record of a request; ``(record, True)`` for a new outer request, ``(outer, False)`` for a
    request dispatched inside one (it adds to the outer record and must not be logged on its own).

    A finished record left behind (a thread reused after a request whose ``end`` never ran) is not an
    outer request: the new request gets its own record."""
    outer = _current.get()
    if outer is not None and outer.status is None:
        return outer, False
    record = RequestRecord(request_id_from(request_id_header), method, path)
    _current.set(record)
    return record, True


def check_call_budget(minimum_calls: int) -> None:
    """Refuse a request before any call when it needs more calls than its budget (a $batch's requests
    outside change sets cost at least one call each, each change set one)."""
    record = _current.get()
    if record is not None and record.call_budget is not None and minimum_calls > record.call_budget:
        raise CallBudgetExceeded(record.call_budget, minimum_calls)


def note_rows(count: int) -> None:
    """Rows served to the client by the request in flight (a face or the read core calls it per page)."""
    record = _current.get()
    if record is not None:
        record.rows = (record.rows or 0) + count


def end() -> None:
    """Close the outer request's record (after its log line was written)."""
    _current.set(None)
