"""Describe cache: warm calls fetch nothing, entries expire, concurrent misses share one fetch."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from gateway.odata.model.describe_cache import DescribeCache


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingSource:
    """Answers describes from the tiny schema and counts every fetch, like API calls to an org."""

    def __init__(self, describes: list[dict], delay: float = 0.0) -> None:
        self.describes = {d["name"].lower(): d for d in describes}
        self.fetches: Counter = Counter()
        self.delay = delay
        self.failures_left = 0
        self._lock = threading.Lock()

    def describe(self, name: str) -> dict:
        with self._lock:
            self.fetches[name.lower()] += 1
            failing = self.failures_left > 0
            self.failures_left -= failing
        time.sleep(self.delay)
        if failing:
            raise ConnectionError("source unavailable")
        if name.lower() not in self.describes:
            raise LookupError(f"NOT_FOUND: {name}")
        return self.describes[name.lower()]

    def describe_global(self) -> dict:
        with self._lock:
            self.fetches["<global>"] += 1
        return {"sobjects": [{"name": d["name"]} for d in self.describes.values()]}


@pytest.fixture
def source(describes: list[dict]) -> CountingSource:
    return CountingSource(describes)


def test_second_call_fetches_nothing(source: CountingSource) -> None:
    cache = DescribeCache(source.describe, source.describe_global)
    first = cache.describe("Account")
    assert first["name"] == "Account"
    assert cache.describe("Account") is first
    assert cache.describe("ACCOUNT") is first  # sObject names are case-insensitive
    assert cache.describe_global()["sobjects"][0] == {"name": "Account"}
    cache.describe_global()
    assert source.fetches == Counter({"account": 1, "<global>": 1})


def test_entries_expire_after_the_ttl(source: CountingSource) -> None:
    clock = FakeClock()
    cache = DescribeCache(source.describe, source.describe_global, ttl=60, timer=clock)
    cache.describe("Contact")
    cache.describe_global()
    clock.now += 59.9
    cache.describe("Contact")
    cache.describe_global()
    assert source.fetches == Counter({"contact": 1, "<global>": 1})
    clock.now += 0.2
    cache.describe("Contact")
    cache.describe_global()
    assert source.fetches == Counter({"contact": 2, "<global>": 2})


def test_clear_forgets_everything(source: CountingSource) -> None:
    cache = DescribeCache(source.describe, source.describe_global)
    cache.describe("Widget__c")
    cache.clear()
    cache.describe("Widget__c")
    assert source.fetches["widget__c"] == 2


def test_maxsize_bounds_the_cache(source: CountingSource) -> None:
    cache = DescribeCache(source.describe, source.describe_global, maxsize=2)
    for name in ("Account", "Contact", "Widget__c", "Account"):
        cache.describe(name)
    assert source.fetches["account"] == 2


def test_concurrent_misses_on_a_cold_key_make_exactly_one_fetch(describes: list[dict]) -> None:
    source = CountingSource(describes, delay=0.05)
    cache = DescribeCache(source.describe, source.describe_global)
    start = threading.Barrier(10)
    results: list[dict] = []

    def read() -> None:
        start.wait()
        results.append(cache.describe("Account"))

    threads = [threading.Thread(target=read) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert len(results) == 10
    assert all(result is results[0] for result in results)
    assert source.fetches == Counter({"account": 1})


def test_a_slow_fetch_does_not_block_other_keys(describes: list[dict]) -> None:
    source = CountingSource(describes, delay=0.3)
    cache = DescribeCache(source.describe, lambda: {"sobjects": []})
    slow = threading.Thread(target=cache.describe, args=("Account",))
    slow.start()
    time.sleep(0.05)
    began = time.monotonic()
    assert cache.describe_global() == {"sobjects": []}
    assert time.monotonic() - began < 0.2
    slow.join(timeout=5)


def test_errors_are_not_cached(source: CountingSource) -> None:
    cache = DescribeCache(source.describe, source.describe_global)
    source.failures_left = 1
    with pytest.raises(ConnectionError):
        cache.describe("Account")
    assert cache.describe("Account")["name"] == "Account"
    assert source.fetches["account"] == 2

    for _ in range(2):
        with pytest.raises(LookupError):
            cache.describe("Nope__c")
    assert source.fetches["nope__c"] == 2


def test_waiters_of_a_failed_fetch_retry_instead_of_hanging(describes: list[dict]) -> None:
    source = CountingSource(describes, delay=0.05)
    source.failures_left = 1
    cache = DescribeCache(source.describe, source.describe_global)
    start = threading.Barrier(5)
    outcomes: list[str] = []

    def read() -> None:
        start.wait()
        try:
            outcomes.append(cache.describe("Contact")["name"])
        except ConnectionError:
            outcomes.append("error")

    threads = [threading.Thread(target=read) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert sorted(outcomes) == ["Contact"] * 4 + ["error"]
    assert source.fetches["contact"] == 2  # the failed fetch, then one retry the others waited for
