"""Benchmark the gateway in production operation: concurrency, API calls saved, bytes on the wire.

Three kinds of process, as in production: the local org (``gateway localorg``), the gateway (``gateway
serve``: gunicorn, default workers and threads) pointed at it by SF_* variables — once without and once with
the result cache — and this script as the client. It reports:

- throughput and p50/p99 latency of distinct 200-row page reads at 1, 4 and 8 concurrent clients, through
  the gateway and, interleaved in the same run, the same SOQL sent directly with simple-salesforce;
- the API calls the org counted for 10 identical concurrent requests (aim 1: coalescing);
- the API calls for 20 repeated identical requests with ``GATEWAY_CACHE_TTL`` set (aim 0 after the first);
- bytes on the wire for a 200-row and a 2,000-row page: identity, gzip and brotli.

Run: ``.venv/bin/python benchmarks/operation.py``.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlsplit

import requests
from simple_salesforce import Salesforce

from gateway.source.connection import PlainHttpAdapter

TOKEN = "operation-benchmark-token"
API_KEY = "operation-benchmark-key"
SELECT = "Id,Name,Industry,AnnualRevenue,NumberOfEmployees,BillingCity,Phone,CreatedDate"
SOQL_FIELDS = SELECT.replace(",", ", ")
GATEWAY = [sys.executable, "-m", "gateway.cli"]


def start(command: list[str], ready: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """Start a server process and wait for the line announcing its URL (stdout and stderr merged)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert process.stdout is not None
    for line in process.stdout:
        match = re.search(ready, line)
        if match:
            threading.Thread(target=process.stdout.read, daemon=True).start()  # keep the pipe drained
            return process, match.group(1)
    raise RuntimeError(f"{' '.join(command)} did not start (exit {process.wait()})")


def wait_healthy(root: str) -> None:
    for _ in range(200):
        try:
            if requests.get(root + "health", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{root} never became healthy")


def org_usage(org_url: str) -> int:
    """The org's own count of API requests before this call to its limits resource (which counts too:
    the difference of two readings is one more than the calls made between them)."""
    answer = requests.get(
        f"{org_url}/services/data/v59.0/limits", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    daily = answer.json()["DailyApiRequests"]
    return daily["Max"] - daily["Remaining"] - 1


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))] * 1000


def load(clients: int, requests_per_client: int, call) -> tuple[float, list[float]]:
    """Run ``call(i)`` from ``clients`` threads; (requests per second, latencies in seconds)."""
    latencies: list[float] = []
    lock = threading.Lock()

    def client(offset: int) -> None:
        for n in range(requests_per_client):
            started = time.perf_counter()
            call(offset * requests_per_client + n)
            with lock:
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    return len(latencies) / (time.perf_counter() - started), latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000, help="demo Accounts of the local org")
    parser.add_argument("--requests", type=int, default=40, help="requests per client per concurrency level")
    args = parser.parse_args()

    org, org_url = start(
        [*GATEWAY, "localorg", "--port", "0", "--rows", str(args.rows), "--token", TOKEN,
         "--api-limit", str(10**9)],
        r"listening on (http://\S+)",
    )  # fmt: skip
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SF_", "GATEWAY_"))},
        "SF_INSTANCE_URL": org_url,
        "SF_ACCESS_TOKEN": TOKEN,
        "GATEWAY_API_KEYS": API_KEY,
        "GATEWAY_SECRET": "operation-benchmark-secret-0123456789",
    }
    plain, plain_url = start([*GATEWAY, "serve", "--port", "0"], r"serving (http://\S+/odata/)", env)
    cached, cached_url = start(
        [*GATEWAY, "serve", "--port", "0"], r"serving (http://\S+/odata/)", {**env, "GATEWAY_CACHE_TTL": "60"}
    )
    try:
        for root in (plain_url, cached_url):
            wait_healthy(root.removesuffix("odata/"))
        report(args, org_url, plain_url, cached_url)
    finally:
        for process in (plain, cached, org):
            process.terminate()


