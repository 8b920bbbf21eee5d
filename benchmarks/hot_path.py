"""The hot path against the floor: one run, every variant interleaved, medians (issue 10's figures).

Processes, as in production: the local org (``gateway localorg``, keep-alive and gzip as Salesforce), the
gateway under its production server (gunicorn gthread, ``wsgi:app``) pointed at it over HTTP, a trivial
relay under the same server (``benchmarks/relay.py``: the floor) and this script as the client.

It prints:
- a 200-row page: gateway ÷ the same SOQL through simple-salesforce (decoded JSON both sides, aim ≤ 1.15)
  and gateway ÷ a raw HTTP GET of that SOQL (bytes vs bytes, aim ≤ 1.5), with the relay measured the same
  ways beside them;
- page 250 ÷ page 1 with ``$orderby=Name`` (aim ≤ 1.1);
- a ``$batch`` change set of 200 creates ÷ one direct composite collection call (aim ≤ 1.3);
- the gateway's own CPU per page, measured in this process on the same app and org (aim ≤ 3 ms), and a
  profile of where it goes;
- throughput and p99 latency at 1, 4 and 8 concurrent clients (gateway, relay, org direct);
- the load of the machine before and after (it is shared: interleaving and medians are the defence).

The SOQL sent directly is the one the gateway sent, read from the local org's request log.

Run: ``.venv/bin/python benchmarks/hot_path.py --rows 100000``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlsplit

import requests
import urllib3
from simple_salesforce import Salesforce

sys.path.insert(0, str(Path(__file__).resolve().parent))
from read_path import API_KEY, GATEWAY, TOKEN, free_port, start  # noqa: E402

from gateway.source.connection import PlainHttpAdapter  # noqa: E402

REPOSITORY = Path(__file__).resolve().parent.parent
SELECT = "Id,Name,Industry,AnnualRevenue,NumberOfEmployees,BillingCity,Phone,CreatedDate"
QUERY_PATH = "/services/data/v59.0/query"
SECRET = "benchmark-secret-benchmark-secret"
IDENTITY = {"Accept-Encoding": "identity"}


def gunicorn(app: str, env: dict, threads: int) -> tuple[object, str]:
    """The gateway's production server configuration (gthread, keep-alive) serving ``app``."""
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "--bind", f"127.0.0.1:{port}",
        "--workers", "1",
        "--threads", str(threads),
        "--worker-class", "gthread",
        "--keep-alive", "5",
        "--chdir", str(REPOSITORY),
        app,
    ]  # fmt: skip
    return start(command, r"Listening at: (http://\S+)", env)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def p99_ms(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


class Raw:
    """A raw HTTP/1.1 GET client with one kept-alive connection: returns the (decoded) body bytes."""

    def __init__(self, base: str, headers: dict[str, str]):
        parts = urlsplit(base)
        self.pool = urllib3.HTTPConnectionPool(parts.hostname, parts.port, maxsize=1)
        self.headers = {"Accept-Encoding": "gzip", **headers}

    def get(self, path_and_query: str, **headers: str) -> bytes:
        response = self.pool.request("GET", path_and_query, headers={**self.headers, **headers})
        assert response.status == 200, response.data[:300]
        return response.data


def timed(samples: list[float], action: Callable[[], object]) -> object:
    t0 = time.perf_counter()
    result = action()
    samples.append(time.perf_counter() - t0)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="demo Accounts (children scale with it)")
    parser.add_argument("--repeat", type=int, default=60, help="interleaved rounds of the page variants")
    parser.add_argument("--seconds", type=float, default=4.0, help="duration of each concurrency level")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads (gateway and relay)")
    parser.add_argument("--profile-top", type=int, default=0, help="also list the N costliest functions")
    parser.add_argument("--deep-page", type=int, default=250, help="the deep page compared with page 1")
    args = parser.parse_args()
    load_before = os.getloadavg()
    log_file = tempfile.NamedTemporaryFile(prefix="hot-path-", suffix=".jsonl", delete=False)
    started = time.perf_counter()
    org, org_url = start(
        [*GATEWAY, "localorg", "--port", "0", "--rows", str(args.rows), "--token", TOKEN,
         "--api-limit", str(10**9), "--request-log", log_file.name],
        r"listening on (http://\S+)",
    )  # fmt: skip
    load_seconds = time.perf_counter() - started
    env = {
        **os.environ,
        "SF_INSTANCE_URL": org_url,
        "SF_ACCESS_TOKEN": TOKEN,
        "GATEWAY_API_KEYS": API_KEY,
        "GATEWAY_SECRET": SECRET,
        "GATEWAY_HOST": "127.0.0.1",
        "RELAY_ORG_URL": org_url,
        "RELAY_TOKEN": TOKEN,
    }
    gateway, gateway_url = gunicorn("wsgi:app", env, args.threads)
    relay, relay_url = gunicorn("benchmarks.relay:app", env, args.threads)
    try:
        print(f"local org: {args.rows} Accounts, started in {load_seconds:.1f} s; {os.cpu_count()} CPUs")
        print(f"load average before: {' '.join(f'{x:.2f}' for x in load_before)}")
        run(args, org_url, gateway_url, relay_url, Path(log_file.name))
        print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        for process in (gateway, relay, org):
            process.terminate()
        for process in (gateway, relay, org):
            process.wait()
        os.unlink(log_file.name)


