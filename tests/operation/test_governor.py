"""The API governor against a real local org, whose own API counter proves the calls saved: coalescing,
the result cache and its invalidation, the call budget, the reserve and the rate limit (in memory and in a
real Redis)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from gateway.operation import context
from gateway.operation.context import CallBudgetExceeded
from gateway.operation.governed_source import GovernedSource
from gateway.operation.governor import ApiUsage, GovernorRefusal, RateLimiter, ReserveGuard
from gateway.operation.result_cache import MemoryResultCache, RedisResultCache, read_dependencies
from gateway.operation.settings import ApiReserve, OperationConfigError, OperationSettings
from gateway.source.connection import SourceError
from tests.operation.local_org import local_org
from tests.operation.redis_server import redis_url  # noqa: F401  (the session fixture)

LIST_VIEW = "SELECT Id, Name FROM Account ORDER BY Name, Id LIMIT 26"


def as_request(principal: str, call: Callable[[], Any], **record_fields: Any) -> Any:
    """Run ``call`` as one request of ``principal`` (a fresh request record in this thread)."""
    record, _ = context.begin("GET", "/odata/Account", None)
    record.principal = principal
    for name, value in record_fields.items():
        setattr(record, name, value)
    try:
        return call()
    finally:
        record.finish(200)
        context.end()


def concurrently(count: int, work: Callable[[int], Any]) -> list[Any]:
    results: list[Any] = [None] * count
    barrier = threading.Barrier(count)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = work(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_ten_identical_concurrent_reads_cost_one_call() -> None:
    org, connection = local_org(latency=0.8)
    source = GovernedSource(connection)
    before = org.api_used
    results = concurrently(10, lambda _: as_request("alice", lambda: source.query(LIST_VIEW)))
    assert org.api_used - before == 1
    names = [[r["Name"] for r in result["records"]] for result in results]
    assert all(n == names[0] for n in names) and len(names[0]) == 20
    results[0]["records"].clear()  # each caller has its own copy
    assert len(results[1]["records"]) == 20


def test_coalescing_never_shares_between_principals_or_different_soql() -> None:
    org, connection = local_org(latency=0.8)
    source = GovernedSource(connection)
    before = org.api_used
    soqls = [LIST_VIEW, LIST_VIEW, LIST_VIEW.replace("26", "25"), LIST_VIEW.replace("26", "25")]
    principals = ["alice", "bob", "alice", "bob"]
    concurrently(4, lambda i: as_request(principals[i], lambda: source.query(soqls[i])))
    assert org.api_used - before == 4


def test_a_failed_shared_read_fails_every_waiter_with_its_error() -> None:
    org, connection = local_org(latency=0.8)
    source = GovernedSource(connection)

    def read(_: int) -> Any:
        try:
            return as_request("alice", lambda: source.query("SELECT Nope__c FROM Account"))
        except SourceError as error:
            return error.error_code

    assert concurrently(5, read) == ["INVALID_FIELD"] * 5


def test_cached_reads_cost_nothing_until_a_write_to_their_object() -> None:
    org, connection = local_org()
    source = GovernedSource(connection, cache=MemoryResultCache(ttl=60, max_bytes=1 << 20))
    first = as_request("alice", lambda: source.query(LIST_VIEW))
    before = org.api_used
    ages = []
    for _ in range(5):
        record, _ = context.begin("GET", "/odata/Account", None)
        record.principal = "alice"
        assert source.query(LIST_VIEW) == first
        assert (record.cache_hits, record.api_calls) == (1, 0)
        ages.append(record.age_seconds())
        record.finish(200)
        context.end()
    assert org.api_used == before and ages == [0] * 5
    # Another user does not get alice's answer.
    as_request("bob", lambda: source.query(LIST_VIEW))
    assert org.api_used == before + 1
    # A write to another object leaves Account's entries; a write to Account drops them.
    contact_id = first["records"][0]["Id"]
    as_request("alice", lambda: source.create("Case", {"Subject": "x"}))
    as_request("alice", lambda: source.query(LIST_VIEW))
    assert org.api_used == before + 2
    as_request("alice", lambda: source.update("Account", contact_id, {"Name": "AAA renamed first"}))
    after_write = as_request("alice", lambda: source.query(LIST_VIEW))
    assert org.api_used == before + 4
    assert after_write["records"][0]["Name"] == "AAA renamed first"


def test_relationship_queries_are_dropped_by_a_write_to_any_object() -> None:
    org, connection = local_org()
    source = GovernedSource(connection, cache=MemoryResultCache(ttl=60, max_bytes=1 << 20))
    soql = "SELECT Id, (SELECT Id, LastName FROM Contacts) FROM Account ORDER BY Id LIMIT 3"
    account = as_request("alice", lambda: source.query(soql))["records"][0]
    before = org.api_used
    as_request("alice", lambda: source.query(soql))
    assert org.api_used == before
    as_request("alice", lambda: source.create("Contact", {"LastName": "New", "AccountId": account["Id"]}))
    fresh = as_request("alice", lambda: source.query(soql))["records"][0]
    assert org.api_used == before + 2
    assert len(fresh["Contacts"]["records"]) == len(account["Contacts"]["records"]) + 1


def test_cache_entries_expire_after_the_ttl_and_memory_is_bounded() -> None:
    now = [1000.0]
    cache = MemoryResultCache(ttl=5, max_bytes=2000, clock=lambda: now[0])
    cache.put("a", b"x" * 500)
    assert cache.get("a") == (b"x" * 500, 1000.0)
    now[0] += 5
    assert cache.get("a") is None
    for key in "bcdefgh":
        cache.put(key, b"y" * 500)
    assert len(cache) <= 2000 // 700 and cache.get("h") is not None
    cache.put("huge", b"z" * 5000)  # larger than the whole cache: not kept, no error
    assert cache.get("huge") is None


def test_searches_are_coalesced_cached_and_dropped_by_any_write() -> None:
    org, connection = local_org(latency=0.0)
    source = GovernedSource(connection, cache=MemoryResultCache(ttl=60, max_bytes=1 << 20))
    sosl = "FIND {Acme*} IN NAME FIELDS RETURNING Account(Id, Name ORDER BY Id LIMIT 5)"
    first = as_request("alice", lambda: source.search(sosl))
    before = org.api_used
    assert as_request("alice", lambda: source.search(sosl)) == first
    assert org.api_used == before
    as_request("alice", lambda: source.create("Account", {"Name": "Acme Searchable"}))
    as_request("alice", lambda: source.search(sosl))
    assert org.api_used == before + 2


def test_read_dependencies() -> None:
    assert read_dependencies("SELECT Id FROM Account WHERE Name = 'a.b FROM Contact' LIMIT 3") == (
        "**",
        "account",
    )
    assert "*" in read_dependencies("SELECT Id, Account.Name FROM Contact")
    assert "*" in read_dependencies("SELECT Id, (SELECT Id FROM Contacts) FROM Account")
    assert read_dependencies("SELECT COUNT() FROM Case WHERE Amount > 1.5") == ("**", "case")
    assert read_dependencies("FIND {x} RETURNING Account(Id), Contact(Id)") == ("**", "*")


def test_call_budget_stops_before_the_call_that_would_pass_it() -> None:
    org, connection = local_org()
    source = GovernedSource(connection)
    record, _ = context.begin("POST", "/odata/$batch", None)
    record.call_budget = 2
    try:
        source.query("SELECT Id FROM Account LIMIT 1")
        source.query("SELECT Id FROM Contact LIMIT 1")
        before = org.api_used
        with pytest.raises(CallBudgetExceeded):
            source.query("SELECT Id FROM Case LIMIT 1")
        assert org.api_used == before and record.api_calls == 2
    finally:
        context.end()


def test_source_failure_cause_and_usage_are_recorded() -> None:
    org, connection = local_org(api_limit=500)
    source = GovernedSource(connection)
    record, _ = context.begin("GET", "/odata/Account", None)
    try:
        with pytest.raises(SourceError):
            source.query("SELECT Nope__c FROM Account")
        assert record.source_error == {
            "host": "localorg.invalid",
            "status": 400,
            "error_code": "INVALID_FIELD",
            "message": record.source_error["message"],
        }
        assert "Nope__c" in record.source_error["message"]
        assert record.api_calls == 1 and record.api_usage == (org.api_used, 500)
        assert source.usage.get() == (org.api_used, 500)
    finally:
        context.end()


def test_reserve_refuses_at_the_reserve_and_rechecks_at_most_once_a_minute() -> None:
    org, connection = local_org(api_limit=100)
    source = GovernedSource(connection)
    now = [0.0]
    guard = ReserveGuard(ApiReserve.parse("10%"), source.usage, source.inner.limits, clock=lambda: now[0])
    guard.check()  # nothing known yet: let through
    while org.api_used < 89:
        source.query("SELECT Id FROM Account LIMIT 1")
    guard.check()  # 11 left, reserve 10
    source.query("SELECT Id FROM Account LIMIT 1")
    before = org.api_used
    with pytest.raises(GovernorRefusal) as refused:
        guard.check()
    assert refused.value.status == 503 and refused.value.retry_after == 60
    assert "GATEWAY_API_RESERVE=10%" in refused.value.message
    assert "9 of its 100" in refused.value.message  # the call to the limits resource spent one
    assert org.api_used == before + 1  # asked the limits resource once
    for _ in range(5):
        with pytest.raises(GovernorRefusal):
            guard.check()
    assert org.api_used == before + 1  # not again within the minute
    org.app.extensions["localorg"].accounting._used = 50  # the rolling window freed calls
    now[0] += 61
    guard.check()
    assert source.usage.get() == (51, 100)


def test_usage_never_goes_backwards_except_from_the_limits_resource() -> None:
    usage = ApiUsage()
    usage.observe((10, 100))
    usage.observe((8, 100))
    assert usage.get() == (10, 100)
    usage.observe((3, 200))  # a new limit is taken as it comes
    assert usage.get() == (3, 200)
    usage.replace((1, 200))
    assert usage.get() == (1, 200)


def test_rate_limit_per_principal_in_memory() -> None:
    limiter = RateLimiter("3/minute")
    for _ in range(3):
        limiter.hit("alice")
    with pytest.raises(GovernorRefusal) as refused:
        limiter.hit("alice")
    assert refused.value.status == 429 and 1 <= refused.value.retry_after <= 60
    assert "GATEWAY_RATE_LIMIT=3/minute" in refused.value.message
    limiter.hit("bob")


def test_settings_from_the_environment() -> None:
    settings = OperationSettings.from_env({})
    assert (settings.rate_limit, settings.cache_ttl, settings.batch_max_calls) == (None, 0, 100)
    assert settings.api_reserve.calls_for(15000) == 750
    settings = OperationSettings.from_env(
        {
            "GATEWAY_API_RESERVE": "500",
            "GATEWAY_RATE_LIMIT": "600/minute",
            "GATEWAY_CACHE_TTL": "30",
            "GATEWAY_BATCH_MAX_CALLS": "20",
            "GATEWAY_REDIS_URL": "redis://cache:6379/0",
            "GATEWAY_METRICS_TOKEN": "t",
        }
    )
    assert settings.api_reserve.calls_for(15000) == 500 and settings.rate_limit == "600/minute"
    assert (settings.cache_ttl, settings.batch_max_calls, settings.metrics_token) == (30.0, 20, "t")
    for name, bad in [
        ("GATEWAY_API_RESERVE", "lots"),
        ("GATEWAY_API_RESERVE", "120%"),
        ("GATEWAY_RATE_LIMIT", "fast"),
        ("GATEWAY_CACHE_TTL", "-1"),
        ("GATEWAY_BATCH_MAX_CALLS", "0"),
        ("GATEWAY_REDIS_URL", "cache:6379"),
    ]:
        with pytest.raises(OperationConfigError, match=name):
            OperationSettings.from_env({name: bad})


# ----- with a real Redis: two instances share one rate limit and one cache -----------------------------


def test_rate_limit_in_redis_holds_across_instances(redis_url: str) -> None:  # noqa: F811
    first, second = RateLimiter("3/minute", redis_url), RateLimiter("3/minute", redis_url)
    first.hit("carol")
    second.hit("carol")
    first.hit("carol")
    with pytest.raises(GovernorRefusal):
        second.hit("carol")
    second.hit("dave")


def test_result_cache_in_redis_is_shared_and_invalidated_across_instances(redis_url: str) -> None:  # noqa: F811
    org, connection = local_org()
    token = connection.credentials.access_token
    instance_a = GovernedSource(connection, cache=RedisResultCache(redis_url, ttl=60))
    instance_b = GovernedSource(org.connection(token), cache=RedisResultCache(redis_url, ttl=60))
    soql = "SELECT Id, Name FROM Account ORDER BY Id LIMIT 5"
    first = as_request("erin", lambda: instance_a.query(soql))
    before = org.api_used
    assert as_request("erin", lambda: instance_b.query(soql)) == first
    assert org.api_used == before
    as_request("erin", lambda: instance_a.update("Account", first["records"][0]["Id"], {"Name": "Changed"}))
    seen_by_b = as_request("erin", lambda: instance_b.query(soql))
    assert seen_by_b["records"][0]["Name"] == "Changed" and org.api_used == before + 2


def test_redis_unreachable_means_no_cache_not_failure() -> None:
    org, connection = local_org()
    source = GovernedSource(connection, cache=RedisResultCache("redis://127.0.0.1:1/0", ttl=60))
    before = org.api_used
    for _ in range(2):
        assert len(as_request("alice", lambda: source.query(LIST_VIEW))["records"]) == 20
    as_request("alice", lambda: source.create("Case", {"Subject": "still written"}))
    assert org.api_used == before + 3