def report(args: argparse.Namespace, org_url: str, gateway: str, cached_gateway: str) -> None:
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {API_KEY}"
    http.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=16))
    direct_session = requests.Session()
    direct_session.mount(org_url.replace("http://", "https://") + "/", PlainHttpAdapter(pool_maxsize=16))
    direct = Salesforce(instance_url=org_url, session_id=TOKEN, session=direct_session, version="59.0")

    def through_gateway(i: int) -> None:
        url = f"{gateway}Account?$select={SELECT}&$filter=NumberOfEmployees ge {i % 500}&$top=200"
        answer = http.get(url, timeout=60)
        assert answer.status_code == 200, answer.text[:300]

    def directly(i: int) -> None:
        soql = f"SELECT {SOQL_FIELDS} FROM Account WHERE NumberOfEmployees >= {i % 500} ORDER BY Id LIMIT 201"
        direct.query(soql)

    print("## Concurrency (distinct 200-row pages; gateway: gunicorn, 1 worker x 32 threads)\n")
    print("| clients | gateway req/s | p50 | p99 | direct req/s | p50 | p99 | p50 ratio |")
    print("|---|---|---|---|---|---|---|---|")
    through_gateway(0)
    directly(0)
    for clients in (1, 4, 8):
        rows = []
        for _ in range(2):  # interleaved: gateway, direct, gateway, direct
            rows.append(
                (
                    load(clients, args.requests // 2, through_gateway),
                    load(clients, args.requests // 2, directly),
                )
            )
        g_lat = [s for gateway_run, _ in rows for s in gateway_run[1]]
        d_lat = [s for _, direct_run in rows for s in direct_run[1]]
        g_rps = statistics.mean(gateway_run[0] for gateway_run, _ in rows)
        d_rps = statistics.mean(direct_run[0] for _, direct_run in rows)
        g50, g99 = percentile(g_lat, 0.5), percentile(g_lat, 0.99)
        d50, d99 = percentile(d_lat, 0.5), percentile(d_lat, 0.99)
        print(
            f"| {clients} | {g_rps:.0f} | {g50:.1f} ms | {g99:.1f} ms | {d_rps:.0f} | {d50:.1f} ms | "
            f"{d99:.1f} ms | {g50 / d50:.2f} |"
        )

    print("\n## API calls the org counted\n")
    list_view = f"{gateway}Account?$select={SELECT}&$orderby=Name&$top=26"
    before = org_usage(org_url)
    barrier = threading.Barrier(10)

    def identical(_: int) -> int:
        barrier.wait()
        return http.get(list_view, timeout=60).status_code

    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(identical, range(10)))
    assert statuses == [200] * 10
    coalesced = org_usage(org_url) - before - 1
    print("| measure | API calls | aim |")
    print("|---|---|---|")
    print(f"| 10 identical concurrent requests (list view, 26 rows) | {coalesced} | 1 |")
    cached_view = list_view.replace(gateway, cached_gateway)
    http.get(cached_view, timeout=60)
    before = org_usage(org_url)
    ages = [http.get(cached_view, timeout=60).headers.get("Age") for _ in range(20)]
    repeated = org_usage(org_url) - before - 1
    print(f"| 20 repeated identical requests, GATEWAY_CACHE_TTL=60, after the first | {repeated} | 0 |")
    assert all(age is not None for age in ages)

    print("\n## Bytes on the wire\n")
    print("| page | identity | gzip | brotli |")
    print("|---|---|---|---|")
    for rows in (200, 2000):
        sizes = [
            wire_bytes(f"{gateway}Account?$select={SELECT}&$top={rows}", encoding, rows)
            for encoding in ("identity", "gzip", "br")
        ]
        print(f"| {rows} Accounts | {sizes[0]:,} B | {sizes[1]:,} B | {sizes[2]:,} B |")


def wire_bytes(url: str, encoding: str, rows: int) -> int:
    """The body bytes as sent (not decoded) for ``Accept-Encoding: encoding``."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    path = quote(parts.path + "?" + parts.query, safe="/?&=$,:'")
    conn.request(
        "GET",
        path,
        headers={
            "Authorization": f"Bearer {API_KEY}",
            "Accept-Encoding": encoding,
            "Prefer": f"odata.maxpagesize={rows}",
        },
    )
    answer = conn.getresponse()
    body = answer.read()
    assert answer.status == 200, body[:300]
    assert (answer.getheader("Content-Encoding") or "identity") == encoding
    conn.close()
    return len(body)


if __name__ == "__main__":
    main()
