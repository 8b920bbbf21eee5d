"""The request record, its JSON log line, and the metrics it feeds."""

from __future__ import annotations

import io
import json
import threading

import pytest

from gateway.operation import context
from gateway.operation.context import CallBudgetExceeded, RequestRecord
from gateway.operation.metrics import Metrics, bearer_token_matches
from gateway.operation.request_log import RequestLog


@pytest.fixture(autouse=True)
def no_record_left() -> None:
    yield
    context.end()


def test_request_id_is_honoured_when_sane_and_generated_otherwise() -> None:
    assert context.request_id_from("abc-123_x.y") == "abc-123_x.y"
    generated = {context.request_id_from(bad) for bad in (None, "", "has space", "x" * 200, "a\nb")}
    assert len(generated) == 5 and all(len(g) == 32 for g in generated)


def test_a_request_inside_a_request_adds_to_the_outer_record() -> None:
    outer, is_new = context.begin("POST", "/odata/$batch", None)
    inner, inner_is_new = context.begin("GET", "/odata/Account", None)
    assert is_new and not inner_is_new and inner is outer
    outer.finish(200)
    # A finished record left behind by a request whose end never ran is not taken for an outer request.
    fresh, fresh_is_new = context.begin("GET", "/odata/Contact", "rid-1")
    assert fresh_is_new and fresh is not outer and fresh.request_id == "rid-1"


def test_records_are_per_thread() -> None:
    record, _ = context.begin("GET", "/odata/Account", None)
    seen: list = []
    thread = threading.Thread(target=lambda: seen.append(context.current()))
    thread.start()
    thread.join()
    assert seen == [None] and context.current() is record


def test_call_budget_refuses_the_call_past_it() -> None:
    record = RequestRecord("r", "POST", "/odata/$batch", call_budget=2)
    for _ in range(2):
        record.before_call()
        record.note_api_call((10, 100))
    with pytest.raises(CallBudgetExceeded, match="GATEWAY_BATCH_MAX_CALLS"):
        record.before_call()


def test_log_line_is_one_json_object_with_every_field() -> None:
    record = RequestRecord("rid", "GET", "/odata/Account?$top=2", principal="alice", entity_set="Account")
    record.note_soql("SELECT Id FROM Account LIMIT 3")
    record.note_api_call((41, 15000))
    record.note_source_error("acme.my.salesforce.com", 400, "MALFORMED_QUERY", "unexpected token")
    record.rows = 2
    record.finish(200)
    stream = io.StringIO()
    RequestLog(stream).write(record)
    text = stream.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1 and "\x1b" not in text
    line = json.loads(text)
    assert list(line) == [
        "time", "request_id", "principal", "method", "path", "entity_set", "status", "rows", "soql",
        "api_calls", "cache_hits", "cache_misses", "coalesced", "duration_ms", "api_usage", "api_limit",
        "refused", "source_error",
    ]  # fmt: skip
    assert line["soql"] == ["SELECT Id FROM Account LIMIT 3"]
    assert (line["api_calls"], line["api_usage"], line["api_limit"]) == (1, 41, 15000)
    assert line["source_error"] == {
        "host": "acme.my.salesforce.com", "status": 400, "error_code": "MALFORMED_QUERY",
        "message": "unexpected token",
    }  # fmt: skip
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0


def test_age_is_that_of_the_oldest_cached_answer() -> None:
    record = RequestRecord("r", "GET", "/")
    assert record.age_seconds() is None
    record.note_cached(1000.0)
    record.note_cached(990.0)
    assert record.age_seconds(now=1005.5) == 15


def test_metrics_count_requests_calls_cache_and_refusals() -> None:
    metrics = Metrics(usage=lambda: (120, 15000))
    ok = RequestRecord("a", "GET", "/odata/Account", entity_set="Account")
    ok.note_api_call((120, 15000))
    ok.cache_misses = 1
    ok.finish(200)
    refused = RequestRecord("b", "GET", "/odata/Account", entity_set="Account", refused="rate_limit")
    refused.finish(429)
    hit = RequestRecord("c", "GET", "/odata/Account", entity_set="Account")
    hit.note_cached(0.0)
    hit.finish(200)
    for record in (ok, refused, hit):
        metrics.observe(record)
    text = metrics.render().decode()
    assert 'gateway_requests_total{entity_set="Account",method="GET",status="200"} 2.0' in text
    assert 'gateway_requests_total{entity_set="Account",method="GET",status="429"} 1.0' in text
    assert 'gateway_governor_refusals_total{reason="rate_limit"} 1.0' in text
    assert "gateway_source_api_calls_total 1.0" in text
    assert "gateway_cache_hits_total 1.0" in text and "gateway_cache_misses_total 1.0" in text
    assert "gateway_org_api_usage 120.0" in text and "gateway_org_api_limit 15000.0" in text
    assert 'gateway_request_duration_seconds_count{entity_set="Account",method="GET"} 3.0' in text


def test_metrics_token_is_a_bearer_token() -> None:
    assert bearer_token_matches({"Authorization": "Bearer s3cret"}, "s3cret")
    assert not bearer_token_matches({"Authorization": "Bearer wrong"}, "s3cret")
    assert not bearer_token_matches({"Authorization": "Basic s3cret"}, "s3cret")
    assert not bearer_token_matches({}, "s3cret")
    assert not bearer_token_matches({"Authorization": "Bearer "}, None)
