"""Benchmark search at scale: the local org's SOSL and the gateway's ``$search``, each against the one-field
LIKE scan a client would otherwise send, in one run.

One process: the embedded demo local org with ``--rows`` Accounts (and their children), the source
connection to it over the in-process WSGI transport, and the gateway app on that connection driven by
Flask's test client (no sockets, so both sides of every comparison pay the same framing). It reports:
- the time to build the Account word index (the first search of an object builds it; writes keep it);
- the local org: a selective search (an Account number, one word; an external ID, a two-word phrase) vs
  ``SELECT … WHERE Name LIKE '%value%'`` (one field, a scan), medians of interleaved runs, ratio;
- the gateway: Salesforce Connect's free-text request
  (``$select=Id,Name,Phone&$count=true&$search=…&$top=25``) vs the same request with
  ``$filter=contains(Name,'…') eq true`` instead of ``$search``, and the API calls each costs; an
  unselective search (a word in about 1.8 % of the Accounts).

Run: ``.venv/bin/python benchmarks/search_path.py --rows 100000``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from urllib.parse import quote

from gateway.app import create_app
from gateway.soql.printer import soql_string
from gateway.soql.sosl_printer import sosl_literal
from gateway.source.embedded import embedded_source


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def compare(label: str, first, second, values: list[str], names: tuple[str, str]) -> None:
    """Run ``first(v)`` and ``second(v)`` alternately for each value; print medians and their ratio."""
    a, b = [], []
    for value in values:
        a.append(timed(lambda value=value: first(value)))
        b.append(timed(lambda value=value: second(value)))
    ratio = median_ms(a) / median_ms(b)
    print(
        f"{label}: {names[0]} {median_ms(a):.2f} ms vs {names[1]} {median_ms(b):.2f} ms → ratio {ratio:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()

    started = time.perf_counter()
    source, _ = embedded_source(args.rows)
    print(f"local org with {args.rows:,} Accounts loaded in {time.perf_counter() - started:.1f} s")
    client = create_app(source=source, environ={}, host="127.0.0.1", embedded=True).test_client()

    build = timed(lambda: source.search("FIND {acme} RETURNING Account(Id LIMIT 1)"))
    print(f"Account word index built by the first search: {build:.2f} s")

    rand = random.Random(11)
    sample = source.query(f"SELECT AccountNumber, External_Id__c FROM Account LIMIT {args.repeat * 50}")
    rows = rand.sample(sample["records"], args.repeat)
    numbers = [r["AccountNumber"] for r in rows]
    external_ids = [r["External_Id__c"] for r in rows]

    def sosl(value: str) -> dict:
        text = f"FIND {{{sosl_literal(value)}}} RETURNING Account(Id, Name, Phone ORDER BY Name LIMIT 26)"
        return source.search(text)

    def like(value: str) -> dict:
        like_text = soql_string("%" + value + "%")
        return source.query(f"SELECT Id, Name, Phone FROM Account WHERE Name LIKE {like_text} LIMIT 26")

    print("\nlocal org (REST API, in process):")
    compare("  one word (AccountNumber)", sosl, like, numbers, ("search", "LIKE scan"))
    compare("  two-word phrase (External_Id__c)", sosl, like, external_ids, ("search", "LIKE scan"))

    base = "/odata/Account?$select=Id,Name,Phone&$count=true&$top=25"

    def gateway_search(value: str):
        response = client.get(f"{base}&$search={quote(value)}")
        assert response.status_code == 200, response.get_json()
        return response

    def gateway_contains(value: str):
        literal = value.replace("'", "''")
        response = client.get(f"{base}&$filter={quote(f'contains(Name,{literal!r}) eq true')}")
        assert response.status_code == 200, response.get_json()
        return response

    print("\ngateway (Salesforce Connect's free-text request vs a one-field contains() filter):")
    compare(
        "  one word (AccountNumber)", gateway_search, gateway_contains, numbers, ("$search", "contains()")
    )
    compare(
        "  two-word phrase (External_Id__c)",
        gateway_search,
        gateway_contains,
        external_ids,
        ("$search", "contains()"),
    )
    found = gateway_search(numbers[0]).get_json()
    calls = source.api_calls
    gateway_search(numbers[0])
    print(
        f"  finds {found['@odata.count']} for an AccountNumber; "
        f"API calls per request: {source.api_calls - calls}"
    )

    wide = [timed(lambda: gateway_search("acme")) for _ in range(args.repeat)]
    body = gateway_search("acme").get_json()
    calls = source.api_calls
    gateway_search("acme")
    print(
        f"  unselective $search=acme (@odata.count {body['@odata.count']}, at most 2,000), first 25 rows: "
        f"median {median_ms(wide):.2f} ms, {source.api_calls - calls} API calls (page + count)"
    )


if __name__ == "__main__":
    main()
