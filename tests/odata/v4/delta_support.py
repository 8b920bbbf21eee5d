"""A tracked org for change-tracking tests: the local org on a clock the test moves, the gateway over it
(in-process WSGI), and a client-side copy that delta responses are applied to."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from gateway.app import create_app
from gateway.localorg.api import create_app as create_localorg_app
from gateway.localorg.config import LocalOrgConfig
from gateway.localorg.demo import DEMO_SCHEMA_PATH, load_demo
from gateway.localorg.schema import load_schema
from gateway.localorg.store import Store
from gateway.source.connection import SourceConnection

SECRET = "change-tracking-test-secret-0123456789"
TRACK = {"Prefer": "odata.track-changes"}
T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


class Clock:
    """One clock for the org (SystemModstamp, recycle bin) and the gateway (token age)."""

    def __init__(self) -> None:
        self.current = T0

    def __call__(self) -> dt.datetime:
        return self.current

    def seconds(self) -> float:
        return self.current.timestamp()

    def advance(self, **delta: float) -> None:
        self.current += dt.timedelta(**delta)


@dataclass
class TrackedOrg:
    clock: Clock
    store: Store
    source: SourceConnection
    app: object
    environ: dict = field(default_factory=dict)
    highest_stamp: dt.datetime | None = None  # highest SystemModstamp a simulated late commit measured from

    @classmethod
    def start(cls, accounts: int = 5, environ: dict | None = None) -> TrackedOrg:
        clock = Clock()
        store = Store(load_schema(DEMO_SCHEMA_PATH), now=clock)
        load_demo(store, accounts=accounts)
        source = SourceConnection.in_process(create_localorg_app(LocalOrgConfig(token="T"), store), "T")
        environ = {"GATEWAY_SECRET": SECRET, **(environ or {})}
        org = cls(clock, store, source, None, environ)
        org.app = org.new_gateway()
        return org

    def new_gateway(self, **environ: str):
        """Another gateway instance over the same org (a restart, or a second instance behind one URL)."""
        app = create_app(source=self.source, environ={**self.environ, **environ}, embedded=True)
        app.extensions["odata_gateway"].clock = self.clock.seconds
        return app

    @property
    def client(self):
        return self.app.test_client()

    def get(self, url: str, headers: dict | None = None, app=None):
        """GET a path under /odata/ or an absolute link the gateway returned."""
        if url.startswith("http"):
            parts = urlsplit(url)
            url = parts.path + "?" + parts.query
        elif not url.startswith("/"):
            url = "/odata/" + url
        return (app or self.app).test_client().get(url, headers=headers or {})

    def calls(self) -> int:
        return self.source.api_calls


def link_option(link: str, option: str) -> str:
    return parse_qs(urlsplit(link).query)[option][0]


def is_removal(entry: dict) -> bool:
    return "@removed" in entry or str(entry.get("@odata.context", "")).endswith("/$deletedEntity")


def entry_id(entry: dict) -> str:
    """The Salesforce Id of a delta entry, from its entity id ``Account('001...')``."""
    text = entry.get("@id") or entry.get("@odata.id") or entry.get("id")
    return text.split("('", 1)[1].rstrip("')")


def apply_delta(copy: dict[str, dict], entries: list[dict]) -> None:
    """What a syncing client does with a delta: removals leave the copy, changes replace their entity."""
    for entry in entries:
        record_id = entry_id(entry)
        if is_removal(entry):
            copy.pop(record_id, None)
        else:
            copy[record_id] = {k: v for k, v in entry.items() if not k.startswith("@")}


def follow_delta(org: TrackedOrg, link: str, headers: dict | None = None) -> tuple[list[dict], str, int]:
    """Every entry of a delta, following nextLinks; the next delta link and the number of pages."""
    entries: list[dict] = []
    pages = 0
    while True:
        response = org.get(link, headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        pages += 1
        entries += body["value"]
        following = body.get("@odata.nextLink") or body.get("@nextLink")
        if following is None:
            return entries, body.get("@odata.deltaLink") or body["@deltaLink"], pages
        link = following


def full_read(org: TrackedOrg, path: str, headers: dict | None = None) -> tuple[dict[str, dict], str]:
    """A tracked read of every page: the copy (Id → values) and the delta link of the last page."""
    copy: dict[str, dict] = {}
    response = org.get(path, {**TRACK, **(headers or {})})
    while True:
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        for entity in body["value"]:
            copy[entity["Id"]] = {k: v for k, v in entity.items() if not k.startswith("@")}
        if "@odata.nextLink" not in body:
            return copy, body["@odata.deltaLink"]
        response = org.get(body["@odata.nextLink"])
