"""Benchmark search (SOSL) on the local org at scale, against a one-field LIKE scan, in one run.

The local org runs in this process with the demo data (``--rows`` Accounts and their children) and is called
through its REST API by simple-salesforce over the in-process WSGI transport, so both sides pay the same
HTTP framing. It reports:
- the time to build the Account word index (the first search of an object builds it; later writes keep it);
- a selective search (an Account number, one word; an external ID, a two-word phrase) vs the SOQL a client
  would otherwise send, ``WHERE Name LIKE '%word%'`` (one field, a scan): medians of interleaved runs, ratio;
- an unselective search (a word in thousands of Accounts, first 26 by Name).

Run: ``.venv/bin/python benchmarks/search_path.py --rows 100000``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import requests
from simple_salesforce import Salesforce

from gateway.localorg.api import create_app
from gateway.localorg.config import LocalOrgConfig
from gateway.localorg.demo import DEMO_SCHEMA_PATH, load_demo
from gateway.localorg.schema import load_schema
from gateway.localorg.store import Store
from gateway.soql.printer import soql_string
from gateway.soql.sosl_printer import sosl_literal
from gateway.source.wsgi_transport import WsgiAdapter


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()

    started = time.perf_counter()
    store = Store(load_schema(DEMO_SCHEMA_PATH))
    load_demo(store, args.rows)
    print(f"local org with {args.rows:,} Accounts loaded in {time.perf_counter() - started:.1f} s")
    session = requests.Session()
    session.mount("https://", WsgiAdapter(create_app(LocalOrgConfig(token="T"), store)))
    sf = Salesforce(instance="localorg.test", session_id="T", session=session)

    build = timed(lambda: sf.search("FIND {acme} RETURNING Account(Id LIMIT 1)"))
    print(f"Account word index built by the first search: {build:.2f} s")

    rand = random.Random(11)
    sample = sf.query(f"SELECT Name, AccountNumber, External_Id__c FROM Account LIMIT {args.repeat * 50}")
    rows = rand.sample(sample["records"], args.repeat)
    cases = {
        "one word (AccountNumber)": lambda r: r["AccountNumber"],
        "two-word phrase (External_Id__c)": lambda r: r["External_Id__c"],
    }
    for label, value_of in cases.items():
        search_times, like_times = [], []
        for row in rows:
            value = value_of(row)
            sosl = f"FIND {{{sosl_literal(value)}}} RETURNING Account(Id, Name, Phone ORDER BY Name LIMIT 26)"
            like = soql_string("%" + value + "%")
            soql = f"SELECT Id, Name, Phone FROM Account WHERE Name LIKE {like} LIMIT 26"
            search_times.append(timed(lambda sosl=sosl: sf.search(sosl)))
            like_times.append(timed(lambda soql=soql: sf.query(soql)))
        found = sf.search(f"FIND {{{sosl_literal(value_of(rows[0]))}}} RETURNING Account(Id)")[
            "searchRecords"
        ]
        print(
            f"selective search, {label}: median {median_ms(search_times):.2f} ms "
            f"(finds {len(found)}) vs one-field LIKE scan {median_ms(like_times):.2f} ms "
            f"→ ratio {median_ms(search_times) / median_ms(like_times):.3f}"
        )

    wide = [
        timed(lambda: sf.search("FIND {acme} RETURNING Account(Id, Name ORDER BY Name LIMIT 26)"))
        for _ in range(args.repeat)
    ]
    hits = sf.search("FIND {acme} RETURNING Account(Id) LIMIT 2000")["searchRecords"]
    print(
        f"unselective search 'acme' ({len(hits)} of at most 2,000), first 26 by Name: "
        f"median {median_ms(wide):.2f} ms"
    )


if __name__ == "__main__":
    main()
