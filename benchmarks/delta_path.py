"""Benchmark delta links (change tracking) against the same queries sent directly, in one run, in process.

The embedded local org with ``--rows`` demo Accounts, the gateway app over it (WSGI, no sockets), and the
same source connection for the direct side, so the ratio is the gateway's own work around the org's. It
reports, interleaved, medians:
- an empty poll (nothing changed) through the gateway vs the page's ``queryAll`` sent directly;
- an empty poll of a filtered set (one Composite request of two ``queryAll``) vs that Composite directly;
- a poll of 200 changed records vs its ``queryAll`` directly;
- API calls: starting to track (``$top=0``), an empty poll, a filtered poll, and a poll of 1,000 changes
  in pages of 200 (aim: one call a page).

Run: ``.venv/bin/python benchmarks/delta_path.py --rows 100000``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from urllib.parse import quote, urlsplit

from gateway.app import create_app
from gateway.odata.read import delta
from gateway.source.embedded import embedded_source

TRACK = {"Prefer": "odata.track-changes"}
SELECT = "$select=Id,Name,Industry,AnnualRevenue"
FILTER = "$filter=Industry eq 'Banking'"


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def local(link: str) -> str:
    parts = urlsplit(link)
    return parts.path + "?" + parts.query


def soql_of(app, link: str) -> list[str]:
    """The SOQL of a delta link's first page, as the gateway sends it (read back from its request log)."""
    from gateway.odata.http import tokens
    from gateway.odata.read.bind import bind
    from gateway.odata.read.plan import plan_read
    from gateway.odata.read.query_options import parse_query_options
    from gateway.soql.printer import print_soql

    gateway = app.extensions["odata_gateway"]
    token = urlsplit(link).query.split("$deltatoken=", 1)[1]
    state = tokens.verify(token, gateway.secret, "gateway.odata.delta.deltatoken")
    entity_set = gateway.model().entity_set(state["p"])
    plan = plan_read(bind(entity_set, gateway.model(), parse_query_options(state["o"])))
    window = delta.window_from_dict(state["w"]).begin_read()
    queries = delta.page_queries(plan, window, gateway.page_size)
    texts = [print_soql(queries.changes)]
    if queries.matching is not None:
        texts.append(print_soql(queries.matching))
    return texts


def compare(label: str, client, link: str, direct, repeat: int) -> None:
    gateway_times, direct_times = [], []
    for _ in range(5):
        client.get(local(link)).get_json()
        direct()
    for _ in range(repeat):  # interleaved, so drift hits both sides alike
        gateway_times.append(timed(lambda: client.get(local(link)).get_json()))
        direct_times.append(timed(direct))
    gw, dr = median_ms(gateway_times), median_ms(direct_times)
    print(f"{label:<46} gateway {gw:7.2f} ms   direct {dr:7.2f} ms   ratio {gw / dr:5.2f}")


def calls(source, call) -> int:
    before = source.api_calls
    call()
    return source.api_calls - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="demo Accounts")
    parser.add_argument("--repeat", type=int, default=60, help="timed requests per side")
    args = parser.parse_args()

    started = time.perf_counter()
    source, store = embedded_source(args.rows, api_limit=10**9)
    print(f"local org with {args.rows} Accounts loaded in {time.perf_counter() - started:.1f} s")
    app = create_app(
        source=source, environ={"GATEWAY_SECRET": "benchmark-secret-benchmark-secret"}, embedded=True
    )
    client = app.test_client()

    start_calls = calls(source, lambda: client.get(f"/odata/Account?{SELECT}&$top=0", headers=TRACK))
    link = client.get(f"/odata/Account?{SELECT}&$top=0", headers=TRACK).get_json()["@odata.deltaLink"]
    filtered = client.get(f"/odata/Account?{SELECT}&{FILTER}&$top=0", headers=TRACK).get_json()[
        "@odata.deltaLink"
    ]

    [changes] = soql_of(app, link)
    compare("empty poll", client, link, lambda: source.query_all(changes), args.repeat)
    changes_f, matching_f = soql_of(app, filtered)
    base = source.data_path()
    subrequests = [
        {"method": "GET", "url": f"{base}/queryAll/?q={quote(text)}", "referenceId": ref}
        for ref, text in (("changes", changes_f), ("matching", matching_f))
    ]
    compare(
        "empty poll, filtered (Composite of two)",
        client,
        filtered,
        lambda: source.composite_request(subrequests),
        args.repeat,
    )
    empty_calls = calls(source, lambda: client.get(local(link)))
    filtered_calls = calls(source, lambda: client.get(local(filtered)))

    ids = [r[0] for r in store.conn.execute('SELECT "Id" FROM "Account" ORDER BY "Id" LIMIT 1000')]
    for n, record_id in enumerate(ids[:200]):
        store.update("Account", record_id, {"Name": f"Changed {n}"})
    [changes_200] = soql_of(app, link)
    compare("poll of 200 changes", client, link, lambda: source.query_all(changes_200), args.repeat)

    for n, record_id in enumerate(ids):
        store.update("Account", record_id, {"Name": f"Changed again {n}"})
    pages, entries, url = 0, 0, local(link)
    before = source.api_calls
    while url:
        body = client.get(url).get_json()
        pages += 1
        entries += len(body["value"])
        url = local(body["@odata.nextLink"]) if "@odata.nextLink" in body else None
    big_calls = source.api_calls - before

    print(f"API calls to start tracking ($top=0): {start_calls}")
    print(f"API calls per empty poll: {empty_calls}; per filtered empty poll: {filtered_calls}")
    print(f"poll of {len(ids)} changes: {entries} entries in {pages} pages, {big_calls} API calls")


if __name__ == "__main__":
    main()
