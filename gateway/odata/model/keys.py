"""Keys of published entities: the Salesforce Id rule and what a key predicate addresses.

An entity is addressed by its Id (``Account('001…')``, ``Account(Id='001…')``) or by a published external
ID (``Account(Ext__c='K-1')``, an alternate key). A Salesforce Id is 15 case-sensitive letters and digits,
or 18 whose last three are the case checksum of the first 15; anything else cannot name a record.

This is the ONE place that decides whether a client-supplied Id may address an entity set: every key (of
every method), each change-set operation, each ``@odata.bind`` reference and the parent of a navigation
pass ``require_record_id``: the Id must be well formed and carry the key prefix (first three characters)
of the entity set's object, from the describe. Salesforce's sObject Collections ``DELETE ?ids=`` ignores the
object, so without this an Id sent for ``Account`` that belongs to a Case would delete the Case. A foreign or
malformed Id is 404 before any call to the source.
"""

from __future__ import annotations

import re

from gateway.odata.http.errors import bad_request, not_found
from gateway.odata.http.resource_path import KeyPredicate
from gateway.odata.model.entities import EntitySet, Property
from gateway.soql.syntax import Comparison, Field, StringLiteral

_SALESFORCE_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def _checksum(id15: str) -> str:
    """Salesforce's 3-character suffix: for each 5-character chunk, which characters are upper case."""
    return "".join(
        _CHECKSUM_ALPHABET[sum(1 << i for i, ch in enumerate(id15[start : start + 5]) if "A" <= ch <= "Z")]
        for start in (0, 5, 10)
    )


def is_salesforce_id(text: str) -> bool:
    """A 15-character Salesforce Id, or an 18-character one whose suffix is the checksum (any case)."""
    if not isinstance(text, str) or not _SALESFORCE_ID.fullmatch(text):
        return False
    return len(text) == 15 or text[15:].upper() == _checksum(text[:15])


def belongs_to(entity_set: EntitySet, text: str) -> bool:
    """Whether ``text`` can be the Id of a record of ``entity_set`` (well formed, the object's key prefix)."""
    if not is_salesforce_id(text):
        return False
    return entity_set.key_prefix is None or text[:3] == entity_set.key_prefix


def require_record_id(entity_set: EntitySet, text: str, target: str | None = None) -> str:
    """``text`` when it can be the Id of a record of ``entity_set``; else 404 (nothing is called)."""
    if not belongs_to(entity_set, text):
        raise not_found(f"No {entity_set.name} with key '{text}'.", target=target or entity_set.name)
    return text


def key_property(entity_set: EntitySet, key: KeyPredicate) -> Property:
    """The property ``key`` names: the key (Id) or a published external ID.

    400 when it names neither; 404 when an Id cannot be a Salesforce Id (no call to the source)."""
    name = key.property or entity_set.key
    prop = entity_set.property(name)
    if prop is None or (prop.name != entity_set.key and not prop.external_id):
        raise bad_request(
            f"'{name}' is not a key of {entity_set.name}; use its Id or a published external ID.", target=name
        )
    if prop.name == entity_set.key:
        require_record_id(entity_set, key.value)
    elif key.value.strip() in ("", ".", ".."):
        # in the source's URL (sobjects/X/Field/<value>) these would name another resource, or none
        raise bad_request(
            f"'{key.value}' cannot be a value of the alternate key {prop.name}.", target=prop.name
        )
    return prop


def key_condition(entity_set: EntitySet, key: KeyPredicate) -> Comparison:
    """The SOQL condition selecting the entity ``key`` addresses (checked by ``key_property``)."""
    prop = key_property(entity_set, key)
    return Comparison(Field((prop.name,)), "=", StringLiteral(key.value))


def keyed_id(condition: Comparison) -> str | None:
    """The Id a ``key_condition`` selects, or None when it selects by an external ID."""
    if condition.left.path == ("Id",) and isinstance(condition.right, StringLiteral):
        return condition.right.value
    return None
