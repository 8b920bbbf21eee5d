"""The OData model: entity sets built from the publication (``metadata/``) and the source org's describe.

Only what is published exists here; binding refuses everything else, so nothing unpublished can reach SOQL.
OData names are the Salesforce names: an entity set is named by the publication (default: the sObject
name), an entity type after its sObject, a property after its field, a navigation property after the
lookup's ``relationshipName`` (``Account``, ``Owner``) or the child relationship's name (``Contacts``).
"""

from __future__ import annotations

import builtins
import functools
from dataclasses import dataclass, field

from gateway.soql.search_words import SEARCHABLE_TYPES

HIDDEN = "hidden"  # Property.field_security: the requesting user cannot read the field
READ_ONLY = "read-only"  # they can read it but not edit it


@dataclass(frozen=True)
class Property:
    """A published field."""

    name: str  # the Salesforce field name
    sf_type: str  # describe "type": string, double, date, ...
    edm_type: str  # "Edm.String", "Edm.Decimal", ...
    nullable: bool
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    filterable: bool = True
    sortable: bool = True
    insertable: bool = False  # published writable and createable
    updatable: bool = False  # published writable and updateable
    external_id: bool = False  # published as an external ID (alternate key)
    picklist_values: tuple[str, ...] = ()
    # Per-user identity: what the source org's field-level security leaves the requesting user —
    # None (as published), "read-only" (readable, not editable) or "hidden" (not readable: the value is
    # null, and filtering or sorting on it is refused). Set by gateway/identity/user_model.py.
    field_security: str | None = None
    describe: dict = field(default_factory=dict, compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class NavigationProperty:
    """A lookup (single-valued) or a child relationship (collection) to another published entity set."""

    name: str  # the SOQL relationship name: "Account", "Owner", "Contacts", "Account__r"
    target_set: str  # entity set name of the other side
    collection: bool
    field: str  # lookup: this object's reference field (AccountId); child: the child's field (AccountId)


@dataclass(frozen=True)
class EntitySet:
    name: str  # entity set name clients use: /odata/<name>
    sobject: str  # the Salesforce object
    entity_type: str  # entity type name (in the service namespace)
    properties: dict[str, Property]  # by exact name, in publication order; always includes Id
    navigation: dict[str, NavigationProperty]
    key: str = "Id"
    insertable: bool = False
    updatable: bool = False
    deletable: bool = False
    label: str = ""
    key_prefix: str | None = None  # the object's Id prefix from the describe (keyPrefix); None: none
    searchable: bool = True  # the publication allows $search (``searchable = false`` turns it off)
    sobject_searchable: bool = True  # the source's describe says the object can be searched
    search_fields_hidden: bool = False  # some field the source searches is not published: verify results
    # the object keeps SystemModstamp and IsDeleted and answers queryAll: delta links can track it
    change_tracking: bool = False
    # per-user identity: False when the requesting user's source-org permissions hide the whole object
    readable: bool = True

    @functools.cached_property  # read for every candidate a search verifies: computed once per set
    def search_fields(self) -> tuple[str, ...]:
        """The published properties Salesforce search looks in (text, picklist, email, phone, url...)."""
        return tuple(p.name for p in self.properties.values() if p.sf_type in SEARCHABLE_TYPES)

    def property(self, name: str) -> Property | None:
        """The published property named ``name`` (exact case first, then case-insensitive)."""
        found = self.properties.get(name)
        if found is not None:
            return found
        lowered = name.lower()
        return next((p for n, p in self.properties.items() if n.lower() == lowered), None)

    @builtins.property  # plain @property would name the method above
    def external_ids(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.properties.values() if p.external_id)


@dataclass(frozen=True)
class Model:
    namespace: str
    entity_sets: dict[str, EntitySet]

    def entity_set(self, name: str) -> EntitySet | None:
        return self.entity_sets.get(name)

    def by_sobject(self, sobject: str) -> EntitySet | None:
        lowered = sobject.lower()
        return next((s for s in self.entity_sets.values() if s.sobject.lower() == lowered), None)
