"""$batch end to end: the gateway on a fresh embedded local org, multipart/mixed and JSON batches.

After every batch the local org's tables are read directly (whole-table comparisons after a failure), and
the API calls each batch cost are counted on the source connection.
"""

from __future__ import annotations

import json

import pytest

from gateway.odata.http.multipart import HttpResponsePart, parse_batch_response
from tests.support import embedded_gateway


@pytest.fixture()
def gateway():
    app, source, store = embedded_gateway(20)
    return app.test_client(), source, store


def table(store, name: str) -> list[tuple]:
    with store.lock:
        return store.conn.execute(f'SELECT * FROM "{name}" ORDER BY "Id"').fetchall()


def snapshot(store) -> dict[str, list[tuple]]:
    return {name: table(store, name) for name in ("Account", "Contact", "Opportunity")}


def account_ids(store) -> list[str]:
    with store.lock:
        rows = store.conn.execute('SELECT "Id" FROM "Account" WHERE "IsDeleted" = 0 ORDER BY "Id"')
        return [r[0] for r in rows]


def json_batch(client, requests: list[dict]):
    return client.post("/odata/$batch", json={"requests": requests})


def creates(count: int, group: str = "g1", name: str = "Batch") -> list[dict]:
    return [
        {
            "id": f"c{i}",
            "atomicityGroup": group,
            "method": "POST",
            "url": "Account",
            "body": {"Name": f"{name} {i}"},
        }
        for i in range(count)
    ]


# --- multipart -----------------------------------------------------------------------------------------


def part(method: str, url: str, body: dict | None = None, content_id: str | None = None) -> str:
    head = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
    if content_id:
        head += f"Content-ID: {content_id}\r\n"
    request = f"{method} {url} HTTP/1.1\r\nAccept: application/json\r\n"
    if body is not None:
        request += "Content-Type: application/json\r\n"
    return head + "\r\n" + request + "\r\n" + (json.dumps(body) if body is not None else "")


def multipart_body(items: list[str | list[str]]) -> bytes:
    out = ""
    for n, item in enumerate(items):
        out += "--batch\r\n"
        if isinstance(item, str):
            out += item + "\r\n"
            continue
        out += f"Content-Type: multipart/mixed; boundary=cs{n}\r\n\r\n"
        out += "".join(f"--cs{n}\r\n{p}\r\n" for p in item) + f"--cs{n}--\r\n"
    return (out + "--batch--\r\n").encode()


