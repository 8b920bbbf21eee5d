"""Build the OData model from the publication and the source org's describes.

Edm types follow the describe ``type``:

- id, reference → Edm.String, MaxLength 18
- string, picklist, multipicklist, combobox, email, phone, url, textarea, encryptedstring → Edm.String,
  MaxLength = length
- boolean → Edm.Boolean (never null: Salesforce stores false)
- int → Edm.Int32; double, currency, percent → Edm.Decimal with Precision and Scale
- date → Edm.Date; datetime → Edm.DateTimeOffset (Precision 3); time → Edm.TimeOfDay (Precision 3)
- address, location (compound fields: their components are ordinary fields), base64 (SOQL returns a
  URL, not the content) and anything else → not published: ``fields = "*"`` leaves them out, naming
  one explicitly is a publication error.

Navigation: a lookup (reference field with a relationshipName and a single referenceTo) whose field and
target object are published; a child relationship whose child object and reference field are published.
Everything unpublished stays out of the model, so nothing downstream can name it.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.odata.model.entities import EntitySet, Model, NavigationProperty, Property
from gateway.odata.model.publication import ALL, EntitySetSpec, Publication, PublicationError
from gateway.soql.search_words import SEARCHABLE_TYPES

ID_LENGTH = 18
STRING_TYPES = frozenset(
    {
        "string",
        "picklist",
        "multipicklist",
        "combobox",
        "email",
        "phone",
        "url",
        "textarea",
        "encryptedstring",
    }
)
DECIMAL_TYPES = frozenset({"double", "currency", "percent"})
SIMPLE_EDM_TYPES = {
    "boolean": "Edm.Boolean",
    "int": "Edm.Int32",
    "date": "Edm.Date",
    "datetime": "Edm.DateTimeOffset",
    "time": "Edm.TimeOfDay",
}
# Salesforce keeps milliseconds.
TEMPORAL_PRECISION = {"datetime": 3, "time": 3}

Describe = Callable[[str], dict]


def edm_type(field_describe: dict) -> str | None:
    """The Edm type a describe field maps to, or None when the field type is not published."""
    kind = field_describe.get("type")
    if kind in ("id", "reference") or kind in STRING_TYPES:
        return "Edm.String"
    if kind in DECIMAL_TYPES:
        return "Edm.Decimal"
    return SIMPLE_EDM_TYPES.get(kind)


def build_property(field_describe: dict, writable: bool, external_id: bool) -> Property:
    """The property of a published field (``writable``: the publication lets clients set it)."""
    kind = field_describe["type"]
    max_length = precision = scale = None
    if kind in ("id", "reference"):
        max_length = ID_LENGTH
    elif kind in STRING_TYPES:
        max_length = field_describe.get("length") or None
    elif kind in DECIMAL_TYPES:
        precision = field_describe.get("precision") or None
        scale = field_describe.get("scale") or 0
        if precision is not None:
            scale = min(scale, precision)
    elif kind in TEMPORAL_PRECISION:
        precision = TEMPORAL_PRECISION[kind]
    nullable = bool(field_describe.get("nillable", True)) and kind not in ("id", "boolean")
    picklist = tuple(
        entry["value"]
        for entry in field_describe.get("picklistValues") or []
        if isinstance(entry, dict) and entry.get("active", True) and entry.get("value") is not None
    )
    return Property(
        name=field_describe["name"],
        sf_type=kind,
        edm_type=edm_type(field_describe) or "Edm.String",
        nullable=nullable,
        max_length=max_length,
        precision=precision,
        scale=scale,
        filterable=bool(field_describe.get("filterable", True)),
        sortable=bool(field_describe.get("sortable", True)),
        insertable=writable and bool(field_describe.get("createable", False)),
        updatable=writable and bool(field_describe.get("updateable", False)),
        external_id=external_id,
        picklist_values=picklist,
        describe=field_describe,
    )


def build_model(publication: Publication, describe: Describe, namespace: str = "Salesforce") -> Model:
    """The model of everything published, checked against the describes (errors name file and line)."""
    describes = {spec.name: _describe_of(spec, describe) for spec in publication.entity_sets}
    published = {spec.name: _published_fields(spec, describes[spec.name]) for spec in publication.entity_sets}
    set_of_sobject = {describes[s.name]["name"].lower(): s.name for s in publication.entity_sets}
    entity_sets = {}
    for spec in publication.entity_sets:
        object_describe = describes[spec.name]
        properties = _properties(spec, published[spec.name])
        navigation = _navigation(object_describe, properties, set_of_sobject, published)
        entity_sets[spec.name] = EntitySet(
            name=spec.name,
            sobject=object_describe["name"],
            entity_type=object_describe["name"],
            properties=properties,
            navigation=navigation,
            insertable=spec.insertable and bool(object_describe.get("createable", True)),
            updatable=spec.updatable and bool(object_describe.get("updateable", True)),
            deletable=spec.deletable and bool(object_describe.get("deletable", True)),
            label=object_describe.get("label") or object_describe["name"],
            key_prefix=object_describe.get("keyPrefix") or None,
            searchable=spec.searchable,
            sobject_searchable=bool(object_describe.get("searchable", True)),
            search_fields_hidden=any(
                f.get("type") in SEARCHABLE_TYPES and f.get("name") not in properties
                for f in object_describe.get("fields", [])
            ),
            change_tracking=supports_change_tracking(object_describe),
        )
    return Model(namespace=namespace, entity_sets=entity_sets)


def supports_change_tracking(describe: dict) -> bool:
    """Delta links can track the object: queryable (so queryAll works), with SystemModstamp and IsDeleted."""
    names = {f.get("name") for f in describe.get("fields", [])}
    return bool(describe.get("queryable", True)) and {"SystemModstamp", "IsDeleted"} <= names


def _describe_of(spec: EntitySetSpec, describe: Describe) -> dict:
    from gateway.source.connection import SourceError

    try:
        return describe(spec.sobject)
    except LookupError:
        pass
    except SourceError as error:
        if error.status != 404 and error.error_code not in ("NOT_FOUND", "INVALID_TYPE"):
            raise
    raise spec.error(f"unknown sObject {spec.sobject!r}: the source org has no such object", "sobject")


def _published_fields(spec: EntitySetSpec, object_describe: dict) -> dict[str, dict]:
    """Published field describes by exact name: Id first, then the publication's order."""
    fields = object_describe.get("fields", [])
    by_lower = {f["name"].lower(): f for f in fields}
    chosen: dict[str, dict] = {}
    id_field = by_lower.get("id")
    if id_field is None:
        raise spec.error(f"sObject {object_describe['name']!r} has no Id field", "sobject")
    chosen[id_field["name"]] = id_field
    if spec.fields == ALL:
        for f in fields:
            if edm_type(f) is not None:
                chosen.setdefault(f["name"], f)
        return chosen
    for name in spec.fields:
        found = by_lower.get(name.lower())
        if found is None:
            raise spec.error(f"unknown field {name!r} on {object_describe['name']}", "fields", name)
        if edm_type(found) is None:
            raise spec.error(
                f"field {found['name']!r} is of type {found.get('type')!r}, which is not published "
                "(compound and binary fields: publish their component fields instead)",
                "fields",
                name,
            )
        chosen.setdefault(found["name"], found)
    return chosen


