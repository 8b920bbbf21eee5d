"""One home for the Salesforce Id rule and key resolution (GET by key, writes, change sets, @odata.bind)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.odata.http.errors import ODataError
from gateway.odata.http.resource_path import KeyPredicate
from gateway.odata.model.entities import EntitySet, Property
from gateway.odata.model.keys import _checksum, is_salesforce_id, key_condition, key_property, keyed_id
from gateway.soql.printer import print_condition

ACCOUNT = EntitySet(
    name="Account",
    sobject="Account",
    entity_type="Account",
    properties={
        "Id": Property("Id", "id", "Edm.String", False),
        "Name": Property("Name", "string", "Edm.String", False),
        "Ext__c": Property("Ext__c", "string", "Edm.String", True, external_id=True),
    },
    navigation={},
)


def test_salesforce_ids_are_15_or_18_letters_and_digits():
    assert is_salesforce_id("001000000000001") and is_salesforce_id("001000000000001AAA")
    for bad in ("", "001", "0010000000000010", "001000000000001AA", "001000000000001\n", "00100000000000é"):
        assert not is_salesforce_id(bad)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=20))
def test_the_id_rule_matches_its_definition(text):
    well_formed = len(text) in (15, 18) and all(c.isascii() and c.isalnum() for c in text)
    expected = well_formed and (len(text) == 15 or text[15:].upper() == _checksum(text[:15]))
    assert is_salesforce_id(text) == expected


def test_key_by_id_by_named_id_and_by_external_id():
    assert key_property(ACCOUNT, KeyPredicate("001000000000001AAA")).name == "Id"
    assert key_property(ACCOUNT, KeyPredicate("001000000000001AAA", "Id")).name == "Id"
    assert key_property(ACCOUNT, KeyPredicate("K-1", "ext__c")).name == "Ext__c"
    condition = key_condition(ACCOUNT, KeyPredicate("K'1", "Ext__c"))
    assert print_condition(condition) == "Ext__c = 'K\\'1'" and keyed_id(condition) is None
    assert keyed_id(key_condition(ACCOUNT, KeyPredicate("001000000000001"))) == "001000000000001"


def test_a_key_that_is_no_key_is_400_and_an_impossible_id_404():
    with pytest.raises(ODataError) as not_a_key:
        key_property(ACCOUNT, KeyPredicate("x", "Name"))
    assert not_a_key.value.status == 400 and not_a_key.value.target == "Name"
    with pytest.raises(ODataError) as no_such_id:
        key_property(ACCOUNT, KeyPredicate("not-an-id"))
    assert no_such_id.value.status == 404
