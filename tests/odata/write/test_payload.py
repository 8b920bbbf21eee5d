"""Payload conversion and checks (payload.py) and the write-aware mapping of Salesforce errors, on the demo
model: the functions $batch reuses, tested without a request."""

from __future__ import annotations

import gzip
import zlib
from decimal import Decimal

import pytest

from gateway.odata.http.errors import ODataError
from gateway.odata.http.request_body import DEFAULT_MAX_BODY_BYTES, decode_content_encoding
from gateway.odata.http.source_errors import odata_error_from_write
from gateway.odata.write.payload import (
    ValueProblem,
    check_method_allowed,
    convert_entity,
    parse_entity_body,
    replace_values,
    to_salesforce_value,
    unchanged_read_only_problems,
)
from gateway.source.connection import SourceError, SourceTimeout
from tests.support import embedded_gateway


@pytest.fixture(scope="module")
def model():
    app, source, _ = embedded_gateway(2)
    return app.extensions["odata_gateway"].model()


def prop(model, entity_set, name):
    return model.entity_set(entity_set).properties[name]


@pytest.mark.parametrize(
    ("entity_set", "name", "value", "expected"),
    [
        ("Project__c", "Kickoff__c", "2024-01-31T23:30:00-01:00", "2024-02-01T00:30:00.000Z"),
        ("Project__c", "Kickoff__c", "2024-01-31T10:00:00.123456Z", "2024-01-31T10:00:00.123Z"),
        ("Project__c", "Kickoff__c", "2024-01-31T10:00Z", "2024-01-31T10:00:00.000Z"),
        ("Project__c", "Start_Date__c", "2024-02-29", "2024-02-29"),
        ("Project__c", "Budget__c", "1234.56", 1234.56),
        ("Project__c", "Budget__c", Decimal("0.1"), 0.1),
        ("Project__c", "Budget__c", 12, 12),
        ("Project__c", "Budget__c", "-0.00", 0),
        ("Account", "NumberOfEmployees", 2**31 - 1, 2**31 - 1),
        ("Account", "NumberOfEmployees", Decimal("3.0"), 3),
        ("Project__c", "Is_Billable__c", False, False),
        ("Project__c", "Tags__c", "Cloud;AI", "Cloud;AI"),
        ("Account", "Name", "é" * 255, "é" * 255),
        ("Account", "Description", None, None),
    ],
)
def test_values_convert_to_what_salesforce_takes(model, entity_set, name, value, expected):
    converted = to_salesforce_value(prop(model, entity_set, name), value)
    assert converted == expected and type(converted) is type(expected)


@pytest.mark.parametrize(
    ("entity_set", "name", "value", "words"),
    [
        ("Project__c", "Kickoff__c", "2024-01-31T10:00:00", "offset"),
        ("Project__c", "Kickoff__c", "2024-02-30T10:00:00Z", "not a valid date"),
        ("Project__c", "Start_Date__c", "2024-1-31", "Edm.Date"),
        ("Project__c", "Budget__c", "NaN", "finite"),
        ("Project__c", "Budget__c", True, "number"),
        ("Project__c", "Allocation__c", 1000, "out of range"),
        ("Account", "NumberOfEmployees", -(2**31) - 1, "Int32 range"),
        ("Account", "NumberOfEmployees", True, "integer"),
        ("Project__c", "Is_Billable__c", 1, "true or false"),
        ("Project__c", "Is_Billable__c", None, "not nullable"),
        ("Account", "Name", None, "not nullable"),
        ("Account", "Name", "x" * 256, "at most 255"),
        ("Account", "ParentId", "001xyz", "not a Salesforce Id"),
        ("Project__c", "Tags__c", "Cloud;Bogus", "'Bogus' is not one of"),
        ("Account", "Name", ["a"], "expected a string"),
    ],
)
def test_values_that_do_not_fit_are_problems(model, entity_set, name, value, words):
    with pytest.raises(ValueProblem) as problem:
        to_salesforce_value(prop(model, entity_set, name), value)
    assert words in str(problem.value)


def test_convert_entity_collects_every_problem_in_body_order(model):
    account = model.entity_set("Account")
    body = {"Bogus": 1, "Name": None, "@odata.type": "#Salesforce.Account", "Phone@odata.type": "x"}
    with pytest.raises(ODataError) as refused:
        convert_entity(model, account, body, "create")
    error = refused.value
    assert (error.status, error.target) == (400, "Bogus")
    assert [d["target"] for d in error.details] == ["Bogus", "Name"]