def _properties(spec: EntitySetSpec, fields: dict[str, dict]) -> dict[str, Property]:
    by_lower = {name.lower(): name for name in fields}
    object_name = spec.sobject

    def resolve(key: str, name: str) -> dict:
        exact = by_lower.get(name.lower())
        if exact is None:
            raise spec.error(
                f"{key} names {name!r}, which is not a published field of {object_name}", key, name
            )
        return fields[exact]

    if spec.writable == ALL:
        writable = {n for n, f in fields.items() if f.get("createable") or f.get("updateable")}
    else:
        writable = set()
        for name in spec.writable:
            found = resolve("writable", name)
            if not (found.get("createable") or found.get("updateable")):
                raise spec.error(
                    f"writable names {found['name']!r}, which the source org lets no one create or update",
                    "writable",
                    name,
                )
            writable.add(found["name"])
    external_ids = set()
    for name in spec.external_ids:
        found = resolve("external_ids", name)
        if found.get("type") == "id" or not (found.get("externalId") or found.get("idLookup")):
            raise spec.error(
                f"external_ids names {found['name']!r}, which the source describes as no external ID",
                "external_ids",
                name,
            )
        external_ids.add(found["name"])
    return {name: build_property(f, name in writable, name in external_ids) for name, f in fields.items()}


def _navigation(
    object_describe: dict,
    properties: dict[str, Property],
    set_of_sobject: dict[str, str],
    published: dict[str, dict[str, dict]],
) -> dict[str, NavigationProperty]:
    navigation: dict[str, NavigationProperty] = {}
    taken = {name.lower() for name in properties}

    def add(nav: NavigationProperty) -> None:
        # A navigation property may not share a name with a property or another navigation property.
        if nav.name.lower() not in taken:
            navigation[nav.name] = nav
            taken.add(nav.name.lower())

    for prop in properties.values():
        if prop.sf_type != "reference":
            continue
        relationship = prop.describe.get("relationshipName")
        targets = prop.describe.get("referenceTo") or []
        if not relationship or len(targets) != 1:
            continue  # polymorphic lookups have no single target entity type
        target_set = set_of_sobject.get(targets[0].lower())
        if target_set:
            add(NavigationProperty(relationship, target_set, collection=False, field=prop.name))
    for child in object_describe.get("childRelationships") or []:
        relationship = child.get("relationshipName")
        child_set = set_of_sobject.get(str(child.get("childSObject", "")).lower())
        if not relationship or not child_set:
            continue
        child_fields = {name.lower(): name for name in published[child_set]}
        child_field = child_fields.get(str(child.get("field", "")).lower())
        if child_field:
            add(NavigationProperty(relationship, child_set, collection=True, field=child_field))
    return navigation


__all__ = ["build_model", "build_property", "edm_type", "PublicationError"]
