"""Keys of published entities: the Salesforce Id rule and what a key predicate addresses.

An entity is addressed by its Id (``Account('001…')``, ``Account(Id='001…')``) or by a published external
ID (``Account(Ext__c='K-1')``, an alternate key). A Salesforce Id is 15 or 18 ASCII letters and digits;
anything else cannot name a record, so it is answered 404 without asking the source.
"""

from __future__ import annotations

import re

from gateway.odata.http.errors import bad_request, not_found
from gateway.odata.http.resource_path import KeyPredicate
from gateway.odata.model.entities import EntitySet, Property
from gateway.soql.syntax import Comparison, Field, StringLiteral

_SALESFORCE_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")


def is_salesforce_id(text: str) -> bool:
    """True for a 15- or 18-character Salesforce Id (letters and digits only)."""
    return bool(_SALESFORCE_ID.fullmatch(text))


def key_property(entity_set: EntitySet, key: KeyPredicate) -> Property:
    """The property ``key`` names: the key (Id) or a published external ID.

    400 when it names neither; 404 when an Id cannot be a Salesforce Id (no call to the source)."""
    name = key.property or entity_set.key
    prop = entity_set.property(name)
    if prop is None or (prop.name != entity_set.key and not prop.external_id):
        raise bad_request(
            f"'{name}' is not a key of {entity_set.name}; use its Id or a published external ID.", target=name
        )
    if prop.name == entity_set.key and not is_salesforce_id(key.value):
        raise not_found(f"No {entity_set.name} with key '{key.value}'.", target=entity_set.name)
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
