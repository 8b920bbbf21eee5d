"""Issue 8, items 2–4: request bodies are bounded before they are read (raw, chunked, decompressed, inside
$batch: 413 naming the limit), JSON nesting is bounded (400, not a RecursionError), malformed batch parts
and malformed source answers are client errors or 502 — never a 500 — and an unreachable source is 503 with
Retry-After whose message names no host, port or URL."""

from __future__ import annotations

import gzip
import io
import json
import socket

import pytest

from gateway.app import create_app
from gateway.localorg.api import create_app as create_localorg_app
from gateway.localorg.config import LocalOrgConfig
from gateway.localorg.schema import Schema
from gateway.localorg.store import Store
from gateway.odata.http.request_body import DEFAULT_MAX_BODY_BYTES, MAX_JSON_DEPTH
from gateway.source.connection import Credentials, SourceConnection
from gateway.source.embedded import DEMO_SCHEMA_PATH, embedded_source
from tests.odata.v4.test_batch import snapshot
from tests.support import embedded_gateway

LIMIT = 64 * 1024


@pytest.fixture()
def gateway():
    source, store = embedded_source(5)
    app = create_app(
        source=source, environ={"GATEWAY_MAX_BODY_BYTES": str(LIMIT)}, host="127.0.0.1", embedded=True
    )
    return app.test_client(), source, store


def entity(size: int) -> bytes:
    return json.dumps({"Name": "x", "Description": "d" * size}).encode()


def assert_too_large(response) -> None:
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "PayloadTooLarge"
    assert str(LIMIT) in error["message"] and "GATEWAY_MAX_BODY_BYTES" in error["message"]


def test_default_body_limit_is_16_mib():
    app, _, _ = embedded_gateway(1)
    assert app.config["GATEWAY_MAX_BODY_BYTES"] == DEFAULT_MAX_BODY_BYTES == 16 * 1024 * 1024


def test_declared_body_over_the_limit_is_413_before_reading(gateway):
    client, source, store = gateway
    before, calls = snapshot(store), source.api_calls

    class Unreadable(io.BytesIO):
        def read(self, *args) -> bytes:
            raise AssertionError("the body was read")

        readinto = readline = read

    response = client.post(
        "/odata/Account",
        input_stream=Unreadable(b"{}"),
        headers={"Content-Type": "application/json"},
        environ_overrides={"CONTENT_LENGTH": str(LIMIT + 1)},
    )
    assert_too_large(response)
    assert (snapshot(store), source.api_calls) == (before, calls)


def test_chunked_body_over_the_limit_is_413(gateway):
    client, source, store = gateway
    before = snapshot(store)
    response = client.post(
        "/odata/Account",
        input_stream=io.BytesIO(entity(2 * LIMIT)),
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},  # as gunicorn and Werkzeug's server say it
    )
    assert_too_large(response)
    assert snapshot(store) == before


