"""The operation layer in a real gateway app over a local org: request log, health, readiness, metrics,
the governor at the HTTP level, compression, public URLs and the safe defaults. The local org's own API
counter proves the calls spent or saved."""

from __future__ import annotations

import gzip
import io
import json
import threading
from typing import Any

import brotli
import pytest

from gateway.app import NO_SOURCE, create_app
from gateway.odata.http.access import hash_password
from gateway.source.connection import SourceConfigError
from tests.operation.local_org import local_org
from tests.operation.redis_server import redis_url  # noqa: F401  (the session fixture)

KEY = {"Authorization": "Bearer op-key"}
LIST_VIEW = "/odata/Account?$select=Id,Name&$orderby=Name&$top=26"


class Gateway:
    """A gateway app on its own local org, its request log captured."""

    def __init__(self, env: dict[str, str] | None = None, latency: float = 0.0, api_limit: int = 15000):
        self.org, self.source = local_org(latency=latency, api_limit=api_limit)
        self.log = io.StringIO()
        environ = {"GATEWAY_API_KEYS": "op-key,other-key", **(env or {})}
        self.app = create_app(source=self.source, environ=environ, host="127.0.0.1", log_stream=self.log)
        self.client = self.app.test_client()

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log.getvalue().splitlines()]

    def get(self, path: str, headers: dict | None = None) -> Any:
        return self.client.get(path, headers={**KEY, **(headers or {})})


def test_one_json_log_line_per_request_with_soql_calls_and_request_id() -> None:
    gw = Gateway()
    before = gw.org.api_used
    answer = gw.get("/odata/Account?$select=Name&$top=2", {"X-Request-Id": "abc-123"})
    assert answer.status_code == 200 and answer.headers["X-Request-Id"] == "abc-123"
    generated = gw.get("/odata/Contact?$top=1").headers["X-Request-Id"]
    assert len(generated) == 32
    first, second = gw.lines()
    assert first["request_id"] == "abc-123" and second["request_id"] == generated
    assert (first["method"], first["path"], first["entity_set"], first["status"]) == (
        "GET",
        "/odata/Account?$select=Name&$top=2",
        "Account",
        200,
    )
    assert first["principal"] == "api-key-1"
    assert first["rows"] == 2 and first["api_calls"] == 1 and len(first["soql"]) == 1
    assert first["soql"] == ["SELECT Id, Name, SystemModstamp FROM Account ORDER BY Id ASC LIMIT 2"]
    assert first["api_usage"] == before + 1 and first["api_limit"] == 15000
    assert first["duration_ms"] > 0 and first["source_error"] is None
    account = gw.get("/odata/Account?$select=Id&$top=1").get_json()["value"][0]["Id"]
    gw.get(f"/odata/Account('{account}')")
    assert (gw.lines()[-1]["rows"], gw.lines()[-1]["api_calls"]) == (1, 1)


def test_a_source_failure_logs_its_cause_only_in_the_log() -> None:
    gw = Gateway()
    with gw.org.store.lock:
        gw.org.store.conn.execute('ALTER TABLE "Account" RENAME COLUMN "Rating" TO "Rating_gone"')
    gw.org.latency.app = _failing(gw.org.latency.app)
    answer = gw.get("/odata/Account?$top=1")
    assert answer.status_code == 502
    body = answer.get_data(as_text=True)
    assert "localorg.invalid" not in body and "X-Request-Id" in body
    line = gw.lines()[-1]
    assert line["status"] == 502
    assert line["source_error"]["host"] == "localorg.invalid" and line["source_error"]["status"] == 503


def _failing(app: Any) -> Any:
    def unavailable(environ: dict, start_response: Any) -> list[bytes]:
        start_response("503 Service Unavailable", [("Content-Type", "text/html")])
        return [b"<html>maintenance on localorg.invalid</html>"]

    return unavailable


def test_health_and_ready_need_no_credentials_and_ready_costs_one_call_per_30_seconds() -> None:
    gw = Gateway()
    assert gw.client.get("/odata/").status_code == 401
    assert gw.client.get("/health").get_json() == {"status": "ok"}
    before = gw.org.api_used
    for _ in range(10):
        answer = gw.client.get("/ready")
        assert answer.status_code == 200 and answer.get_json()["status"] == "ready"
    assert gw.org.api_used == before + 1


