"""The local org over real HTTP: connections kept alive between API calls, gzip/deflate when asked."""

from __future__ import annotations

import gzip
import http.client
import json
import threading
import zlib
from urllib.parse import quote

import pytest
import requests
from simple_salesforce import Salesforce

from gateway.cli.localorg import build_local_org
from gateway.localorg.server import LocalOrgServer
from gateway.source.connection import PlainHttpAdapter

TOKEN = "server-test-token"
QUERY = "/services/data/v59.0/query?q=" + quote("SELECT Id, Name FROM Account ORDER BY Id LIMIT 50")
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def org_server():
    local_org = build_local_org(rows=60, token=TOKEN, api_limit=10_000)
    server = LocalOrgServer("127.0.0.1", 0, local_org.app, threads=4)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server_close()
    thread.join(timeout=5)


def get(connection: http.client.HTTPConnection, path: str, **headers: str) -> http.client.HTTPResponse:
    connection.request("GET", path, headers={**AUTH, **headers})
    response = connection.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    return response


def test_api_calls_reuse_one_connection(org_server):
    connection = http.client.HTTPConnection("127.0.0.1", org_server.server_port, timeout=10)
    first = get(connection, QUERY)
    local_port = connection.sock.getsockname()[1]
    second = get(connection, "/services/data/v59.0/limits")
    third = get(connection, QUERY)
    assert [first.status, second.status, third.status] == [200, 200, 200]
    assert (first.getheader("Connection") or "").lower() != "close"
    assert connection.sock is not None and connection.sock.getsockname()[1] == local_port  # same socket
    assert len(json.loads(first.body)["records"]) == 50
    assert json.loads(third.body) == json.loads(first.body)
    connection.close()


def test_an_error_answer_keeps_the_connection_too(org_server):
    connection = http.client.HTTPConnection("127.0.0.1", org_server.server_port, timeout=10)
    missing = get(connection, "/services/data/v59.0/sobjects/NoSuchObject/describe")
    local_port = connection.sock.getsockname()[1]
    after = get(connection, QUERY)
    assert missing.status == 404 and json.loads(missing.body)[0]["errorCode"] == "NOT_FOUND"
    assert after.status == 200 and connection.sock.getsockname()[1] == local_port
    connection.close()


@pytest.mark.parametrize(
    ("accept", "encoding", "decode"),
    [
        ("gzip", "gzip", gzip.decompress),
        ("gzip, deflate", "gzip", gzip.decompress),
        ("deflate", "deflate", zlib.decompress),
        ("gzip;q=0, deflate", "deflate", zlib.decompress),
    ],
)
def test_compressed_when_asked(org_server, accept, encoding, decode):
    connection = http.client.HTTPConnection("127.0.0.1", org_server.server_port, timeout=10)
    plain = get(connection, QUERY)
    packed = get(connection, QUERY, **{"Accept-Encoding": accept})
    assert plain.getheader("Content-Encoding") is None
    assert packed.getheader("Content-Encoding") == encoding
    assert "Accept-Encoding" in (packed.getheader("Vary") or "")
    assert len(packed.body) < len(plain.body) / 3
    assert decode(packed.body) == plain.body
    connection.close()


@pytest.mark.parametrize("accept", ["identity", "gzip;q=0", "br"])
def test_not_compressed_unless_allowed(org_server, accept):
    connection = http.client.HTTPConnection("127.0.0.1", org_server.server_port, timeout=10)
    response = get(connection, QUERY, **{"Accept-Encoding": accept})
    assert response.status == 200 and response.getheader("Content-Encoding") is None
    assert len(json.loads(response.body)["records"]) == 50
    connection.close()


def test_error_bodies_are_compressed_like_any_other(org_server):
    connection = http.client.HTTPConnection("127.0.0.1", org_server.server_port, timeout=10)
    connection.request("GET", QUERY, headers={"Authorization": "Bearer wrong", "Accept-Encoding": "gzip"})
    response = connection.getresponse()
    body = response.read()
    assert response.status == 401 and response.getheader("Content-Encoding") == "gzip"
    assert json.loads(gzip.decompress(body))[0]["errorCode"] == "INVALID_SESSION_ID"
    connection.close()


def test_requests_and_simple_salesforce_read_compressed_answers(org_server):
    url = f"http://127.0.0.1:{org_server.server_port}"
    session = requests.Session()
    session.mount(url.replace("http://", "https://") + "/", PlainHttpAdapter())
    client = Salesforce(instance_url=url, session_id=TOKEN, session=session, version="59.0")
    result = client.query("SELECT Id, Name FROM Account ORDER BY Id LIMIT 10")
    assert len(result["records"]) == 10
    raw = session.get(url.replace("http://", "https://") + QUERY, headers=AUTH)
    assert raw.headers["Content-Encoding"] == "gzip" and len(raw.json()["records"]) == 50
