"""Prometheus metrics of one gateway instance (prometheus-client), served at ``GET /metrics``.

Each app gets its own registry (tests build many apps in one process). The org's API usage and limit are
read from the source connection when scraped, so they are as fresh as the last answer from the org.
With several gunicorn workers (``enable_multiprocess``, called by ``gateway serve --workers N``), counters
and histograms live in files of a shared folder (prometheus-client's multiprocess mode), so any worker's
``/metrics`` answers for the whole instance.
``GATEWAY_METRICS_TOKEN`` lets a scraper in with ``Authorization: Bearer <token>`` instead of the
gateway's own credentials.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client import values as prometheus_values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from gateway.operation.context import RequestRecord

disable_created_metrics()  # no *_created series: they double the output and no dashboard of ours reads them

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
UsageReader = Callable[[], tuple[int, int] | None]
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def enable_multiprocess(directory: str) -> None:
    """Keep metric values in files under ``directory`` (empty, shared by the workers of one instance).
    Call before any ``Metrics`` is made: metric values choose their storage when they are created."""
    os.environ[MULTIPROCESS_DIR] = directory
    prometheus_values.ValueClass = prometheus_values.get_value_class()


class _OrgUsage(Collector):
    def __init__(self, usage: UsageReader):
        self._usage = usage

    def collect(self) -> Iterator[GaugeMetricFamily]:
        usage = self._usage()
        used = GaugeMetricFamily(
            "gateway_org_api_usage", "The source org's daily API requests used (Sforce-Limit-Info)"
        )
        limit = GaugeMetricFamily("gateway_org_api_limit", "The source org's daily API request limit")
        if usage is not None:
            used.add_metric([], usage[0])
            limit.add_metric([], usage[1])
        yield used
        yield limit


class Metrics:
    """The gateway's metrics; ``observe(record)`` after each request, ``render()`` for the scrape."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, usage: UsageReader = lambda: None):
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "gateway_requests", "HTTP requests served", ["entity_set", "method", "status"], registry=r
        )
        self.latency = Histogram(
            "gateway_request_duration_seconds",
            "Time to answer a request",
            ["entity_set", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.api_calls = Counter("gateway_source_api_calls", "API calls sent to the source org", registry=r)
        self.cache_hits = Counter(
            "gateway_cache_hits", "Source reads answered from the result cache", registry=r
        )
        self.cache_misses = Counter(
            "gateway_cache_misses", "Source reads the result cache could not answer", registry=r
        )
        self.coalesced = Counter(
            "gateway_coalesced_reads", "Source reads that waited for an identical read in flight", registry=r
        )
        self.refusals = Counter(
            "gateway_governor_refusals", "Requests the API governor refused", ["reason"], registry=r
        )
        self._usage = usage
        r.register(_OrgUsage(usage))

    def observe(self, record: RequestRecord) -> None:
        """Count a finished request (its record holds status, duration, calls, cache use, refusal)."""
        entity_set = record.entity_set or ""
        self.requests.labels(entity_set, record.method, str(record.status)).inc()
        if record.duration_ms is not None:
            self.latency.labels(entity_set, record.method).observe(record.duration_ms / 1000)
        if record.api_calls:
            self.api_calls.inc(record.api_calls)
        if record.cache_hits:
            self.cache_hits.inc(record.cache_hits)
        if record.cache_misses:
            self.cache_misses.inc(record.cache_misses)
        if record.coalesced:
            self.coalesced.inc(record.coalesced)
        if record.refused:
            self.refusals.labels(record.refused).inc()

    def render(self) -> bytes:
        if not os.environ.get(MULTIPROCESS_DIR):
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        registry.register(_OrgUsage(self._usage))
        return generate_latest(registry)


def bearer_token_matches(headers: Mapping[str, str], token: str | None) -> bool:
    """Whether the request carries ``Authorization: Bearer <token>`` (compared in constant time)."""
    if not token:
        return False
    scheme, _, value = (headers.get("Authorization") or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())