def test_not_ready_while_the_source_is_down() -> None:
    gw = Gateway()
    gw.org.latency.app = _failing(gw.org.latency.app)
    answer = gw.client.get("/ready")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "30"
    assert "localorg.invalid" not in answer.get_data(as_text=True)


def test_metrics_need_credentials_or_the_metrics_token() -> None:
    gw = Gateway({"GATEWAY_METRICS_TOKEN": "scrape-me"})
    gw.get(LIST_VIEW)
    assert gw.client.get("/metrics").status_code == 401
    assert gw.client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    for headers in ({"Authorization": "Bearer scrape-me"}, KEY):
        text = gw.client.get("/metrics", headers=headers).get_data(as_text=True)
        assert 'gateway_requests_total{entity_set="Account",method="GET",status="200"} 1.0' in text
        assert "gateway_source_api_calls_total 1.0" in text
        assert f"gateway_org_api_usage {float(gw.org.api_used)}" in text


def test_reserve_refuses_data_requests_with_503_and_retry_after() -> None:
    gw = Gateway({"GATEWAY_API_RESERVE": "20%"}, api_limit=40)
    statuses = [gw.get("/odata/Account?$top=1").status_code for _ in range(40)]
    assert 200 in statuses and statuses[-1] == 503
    used = gw.org.api_used
    assert used < 40  # the org's own limit was never reached: its other integrations keep 8 calls or more
    refused = gw.get("/odata/Account?$top=1")
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "60"
    assert "GATEWAY_API_RESERVE=20%" in refused.get_json()["error"]["message"]
    assert gw.get("/odata/$metadata").status_code == 200  # no data: still served
    assert gw.lines()[-2]["refused"] == "api_reserve"


def test_rate_limit_per_principal_429_with_retry_after() -> None:
    gw = Gateway({"GATEWAY_RATE_LIMIT": "3/minute"})
    assert [gw.get(LIST_VIEW).status_code for _ in range(3)] == [200, 200, 200]
    before = gw.org.api_used
    refused = gw.get(LIST_VIEW)
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "GATEWAY_RATE_LIMIT" in refused.get_json()["error"]["message"]
    assert gw.org.api_used == before  # a refused request costs nothing
    other = gw.client.get(LIST_VIEW, headers={"Authorization": "Bearer other-key"})
    assert other.status_code == 200


