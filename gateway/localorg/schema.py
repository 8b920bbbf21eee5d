"""The local org's objects, read from Salesforce describe JSON.

A schema file is a JSON list of what ``GET /sobjects/{name}/describe`` returns (or ``{"sobjects": [...]}``).
Keys a describe leaves out take the values Salesforce fills in; the system fields Id, IsDeleted,
CreatedDate, LastModifiedDate and SystemModstamp are added when absent; objects without ``keyPrefix`` get
the standard one or a deterministic custom one (a00, a01, ...); ``childRelationships`` are derived from the
other objects' reference fields when a describe does not list them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import ids

STANDARD_KEY_PREFIXES = {
    "Account": "001",
    "Note": "002",
    "Contact": "003",
    "User": "005",
    "Opportunity": "006",
    "Activity": "007",
    "RecordType": "012",
    "Profile": "00e",
    "UserRole": "00E",
    "Group": "00G",
    "Attachment": "00P",
    "Lead": "00Q",
    "Task": "00T",
    "Event": "00U",
    "Product2": "01t",
    "Pricebook2": "01s",
    "PricebookEntry": "01u",
    "Asset": "02i",
    "ContentVersion": "068",
    "ContentDocument": "069",
    "Case": "500",
    "Solution": "501",
    "Entitlement": "550",
    "Campaign": "701",
    "Contract": "800",
    "Order": "801",
}

# Default length of text-like fields when a describe omits it.
DEFAULT_LENGTHS = {
    "id": 18,
    "reference": 18,
    "string": 255,
    "textarea": 255,
    "picklist": 255,
    "multipicklist": 4099,
    "combobox": 255,
    "email": 80,
    "phone": 40,
    "url": 255,
    "encryptedstring": 175,
}
DEFAULT_PRECISION_SCALE = {"double": (18, 0), "currency": (18, 2), "percent": (18, 2)}
NOT_GROUPABLE_TYPES = frozenset(
    {"double", "currency", "percent", "datetime", "multipicklist", "base64", "address", "location", "time"}
)
NOT_FILTERABLE_TYPES = frozenset({"base64", "encryptedstring", "address", "location"})
LONG_TEXT_THRESHOLD = 255

SYSTEM_FIELD_NAMES = ("Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp")


def _label_from_name(name: str, field_type: str | None = None) -> str:
    base = name[:-3] if name.endswith("__c") or name.endswith("__r") else name
    if field_type == "reference" and base.endswith("Id") and len(base) > 2:
        base = base[:-2] + " ID"
    return base.replace("_", " ")


def is_long_text(field: dict) -> bool:
    """A long (or rich) text area: textarea longer than 255 characters."""
    return field["type"] == "textarea" and field["length"] > LONG_TEXT_THRESHOLD


def _default_relationship_name(field_name: str) -> str | None:
    if field_name.endswith("__c"):
        return field_name[:-3] + "__r"
    if field_name.endswith("Id") and len(field_name) > 2:
        return field_name[:-2]
    return None


def _normalize_picklist_values(values: Iterable[Any]) -> list[dict]:
    entries = []
    for value in values or []:
        if isinstance(value, str):
            value = {"value": value}
        entry = {"active": True, "defaultValue": False, "label": value.get("value"), "validFor": None}
        entry.update(value)
        entries.append(entry)
    return entries


def complete_field(field: dict) -> dict:
    """A describe field entry with every key Salesforce fills in (given keys are kept)."""
    given = dict(field)
    name = given["name"]
    field_type = given.get("type") or "string"
    length = given.get("length", DEFAULT_LENGTHS.get(field_type, 0))
    precision, scale = DEFAULT_PRECISION_SCALE.get(field_type, (0, 0))
    long_text = field_type == "textarea" and length > LONG_TEXT_THRESHOLD
    filterable = field_type not in NOT_FILTERABLE_TYPES and not long_text
    calculated = given.get("calculated", False)
    auto_number = given.get("autoNumber", False)
    writable = field_type != "id" and not calculated and not auto_number
    external_id = given.get("externalId", False)
    entry: dict[str, Any] = {
        "name": name,
        "label": _label_from_name(name, field_type),
        "type": field_type,
        "length": length,
        "byteLength": length * 3,
        "digits": 9 if field_type == "int" else 0,
        "precision": precision,
        "scale": scale,
        "nillable": field_type not in ("boolean", "id"),
        "filterable": filterable,
        "sortable": filterable and field_type != "multipicklist",
        "groupable": filterable and field_type not in NOT_GROUPABLE_TYPES,
        "createable": writable,
        "updateable": writable,
        "externalId": external_id,
        "unique": False,
        "idLookup": field_type == "id" or external_id,
        "calculated": calculated,
        "autoNumber": auto_number,
        "defaultedOnCreate": field_type == "boolean" or auto_number,
        "defaultValue": False if field_type == "boolean" else None,
        "custom": name.endswith("__c"),
        "referenceTo": [],
        "relationshipName": _default_relationship_name(name) if field_type == "reference" else None,
        "picklistValues": [],
        "restrictedPicklist": False,
        "soapType": _soap_type(field_type),
    }
    entry.update(given)
    entry["type"] = field_type
    entry["picklistValues"] = _normalize_picklist_values(entry["picklistValues"])
    entry["referenceTo"] = list(entry["referenceTo"] or [])
    return entry


def _soap_type(field_type: str) -> str:
    return {
        "id": "tns:ID",
        "reference": "tns:ID",
        "boolean": "xsd:boolean",
        "int": "xsd:int",
        "double": "xsd:double",
        "currency": "xsd:double",
        "percent": "xsd:double",
        "date": "xsd:date",
        "datetime": "xsd:dateTime",
        "time": "xsd:time",
        "base64": "xsd:base64Binary",
        "address": "urn:address",
        "location": "urn:location",
    }.get(field_type, "xsd:string")


def _system_field(name: str) -> dict:
    if name == "Id":
        return {
            "name": "Id",
            "label": "Record ID",
            "type": "id",
            "nillable": False,
            "unique": False,
            "idLookup": True,
            "defaultedOnCreate": True,
            "createable": False,
            "updateable": False,
        }
    if name == "IsDeleted":
        return {
            "name": "IsDeleted",
            "label": "Deleted",
            "type": "boolean",
            "nillable": False,
            "defaultedOnCreate": True,
            "createable": False,
            "updateable": False,
        }
    labels = {
        "CreatedDate": "Created Date",
        "LastModifiedDate": "Last Modified Date",
        "SystemModstamp": "System Modstamp",
    }
    return {
        "name": name,
        "label": labels[name],
        "type": "datetime",
        "nillable": False,
        "defaultedOnCreate": True,
        "createable": False,
        "updateable": False,
    }


class SObjectType:
    """One object of the schema: its completed describe and case-insensitive field lookups."""

    def __init__(self, describe: dict):
        self.describe = describe
        self.name: str = describe["name"]
        self.key_prefix: str = describe["keyPrefix"]
        self.fields: list[dict] = describe["fields"]
        self._fields_by_lower = {f["name"].lower(): f for f in self.fields}
        self._parents: dict[str, tuple[dict, str]] = {}
        self._children: dict[str, tuple[str, str]] = {}

    def field(self, name: str) -> dict | None:
        return self._fields_by_lower.get(name.lower())

    def parent(self, relationship_name: str) -> tuple[dict, str] | None:
        """The reference field with this relationshipName and the object it points to."""
        return self._parents.get(relationship_name.lower())

    def child(self, relationship_name: str) -> tuple[str, str] | None:
        """The child object and its reference field for a child relationship name."""
        return self._children.get(relationship_name.lower())

    @property
    def reference_fields(self) -> list[dict]:
        return [f for f in self.fields if f["type"] == "reference"]

    def __repr__(self) -> str:
        return f"SObjectType({self.name!r})"


class Schema:
    """All objects of the local org, in file order; lookups by name are case-insensitive."""

    def __init__(self, types: list[SObjectType]):
        self.types = types
        self._by_lower = {t.name.lower(): t for t in types}
        self._by_prefix = {t.key_prefix: t for t in types}
        for sobject in types:
            for field in sobject.reference_fields:
                target = self._reference_target(field)
                if field.get("relationshipName") and target:
                    sobject._parents[field["relationshipName"].lower()] = (field, target)
            for relationship in sobject.describe["childRelationships"]:
                if relationship.get("relationshipName"):
                    sobject._children[relationship["relationshipName"].lower()] = (
                        relationship["childSObject"],
                        relationship["field"],
                    )

    def _reference_target(self, field: dict) -> str | None:
        for name in field["referenceTo"]:
            target = self.get(name)
            if target:
                return target.name
        return field["referenceTo"][0] if field["referenceTo"] else None

    def get(self, name: str) -> SObjectType | None:
        return self._by_lower.get(name.lower())

    def by_key_prefix(self, prefix: str) -> SObjectType | None:
        return self._by_prefix.get(prefix)

    def type_of_id(self, id_value: str) -> SObjectType | None:
        """The object a record Id belongs to, from its key prefix."""
        return self.by_key_prefix(ids.key_prefix(id_value))

    def to_json(self) -> list[dict]:
        return [t.describe for t in self.types]

    @classmethod
    def from_describes(cls, describes: list[dict]) -> Schema:
        completed = [_complete_object(d) for d in copy.deepcopy(list(describes))]
        _assign_key_prefixes(completed)
        _derive_child_relationships(completed)
        return cls([SObjectType(d) for d in completed])


def _complete_object(describe: dict) -> dict:
    name = describe["name"]
    label = describe.get("label") or _label_from_name(name)
    given_fields = [complete_field(f) for f in describe.get("fields", [])]
    present = {f["name"].lower() for f in given_fields}
    system_first = [complete_field(_system_field("Id"))] if "id" not in present else []
    system_last = [
        complete_field(_system_field(n)) for n in SYSTEM_FIELD_NAMES[1:] if n.lower() not in present
    ]
    entry: dict[str, Any] = {
        "name": name,
        "label": label,
        "labelPlural": label + "s",
        "keyPrefix": None,
        "custom": name.endswith("__c"),
        "queryable": True,
        "retrieveable": True,
        "searchable": True,
        "createable": True,
        "updateable": True,
        "deletable": True,
        "undeletable": True,
    }
    entry.update({k: v for k, v in describe.items() if k not in ("fields",)})
    entry["fields"] = system_first + given_fields + system_last
    return entry


def _assign_key_prefixes(describes: list[dict]) -> None:
    taken = {d["keyPrefix"] for d in describes if d.get("keyPrefix")}
    for d in describes:
        standard = STANDARD_KEY_PREFIXES.get(d["name"])
        if not d.get("keyPrefix") and standard and standard not in taken:
            d["keyPrefix"] = standard
            taken.add(standard)
    counter = 0
    for d in describes:
        if d.get("keyPrefix"):
            continue
        while True:
            candidate = "a" + ids.base62(counter, 2)
            counter += 1
            if candidate not in taken:
                break
        d["keyPrefix"] = candidate
        taken.add(candidate)


def _child_relationship_name(child: dict, field: dict, used: set[str]) -> str:
    """Salesforce's default: the child's plural label (custom children: underscores and ``__r``)."""
    plural = child["labelPlural"]
    name = plural.replace(" ", "_") + "__r" if child["custom"] else plural.replace(" ", "")
    if name.lower() in used:
        stem = (field.get("relationshipName") or field["name"]).removesuffix("__r")
        name = stem + "_" + name if child["custom"] else stem + name
    return name


def _derive_child_relationships(describes: list[dict]) -> None:
    by_lower = {d["name"].lower(): d for d in describes}
    derived: dict[str, list[dict]] = {
        d["name"].lower(): [] for d in describes if "childRelationships" not in d
    }
    for child in describes:
        for field in child["fields"]:
            if field["type"] != "reference" or not field.get("relationshipName"):
                continue
            for target_name in field["referenceTo"]:
                relationships = derived.get(target_name.lower())
                if relationships is None:
                    continue
                used = {r["relationshipName"].lower() for r in relationships}
                relationships.append(
                    {
                        "childSObject": child["name"],
                        "field": field["name"],
                        "relationshipName": _child_relationship_name(child, field, used),
                        "cascadeDelete": False,
                        "deprecatedAndHidden": False,
                        "restrictedDelete": False,
                    }
                )
    for lower_name, relationships in derived.items():
        by_lower[lower_name]["childRelationships"] = relationships


def load_schema(path: str | Path) -> Schema:
    """A schema from a describe JSON file: a list of describes, or ``{"sobjects": [...]}``."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = data.get("sobjects", [])
    return Schema.from_describes(data)