def last_soql(log_path: Path) -> str:
    lines = log_path.read_text().splitlines()
    return next(json.loads(line)["soql"] for line in reversed(lines) if json.loads(line).get("soql"))


def run(args: argparse.Namespace, org_url: str, gateway_url: str, relay_url: str, log_path: Path) -> None:
    bearer = {"Authorization": f"Bearer {API_KEY}"}
    http = requests.Session()
    http.headers.update(bearer)
    session = requests.Session()
    session.mount(org_url.replace("http://", "https://") + "/", PlainHttpAdapter())
    direct = Salesforce(instance_url=org_url, session_id=TOKEN, session=session, version="59.0")
    gateway_raw = Raw(gateway_url, bearer)
    org_raw = Raw(org_url, {"Authorization": f"Bearer {TOKEN}"})
    relay_raw = Raw(relay_url, {})

    page_path = f"/odata/Account?$select={SELECT}"
    http.get(gateway_url + "/odata/$metadata").raise_for_status()
    first = http.get(gateway_url + page_path).json()
    assert len(first["value"]) == 200
    soql = last_soql(log_path)
    org_path = f"{QUERY_PATH}?q={quote(soql)}"
    relay_path = f"/relay?q={quote(soql)}"
    print(f"\nSOQL of a 200-row page: {soql}")

    variants: dict[str, Callable[[], object]] = {
        "gateway, requests + JSON": lambda: http.get(gateway_url + page_path).json(),
        "simple-salesforce direct": lambda: direct.query(soql),
        "relay, requests + JSON": lambda: http.get(relay_url + relay_path).json(),
        "relay (re-encoding), requests + JSON": lambda: http.get(
            relay_url + relay_path + "&reencode=1"
        ).json(),
        "gateway, raw GET": lambda: gateway_raw.get(page_path),
        "gateway, raw GET, uncompressed": lambda: gateway_raw.get(
            page_path, **{"Accept-Encoding": "identity"}
        ),
        "org, raw GET": lambda: org_raw.get(org_path),
        "relay, raw GET": lambda: relay_raw.get(relay_path),
        "relay (re-encoding), raw GET": lambda: relay_raw.get(relay_path + "&reencode=1"),
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(5):
        for action in variants.values():
            action()
    for _ in range(args.repeat):  # interleaved: drift and the neighbours' load hit every variant alike
        for name, action in variants.items():
            timed(samples[name], action)
    medians = {name: median_ms(values) for name, values in samples.items()}
    print(f"\n200-row page, median of {args.repeat} interleaved rounds:")
    for name, value in medians.items():
        print(f"  {name:<38} {value:7.2f} ms")
    sf = medians["simple-salesforce direct"]
    raw = medians["org, raw GET"]
    ratios = (
        ("gateway ÷ simple-salesforce direct", "gateway, requests + JSON", sf, "(aim ≤ 1.15)"),
        ("relay ÷ simple-salesforce direct", "relay, requests + JSON", sf, "(floor)"),
        ("re-encoding relay ÷ simple-salesforce", "relay (re-encoding), requests + JSON", sf, ""),
        ("gateway ÷ raw GET (bytes vs bytes)", "gateway, raw GET", raw, "(aim ≤ 1.5)"),
        ("relay ÷ raw GET", "relay, raw GET", raw, "(floor)"),
        ("re-encoding relay ÷ raw GET", "relay (re-encoding), raw GET", raw, ""),
    )
    print("ratios:")
    for label, name, denominator, note in ratios:
        print(f"  {label:<38} {medians[name] / denominator:5.2f}  {note}")

    deep_paging(args, http, gateway_raw, gateway_url)
    change_set(args, http, direct, gateway_url)
    own_cpu(args, org_url)
    concurrency(args, gateway_url, page_path, org_url, org_path, relay_url, relay_path)


def deep_paging(args: argparse.Namespace, http: requests.Session, raw: Raw, gateway_url: str) -> None:
    path = f"/odata/Account?$select={SELECT}&$orderby=Name"
    url, walk = gateway_url + path, []
    for _ in range(args.deep_page - 1):
        body = timed(walk, lambda u=url: http.get(u).json())
        url = body["@odata.nextLink"]
    deep = url[len(gateway_url) :]
    first, last = [], []
    for _ in range(5):
        raw.get(path), raw.get(deep)
    for _ in range(max(20, args.repeat // 2)):
        timed(first, lambda: raw.get(path))
        timed(last, lambda: raw.get(deep))
    f, d = median_ms(first), median_ms(last)
    print(f"\n$orderby=Name, medians of raw GETs: page 1 {f:.2f} ms, page {args.deep_page} {d:.2f} ms: "
          f"ratio {d / f:.2f} (aim ≤ 1.1)")  # fmt: skip
    print(f"  (walking pages 1..{args.deep_page - 1} by nextLink: median {median_ms(walk):.1f} ms, "
          f"last {walk[-1] * 1000:.1f} ms)")  # fmt: skip


def change_set(
    args: argparse.Namespace, http: requests.Session, direct: Salesforce, gateway_url: str
) -> None:
    def batch(tag: str) -> dict:
        items = [
            {"id": str(i), "atomicityGroup": "g", "method": "POST", "url": "Account",
             "body": {"Name": f"Bench {tag} {i}"}}
            for i in range(200)
        ]  # fmt: skip
        return {"requests": items}

    def via_gateway(n: int) -> None:
        response = http.post(gateway_url + "/odata/$batch", json=batch(f"g{n}"))
        assert response.status_code == 200 and len(response.json()["responses"]) == 200, response.text[:300]

    def via_composite(n: int) -> None:
        records = [{"attributes": {"type": "Account"}, "Name": f"Bench d{n} {i}"} for i in range(200)]
        results = direct.restful(
            "composite/sobjects", method="POST", json={"allOrNone": True, "records": records}
        )
        assert len(results) == 200 and all(r["success"] for r in results)

    through, straight = [], []
    for n in range(3):
        via_gateway(-n), via_composite(-n)
    for n in range(max(10, args.repeat // 3)):
        timed(through, lambda n=n: via_gateway(n))
        timed(straight, lambda n=n: via_composite(n))
    g, d = median_ms(through), median_ms(straight)
    print(f"\nchange set of 200 creates: gateway $batch {g:.1f} ms, direct composite {d:.1f} ms: "
          f"ratio {g / d:.2f} (aim ≤ 1.3)")  # fmt: skip


# --- the gateway's own CPU per page ------------------------------------------------------------------

CATEGORIES = (  # the first that matches a function's "file:name" wins
    ("decode the org's JSON", ("json/decoder.py", "orjson.loads", "json/__init__.py:loads", ":decode_json")),
    ("encode the response", ("json/encoder.py", "orjson.dumps", "json/__init__.py:dumps", "json_body.py")),
    ("outbound call (HTTP client)", ("requests/", "urllib3/", "http/client.py", "simple_salesforce/",
                                     "socket.py", "email/", "recv_into", "sendall", "gateway/source/",
                                     "<frozen os>", "urllib/request.py", "netrc", "idna", "ssl.py")),
    ("parse, bind, plan, print SOQL", ("gateway/odata/read/", "gateway/soql/", "odata_query/", "sly/")),
    ("shape records", ("gateway/odata/v4/shape.py", "gateway/odata/model/values.py")),
    ("compression (the response; the org's answer)", ("gzip.py", "zlib", "brotli", "flask_compress")),
    ("Flask, auth, request context, operation", ("flask/", "werkzeug/", "gateway/odata/",
                                                 "gateway/operation/", "gateway/app.py", "contextvars",
                                                 "logging/")),
)  # fmt: skip


def category(key: tuple[str, int, str]) -> str:
    filename, _, name = key
    text = f"{filename}:{name}" if filename != "~" else name
    for label, needles in CATEGORIES:
        if any(needle in text for needle in needles):
            return label
    return "other"


def shares(key: tuple[str, int, str], tottime: float, callers: dict) -> list[tuple[str, float]]:
    """A function's self time by category: a function that no category names (``len``, ``os.environ``
    lookups) counts where its callers are, in proportion to the time spent under each."""
    label = category(key)
    if label != "other" or not callers:
        return [(label, tottime)]
    under = {caller: edge[2] for caller, edge in callers.items()}
    total = sum(under.values()) or 1.0
    return [(category(caller), tottime * spent / total) for caller, spent in under.items()]


def own_cpu(args: argparse.Namespace, org_url: str) -> None:
    """CPU time of this process per page, the gateway app called as a WSGI server calls it."""
    from werkzeug.test import EnvironBuilder

    from gateway.app import create_app
    from gateway.source.connection import SourceConnection

    source = SourceConnection.from_env({"SF_INSTANCE_URL": org_url, "SF_ACCESS_TOKEN": TOKEN})
    app = create_app(source=source, environ={"GATEWAY_API_KEYS": API_KEY, "GATEWAY_SECRET": SECRET})
    environ = EnvironBuilder(
        path="/odata/Account",
        query_string=f"$select={SELECT}",
        headers={"Authorization": f"Bearer {API_KEY}", "Accept-Encoding": "gzip"},
    ).get_environ()

    def page() -> bytes:
        captured = []
        body = b"".join(app(dict(environ), lambda status, headers, exc=None: captured.append(status)))
        assert captured[0].startswith("200"), body[:300]
        return body

    with contextlib.redirect_stdout(io.StringIO()):  # the request log's lines
        for _ in range(20):
            page()
        rounds = max(100, args.repeat * 3)
        cpu, wall = [], []
        for _ in range(rounds):
            c0, w0 = time.process_time(), time.perf_counter()
            page()
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
        profile = cProfile.Profile(time.process_time)  # CPU, not waiting for the org
        profile.enable()
        for _ in range(rounds):
            page()
        profile.disable()
    per_page = statistics.mean(cpu) * 1000
    print(f"\ngateway's own CPU per 200-row page (in-process, {rounds} pages): {per_page:.2f} ms mean "
          f"(wall {median_ms(wall):.2f} ms median, the org's time included) (aim ≤ 3 ms)")  # fmt: skip
    stats = pstats.Stats(profile, stream=io.StringIO())
    totals: dict[str, float] = {}
    for key, (_, _, tottime, _, callers) in stats.stats.items():  # type: ignore[attr-defined]
        for label, share in shares(key, tottime, callers):
            totals[label] = totals.get(label, 0.0) + share
    profiled = sum(totals.values())
    print("  where it goes (self time in the profile, scaled to the unprofiled CPU per page):")
    for label, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        print(f"    {label:<42} {seconds / profiled * per_page:5.2f} ms  {seconds / profiled:5.1%}")
    if args.profile_top:
        print(f"  the {args.profile_top} functions with the most self time (ms per page, calls per page):")
        ranked = sorted(stats.stats.items(), key=lambda item: -item[1][2])  # type: ignore[attr-defined]
        for key, (_, calls, tottime, _, _) in ranked[: args.profile_top]:
            ms = tottime / profiled * per_page
            print(f"    {ms:6.3f} {calls // rounds:>5}  {category(key):<28} {key[0]}:{key[1]} {key[2]}")


# --- concurrency -------------------------------------------------------------------------------------


def concurrency(
    args: argparse.Namespace,
    gateway_url: str,
    page_path: str,
    org_url: str,
    org_path: str,
    relay_url: str,
    relay_path: str,
) -> None:
    targets = {
        "gateway": (gateway_url, page_path, {"Authorization": f"Bearer {API_KEY}"}),
        "relay": (relay_url, relay_path, {}),
        "org direct": (org_url, org_path, {"Authorization": f"Bearer {TOKEN}"}),
    }
    print(f"\nconcurrent clients, raw GETs of a 200-row page for {args.seconds:.0f} s each:")
    print(f"  {'clients':>7} {'target':<11} {'pages/s':>8} {'median ms':>10} {'p99 ms':>8}")
    for clients in (1, 4, 8):
        for name, (base, path, headers) in targets.items():
            latencies = load_test([Raw(base, headers) for _ in range(clients)], path, args.seconds)
            rate, middle, tail = len(latencies) / args.seconds, median_ms(latencies), p99_ms(latencies)
            print(f"  {clients:>7} {name:<11} {rate:8.1f} {middle:10.2f} {tail:8.2f}")


def load_test(clients: list[Raw], path: str, seconds: float) -> list[float]:
    """Each client GETs ``path`` in a loop, in its own thread, for ``seconds``: every latency."""
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(raw: Raw) -> None:
        mine: list[float] = []
        while time.perf_counter() < deadline:
            timed(mine, lambda: raw.get(path))
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(raw,)) for raw in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


if __name__ == "__main__":
    main()
