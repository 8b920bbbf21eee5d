"""Benchmark the OData write path against direct simple-salesforce calls, in one run, on one local org.

Three processes, as in production: the local org (``gateway localorg``), the gateway (``gateway serve``
pointed at it by SF_* variables) and this script as the client. It reports:
- API calls the org counted per gateway operation: a create (``Prefer: return=minimal``), an update, a
  delete, and JSON $batch change sets of 200 creates, 200 updates and 200 deletes (aim: 1 each);
- median latency through the gateway vs the same write sent directly with simple-salesforce: single
  create, single update, and a 200-record change set vs one sObject Collections call.

Run: ``.venv/bin/python benchmarks/write_path.py --rows 1000``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import requests
from simple_salesforce import Salesforce

sys.path.insert(0, str(Path(__file__).resolve().parent))
from read_path import API_KEY, GATEWAY, TOKEN, free_port, start  # noqa: E402

from gateway.source.connection import PlainHttpAdapter  # noqa: E402


def api_used(org_url: str) -> int:
    """The org's API count so far, this /limits call excluded (earlier /limits calls included)."""
    response = requests.get(
        f"{org_url}/services/data/v59.0/limits", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    )
    limits = response.json()["DailyApiRequests"]
    return limits["Max"] - limits["Remaining"] - 1


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def change_set(kind: str, ids: list[str], tag: str) -> dict:
    requests_ = []
    for i in range(200):
        if kind == "create":
            item = {"method": "POST", "url": "Account", "body": {"Name": f"Bench {tag} {i}"}}
        elif kind == "update":
            item = {"method": "PATCH", "url": f"Account('{ids[i]}')", "body": {"Site": tag}}
        else:
            item = {"method": "DELETE", "url": f"Account('{ids[i]}')"}
        requests_.append({"id": str(i), "atomicityGroup": "g", **item})
    return {"requests": requests_}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000, help="demo Accounts")
    parser.add_argument("--repeat", type=int, default=30, help="timed writes per side")
    args = parser.parse_args()
    org, org_url = start(
        [*GATEWAY, "localorg", "--port", "0", "--rows", str(args.rows), "--token", TOKEN,
         "--api-limit", str(10**9)],
        r"listening on (http://\S+)",
    )  # fmt: skip
    env = {
        **os.environ,
        "SF_INSTANCE_URL": org_url,
        "SF_ACCESS_TOKEN": TOKEN,
        "GATEWAY_API_KEYS": API_KEY,
        "GATEWAY_SECRET": "benchmark-secret-benchmark-secret",
    }
    gateway, root = start(
        [*GATEWAY, "serve", "--port", str(free_port())], r"serving (http://\S+/odata/)", env
    )
    try:
        run(args, org_url, root)
    finally:
        gateway.terminate()
        org.terminate()
        gateway.wait()
        org.wait()


def run(args: argparse.Namespace, org_url: str, root: str) -> None:
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {API_KEY}"
    session = requests.Session()
    session.mount(org_url.replace("http://", "https://") + "/", PlainHttpAdapter())
    direct = Salesforce(instance_url=org_url, session_id=TOKEN, session=session, version="59.0")
    minimal = {"Prefer": "return=minimal"}
    http.get(root + "$metadata").raise_for_status()  # warm the describe cache

    def calls_of(action) -> tuple[int, object]:
        before = api_used(org_url)
        result = action()
        return api_used(org_url) - before - 1, result  # - the "before" /limits call

    print("API calls per gateway operation (counted by the org):")
    calls, response = calls_of(
        lambda: http.post(root + "Account", json={"Name": "Bench one"}, headers=minimal)
    )
    record_id = response.headers["OData-EntityId"].rsplit("'", 2)[1]
    print(f"  create (return=minimal)        {calls}")
    calls, _ = calls_of(lambda: http.patch(f"{root}Account('{record_id}')", json={"Site": "x"}))
    print(f"  update                         {calls}")
    calls, _ = calls_of(lambda: http.delete(f"{root}Account('{record_id}')"))
    print(f"  delete                         {calls}")
    calls, response = calls_of(lambda: http.post(root + "$batch", json=change_set("create", [], "cs")))
    ids = [r["body"]["Id"] for r in response.json()["responses"]]
    assert len(ids) == 200
    print(f"  change set of 200 creates      {calls}")
    calls, _ = calls_of(lambda: http.post(root + "$batch", json=change_set("update", ids, "u")))
    print(f"  change set of 200 updates      {calls}")
    calls, _ = calls_of(lambda: http.post(root + "$batch", json=change_set("delete", ids, "")))
    print(f"  change set of 200 deletes      {calls}")

    timings: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in ("create", "update", "cs")}
    for n in range(args.repeat):  # interleaved, so drift hits both sides alike
        t0 = time.perf_counter()
        response = http.post(root + "Account", json={"Name": f"G {n}"}, headers=minimal)
        timings["create"][0].append(time.perf_counter() - t0)
        gateway_id = response.headers["OData-EntityId"].rsplit("'", 2)[1]
        t0 = time.perf_counter()
        direct_id = direct.Account.create({"Name": f"D {n}"})["id"]
        timings["create"][1].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        http.patch(f"{root}Account('{gateway_id}')", json={"Site": "g"}).raise_for_status()
        timings["update"][0].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        direct.Account.update(direct_id, {"Site": "d"})
        timings["update"][1].append(time.perf_counter() - t0)
        if n % 3 == 0:
            t0 = time.perf_counter()
            http.post(root + "$batch", json=change_set("create", [], f"g{n}")).raise_for_status()
            timings["cs"][0].append(time.perf_counter() - t0)
            records = [{"attributes": {"type": "Account"}, "Name": f"D {n} {i}"} for i in range(200)]
            t0 = time.perf_counter()
            direct.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": records})
            timings["cs"][1].append(time.perf_counter() - t0)
    print("\nMedian latency, gateway over HTTP vs simple-salesforce directly:")
    labels = {"create": "single create", "update": "single update", "cs": "change set, 200 creates"}
    for key, (through, straight) in timings.items():
        g, d = median_ms(through), median_ms(straight)
        print(f"  {labels[key]:<26} gateway {g:7.1f} ms   direct {d:7.1f} ms   ratio {g / d:4.2f}")


if __name__ == "__main__":
    main()
