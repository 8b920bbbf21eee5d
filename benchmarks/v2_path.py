"""Benchmark the V2 face against the V4 face and direct SOQL, in one run, on one in-process local org.

Everything runs in this process over WSGI (no sockets), so the figures isolate what each face adds to the
same SOQL call: parse, bind, plan, execute on the local org, shape, serialize. For one 200-row page of
Accounts (the same columns) it reports, interleaved round by round so drift hits every side alike:

- the page through V2 as Atom (the default), through V2 as JSON verbose, through V4 as JSON;
- the same SOQL through the gateway's source connection directly;
- medians and the ratios V2/V4 and V2/direct; the API calls each request spent (aim: exactly 1).

Run: ``.venv/bin/python benchmarks/v2_path.py --rows 5000 --repeat 40``.
"""

from __future__ import annotations

import argparse
import statistics
import time

from gateway.app import create_app
from gateway.source.embedded import embedded_source

SELECT = "Id,Name,Industry,AnnualRevenue,NumberOfEmployees,BillingCity,Phone,CreatedDate"
SOQL = f"SELECT {SELECT.replace(',', ', ')} FROM Account ORDER BY Id ASC LIMIT 201"
URLS = {
    "V2 Atom": f"/odata/v2/Account?$select={SELECT}",
    "V2 JSON": f"/odata/v2/Account?$select={SELECT}&$format=json",
    "V4 JSON": f"/odata/Account?$select={SELECT}",
}


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000, help="demo Accounts (default 5000)")
    parser.add_argument("--repeat", type=int, default=40, help="rounds (default 40)")
    args = parser.parse_args()
    source, _ = embedded_source(args.rows)
    app = create_app(source=source, environ={}, host="127.0.0.1", embedded=True)
    client = app.test_client()
    times: dict[str, list[float]] = {name: [] for name in [*URLS, "direct SOQL"]}
    calls: dict[str, set[int]] = {name: set() for name in URLS}
    sizes: dict[str, int] = {}
    for name, url in URLS.items():  # warm up: model, caches, first-call costs
        assert client.get(url).status_code == 200, name
    for _ in range(args.repeat):
        for name, url in URLS.items():
            before = source.api_calls
            start = time.perf_counter()
            response = client.get(url)
            times[name].append(time.perf_counter() - start)
            assert response.status_code == 200
            calls[name].add(source.api_calls - before)
            sizes[name] = len(response.data)
        start = time.perf_counter()
        source.query(SOQL)
        times["direct SOQL"].append(time.perf_counter() - start)
    direct, v4 = median_ms(times["direct SOQL"]), median_ms(times["V4 JSON"])
    print(f"{args.rows} Accounts, 200-row page, median of {args.repeat} interleaved rounds (in process):")
    print(f"  direct SOQL through the source connection: {direct:.2f} ms")
    for name in URLS:
        figure = median_ms(times[name])
        print(
            f"  {name}: {figure:.2f} ms, {sizes[name] / 1000:.0f} kB, API calls a page "
            f"{sorted(calls[name])}, ratio to V4 {figure / v4:.2f}, to direct {figure / direct:.2f}"
        )


if __name__ == "__main__":
    main()