def test_ten_identical_concurrent_requests_cost_one_call() -> None:
    gw = Gateway(latency=0.8)
    before = gw.org.api_used
    barrier = threading.Barrier(10)
    bodies: list[Any] = []

    def load() -> None:
        client = gw.app.test_client()
        barrier.wait()
        bodies.append(client.get(LIST_VIEW, headers=KEY).get_json())

    threads = [threading.Thread(target=load) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert gw.org.api_used - before == 1
    assert len(bodies) == 10 and all(body == bodies[0] for body in bodies) and len(bodies[0]["value"]) == 20
    assert sorted(line["coalesced"] for line in gw.lines()) == [0] + [1] * 9


def test_cache_answers_repeats_for_free_with_age_until_a_write() -> None:
    gw = Gateway({"GATEWAY_CACHE_TTL": "60"})
    first = gw.get(LIST_VIEW)
    assert "Age" not in first.headers
    before = gw.org.api_used
    for _ in range(5):
        again = gw.get(LIST_VIEW)
        assert again.get_json() == first.get_json() and again.headers["Age"] == "0"
    assert gw.org.api_used == before
    account = first.get_json()["value"][0]["Id"]
    assert (
        gw.client.patch(f"/odata/Account('{account}')", json={"Name": "Aardvark"}, headers=KEY).status_code
        == 204
    )
    fresh = gw.get(LIST_VIEW)
    assert "Age" not in fresh.headers and fresh.get_json()["value"][0]["Name"] == "Aardvark"
    assert gw.org.api_used == before + 2  # the write and the new read


def test_batch_spends_at_most_its_budget_and_says_why() -> None:
    gw = Gateway({"GATEWAY_BATCH_MAX_CALLS": "2"})
    requests = [
        {"id": "0", "method": "GET", "url": "Account?$top=1&$count=true"},  # a page and a count: 2 calls
        {"id": "1", "method": "GET", "url": "Account?$top=2"},
    ]
    before = gw.org.api_used
    answer = gw.client.post("/odata/$batch", json={"requests": requests}, headers=KEY)
    assert answer.status_code == 200
    statuses = [r["status"] for r in answer.get_json()["responses"]]
    assert statuses == [200, 413]
    refusal = answer.get_json()["responses"][1]["body"]["error"]
    assert "GATEWAY_BATCH_MAX_CALLS" in refusal["message"]
    assert gw.org.api_used - before == 2
    line = gw.lines()[-1]
    assert (line["entity_set"], line["api_calls"], len(line["soql"])) == ("$batch", 2, 2)  # the 3rd: not sent


def test_batch_that_needs_more_calls_than_its_budget_is_refused_before_any_call() -> None:
    gw = Gateway({"GATEWAY_BATCH_MAX_CALLS": "2"})
    requests = [{"id": str(i), "method": "GET", "url": "Account?$top=1"} for i in range(2)]
    requests.append(
        {"id": "w", "atomicityGroup": "g", "method": "POST", "url": "Account", "body": {"Name": "N"}}
    )
    before = gw.org.api_used
    answer = gw.client.post("/odata/$batch", json={"requests": requests}, headers=KEY)
    assert answer.status_code == 413
    error = answer.get_json()["error"]
    assert error["code"] == "BatchCallBudgetExceeded" and "needs at least 3" in error["message"]
    assert "GATEWAY_BATCH_MAX_CALLS allows 2" in error["message"]
    assert gw.org.api_used == before  # nothing sent, nothing written


def test_a_change_set_past_the_budget_fails_alone_and_writes_nothing() -> None:
    gw = Gateway({"GATEWAY_BATCH_MAX_CALLS": "2"})
    requests = [
        {"id": "r", "method": "GET", "url": "Account?$top=1&$count=true&$filter=Name ne 'x'"},
        {"id": "w", "atomicityGroup": "g", "method": "POST", "url": "Account", "body": {"Name": "Never"}},
    ]
    answer = gw.client.post("/odata/$batch", json={"requests": requests}, headers=KEY)
    assert answer.status_code == 200
    read, write = answer.get_json()["responses"]
    assert read["status"] == 200 and write["status"] == 413  # the read's count spent the second call
    with gw.org.store.lock:
        assert (
            gw.org.store.conn.execute(
                'SELECT COUNT(*) FROM "Account" WHERE "Name" = ?', ("Never",)
            ).fetchone()[0]
            == 0
        )


def test_compression_gzip_and_brotli_when_accepted() -> None:
    gw = Gateway()
    plain = gw.get("/odata/Contact?$top=50")
    assert "Content-Encoding" not in plain.headers
    for encoding, decode in (("gzip", gzip.decompress), ("br", brotli.decompress)):
        packed = gw.get("/odata/Contact?$top=50", {"Accept-Encoding": encoding})
        assert packed.headers["Content-Encoding"] == encoding
        assert len(packed.data) < len(plain.data) / 3
        assert json.loads(decode(packed.data))["value"] == plain.get_json()["value"]


def test_base_url_sets_every_absolute_url_whatever_the_headers() -> None:
    gw = Gateway({"GATEWAY_BASE_URL": "https://example.com/gw"})
    headers = {"Host": "evil.test", "X-Forwarded-Host": "evil.test", "X-Forwarded-Proto": "http"}
    for path in ("/odata/Contact?$select=Id", "/gw/odata/Contact?$select=Id"):
        body = gw.get(path, {**headers, "Prefer": "odata.maxpagesize=2"}).get_json()
        assert body["@odata.context"].startswith("https://example.com/gw/odata/$metadata")
        assert body["@odata.nextLink"].startswith("https://example.com/gw/odata/Contact?")
    created = gw.client.post("/odata/Account", json={"Name": "Located"}, headers={**KEY, **headers})
    location = created.headers["Location"]
    assert location.startswith("https://example.com/gw/odata/Account(")
    # The URLs the gateway wrote are the URLs it accepts, also inside a $batch.
    parts = [
        {"id": "1", "method": "GET", "url": location},
        {"id": "2", "method": "GET", "url": "/odata/Account"},
    ]
    answer = gw.client.post("/gw/odata/$batch", json={"requests": parts}, headers={**KEY, **headers})
    assert [r["status"] for r in answer.get_json()["responses"]] == [200, 200]
    assert answer.get_json()["responses"][0]["body"]["Name"] == "Located"


def test_base_url_sets_every_absolute_url_of_the_v2_face_too() -> None:
    gw = Gateway({"GATEWAY_BASE_URL": "https://example.com/gw"})
    headers = {"Host": "evil.test", "X-Forwarded-Host": "evil.test", "Accept": "application/json"}
    body = gw.get("/odata/v2/Contact?$select=Id&$top=3", headers).get_json()["d"]
    assert body["results"][0]["__metadata"]["uri"].startswith("https://example.com/gw/odata/v2/Contact(")
    created = gw.client.post(
        "/odata/v2/Account", json={"Name": "Located in V2"}, headers={**KEY, **headers}
    )
    assert created.status_code == 201
    location = created.headers["Location"]
    assert location.startswith("https://example.com/gw/odata/v2/Account(")
    # The URLs the V2 face wrote are the URLs its $batch accepts.
    batch = (
        "--b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        f"GET {location} HTTP/1.1\r\nAccept: application/json\r\n\r\n\r\n--b--\r\n"
    )
    answer = gw.client.post(
        "/gw/odata/v2/$batch",
        data=batch,
        headers={**KEY, **headers, "Content-Type": "multipart/mixed; boundary=b"},
    )
    assert answer.status_code == 202
    assert b"HTTP/1.1 200" in answer.data and b"Located in V2" in answer.data


def test_forwarded_headers_only_from_trusted_proxies() -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "public.example.com"}
    untrusted = Gateway().get("/odata/Contact?$top=1", forwarded).get_json()
    assert untrusted["@odata.context"].startswith("http://localhost/odata/")
    trusted = Gateway({"FORWARDED_ALLOW_IPS": "127.0.0.0/8"}).get("/odata/Contact?$top=1", forwarded)
    assert trusted.get_json()["@odata.context"].startswith("https://public.example.com/odata/")


