"""The hot calls' lean transport, against a local org over real HTTP: kept-alive sockets, gzip, answers
decoded as the standard library decodes them, the proxy environment read once, errors and accounting as on
the simple-salesforce path."""

from __future__ import annotations

import json
import socket
import threading
from urllib.parse import quote_plus

import pytest
import requests

from gateway.cli.localorg import build_local_org
from gateway.localorg.server import LocalOrgServer
from gateway.source.connection import Credentials, SourceConnection, SourceError, SourceTimeout

TOKEN = "transport-test-token"
SOQL = "SELECT Id, Name, AnnualRevenue, CreatedDate FROM Account ORDER BY Id LIMIT 150"


@pytest.fixture(scope="module")
def org_url():
    local_org = build_local_org(rows=200, token=TOKEN, api_limit=100_000)
    server = LocalOrgServer("127.0.0.1", 0, local_org.app, threads=4)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.server_close()
    thread.join(timeout=5)


class Recorder:
    """A call observer that keeps what it is told."""

    def __init__(self):
        self.calls: list[tuple] = []

    def before_call(self, url):
        self.calls.append(("before", url))

    def after_call(self, url, status, headers, body):
        self.calls.append(("after", url, status, headers.get("Content-Encoding"), len(body)))

    def call_failed(self, url, error):
        self.calls.append(("failed", url, type(error).__name__))


def connect(url: str, **settings) -> SourceConnection:
    return SourceConnection(Credentials(instance_url=url, access_token=TOKEN, **settings))


def raw_answer(org_url: str) -> dict:
    response = requests.get(
        f"{org_url}/services/data/v59.0/query/?q={quote_plus(SOQL)}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    return json.loads(response.content)


def test_queries_reuse_one_kept_alive_socket_and_are_counted_once_each(org_url):
    connection = connect(org_url)
    recorder = Recorder()
    connection.add_call_observer(recorder)
    answers = [connection.query(SOQL) for _ in range(5)]
    assert all(answer == answers[0] for answer in answers) and len(answers[0]["records"]) == 150
    url = f"{org_url}/services/data/v59.0/query/?q={quote_plus(SOQL)}"
    pool = connection._transport._pools_for(url).connection_from_url(url)
    assert pool.num_connections == 1  # five calls, one TCP connection
    assert connection.api_calls == 5
    assert [c[0] for c in recorder.calls] == ["before", "after"] * 5
    assert {c[3] for c in recorder.calls if c[0] == "after"} == {"gzip"}  # asked for gzip, got it


def test_answers_decode_exactly_as_the_standard_library_decodes_them(org_url):
    assert connect(org_url).query(SOQL) == raw_answer(org_url)


def test_query_more_query_all_and_collections_go_the_same_way(org_url):
    connection = connect(org_url)
    first = connection.query("SELECT Id FROM Contact", batch_size=200)
    assert len(first["records"]) == 200 and not first["done"]
    more = connection.query_more(first["nextRecordsUrl"], batch_size=200)
    assert len(more["records"]) == 200 and {r["Id"] for r in more["records"]}.isdisjoint(
        r["Id"] for r in first["records"]
    )
    created = connection.composite(
        "POST", [{"attributes": {"type": "Account"}, "Name": f"Lean {n} é"} for n in range(3)], True
    )
    ids = [entry["id"] for entry in created]
    assert all(entry["success"] for entry in created)
    names = connection.query(f"SELECT Name FROM Account WHERE Id IN ('{ids[0]}')")["records"]
    assert names[0]["Name"] == "Lean 0 é"  # UTF-8 both ways
    assert all(entry["success"] for entry in connection.composite("DELETE", ids, True))
    deleted = connection.query_all(f"SELECT Id, IsDeleted FROM Account WHERE Id = '{ids[1]}'")
    assert deleted["records"][0]["IsDeleted"] is True
    assert connection.api_calls == 6


def test_an_error_answer_is_the_salesforce_error(org_url):
    connection = connect(org_url)
    with pytest.raises(SourceError) as refused:
        connection.query("SELECT NoSuchField__c FROM Account")
    assert (refused.value.status, refused.value.error_code) == (400, "INVALID_FIELD")
    assert "NoSuchField__c" in refused.value.message
    with pytest.raises(SourceError) as expired:
        SourceConnection(Credentials(instance_url=org_url, access_token="wrong")).query(SOQL)
    assert (expired.value.status, expired.value.error_code) == (401, "INVALID_SESSION_ID")


def test_the_requests_session_does_not_scan_the_environment_on_every_call(org_url):
    assert connect(org_url).session.trust_env is False


def test_the_proxy_environment_is_read_once_per_origin(org_url, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]  # nothing listens here once the probe closes
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{dead}")
    through_dead_proxy = connect(org_url.replace("127.0.0.1", "localhost"))
    recorder = Recorder()
    through_dead_proxy.add_call_observer(recorder)
    with pytest.raises(SourceError) as unreachable:
        through_dead_proxy.query(SOQL)  # the proxy is honoured ...
    assert (unreachable.value.status, unreachable.value.error_code) == (503, "UNREACHABLE")
    assert recorder.calls[-1][0] == "failed"
    monkeypatch.delenv("HTTP_PROXY")
    with pytest.raises(SourceError):
        through_dead_proxy.query(SOQL)  # ... and read once: removing it later changes nothing
    direct = connect(org_url)
    assert len(direct.query(SOQL)["records"]) == 150  # a connection made now reads the new environment


def test_a_refused_connection_is_unreachable_not_a_timeout():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe closes
    connection = connect(f"http://127.0.0.1:{port}")
    recorder = Recorder()
    connection.add_call_observer(recorder)
    with pytest.raises(SourceError) as unreachable:
        connection.query(SOQL)
    assert (unreachable.value.status, unreachable.value.error_code) == (503, "UNREACHABLE")
    assert not isinstance(unreachable.value, SourceTimeout)
    assert recorder.calls[-1][0] == "failed" and connection.api_calls == 0


def test_the_ca_bundle_is_read_as_requests_reads_it(monkeypatch, tmp_path):
    from gateway.source import transport

    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    assert transport.environment_ca_bundle() == transport.certifi.where()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path))
    assert transport.environment_ca_bundle() == str(tmp_path)
    folder_pool = transport._manager(None, str(tmp_path))
    assert folder_pool.connection_pool_kw.get("ca_cert_dir") == str(tmp_path)
    assert connect("https://example.invalid").session.verify == str(tmp_path)
