"""The in-process WSGI transport: requests reach a Flask app without a socket, unchanged."""

from __future__ import annotations

import gzip
import json

import pytest
import requests
from flask import Flask, Response, request

from gateway.source.wsgi_transport import WsgiAdapter


def echo_app() -> Flask:
    app = Flask("echo")

    @app.route("/echo/<path:rest>", methods=["GET", "POST", "PATCH", "DELETE", "PUT"])
    def echo(rest: str):
        body = request.get_data()
        return {
            "method": request.method,
            "path": request.path,
            "rest": rest,
            "query": request.query_string.decode(),
            "args": request.args.to_dict(flat=False),
            "headers": {k: v for k, v in request.headers.items()},
            "content_length": request.environ.get("CONTENT_LENGTH"),
            "body_hex": body.hex(),
            "scheme": request.scheme,
            "host": request.host,
        }

    @app.route("/many-headers")
    def many_headers():
        response = Response("ok", status=202)
        response.headers.add("X-Multi", "one")
        response.headers.add("X-Multi", "two")
        response.headers["Sforce-Limit-Info"] = "api-usage=3/100"
        return response

    @app.route("/teapot")
    def teapot():
        return Response("[]", status="418 I AM A TEAPOT", content_type="application/json")

    @app.route("/gzipped")
    def gzipped():
        return Response(gzip.compress(b"squeezed"), headers={"Content-Encoding": "gzip"})

    @app.route("/streamed")
    def streamed():
        return Response((chunk for chunk in [b"a", b"b", b"c"]), content_type="text/plain")

    return app


@pytest.fixture()
def session() -> requests.Session:
    session = requests.Session()
    session.mount("https://app.invalid/", WsgiAdapter(echo_app()))
    return session


def test_get_carries_query_string_and_headers(session):
    response = session.get(
        "https://app.invalid/echo/a%20b/c",
        params={"q": "SELECT Id FROM Account", "x": ["1", "2"]},
        headers={"X-Custom": "yes", "Authorization": "Bearer T"},
    )
    assert response.status_code == 200
    echoed = response.json()
    assert echoed["method"] == "GET"
    assert echoed["path"] == "/echo/a b/c"
    assert echoed["args"] == {"q": ["SELECT Id FROM Account"], "x": ["1", "2"]}
    assert echoed["query"] == "q=SELECT+Id+FROM+Account&x=1&x=2"
    assert echoed["headers"]["X-Custom"] == "yes"
    assert echoed["headers"]["Authorization"] == "Bearer T"
    assert echoed["scheme"] == "https"
    assert echoed["host"] == "app.invalid"


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT", "DELETE"])
def test_bodies_arrive_whole_with_a_string_content_length(session, method):
    payload = json.dumps({"Name": "Ünïcode ✓"}).encode()
    response = session.request(
        method, "https://app.invalid/echo/x", data=payload, headers={"Content-Type": "application/json"}
    )
    echoed = response.json()
    assert echoed["method"] == method
    assert bytes.fromhex(echoed["body_hex"]) == payload
    assert echoed["content_length"] == str(len(payload))
    assert echoed["headers"]["Content-Type"] == "application/json"


def test_json_and_form_bodies(session):
    assert bytes.fromhex(session.post("https://app.invalid/echo/j", json={"a": 1}).json()["body_hex"]) == (
        b'{"a": 1}'
    )
    form = session.post("https://app.invalid/echo/f", data={"grant_type": "password", "u": "a b"}).json()
    assert bytes.fromhex(form["body_hex"]) == b"grant_type=password&u=a+b"
    assert form["headers"]["Content-Type"] == "application/x-www-form-urlencoded"


def test_gzip_request_body_passes_through_untouched(session):
    compressed = gzip.compress(b'{"Name": "zipped"}')
    echoed = session.post(
        "https://app.invalid/echo/z", data=compressed, headers={"Content-Encoding": "gzip"}
    ).json()
    assert bytes.fromhex(echoed["body_hex"]) == compressed
    assert echoed["headers"]["Content-Encoding"] == "gzip"


def test_gzip_response_is_decoded_as_over_a_socket(session):
    response = session.get("https://app.invalid/gzipped")
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.content == b"squeezed"


def test_repeated_response_headers_and_status(session):
    response = session.get("https://app.invalid/many-headers")
    assert response.status_code == 202
    assert response.reason == "ACCEPTED"
    assert response.headers["X-Multi"] == "one, two"
    assert response.raw.headers.getlist("X-Multi") == ["one", "two"]
    assert response.headers["Sforce-Limit-Info"] == "api-usage=3/100"
    assert response.text == "ok"


def test_custom_reason_and_unknown_route(session):
    teapot = session.get("https://app.invalid/teapot")
    assert (teapot.status_code, teapot.reason, teapot.json()) == (418, "I AM A TEAPOT", [])
    assert session.get("https://app.invalid/nowhere").status_code == 404


def test_streamed_response_and_stream_mode(session):
    assert session.get("https://app.invalid/streamed").text == "abc"
    streamed = session.get("https://app.invalid/streamed", stream=True)
    assert b"".join(streamed.iter_content(1)) == b"abc"


def test_response_hooks_run(session):
    seen = []
    session.hooks["response"].append(lambda response, *args, **kwargs: seen.append(response.status_code))
    session.get("https://app.invalid/many-headers")
    assert seen == [202]