def test_gzip_body_over_the_limit_once_decompressed_is_413(gateway):
    client, source, store = gateway
    before = snapshot(store)
    compressed = gzip.compress(entity(4 * LIMIT))
    assert len(compressed) < LIMIT
    response = client.post(
        "/odata/Account",
        data=compressed,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert_too_large(response)
    assert snapshot(store) == before


def test_batch_over_the_limit_is_413_and_writes_nothing(gateway):
    client, source, store = gateway
    before = snapshot(store)
    requests = [
        {"id": str(i), "atomicityGroup": "g", "method": "POST", "url": "Account", "body": {"Name": "n" * 200}}
        for i in range(400)
    ]
    response = client.post("/odata/$batch", json={"requests": requests})
    assert_too_large(response)
    assert snapshot(store) == before


def test_body_under_the_limit_is_written(gateway):
    client, source, store = gateway
    response = client.post("/odata/Account", data=entity(LIMIT // 4), content_type="application/json")
    assert response.status_code == 201


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5000])
def test_deeply_nested_json_is_400_naming_the_limit(gateway, depth):
    client, source, store = gateway
    before, calls = snapshot(store), source.api_calls
    nested = b"[" * depth + b"]" * depth
    for url, body in (
        ("/odata/Account", b'{"Name": ' + nested + b"}"),
        ("/odata/$batch", b'{"requests": ' + nested + b"}"),
    ):
        response = client.post(url, data=body, content_type="application/json")
        assert response.status_code == 400
        error = response.get_json()["error"]
        assert (error["code"], str(MAX_JSON_DEPTH) in error["message"]) == ("JsonTooDeep", True)
    assert (snapshot(store), source.api_calls) == (before, calls)


def test_brackets_inside_strings_do_not_count_as_nesting(gateway):
    client, source, store = gateway
    response = client.post("/odata/Account", json={"Name": "x", "Description": "[" * 500 + "{" * 500})
    assert response.status_code == 201


# --- no 5xx from malformed batch parts ---------------------------------------------------------------


@pytest.mark.parametrize("url", ["", "/odata/", "/odata"])
def test_change_set_part_addressing_the_service_root_is_400(gateway, url):
    client, source, store = gateway
    before = snapshot(store)
    response = client.post(
        "/odata/$batch",
        json={
            "requests": [
                {"id": "1", "atomicityGroup": "g", "method": "POST", "url": url, "body": {"Name": "x"}}
            ]
        },
    )
    assert response.status_code in (200, 400)
    statuses = (
        [r["status"] for r in response.get_json()["responses"]] if response.status_code == 200 else [400]
    )
    assert all(400 <= s < 500 for s in statuses)
    assert snapshot(store) == before


def test_line_break_in_a_json_batch_header_value_is_400(gateway):
    client, source, store = gateway
    response = client.post(
        "/odata/$batch",
        json={
            "requests": [
                {"id": "1", "method": "GET", "url": "Account", "headers": {"Accept": "a\r\nX-Evil: 1"}}
            ]
        },
    )
    assert response.status_code == 400
    assert "line break" in response.get_json()["error"]["message"]


def test_non_ascii_multipart_boundary_is_a_client_error(gateway):
    client, source, store = gateway
    body = "--bätch\r\nContent-Type: application/http\r\n\r\nGET Account HTTP/1.1\r\n\r\n\r\n--bätch--\r\n"
    response = client.post(
        "/odata/$batch", data=body.encode(), content_type="multipart/mixed; boundary=bätch"
    )
    assert 400 <= response.status_code < 500


# --- the source failing ----------------------------------------------------------------------------------


class Switchable:
    """A source that is the live one until ``fail_with`` names another (a dead or a misbehaving org)."""

    def __init__(self, live):
        self.current = live

    def __getattr__(self, name):
        return getattr(self.current, name)


def test_unreachable_source_is_503_with_retry_after_and_no_host_in_the_message():
    live, _ = embedded_source(2)
    switch = Switchable(live)
    client = create_app(source=switch, environ={}, host="127.0.0.1", embedded=True).test_client()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    switch.current = SourceConnection(Credentials(instance_url=f"http://127.0.0.1:{port}", access_token="t"))

    response = client.get("/odata/Account")

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    text = response.get_data(as_text=True)
    for leak in ("127.0.0.1", str(port), "http://", "/services/data", "SELECT"):
        assert leak not in text


def test_malformed_source_answer_is_502_not_500():
    live, store = embedded_source(2)
    switch = Switchable(live)
    client = create_app(source=switch, environ={}, host="127.0.0.1", embedded=True).test_client()

    def wrong_shapes(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'[{"not": "a query result"}]']

    switch.current = SourceConnection.in_process(wrong_shapes, access_token="t")
    with store.lock:
        (account_id,) = store.conn.execute('SELECT "Id" FROM "Account" LIMIT 1').fetchone()
    for method, url, body in (
        ("GET", "/odata/Account", None),
        ("GET", f"/odata/Account('{account_id}')", None),
        ("POST", "/odata/Account", {"Name": "x"}),
        ("PATCH", "/odata/Account(External_Id__c='K-1')", {"Name": "x"}),
    ):
        response = client.open(url, method=method, json=body)
        assert response.status_code == 502, (method, url, response.get_data(as_text=True))
        assert response.get_json()["error"]["code"] in ("SourceError", "SourceUnavailable")


def test_source_refusal_message_carries_no_soql():
    """A field the source no longer has: Salesforce's INVALID_FIELD quotes the SOQL; the client sees only
    the sentence that says what is wrong."""
    live, _ = embedded_source(2)
    switch = Switchable(live)
    client = create_app(source=switch, environ={}, host="127.0.0.1", embedded=True).test_client()
    describes = json.loads(DEMO_SCHEMA_PATH.read_text())
    for describe in describes:
        if describe["name"] == "Account":
            describe["fields"] = [f for f in describe["fields"] if f["name"] != "Rating"]
    shrunk = create_localorg_app(LocalOrgConfig(token="T"), Store(Schema.from_describes(describes)))
    switch.current = SourceConnection.in_process(shrunk, access_token="T")

    response = client.get("/odata/Account?$select=Rating")

    assert response.status_code == 502
    text = response.get_data(as_text=True)
    assert "SELECT" not in text and "ERROR at Row" not in text
    error = response.get_json()["error"]
    assert error["details"][0]["code"] == "INVALID_FIELD"
    assert "No such column 'Rating'" in error["message"]


def test_deeply_nested_json_is_400_on_the_v2_face_too(gateway):
    client, source, store = gateway
    before = snapshot(store)
    body = b'{"Name": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    response = client.post("/odata/v2/Account", data=body, content_type="application/json")
    assert response.status_code == 400
    assert str(MAX_JSON_DEPTH) in response.get_data(as_text=True)
    assert snapshot(store) == before


def test_the_v2_face_bounds_a_decompressed_body_by_the_same_limit(gateway):
    """Both faces build their request through ``ODataRequest.from_http``: GATEWAY_MAX_BODY_BYTES bounds a
    gzip body as it is decompressed on /odata/v2 too (before, V2 used the 16 MiB default)."""
    client, source, store = gateway
    before = snapshot(store)
    compressed = gzip.compress(entity(4 * LIMIT))
    response = client.post(
        "/odata/v2/Account",
        data=compressed,
        headers={
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Accept": "application/json",
        },
    )
    assert response.status_code == 413
    assert b"PayloadTooLarge" in response.data and str(LIMIT).encode() in response.data
    assert snapshot(store) == before
