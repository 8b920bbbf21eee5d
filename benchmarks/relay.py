"""The floor of the hot-path benchmark: a trivial relay in front of the same org, under the same server.

``GET /relay?q=<SOQL>`` sends that SOQL to the org (``RELAY_ORG_URL``, token ``RELAY_TOKEN``) over one kept-
alive urllib3 pool and answers with the org's JSON: passed through as bytes, or, with ``&reencode=1``,
decoded and encoded again (what any relay that looks at the data must at least do). No parsing, no
model, no auth, no shaping: what is left is the second HTTP hop, which no gateway can avoid.

Run by ``benchmarks/hot_path.py`` as ``gunicorn relay:app`` (the gateway's production server).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from urllib.parse import parse_qs, urlsplit

import urllib3

_ORG = urlsplit(os.environ.get("RELAY_ORG_URL", "http://127.0.0.1:8500"))
_POOL = urllib3.HTTPConnectionPool(_ORG.hostname, _ORG.port, maxsize=16, block=False)
_HEADERS = {
    "Authorization": f"Bearer {os.environ.get('RELAY_TOKEN', '')}",
    "Accept": "application/json",
    "Accept-Encoding": "gzip",
}
_QUERY_PATH = "/services/data/v59.0/query"


def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
    params = parse_qs(environ.get("QUERY_STRING", ""))
    answer = _POOL.request("GET", _QUERY_PATH, fields={"q": params["q"][0]}, headers=_HEADERS)
    body = answer.data
    if params.get("reencode") == ["1"]:
        body = json.dumps(json.loads(body), ensure_ascii=False, separators=(",", ":")).encode()
    start_response(
        f"{answer.status} {'OK' if answer.status == 200 else 'Error'}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]
