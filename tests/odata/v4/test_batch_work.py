"""$batch work grows with the parts, never faster: per-entity-set facts are worked out once, a JSON part's
body is decoded once, one shaper serves every answer of a kind, and the answer is exactly what the old
way (encode each sub-response, decode it again) produced."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from gateway.odata.v4 import batch, shape
from gateway.odata.write import payload
from tests.odata.v4.test_batch import account_ids, creates, json_batch
from tests.support import embedded_gateway


@pytest.fixture()
def gateway():
    app, source, store = embedded_gateway(20)
    return app.test_client(), source, store


def counting(monkeypatch, module, name: str) -> list:
    calls: list = []
    original = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_a_change_set_of_200_creates_works_out_each_fact_once(gateway, monkeypatch):
    client, source, store = gateway
    client.get("/odata/$metadata")
    before, calls_before = set(account_ids(store)), source.api_calls
    required = counting(monkeypatch, payload, "is_required")
    parsed = counting(monkeypatch, payload, "parse_entity_body")
    shapers = counting(monkeypatch, shape.Shaper, "build")
    response = json_batch(client, creates(200, name="Once"))
    answers = response.json["responses"]
    assert response.status_code == 200 and [a["status"] for a in answers] == [201] * 200
    assert len(set(account_ids(store)) - before) == 200 and source.api_calls - calls_before == 1
    properties = len(client.application.extensions["odata_gateway"].model().entity_set("Account").properties)
    assert len(required) <= properties  # once per property of the set, not once per record
    assert parsed == []  # the batch document was decoded once; its parts are not parsed again
    assert len(shapers) == 1  # one shaper for 200 answers of the same shape


def test_the_answer_is_byte_for_byte_what_encoding_each_part_and_decoding_it_gave(gateway):
    client, _, store = gateway
    before = set(account_ids(store))
    body = {"Name": "X é", "AnnualRevenue": 1.5e-05}
    group = [{"id": "a", "atomicityGroup": "g", "method": "POST", "url": "Account", "body": body}]
    response = json_batch(client, group)
    (record_id,) = set(account_ids(store)) - before
    url = f"http://localhost/odata/Account('{record_id}')"
    assert response.data.decode() == (
        '{"responses":[{"id":"a","atomicityGroup":"g","status":201,"headers":{"location":"' + url + '",'
        '"odata-entityid":"' + url + '","content-type":"application/json;odata.metadata=minimal"},'
        '"body":{"@odata.context":"http://localhost/odata/$metadata#Account/$entity",'
        '"Id":"' + record_id + '","Name":"X é","AnnualRevenue":1.5e-05}}]}'
    )


def test_numbers_in_a_decoded_part_are_the_decimals_its_text_gave():
    text = b'{"Name": "n", "AnnualRevenue": 1234.5678, "N": 1e-7, "L": [0.1, 2], "D": {"x": 3.0}}'
    assert payload.entity_from_json(json.loads(text)) == payload.parse_entity_body(text)
    assert payload.entity_from_json(json.loads(text))["AnnualRevenue"] == Decimal("1234.5678")
    with pytest.raises(payload.ODataError):
        payload.entity_from_json(["not", "an", "entity"])


def test_dependencies_are_checked_against_every_earlier_request_and_group(gateway):
    client, _, _ = gateway
    requests = [
        {"id": "r0", "method": "GET", "url": "Account?$top=1"},
        *creates(2, group="g1"),
        {"id": "r3", "method": "GET", "url": "Account?$top=1", "dependsOn": ["r0", "g1"]},
        {"id": "r4", "method": "GET", "url": "Account?$top=1", "dependsOn": ["later"]},
    ]
    response = json_batch(client, requests)
    assert response.status_code == 400 and "dependsOn 'later'" in response.json["error"]["message"]
    response = json_batch(client, requests[:-1])
    assert [a["status"] for a in response.json["responses"]] == [200, 201, 201, 200]


def test_a_non_change_set_part_gets_its_body_encoded_when_the_pipeline_needs_it():
    sub = batch.SubRequest("1", "POST", "Account", {}, b"", document={"Name": "x é"})
    assert json.loads(sub.payload()) == {"Name": "x é"}
    assert batch.SubRequest("2", "GET", "Account", {}, b"raw").payload() == b"raw"