def post_multipart(client, items):
    response = client.post(
        "/odata/$batch", data=multipart_body(items), content_type="multipart/mixed; boundary=batch"
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return parse_batch_response(response.get_data(), response.headers["Content-Type"])


def test_multipart_read_and_change_set_cost_one_call_each(gateway):
    client, source, store = gateway
    first = account_ids(store)[0]
    old_name = store.get("Account", first)["Name"]
    calls = source.api_calls
    answers = post_multipart(
        client,
        [
            part("GET", f"Account('{first}')?$select=Name"),
            [
                part("POST", "Account", {"Name": "Multipart New"}, "1"),
                part("PATCH", f"/odata/Account('{first}')", {"Name": "Multipart Renamed"}, "2"),
            ],
        ],
    )
    assert source.api_calls == calls + 2  # the read, and one composite call for the change set
    read, changes = answers
    assert isinstance(read, HttpResponsePart) and read.status == 200
    assert json.loads(read.body)["Name"] == old_name  # read before the change set ran
    assert [(c.content_id, c.status) for c in changes] == [("1", 201), ("2", 204)]
    new_id = json.loads(changes[0].body)["Id"]
    assert changes[0].headers["location"].endswith(f"/odata/Account('{new_id}')")
    assert store.get("Account", new_id)["Name"] == "Multipart New"
    assert store.get("Account", first)["Name"] == "Multipart Renamed"


def test_multipart_failed_change_set_is_one_error_response_and_writes_nothing(gateway):
    client, source, store = gateway
    first = account_ids(store)[0]
    before = snapshot(store)
    calls = source.api_calls
    answers = post_multipart(
        client,
        [
            [
                part("POST", "Account", {"Name": "Never"}, "1"),
                part("DELETE", f"Account('{first}')", None, "2"),
                part("POST", "Account", {"Name": "x" * 300}, "3"),
            ]
        ],
    )
    assert source.api_calls == calls  # refused by validation: no call at all
    assert len(answers) == 1 and isinstance(answers[0], HttpResponsePart)
    error = json.loads(answers[0].body)["error"]
    assert answers[0].status == 400 and error["target"] == "Name"
    assert snapshot(store) == before


def test_salesforce_failure_in_a_change_set_rolls_back_everything(gateway):
    client, source, store = gateway
    ids = account_ids(store)
    before = snapshot(store)
    calls = source.api_calls
    # Valid for the gateway, refused by Salesforce: the record does not exist (deleted meanwhile).
    store.delete("Account", ids[1])
    before = snapshot(store)
    answers = post_multipart(
        client,
        [
            [
                part("PATCH", f"Account('{ids[0]}')", {"Name": "Rolled back"}, "a"),
                part("PATCH", f"Account('{ids[1]}')", {"Name": "Gone"}, "b"),
            ]
        ],
    )
    assert source.api_calls == calls + 1
    assert len(answers) == 1 and answers[0].status == 404
    assert json.loads(answers[0].body)["error"]["code"] == "ENTITY_IS_DELETED"
    assert snapshot(store) == before


def test_malformed_multipart_is_400(gateway):
    client, source, store = gateway
    before = snapshot(store)
    batch = "multipart/mixed; boundary=batch"
    for body, content_type in [
        (b"--batch\r\nContent-Type: application/http\r\n\r\nGET Account HTTP/1.1\r\n\r\n", batch),
        (b"no parts at all", batch),
        (b"--batch\r\nContent-Type: text/plain\r\n\r\nhello\r\n--batch--", batch),
        (b"--batch--", "multipart/mixed"),
    ]:
        response = client.post("/odata/$batch", data=body, content_type=content_type)
        assert response.status_code == 400, body
        assert "malformed" in response.get_json()["error"]["message"]
    assert client.post("/odata/$batch", data=b"x", content_type="text/plain").status_code == 415
    assert snapshot(store) == before


# --- JSON batch -----------------------------------------------------------------------------------------


def test_json_change_set_of_200_creates_costs_one_call(gateway):
    client, source, store = gateway
    calls = source.api_calls
    response = json_batch(client, creates(200))
    assert response.status_code == 200
    assert source.api_calls == calls + 1
    answers = response.get_json()["responses"]
    assert [a["status"] for a in answers] == [201] * 200
    assert all(a["atomicityGroup"] == "g1" for a in answers)
    names = {store.get("Account", a["body"]["Id"])["Name"] for a in answers}
    assert names == {f"Batch {i}" for i in range(200)}


def test_json_change_sets_of_200_updates_and_of_200_deletes_cost_one_call_each(gateway):
    client, source, store = gateway
    json_batch(client, creates(200, name="Seed"))
    ids = account_ids(store)[-200:]
    calls = source.api_calls
    updates = [
        {
            "id": f"u{i}",
            "atomicityGroup": "u",
            "method": "PATCH",
            "url": f"Account('{i_d}')",
            "body": {"Site": "S"},
        }
        for i, i_d in enumerate(ids)
    ]
    assert [a["status"] for a in json_batch(client, updates).get_json()["responses"]] == [204] * 200
    assert source.api_calls == calls + 1
    assert {store.get("Account", i)["Site"] for i in ids} == {"S"}
    deletes = [
        {"id": f"d{i}", "atomicityGroup": "d", "method": "DELETE", "url": f"Account('{i_d}')"}
        for i, i_d in enumerate(ids)
    ]
    assert [a["status"] for a in json_batch(client, deletes).get_json()["responses"]] == [204] * 200
    assert source.api_calls == calls + 2
    assert set(ids).isdisjoint(account_ids(store))


def test_one_bad_record_in_200_writes_nothing(gateway):
    client, source, store = gateway
    json_batch(client, creates(1, name="Dup"))
    before = snapshot(store)
    calls = source.api_calls
    requests = creates(200)
    # Accepted by the gateway's checks, refused by Salesforce: an update of a record that does not exist.
    missing = "Account('001000000000999AAA')"
    requests[150] = {"id": "c150", "atomicityGroup": "g1", "method": "PATCH", "url": missing,
                     "body": {"Name": "No such record"}}  # fmt: skip
    answers = json_batch(client, requests).get_json()["responses"]
    assert source.api_calls == calls + 1  # creates, the update, creates: one composite call
    statuses = {a["id"]: a["status"] for a in answers}
    assert statuses.pop("c150") in (400, 404)
    assert set(statuses.values()) == {424}
    assert answers[0]["body"]["error"]["code"] == "FailedDependency"
    assert snapshot(store) == before


def test_mixed_change_set_is_one_composite_call(gateway):
    client, source, store = gateway
    ids = account_ids(store)
    calls = source.api_calls
    requests = [
        {"id": "1", "atomicityGroup": "m", "method": "POST", "url": "Account", "body": {"Name": "Mixed"}},
        {"id": "2", "atomicityGroup": "m", "method": "PATCH", "url": f"Account('{ids[0]}')",
         "body": {"Site": "M"}},
        {"id": "3", "atomicityGroup": "m", "method": "PATCH", "url": "Account(External_Id__c='EXT-B1')",
         "body": {"Name": "Upserted"}},
        {"id": "4", "atomicityGroup": "m", "method": "DELETE", "url": f"Account('{ids[1]}')"},
    ]  # fmt: skip
    answers = json_batch(client, requests).get_json()["responses"]
    assert source.api_calls == calls + 1
    assert [a["status"] for a in answers] == [201, 204, 201, 204]
    assert store.get("Account", answers[2]["body"]["Id"])["External_Id__c"] == "EXT-B1"
    assert store.get("Account", ids[0])["Site"] == "M"
    assert ids[1] not in account_ids(store)


def test_too_large_change_set_is_refused_before_any_call(gateway):
    client, source, store = gateway
    ids = account_ids(store)
    before = snapshot(store)
    calls = source.api_calls
    requests = []
    for i in range(26):  # 26 alternating runs need 26 collection calls: more than one composite holds
        if i % 2:
            url = f"Account('{ids[0]}')"
            requests.append({"id": f"r{i}", "atomicityGroup": "big", "method": "PATCH", "url": url,
                             "body": {"Site": str(i)}})  # fmt: skip
        else:
            requests.append({"id": f"r{i}", "atomicityGroup": "big", "method": "POST", "url": "Account",
                             "body": {"Name": str(i)}})  # fmt: skip
    answers = json_batch(client, requests).get_json()["responses"]
    assert source.api_calls == calls
    assert {a["status"] for a in answers} == {400}
    assert "cannot be written atomically" in answers[0]["body"]["error"]["message"]
    assert snapshot(store) == before


def test_refusals_inside_a_batch(gateway):
    client, source, store = gateway
    ids = account_ids(store)
    before = snapshot(store)
    calls = source.api_calls
    requests = [
        {"id": "unknown", "atomicityGroup": "a", "method": "POST", "url": "NoSuchSet", "body": {"Name": "x"}},
        {"id": "get", "atomicityGroup": "b", "method": "GET", "url": "Account"},
        {"id": "put-set", "atomicityGroup": "c", "method": "PUT", "url": "Account", "body": {"Name": "x"}},
        {"id": "readonly", "atomicityGroup": "d", "method": "POST", "url": "User", "body": {"LastName": "x"}},
        {"id": "ref", "atomicityGroup": "e", "method": "PATCH", "url": "$1", "body": {"Name": "x"}},
        {"id": "etag", "atomicityGroup": "f", "method": "DELETE", "url": f"Account('{ids[0]}')",
         "headers": {"If-Match": 'W/"2020-01-01T00:00:00.000Z"'}},
        {"id": "nested", "method": "POST", "url": "$batch", "body": {"requests": []}},
    ]  # fmt: skip
    answers = {a["id"]: a for a in json_batch(client, requests).get_json()["responses"]}
    assert answers["unknown"]["status"] == 404
    assert answers["get"]["status"] == 400
    assert answers["put-set"]["status"] == 405
    assert answers["readonly"]["status"] == 405
    assert answers["ref"]["status"] == 501
    assert answers["etag"]["status"] == 501
    assert answers["nested"]["status"] == 400
    assert source.api_calls == calls
    assert snapshot(store) == before


def test_depends_on_a_failed_request_is_not_run(gateway):
    client, source, store = gateway
    before = snapshot(store)
    requests = [
        {"id": "bad", "atomicityGroup": "g", "method": "POST", "url": "Account", "body": {"Name": None}},
        {"id": "after", "method": "GET", "url": "Account?$top=1", "dependsOn": ["g"]},
    ]
    answers = json_batch(client, requests).get_json()["responses"]
    assert [a["status"] for a in answers] == [400, 424]
    assert snapshot(store) == before
    bad = json_batch(client, [{"id": "x", "method": "GET", "url": "Account", "dependsOn": ["later"]}])
    assert bad.status_code == 400


def test_json_batch_shape_errors_are_400(gateway):
    client, _, _ = gateway
    assert client.post("/odata/$batch", data=b"{", content_type="application/json").status_code == 400
    assert json_batch(client, [{"id": "a", "method": "GET"}]).status_code == 400
    dup = [{"id": "a", "method": "GET", "url": "Account"}] * 2
    assert json_batch(client, dup).status_code == 400
    apart = [
        {"id": "1", "atomicityGroup": "g", "method": "POST", "url": "Account", "body": {"Name": "a"}},
        {"id": "2", "method": "GET", "url": "Account"},
        {"id": "3", "atomicityGroup": "g", "method": "POST", "url": "Account", "body": {"Name": "b"}},
    ]
    assert json_batch(client, apart).status_code == 400


def test_metadata_declares_batch_support(gateway):
    client, _, _ = gateway
    document = client.get("/odata/$metadata?$format=json").get_json()
    container = document["Salesforce"]["Container"]
    assert container["@Capabilities.BatchSupported"] is True
    assert container["@Capabilities.BatchSupport"]["SupportedFormats"] == [
        "multipart/mixed",
        "application/json",
    ]


# --- the same pipeline as single requests ----------------------------------------------------------------


def test_a_created_entity_is_shaped_as_the_part_asked(gateway):
    client, source, store = gateway
    requests = [
        {
            "id": "none",
            "atomicityGroup": "g1",
            "method": "POST",
            "url": "Opportunity?$format=application/json;odata.metadata=none;IEEE754Compatible=true",
            "body": {
                "Name": "Big deal",
                "StageName": "Prospecting",
                "CloseDate": "2025-01-31",
                "Amount": 1234.5,
            },
        },
        {
            "id": "minimal",
            "atomicityGroup": "g1",
            "method": "POST",
            "url": "Opportunity",
            "headers": {"Accept": "application/json;odata.metadata=minimal"},
            "body": {
                "Name": "Small deal",
                "StageName": "Prospecting",
                "CloseDate": "2025-01-31",
                "Amount": 7,
            },
        },
    ]
    answer = json_batch(client, requests)
    assert answer.status_code == 200
    plain, minimal = answer.get_json()["responses"]
    assert plain["status"] == 201 and minimal["status"] == 201
    assert "@odata.context" not in plain["body"]
    assert plain["body"]["Amount"] == "1234.5"  # IEEE754Compatible: Decimal as a string
    assert plain["headers"]["content-type"] == "application/json;odata.metadata=none;IEEE754Compatible=true"
    assert minimal["body"]["@odata.context"].endswith("$metadata#Opportunity/$entity")
    assert minimal["body"]["Amount"] == 7
    # What was answered is what the org holds.
    with store.lock:
        held = store.conn.execute(
            'SELECT "Name", "Amount" FROM "Opportunity" WHERE "Id" = ?', (plain["body"]["Id"],)
        ).fetchone()
    assert held == ("Big deal", 1234.5)


def test_parts_are_served_in_process_without_a_test_client(gateway, monkeypatch):
    client, source, store = gateway
    from flask import Flask

    def no_test_client(*args, **kwargs):
        raise AssertionError("a $batch part went through the WSGI test client")

    monkeypatch.setattr(Flask, "test_client", no_test_client)
    first = account_ids(store)[0]
    answer = json_batch(
        client,
        [
            {"id": "read", "method": "GET", "url": f"Account('{first}')?$select=Name"},
            {"id": "count", "method": "GET", "url": "Account/$count"},
            {"id": "meta", "method": "GET", "url": "$metadata"},
        ],
    )
    read, count, meta = answer.get_json()["responses"]
    with store.lock:
        name = store.conn.execute('SELECT "Name" FROM "Account" WHERE "Id" = ?', (first,)).fetchone()[0]
    assert read["status"] == 200 and read["body"]["Name"] == name
    assert count["status"] == 200 and count["body"] == str(len(account_ids(store)))
    assert meta["status"] == 200 and meta["body"].startswith("<?xml")
