"""The source connection as every face sees it: the same methods, with the governor's savings and the
request record's accounting added at the one place all source calls pass.

- Every HTTP call to the org (OAuth token calls aside) is checked against the request's call budget
  (``$batch``), counted in the request record with the org's ``Sforce-Limit-Info`` usage after it, and a
  failure's cause (host, status, Salesforce error) is kept for the request log.
- ``query``/``query_all``/``search``: identical concurrent reads (same principal, SOQL or SOSL, batch
  size) are coalesced into one call; with a result cache, an identical read within the TTL costs no call.
  Keys hold the principal, so no user ever sees an answer fetched for another.
- Writes (``create``, ``update``, ``upsert``, ``delete``, ``composite*``) invalidate the cached reads of the
  objects they write, whether they succeed or fail (a failed collection may have written part of it).
Anything else is passed to the wrapped connection unchanged.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from gateway.operation import context
from gateway.operation.coalescing import Coalescer
from gateway.operation.context import CallBudgetExceeded
from gateway.operation.governor import ApiUsage
from gateway.operation.result_cache import ResultCache, read_dependencies, write_dependencies
from gateway.source.connection import parse_limit_info
from gateway.source.protocol import Source
from gateway.source.transport import TransportTimeout

_SOBJECT_IN_URL = re.compile(r"/sobjects/([A-Za-z0-9_]+)")


class GovernedSource:
    """Wraps a ``SourceConnection`` (see the module docstring); thread-safe."""

    def __init__(self, source: Source, *, cache: ResultCache | None = None, usage: ApiUsage | None = None):
        self.inner = source
        self.cache = cache
        self.usage = usage or ApiUsage()
        self.coalescer = Coalescer()
        observe = getattr(source, "add_call_observer", None)
        if observe is not None:  # a test double or a wrapper without one: reads still coalesce and cache
            observe(_Accounting(self.usage))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    # ----- reads ----------------------------------------------------------------------------------

    def query(self, soql: str, batch_size: int | None = None) -> dict:
        return self._read("query", soql, batch_size)

    def query_all(self, soql: str, batch_size: int | None = None) -> dict:
        return self._read("query_all", soql, batch_size)

    def search(self, sosl: str) -> dict:
        """A SOSL search: noted in the request record, coalesced and cached like a query."""
        return self._read("search", sosl, None)

    def _read(self, kind: str, soql: str, batch_size: int | None) -> dict:
        def call() -> dict:
            if kind == "search":
                return self.inner.search(soql)
            return getattr(self.inner, kind)(soql, batch_size)

        record = context.current()
        if record is None:  # start-up, background work: nothing to account or share
            return call()
        try:
            return self._shared_read(record, kind, soql, batch_size, call)
        except CallBudgetExceeded:
            raise  # not sent
        except Exception:
            record.note_soql(soql)  # sent, and failed: the log shows which
            raise

    def _shared_read(
        self, record: context.RequestRecord, kind: str, soql: str, batch_size: int | None, call: Any
    ) -> dict:
        generations = self.cache.generations(read_dependencies(soql)) if self.cache is not None else ()
        key = (record.principal or "", kind, soql, batch_size, generations)
        digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()
        if self.cache is not None:
            hit = self.cache.get(digest)
            if hit is not None:
                record.note_cached(hit[1])
                record.note_soql(soql)
                return json.loads(hit[0])
            record.cache_misses += 1
        result, shared = self.coalescer.run(key, call)
        record.note_soql(soql)
        if shared:
            record.coalesced += 1
        elif self.cache is not None and result.get("done", True):
            # A first batch with a nextRecordsUrl is not kept: its query locator expires at the org.
            self.cache.put(digest, json.dumps(result, separators=(",", ":")).encode())
        return result

    # ----- writes -----------------------------------------------------------------------------------

    def _invalidating(self, objects: Iterable[str] | None, call: Any) -> Any:
        try:
            return call()
        finally:
            if self.cache is not None:
                self.cache.invalidate(write_dependencies(objects))

    def create(self, name: str, values: dict) -> dict:
        return self._invalidating([name], lambda: self.inner.create(name, values))

    def update(self, name: str, record_id: str, values: dict) -> None:
        return self._invalidating([name], lambda: self.inner.update(name, record_id, values))

    def delete(self, name: str, record_id: str) -> None:
        return self._invalidating([name], lambda: self.inner.delete(name, record_id))

    def upsert(self, name: str, field: str, value: str, values: dict) -> dict:
        return self._invalidating([name], lambda: self.inner.upsert(name, field, value, values))

    def composite(self, method: str, records: list, all_or_none: bool = False) -> list:
        objects = _types_of(records) if method.upper() != "DELETE" else None  # DELETE sends bare Ids
        return self._invalidating(objects, lambda: self.inner.composite(method, records, all_or_none))

    def composite_upsert(self, name: str, field: str, records: list, all_or_none: bool = False) -> list:
        return self._invalidating(
            [name], lambda: self.inner.composite_upsert(name, field, records, all_or_none)
        )

    def composite_request(self, subrequests: list[dict], all_or_none: bool = False) -> dict:
        if all(str(s.get("method", "")).upper() == "GET" for s in subrequests):  # reads only (delta pages)
            record = context.current()
            if record is not None:
                for sub in subrequests:
                    for soql in parse_qs(urlsplit(str(sub.get("url", ""))).query).get("q", []):
                        record.note_soql(soql)
            return self.inner.composite_request(subrequests, all_or_none)
        objects = {m.group(1) for s in subrequests for m in _SOBJECT_IN_URL.finditer(str(s.get("url", "")))}
        return self._invalidating(
            objects or None, lambda: self.inner.composite_request(subrequests, all_or_none)
        )


def _types_of(records: list) -> set[str] | None:
    names = set()
    for item in records:
        kind = item.get("attributes", {}).get("type") if isinstance(item, dict) else None
        if not kind:
            return None
        names.add(kind)
    return names


class _Accounting:
    """The request record's accounting around every API call of the connection (its call observer).

    One per connection: a connection wrapped again (a second app on the same source) keeps the first, so
    a call is counted once in the request record."""

    def __init__(self, usage: ApiUsage):
        self.usage = usage

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Accounting)

    def __hash__(self) -> int:
        return hash(_Accounting)

    def before_call(self, url: str) -> None:
        record = context.current()
        if record is not None:
            record.before_call()

    def after_call(self, url: str, status: int, headers: Any, body: bytes) -> None:
        self.usage.observe(parse_limit_info(headers.get("Sforce-Limit-Info", "")))
        record = context.current()
        if record is not None:
            record.note_api_call(self.usage.get())
            if status >= 400:
                code, message = _salesforce_error(status, body)
                record.note_source_error(urlsplit(url).hostname, status, code, message)

    def call_failed(self, url: str, error: Exception) -> None:
        record = context.current()
        if record is not None:
            code = "TIMEOUT" if isinstance(error, requests.Timeout | TransportTimeout) else "UNREACHABLE"
            record.note_source_error(urlsplit(url).hostname, None, code, str(error)[:500])


def _salesforce_error(status: int, body: bytes) -> tuple[str, str]:
    """The first ``errorCode``/``message`` of a Salesforce error body (or the status and some text)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return f"HTTP_{status}", body.decode("utf-8", "replace")[:300]
    first = parsed[0] if isinstance(parsed, list) and parsed and isinstance(parsed[0], dict) else parsed
    if isinstance(first, dict):
        return str(first.get("errorCode") or first.get("error") or f"HTTP_{status}"), str(
            first.get("message") or first.get("error_description") or ""
        )[:500]
    return f"HTTP_{status}", str(parsed)[:300]
