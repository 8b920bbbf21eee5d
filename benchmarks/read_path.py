"""Benchmark the OData read path against direct SOQL, in one run, on one local org.

Starts a local org over HTTP (loopback) with demo data and the gateway over HTTP in front of it, then
reports:
- a 200-row page through the gateway (HTTP) vs the same SOQL through simple-salesforce directly: medians
  and their ratio (aim ≤ 1.3);
- in-process translate + serialize time per 200-row page (parse, bind, plan, print SOQL, shape JSON;
  aim ≤ 2 ms);
- API calls per page while paging the whole Account set (aim: exactly 1);
- peak traced memory while paging every Account through nextLinks, sampled along the way (aim: flat).

Run: ``.venv/bin/python benchmarks/read_path.py --rows 100000`` (loading 100k accounts takes a while).
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
import tracemalloc
from urllib.parse import urlsplit

import requests
from simple_salesforce import Salesforce
from werkzeug.serving import make_server

from gateway.app import create_app
from gateway.localorg.api import create_app as create_localorg_app
from gateway.localorg.config import LocalOrgConfig
from gateway.localorg.demo import DEMO_SCHEMA_PATH, load_demo
from gateway.localorg.schema import load_schema
from gateway.localorg.store import Store
from gateway.odata.bind import bind
from gateway.odata.plan import plan_read
from gateway.odata.query_options import parse_query_options
from gateway.odata.shape import JsonFormat, entity
from gateway.soql.printer import print_soql
from gateway.source import PlainHttpAdapter, SourceConnection

TOKEN = "benchmark-token"
API_KEY = "benchmark-key"
SELECT = "Id,Name,Industry,AnnualRevenue,NumberOfEmployees,BillingCity,Phone,CreatedDate"


def serve(app) -> tuple[str, object]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="demo Accounts (children scale with it)")
    parser.add_argument("--repeat", type=int, default=60, help="timed requests per side")
    args = parser.parse_args()

    started = time.perf_counter()
    store = Store(load_schema(DEMO_SCHEMA_PATH))
    load_demo(store, accounts=args.rows)
    load_seconds = time.perf_counter() - started
    org_url, _ = serve(create_localorg_app(LocalOrgConfig(token=TOKEN, api_limit=10**9), store))

    source = SourceConnection.from_env({"SF_INSTANCE_URL": org_url, "SF_ACCESS_TOKEN": TOKEN})
    gateway_app = create_app(source=source, environ={"GATEWAY_API_KEYS": API_KEY}, host="127.0.0.1")
    gateway_url, _ = serve(gateway_app)
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {API_KEY}"

    # The SOQL the gateway sends for one page, taken from the plan, asked directly of the org.
    gateway = gateway_app.extensions["odata_gateway"]
    model = gateway.model()
    options = {"$select": SELECT}
    plan = plan_read(bind(model.entity_set("Account"), model, parse_query_options(options)))
    page_soql = print_soql(plan.query) + " LIMIT 201"
    direct_session = requests.Session()
    direct_session.mount(org_url.replace("http://", "https://") + "/", PlainHttpAdapter())
    direct = Salesforce(instance_url=org_url, session_id=TOKEN, session=direct_session, version="59.0")

    page_url = f"{gateway_url}/odata/Account?$select={SELECT}"
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

    # In-process translate + serialize for a 200-row page (no source call).
    records = direct.query(page_soql)["records"][:200]
    entity_set = model.entity_set("Account")
    fmt = JsonFormat()
    translate_serialize = []
    for _ in range(args.repeat * 5):
        t0 = time.perf_counter()
        plan = plan_read(bind(entity_set, model, parse_query_options(options)))
        print_soql(plan.query)
        body = {"value": [entity(entity_set, r, plan.select, (), fmt, "http://x/odata/") for r in records]}
        json.dumps(body)
        translate_serialize.append(time.perf_counter() - t0)

    # Page through every Account by nextLink: API calls per page and memory along the way.
    calls_before = source.api_calls
    tracemalloc.start()
    url, pages, rows, samples = f"{gateway_url}/odata/Account?$select={SELECT}", 0, 0, []
    paging_started = time.perf_counter()
    while url:
        body = http.get(url).json()
        rows += len(body["value"])
        pages += 1
        link = body.get("@odata.nextLink")
        url = None if link is None else gateway_url + urlsplit(link).path + "?" + urlsplit(link).query
        if pages in (10, 50, 100, 250) or pages % 500 == 0 or url is None:
            current, peak = tracemalloc.get_traced_memory()
            samples.append((pages, rows, current / 1e6, peak / 1e6))
    paging_seconds = time.perf_counter() - paging_started
    tracemalloc.stop()
    calls = source.api_calls - calls_before

    gw, dr = median_ms(gateway_times), median_ms(direct_times)
    print(f"demo org: {args.rows} accounts loaded in {load_seconds:.1f} s")
    print(f"200-row page, median of {args.repeat}: gateway over HTTP {gw:.2f} ms, "
          f"simple-salesforce direct {dr:.2f} ms, ratio {gw / dr:.2f}")
    print(f"in-process translate+serialize per 200-row page: {median_ms(translate_serialize):.2f} ms (median)")
    print(f"paged {rows} rows in {pages} pages, {paging_seconds:.1f} s: {calls} API calls "
          f"= {calls / pages:.2f} per page")
    print("memory while paging (traced Python heap, MB): pages, rows, current, peak")
    for sample in samples:
        print(f"  {sample[0]:>6} {sample[1]:>8} {sample[2]:8.2f} {sample[3]:8.2f}")


if __name__ == "__main__":
    main()
