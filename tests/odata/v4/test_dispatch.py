"""The request pipeline without Flask's request context: ``respond(context, request)`` is all a request
needs, and the context's source is the only way to the org (a per-user or recording source fits)."""

from __future__ import annotations

import json

import pytest
from werkzeug.datastructures import Headers, MultiDict

from gateway.odata.http.access import ANONYMOUS
from gateway.odata.http.request import ODataRequest
from gateway.odata.service import RequestContext
from gateway.odata.v4.dispatch import respond
from tests.support import embedded_gateway

ROOT = "https://gateway.test/odata/"


@pytest.fixture(scope="module")
def demo():
    app, source, store = embedded_gateway(12)
    return app.extensions["odata_gateway"], source, store


class RecordingSource:
    """A source for one request that records the SOQL it sends (what a request log would keep)."""

    def __init__(self, inner):
        self.inner = inner
        self.soql: list[str] = []

    def query(self, soql, batch_size=None):
        self.soql.append(soql)
        return self.inner.query(soql, batch_size)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def get(path: str, **args: str) -> ODataRequest:
    return ODataRequest("GET", path, MultiDict(args), Headers(), b"", ROOT)


def test_a_read_outside_any_flask_context(demo):
    gateway, source, store = demo
    response = respond(gateway.context_for(ANONYMOUS), get("Account", **{"$top": "3", "$select": "Name"}))
    body = json.loads(response.get_data())
    assert response.status_code == 200 and response.headers["OData-Version"] == "4.0"
    assert body["@odata.context"] == ROOT + "$metadata#Account(Name)"
    with store.lock:
        names = [r[0] for r in store.conn.execute('SELECT "Name" FROM "Account" ORDER BY "Id" LIMIT 3')]
    assert [row["Name"] for row in body["value"]] == names


def test_every_call_goes_through_the_context_source(demo):
    gateway, source, store = demo
    recording = RecordingSource(source)
    context = RequestContext(gateway, ANONYMOUS, recording)
    before = source.api_calls
    response = respond(context, get("Account/$count", **{"$filter": "Name ne null"}))
    assert response.status_code == 200 and int(response.get_data()) > 0
    assert recording.soql == ["SELECT COUNT() FROM Account WHERE Name != null"]
    assert source.api_calls - before == 1


def test_refusals_and_failures_come_back_as_odata_errors(demo):
    gateway, source, store = demo
    context = gateway.context_for(ANONYMOUS)
    refused = respond(context, get("Account", **{"$skip": "5"}))
    assert refused.status_code == 501 and json.loads(refused.get_data())["error"]["target"] == "$skip"
    missing = respond(context, get("Nope"))
    assert missing.status_code == 404
    not_get = respond(context, ODataRequest("DELETE", "$metadata", MultiDict(), Headers(), b"", ROOT))
    assert not_get.status_code == 405 and not_get.headers["Allow"] == "GET"
