"""V2 ``$batch``: multipart/mixed, 202, reads and single writes through the same pipeline, change sets in one
atomic call (JSON verbose and Atom bodies). Checked against the local org's store and the API calls spent;
also through pyodata's own batch and change set API."""

from __future__ import annotations

import json

import pyodata
import pytest
import requests
from lxml import etree

from gateway.app import create_app
from gateway.odata.http.multipart import parse_batch_response
from gateway.odata.v2.xmlwriter import ATOM_NS, D_NS, M_NS
from gateway.source.embedded import embedded_source
from gateway.source.wsgi_transport import WsgiAdapter

NS = {"a": ATOM_NS, "m": M_NS, "d": D_NS}


@pytest.fixture(scope="module")
def org():
    demo_source, store = embedded_source(20)
    return create_app(source=demo_source, environ={}, host="127.0.0.1", embedded=True), demo_source, store


@pytest.fixture()
def client(org):
    return org[0].test_client()


def rows(store, sobject: str) -> list[tuple]:
    with store.lock:
        return store.conn.execute(f'SELECT * FROM "{sobject}" ORDER BY "Id"').fetchall()


def names(store) -> set[str]:
    with store.lock:
        return {r[0] for r in store.conn.execute('SELECT "Name" FROM "Account" WHERE "IsDeleted" = 0')}


def request_part(
    method: str, url: str, body: str = "", content_type: str = "application/json", extra: str = ""
) -> str:
    head = f"{method} {url} HTTP/1.1\r\nAccept: application/json\r\n{extra}"
    if body:
        head += f"Content-Type: {content_type}\r\n"
    return f"Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n{head}\r\n{body}"


def batch(*parts: str, changeset: list[str] | None = None) -> tuple[bytes, str]:
    lines = []
    for part in parts:
        lines.append(f"--batch_1\r\n{part}\r\n")
    if changeset is not None:
        inner = "".join(f"--changeset_1\r\n{p}\r\n" for p in changeset) + "--changeset_1--\r\n"
        lines.append(f"--batch_1\r\nContent-Type: multipart/mixed; boundary=changeset_1\r\n\r\n{inner}")
    lines.append("--batch_1--\r\n")
    return "".join(lines).encode(), "multipart/mixed; boundary=batch_1"


def test_reads_and_an_atomic_change_set_in_one_batch(client, org):
    _, source, store = org
    body, content_type = batch(
        request_part("GET", "Account?$top=2&$select=Id,Name&$inlinecount=allpages"),
        changeset=[
            request_part("POST", "Account", '{"Name": "Batch One"}'),
            request_part(
                "POST",
                "Account",
                f'<entry xmlns="{ATOM_NS}" xmlns:m="{M_NS}" xmlns:d="{D_NS}"><content type="application/xml">'
                "<m:properties><d:Name>Batch Two</d:Name></m:properties></content></entry>",
                "application/atom+xml",
            ),
        ],
    )
    before = source.api_calls
    response = client.post("/odata/v2/$batch", data=body, content_type=content_type)
    assert response.status_code == 202 and response.headers["DataServiceVersion"] == "2.0"
    assert source.api_calls - before == 3  # the page, its count (LIMIT 2 caps totalSize), one composite call
    read, created = parse_batch_response(response.data, response.headers["Content-Type"])

    page = json.loads(read.body)["d"]
    assert page["__count"] == "20" and len(page["results"]) == 2
    assert [c.status for c in created] == [201, 201]
    assert {"Batch One", "Batch Two"} <= names(store)
    assert json.loads(created[0].body)["d"]["Name"] == "Batch One"


def test_a_failing_change_set_writes_nothing_and_answers_once(client, org):
    _, source, store = org
    before = rows(store, "Account")
    body, content_type = batch(
        changeset=[
            request_part("POST", "Account", '{"Name": "Never"}'),
            request_part("POST", "Account", '{"NumberOfEmployees": "lots"}'),
        ]
    )
    response = client.post("/odata/v2/$batch", data=body, content_type=content_type)
    assert response.status_code == 202
    (failure,) = parse_batch_response(response.data, response.headers["Content-Type"])
    assert failure.status == 400
    assert rows(store, "Account") == before


def test_writes_outside_change_sets_and_refusals(client, org):
    _, _, store = org
    body, content_type = batch(
        request_part("POST", "Account", '{"Name": "Loose"}'),
        request_part("GET", "Nope"),
        request_part("GET", "$batch"),
    )
    response = client.post("/odata/v2/$batch", data=body, content_type=content_type)
    created, missing, nested = parse_batch_response(response.data, response.headers["Content-Type"])
    assert (created.status, missing.status, nested.status) == (201, 404, 400)
    assert "Loose" in names(store)
    bad = client.post("/odata/v2/$batch", data=b"garbage", content_type="multipart/mixed; boundary=x")
    assert bad.status_code == 400 and bad.headers["DataServiceVersion"] == "2.0"
    assert client.get("/odata/v2/$batch").status_code == 405


def test_pyodata_batch_and_changeset(org):
    app, source, store = org
    session = requests.Session()
    session.mount("http://gateway.test/", WsgiAdapter(app))
    service = pyodata.Client("http://gateway.test/odata/v2/", session)
    batch_request = service.create_batch()
    batch_request.add_request(service.entity_sets.Account.get_entities().top(1))
    changeset = service.create_changeset()
    changeset.add_request(service.entity_sets.Account.create_entity().set(Name="Pyodata Batch A"))
    changeset.add_request(service.entity_sets.Account.create_entity().set(Name="Pyodata Batch B"))
    batch_request.add_request(changeset)
    first, created = batch_request.execute()
    assert len(first) == 1
    assert sorted(e.Name for e in created) == ["Pyodata Batch A", "Pyodata Batch B"]
    assert {"Pyodata Batch A", "Pyodata Batch B"} <= names(store)


def test_atom_answers_inside_a_batch(client):
    body, content_type = batch(
        "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        "GET Account?$top=1 HTTP/1.1\r\n\r\n"
    )
    response = client.post("/odata/v2/$batch", data=body, content_type=content_type)
    (read,) = parse_batch_response(response.data, response.headers["Content-Type"])
    feed = etree.fromstring(read.body)
    assert feed.tag == f"{{{ATOM_NS}}}feed" and len(feed.findall("a:entry", NS)) == 1
