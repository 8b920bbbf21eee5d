"""Benchmark the OData read path against direct SOQL, in one run, on one local org.

Three processes, as in production: the local org (``gateway localorg``), the gateway (``gateway serve``
pointed at it by SF_* variables) and this script as the client. It reports:
- a 200-row page through the gateway (HTTP) vs the same SOQL through simple-salesforce directly: medians
  and their ratio (aim ≤ 1.3);
- in-process translate + serialize time per 200-row page (parse, bind, plan, print SOQL, shape and dump
  JSON; aim ≤ 2 ms);
- API calls per page while paging the whole Account set by nextLink (aim: exactly 1);
- the gateway process's resident memory while paging every Account (aim: flat).

Run: ``.venv/bin/python benchmarks/read_path.py --rows 100000``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from simple_salesforce import Salesforce

from gateway.app import create_app
from gateway.odata.read.bind import bind
from gateway.odata.read.plan import plan_read
from gateway.odata.read.query_options import parse_query_options
from gateway.odata.v4.shape import JsonFormat, Shaper
from gateway.soql.printer import print_soql
from gateway.source.connection import PlainHttpAdapter, SourceConnection

TOKEN = "benchmark-token"
API_KEY = "benchmark-key"
SELECT = "Id,Name,Industry,AnnualRevenue,NumberOfEmployees,BillingCity,Phone,CreatedDate"
GATEWAY = [sys.executable, "-m", "gateway.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command: list[str], ready: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """Start a server process and wait for the line announcing its URL."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert process.stdout is not None
    for line in process.stdout:
        match = re.search(ready, line)
        if match:
            # Keep reading its output (request logs), or a full pipe would block the server.
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return process, match.group(1)
    raise RuntimeError(f"{' '.join(command)} did not start (exit {process.wait()})")


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (gunicorn's worker lives under its master)."""
    status = Path(f"/proc/{pid}/status").read_text()
    total = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            total += rss_mb(int(child))
    return total


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="demo Accounts (children scale with it)")
    parser.add_argument("--repeat", type=int, default=60, help="timed requests per side")
    parser.add_argument(
        "--server",
        choices=("gunicorn", "werkzeug"),
        default="gunicorn",
        help="serve the gateway with gunicorn (wsgi:app) or Werkzeug (`gateway serve --dev`)",
    )
    args = parser.parse_args()

    started = time.perf_counter()
    org, org_url = start(
        [
            *GATEWAY,
            "localorg",
            "--port",
            "0",
            "--rows",
            str(args.rows),
            "--token",
            TOKEN,
            "--api-limit",
            str(10**9),
        ],
        r"listening on (http://\S+)",
    )
    load_seconds = time.perf_counter() - started
    env = {
        **os.environ,
        "SF_INSTANCE_URL": org_url,
        "SF_ACCESS_TOKEN": TOKEN,
        "GATEWAY_API_KEYS": API_KEY,
        "GATEWAY_SECRET": "benchmark-secret-benchmark-secret",
    }
    if args.server == "gunicorn":  # production: the Dockerfile's server, wsgi:app
        port = free_port()
        command = [
            str(Path(sys.executable).with_name("gunicorn")),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
            "--chdir",
            str(Path(__file__).resolve().parent.parent),
            "wsgi:app",
        ]
        gateway_process, url = start(command, r"Listening at: (http://\S+)", env)
        gateway_root = url + "/odata/"
    else:
        gateway_process, gateway_root = start(
            [*GATEWAY, "serve", "--dev", "--port", str(free_port())], r"serving (http://\S+/odata/)", env
        )
    try:
        run(args, org_url, gateway_root, gateway_process.pid, load_seconds)
    finally:
        gateway_process.terminate()
        org.terminate()


def run(args: argparse.Namespace, org_url: str, gateway_root: str, gateway_pid: int, load: float) -> None:
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {API_KEY}"
    direct_session = requests.Session()
    direct_session.mount(org_url.replace("http://", "https://") + "/", PlainHttpAdapter())
    direct = Salesforce(instance_url=org_url, session_id=TOKEN, session=direct_session, version="59.0")

    # The same planning the gateway does, in this process, for the SOQL and the in-process timing.
    source = SourceConnection.from_env({"SF_INSTANCE_URL": org_url, "SF_ACCESS_TOKEN": TOKEN})
    app = create_app(source=source, environ={"GATEWAY_API_KEYS": API_KEY})
    model = app.extensions["odata_gateway"].model()
    entity_set = model.entity_set("Account")
    options = {"$select": SELECT}
    plan = plan_read(bind(entity_set, model, parse_query_options(options)))
    page_soql = print_soql(plan.query) + " LIMIT 201"

    page_url = f"{gateway_root}Account?$select={SELECT}"
    gateway_times, direct_times = [], []
    for _ in range(5):  # warm both paths
        http.get(page_url).raise_for_status()
        direct.query(page_soql)
    for _ in range(args.repeat):  # interleaved, so drift hits both sides alike
        t0 = time.perf_counter()
        response = http.get(page_url)
        gateway_times.append(time.perf_counter() - t0)
        assert response.status_code == 200 and len(response.json()["value"]) == 200
        t0 = time.perf_counter()
        direct.query(page_soql)
        direct_times.append(time.perf_counter() - t0)

    records = direct.query(page_soql)["records"][:200]
    fmt = JsonFormat()
    translate_serialize = []
    for _ in range(args.repeat * 5):
        t0 = time.perf_counter()
        plan = plan_read(bind(entity_set, model, parse_query_options(options)))
        print_soql(plan.query)
        shaper = Shaper.build(entity_set, plan.select, (), fmt, gateway_root)
        json.dumps({"value": [shaper.shape(r) for r in records]}, ensure_ascii=False)
        translate_serialize.append(time.perf_counter() - t0)

    # Page through every Account by nextLink: API calls per page and the gateway's memory on the way.
    used_before = direct.limits()["DailyApiRequests"]
    url, pages, rows, samples = page_url, 0, 0, []
    paging_started = time.perf_counter()
    while url:
        body = http.get(url).json()
        rows += len(body["value"])
        pages += 1
        url = body.get("@odata.nextLink")  # absolute, on the gateway
        if pages in (1, 10, 50, 100, 250) or pages % 100 == 0 or url is None:
            samples.append((pages, rows, rss_mb(gateway_pid)))
    paging_seconds = time.perf_counter() - paging_started
    used_after = direct.limits()["DailyApiRequests"]
    calls = (used_before["Remaining"] - used_after["Remaining"]) - 1  # less the second limits call

    gw, dr = median_ms(gateway_times), median_ms(direct_times)
    print(f"demo org: {args.rows} accounts, local org started in {load:.1f} s")
    print(
        f"200-row page, median of {args.repeat}: gateway over HTTP {gw:.2f} ms, "
        f"simple-salesforce direct {dr:.2f} ms, ratio {gw / dr:.2f}"
    )
    per_page = median_ms(translate_serialize)
    print(f"in-process translate+serialize per 200-row page: {per_page:.2f} ms (median)")
    print(
        f"paged {rows} rows in {pages} pages, {paging_seconds:.1f} s ({paging_seconds / pages * 1000:.1f} "
        f"ms a page): {calls} API calls = {calls / pages:.2f} per page"
    )
    print("gateway resident memory while paging: page, rows, RSS MB")
    for sample in samples:
        print(f"  {sample[0]:>6} {sample[1]:>8} {sample[2]:8.1f}")


if __name__ == "__main__":
    main()