def test_no_source_and_no_demo_flag_refuses_to_start_naming_both() -> None:
    with pytest.raises(SourceConfigError) as refused:
        create_app(environ={"GATEWAY_API_KEYS": "k"}, host="0.0.0.0", allow_demo=False)
    assert str(refused.value) == NO_SOURCE
    assert "SF_" in NO_SOURCE and "GATEWAY_DEMO=1" in NO_SOURCE


def test_basic_users_are_principals_of_the_log() -> None:
    gw = Gateway({"GATEWAY_USERS": f"alice:{hash_password('pw')}"})
    answer = gw.client.get("/odata/Account?$top=1", headers={"Authorization": "Basic YWxpY2U6cHc="})
    assert answer.status_code == 200 and gw.lines()[-1]["principal"] == "alice"


# ----- several instances behind one URL, with a real Redis -----------------------------------------------


def test_two_instances_share_rate_limit_and_cache_through_redis(redis_url: str) -> None:  # noqa: F811
    env = {"GATEWAY_REDIS_URL": redis_url, "GATEWAY_RATE_LIMIT": "3/minute", "GATEWAY_CACHE_TTL": "60"}
    first = Gateway(env)
    token = first.source.credentials.access_token
    second_source = first.org.connection(token)
    environ = {"GATEWAY_API_KEYS": "op-key,other-key", **env}
    second = create_app(source=second_source, environ=environ, host="127.0.0.1", log_stream=io.StringIO())
    client_b = second.test_client()
    path = "/odata/Account?$select=Name&$top=3&$filter=Name ne 'redis-test'"
    before = first.org.api_used
    a1 = first.get(path)
    b1 = client_b.get(path, headers=KEY)
    assert a1.get_json() == b1.get_json() and b1.headers["Age"] in ("0", "1")
    assert first.org.api_used == before + 1  # the second instance answered from the shared cache
    assert [first.get(path).status_code, client_b.get(path, headers=KEY).status_code] == [200, 429]


def test_the_v2_face_passes_through_the_same_log_and_governor() -> None:
    gw = Gateway({"GATEWAY_RATE_LIMIT": "1/minute"})
    assert gw.get("/odata/v2/Account?$top=2").status_code == 200
    refused = gw.get("/odata/v2/Account?$top=2")
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    first, second = gw.lines()
    assert (first["entity_set"], first["api_calls"], first["rows"]) == ("Account", 1, 2)
    assert second["refused"] == "rate_limit" and second["api_calls"] == 0


def test_rate_limit_serves_while_its_redis_is_unreachable() -> None:
    gw = Gateway({"GATEWAY_RATE_LIMIT": "1/minute", "GATEWAY_REDIS_URL": "redis://127.0.0.1:1/0"})
    assert [gw.get(LIST_VIEW).status_code for _ in range(3)] == [200, 200, 200]