def test_read_only_values_are_kept_for_comparison_on_update(model):
    account = model.entity_set("Account")
    payload = convert_entity(
        model, account, {"Name": "x", "CreatedDate": "2024-01-01T01:00:00+01:00", "Id": None}, "update"
    )
    assert payload.values == {"Name": "x"}
    assert payload.read_only == {"CreatedDate": "2024-01-01T00:00:00.000Z", "Id": None}
    current = {"CreatedDate": "2024-01-01T00:00:00.000+0000", "Id": None}
    assert unchanged_read_only_problems(account, payload, current) == []
    changed = {"CreatedDate": "2024-01-01T00:00:01.000+0000", "Id": None}
    assert [p.target for p in unchanged_read_only_problems(account, payload, changed)] == ["CreatedDate"]


def test_bind_resolves_to_the_lookup_field(model):
    contact = model.entity_set("Contact")
    payload = convert_entity(
        model, contact, {"LastName": "x", "Account@odata.bind": "Account('001000000000001AAA')"}, "create"
    )
    assert payload.values == {"LastName": "x", "AccountId": "001000000000001AAA"}


def test_upsert_needs_fields_writable_both_ways_and_sets_both_ways(model):
    check_method_allowed(model, model.entity_set("Account"), "upsert")
    with pytest.raises(ODataError) as refused:
        check_method_allowed(model, model.entity_set("Case"), "upsert")
    assert refused.value.status == 405 and refused.value.headers == {"Allow": "GET"}


def test_replace_sets_unsent_fields_to_null_or_false(model):
    project = model.entity_set("Project__c")
    values = replace_values(project, convert_entity(model, project, {"Name": "P"}, "replace"))
    assert values["Name"] == "P" and values["Budget__c"] is None and values["Is_Billable__c"] is False
    assert "OwnerId" not in values and "CreatedDate" not in values and "Id" not in values


def test_parse_entity_body_keeps_decimals_exact():
    assert parse_entity_body(b'{"Amount": 0.1}') == {"Amount": Decimal("0.1")}


def test_content_encodings():
    body = b'{"Name": "x"}'
    assert decode_content_encoding(gzip.compress(body), "gzip") == body
    assert decode_content_encoding(zlib.compress(body), "deflate") == body
    assert decode_content_encoding(body, None) == body
    bomb = gzip.compress(b"\0" * (DEFAULT_MAX_BODY_BYTES + 10))
    with pytest.raises(ODataError) as refused:
        decode_content_encoding(bomb, "gzip")
    assert refused.value.status == 413
    with pytest.raises(ODataError) as refused:
        decode_content_encoding(gzip.compress(b"x" * 1001), "gzip", limit=1000)
    assert (refused.value.status, refused.value.code) == (413, "PayloadTooLarge")


@pytest.mark.parametrize(
    ("status", "code", "fields", "expected_status"),
    [
        (400, "REQUIRED_FIELD_MISSING", ["LastName"], 400),
        (400, "STRING_TOO_LONG", ["Name"], 400),
        (400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", [], 400),
        (400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["StageName"], 400),
        (400, "DUPLICATE_VALUE", ["External_Id__c"], 409),
        (300, "MULTIPLE_CHOICES", [], 409),
        (404, "NOT_FOUND", [], 404),
        (404, "ENTITY_IS_DELETED", [], 404),
        (400, "ENTITY_IS_DELETED", ["AccountId"], 400),  # the record a lookup names was deleted
        (403, "INSUFFICIENT_ACCESS_OR_READONLY", [], 403),
        (500, "UNKNOWN_EXCEPTION", [], 502),
    ],
)
def test_salesforce_write_errors_map_to_client_errors(status, code, fields, expected_status):
    body = [{"errorCode": code, "message": "msg", "fields": fields}]
    error = odata_error_from_write(SourceError(status, code, "msg", fields, body), "Account")
    assert error.status == expected_status
    if expected_status < 500:
        assert error.code == code
        assert error.target == (",".join(fields) or "Account")
        assert error.details == [
            {"code": code, "message": "msg", **({"target": ",".join(fields)} if fields else {})}
        ]


def test_write_timeouts_and_limits_keep_their_statuses():
    assert odata_error_from_write(SourceTimeout(504, "TIMEOUT", "slow")).status == 504
    limited = odata_error_from_write(
        SourceError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
    )
    assert limited.status == 503 and limited.headers["Retry-After"]
