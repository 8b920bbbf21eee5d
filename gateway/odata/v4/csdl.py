"""The service document and ``$metadata`` (CSDL XML and CSDL JSON) of a model.

The XML validates against the OASIS ``edmx.xsd``/``edm.xsd``; the JSON is what the OASIS converter
(``odata-csdl-xml2json``) makes of the XML. Both come from one description of the annotations, so they
cannot drift apart. The Capabilities annotations are written from ``read/capabilities.py``, the
declaration the binder's refusals read too (no ``$skip``, ``$expand`` one level deep, the filter
functions it translates, ``$batch`` support), ``$search`` where the publication and the describe allow
it (``read/search_expr.py``), and the publication's insert, update and delete permissions.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from gateway.odata.model.entities import EntitySet, Model, NavigationProperty, Property
from gateway.odata.read.capabilities import CAPABILITIES

EDMX_NS = "http://docs.oasis-open.org/odata/ns/edmx"
EDM_NS = "http://docs.oasis-open.org/odata/ns/edm"
CSDL_VERSION = "4.0"
CONTAINER = "Container"
VOCABULARIES = (
    (
        "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Core.V1.xml",
        "Org.OData.Core.V1",
        "Core",
    ),
    (
        "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Capabilities.V1.xml",
        "Org.OData.Capabilities.V1",
        "Capabilities",
    ),
)


# ----- annotation values: one description, rendered as XML and as JSON ------------------------------


@dataclass(frozen=True)
class PropertyPath:
    path: str


@dataclass(frozen=True)
class NavigationPropertyPath:
    path: str


@dataclass(frozen=True)
class EnumMember:
    enum_type: str  # qualified with the vocabulary alias: "Capabilities.ConformanceLevelType"
    member: str


# A value: bool | int | str | PropertyPath | NavigationPropertyPath | EnumMember | list | dict (a record)
Annotations = list[tuple[str, object]]  # (term, value), e.g. ("Capabilities.SkipSupported", False)


def container_annotations() -> Annotations:
    batch = CAPABILITIES.batch
    return [
        (
            "Capabilities.ConformanceLevel",
            EnumMember("Capabilities.ConformanceLevelType", CAPABILITIES.conformance_level),
        ),
        ("Capabilities.BatchSupported", batch.supported),
        (
            "Capabilities.BatchSupport",
            {
                "Supported": batch.supported,
                "ContinueOnErrorSupported": batch.continue_on_error,
                "ReferencesInRequestBodiesSupported": batch.references_in_request_bodies,
                "ReferencesAcrossChangeSetsSupported": batch.references_across_change_sets,
                "EtagReferencesSupported": batch.etag_references,
                "RequestDependencyConditionsSupported": batch.request_dependency_conditions,
                "SupportedFormats": list(batch.formats),
            },
        ),
        ("Capabilities.FilterFunctions", list(CAPABILITIES.filter_functions)),
    ]


def search_restrictions(entity_set: EntitySet) -> dict:
    """``$search`` as bind refuses or answers it: off per set in the publication or by the describe."""
    if not CAPABILITIES.searches(entity_set):
        return {"Searchable": False}
    unsupported = "|".join(CAPABILITIES.search_unsupported_expressions)
    return {
        "Searchable": True,
        "UnsupportedExpressions": EnumMember("Capabilities.SearchExpressions", unsupported),
    }


def entity_set_annotations(entity_set: EntitySet) -> Annotations:
    properties = list(entity_set.properties.values())
    annotations: Annotations = [
        ("Capabilities.SkipSupported", CAPABILITIES.skip),
        ("Capabilities.TopSupported", CAPABILITIES.top),
        ("Capabilities.CountRestrictions", {"Countable": CAPABILITIES.count}),
        (
            "Capabilities.FilterRestrictions",
            {
                "Filterable": True,
                "NonFilterableProperties": [PropertyPath(p.name) for p in properties if not p.filterable],
            },
        ),
        (
            "Capabilities.SortRestrictions",
            {
                "Sortable": True,
                "NonSortableProperties": [PropertyPath(p.name) for p in properties if not p.sortable],
            },
        ),
        ("Capabilities.SearchRestrictions", search_restrictions(entity_set)),
        (
            "Capabilities.ExpandRestrictions",
            {"Expandable": True, "MaxLevels": CAPABILITIES.expand_max_levels},
        ),
        ("Capabilities.SelectSupport", {"Supported": CAPABILITIES.select}),
        (
            "Capabilities.InsertRestrictions",
            {
                "Insertable": True,
                "NonInsertableProperties": [PropertyPath(p.name) for p in properties if not p.insertable],
            }
            if entity_set.insertable
            else {"Insertable": False},
        ),
        ("Capabilities.UpdateRestrictions", {"Updatable": entity_set.updatable}),
        ("Capabilities.DeleteRestrictions", {"Deletable": entity_set.deletable}),
        ("Capabilities.ChangeTracking", _change_tracking(entity_set)),
    ]
    external_ids = entity_set.external_ids
    if external_ids:
        annotations.append(
            (
                "Core.AlternateKeys",
                [{"Key": [{"Name": PropertyPath(name), "Alias": name}]} for name in external_ids],
            )
        )
    return annotations


def _change_tracking(entity_set: EntitySet) -> dict:
    """Delta links (``Prefer: odata.track-changes``) where the object keeps SystemModstamp and answers
    queryAll; with them ``$filter`` on the filterable properties and ``$select``, no ``$expand``."""
    if not (CAPABILITIES.change_tracking and entity_set.change_tracking):
        return {"Supported": False}
    filterable = "$filter" in CAPABILITIES.change_tracking_options
    properties = entity_set.properties.values()
    return {
        "Supported": True,
        "FilterableProperties": [PropertyPath(p.name) for p in properties if p.filterable and filterable],
        "ExpandableProperties": [],  # $expand is not among CAPABILITIES.change_tracking_options
    }


def property_annotations(entity_set: EntitySet, prop: Property) -> Annotations:
    """Core.Computed / Core.Immutable on properties of writable sets that clients cannot set."""
    if prop.name == entity_set.key or not (entity_set.insertable or entity_set.updatable):
        return []
    if not prop.insertable and not prop.updatable:
        return [("Core.Computed", True)]
    if prop.insertable and not prop.updatable:
        return [("Core.Immutable", True)]
    return []


# ----- navigation helpers --------------------------------------------------------------------------


def partner(model: Model, entity_set: EntitySet, navigation: NavigationProperty) -> str | None:
    """The navigation property on the other side of the same lookup, when both sides are published."""
    target = model.entity_set(navigation.target_set)
    if target is None:
        return None
    for other in target.navigation.values():
        if (
            other.target_set == entity_set.name
            and other.field == navigation.field
            and other.collection != navigation.collection
        ):
            return other.name
    return None


def _qualified(model: Model, name: str) -> str:
    return f"{model.namespace}.{name}"


def _navigation_type(model: Model, navigation: NavigationProperty) -> str:
    target = model.entity_sets[navigation.target_set]
    qualified = _qualified(model, target.entity_type)
    return f"Collection({qualified})" if navigation.collection else qualified


def _lookup_nullable(entity_set: EntitySet, navigation: NavigationProperty) -> bool:
    prop = entity_set.properties.get(navigation.field)
    return True if prop is None else prop.nullable


# ----- service document ----------------------------------------------------------------------------


def service_document(model: Model, context_url: str) -> dict:
    """The OData JSON service document; ``context_url`` is the ``$metadata`` URL."""
    return {
        "@odata.context": context_url,
        "value": [{"name": s.name, "kind": "EntitySet", "url": s.name} for s in model.entity_sets.values()],
    }


# ----- CSDL XML ------------------------------------------------------------------------------------


class _Xml:
    """A small indenting XML writer (attributes in the order given)."""

    def __init__(self) -> None:
        self.lines: list[str] = ['<?xml version="1.0" encoding="utf-8"?>']
        self.depth = 0

    def _tag(self, name: str, attributes: dict[str, object]) -> str:
        parts = [name]
        for key, value in attributes.items():
            if value is None:
                continue
            if isinstance(value, bool):
                value = "true" if value else "false"
            parts.append(f"{key}={quoteattr(str(value))}")
        return " ".join(parts)

    def empty(self, name: str, **attributes: object) -> None:
        self.lines.append("  " * self.depth + f"<{self._tag(name, attributes)}/>")

    def text(self, name: str, text: str) -> None:
        self.lines.append("  " * self.depth + f"<{name}>{escape(text)}</{name}>")

    def open(self, name: str, **attributes: object) -> None:
        self.lines.append("  " * self.depth + f"<{self._tag(name, attributes)}>")
        self.depth += 1

    def close(self, name: str) -> None:
        self.depth -= 1
        self.lines.append("  " * self.depth + f"</{name}>")

    def render(self) -> str:
        return "\n".join(self.lines) + "\n"


def _xml_inline_value(value: object) -> tuple[str, str] | None:
    """Attribute notation (name, text) for a constant value; None for collections and records."""
    if isinstance(value, bool):
        return "Bool", "true" if value else "false"
    if isinstance(value, int):
        return "Int", str(value)
    if isinstance(value, str):
        return "String", value
    if isinstance(value, PropertyPath):
        return "PropertyPath", value.path
    if isinstance(value, NavigationPropertyPath):
        return "NavigationPropertyPath", value.path
    if isinstance(value, EnumMember):
        return "EnumMember", f"{value.enum_type}/{value.member}"
    return None


def _xml_value_element(xml: _Xml, value: object) -> None:
    inline = _xml_inline_value(value)
    if inline is not None:
        xml.text(*inline)
    elif isinstance(value, list):
        if not value:
            xml.empty("Collection")
            return
        xml.open("Collection")
        for item in value:
            _xml_value_element(xml, item)
        xml.close("Collection")
    elif isinstance(value, dict):
        xml.open("Record")
        for key, item in value.items():
            _xml_with_value(xml, "PropertyValue", {"Property": key}, item)
        xml.close("Record")
    else:
        raise TypeError(f"no CSDL expression for {value!r}")


def _xml_with_value(xml: _Xml, element: str, attributes: dict[str, object], value: object) -> None:
    inline = _xml_inline_value(value)
    if inline is not None:
        xml.empty(element, **attributes, **{inline[0]: inline[1]})
    else:
        xml.open(element, **attributes)
        _xml_value_element(xml, value)
        xml.close(element)


def _xml_annotations(xml: _Xml, annotations: Annotations) -> None:
    for term, value in annotations:
        _xml_with_value(xml, "Annotation", {"Term": term}, value)


def _property_attributes(prop: Property) -> dict[str, object]:
    return {
        "Name": prop.name,
        "Type": prop.edm_type,
        "Nullable": prop.nullable,
        "MaxLength": prop.max_length,
        "Precision": prop.precision,
        "Scale": prop.scale,
    }


def metadata_xml(model: Model) -> str:
    """``$metadata`` as CSDL XML."""
    xml = _Xml()
    xml.open("edmx:Edmx", **{"xmlns:edmx": EDMX_NS, "Version": CSDL_VERSION})
    for uri, namespace, alias in VOCABULARIES:
        xml.open("edmx:Reference", Uri=uri)
        xml.empty("edmx:Include", Namespace=namespace, Alias=alias)
        xml.close("edmx:Reference")
    xml.open("edmx:DataServices")
    xml.open("Schema", xmlns=EDM_NS, Namespace=model.namespace)
    for entity_set in model.entity_sets.values():
        xml.open("EntityType", Name=entity_set.entity_type)
        xml.open("Key")
        xml.empty("PropertyRef", Name=entity_set.key)
        xml.close("Key")
        for prop in entity_set.properties.values():
            annotations = property_annotations(entity_set, prop)
            if annotations:
                xml.open("Property", **_property_attributes(prop))
                _xml_annotations(xml, annotations)
                xml.close("Property")
            else:
                xml.empty("Property", **_property_attributes(prop))
        for nav in entity_set.navigation.values():
            attributes = {
                "Name": nav.name,
                "Type": _navigation_type(model, nav),
                "Nullable": None if nav.collection else _lookup_nullable(entity_set, nav),
                "Partner": partner(model, entity_set, nav),
            }
            if nav.collection:
                xml.empty("NavigationProperty", **attributes)
            else:
                xml.open("NavigationProperty", **attributes)
                xml.empty("ReferentialConstraint", Property=nav.field, ReferencedProperty="Id")
                xml.close("NavigationProperty")
        xml.close("EntityType")
    xml.open("EntityContainer", Name=CONTAINER)
    _xml_annotations(xml, container_annotations())
    for entity_set in model.entity_sets.values():
        xml.open("EntitySet", Name=entity_set.name, EntityType=_qualified(model, entity_set.entity_type))
        for nav in entity_set.navigation.values():
            xml.empty("NavigationPropertyBinding", Path=nav.name, Target=nav.target_set)
        _xml_annotations(xml, entity_set_annotations(entity_set))
        xml.close("EntitySet")
    xml.close("EntityContainer")
    xml.close("Schema")
    xml.close("edmx:DataServices")
    xml.close("edmx:Edmx")
    return xml.render()


# ----- CSDL JSON -----------------------------------------------------------------------------------


def _json_value(value: object) -> object:
    # Property and navigation property paths are plain strings in CSDL JSON (their type comes from the term).
    if isinstance(value, PropertyPath | NavigationPropertyPath):
        return value.path
    if isinstance(value, EnumMember):
        return value.member
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _json_value(item) for key, item in value.items()}
    return value


def _json_annotations(annotations: Annotations) -> dict:
    return {f"@{term}": _json_value(value) for term, value in annotations}


def _json_property(entity_set: EntitySet, prop: Property) -> dict:
    # CSDL JSON defaults: $Type Edm.String, $Nullable false.
    out: dict = {}
    if prop.edm_type != "Edm.String":
        out["$Type"] = prop.edm_type
    if prop.nullable:
        out["$Nullable"] = True
    for key, value in (
        ("$MaxLength", prop.max_length),
        ("$Precision", prop.precision),
        ("$Scale", prop.scale),
    ):
        if value is not None:
            out[key] = value
    out.update(_json_annotations(property_annotations(entity_set, prop)))
    return out


def _json_navigation(model: Model, entity_set: EntitySet, nav: NavigationProperty) -> dict:
    target = model.entity_sets[nav.target_set]
    out: dict = {"$Kind": "NavigationProperty"}
    if nav.collection:
        out["$Collection"] = True
    out["$Type"] = _qualified(model, target.entity_type)
    if not nav.collection and _lookup_nullable(entity_set, nav):
        out["$Nullable"] = True
    other = partner(model, entity_set, nav)
    if other:
        out["$Partner"] = other
    if not nav.collection:
        out["$ReferentialConstraint"] = {nav.field: "Id"}
    return out


def _json_vocabulary_uri(uri: str) -> str:
    """OASIS publishes each vocabulary as .xml and .json side by side; CSDL JSON references the .json."""
    return uri.removesuffix(".xml") + ".json"


def metadata_json(model: Model) -> dict:
    """``$metadata`` as CSDL JSON (OData CSDL JSON Format 4.01; ``$Version`` 4.0 like the XML)."""
    schema: dict = {}
    for entity_set in model.entity_sets.values():
        entity_type: dict = {"$Kind": "EntityType", "$Key": [entity_set.key]}
        for prop in entity_set.properties.values():
            entity_type[prop.name] = _json_property(entity_set, prop)
        for nav in entity_set.navigation.values():
            entity_type[nav.name] = _json_navigation(model, entity_set, nav)
        schema[entity_set.entity_type] = entity_type
    container: dict = {"$Kind": "EntityContainer"}
    container.update(_json_annotations(container_annotations()))
    for entity_set in model.entity_sets.values():
        member: dict = {"$Collection": True, "$Type": _qualified(model, entity_set.entity_type)}
        if entity_set.navigation:
            member["$NavigationPropertyBinding"] = {
                n.name: n.target_set for n in entity_set.navigation.values()
            }
        member.update(_json_annotations(entity_set_annotations(entity_set)))
        container[entity_set.name] = member
    schema[CONTAINER] = container
    return {
        "$Version": CSDL_VERSION,
        "$EntityContainer": _qualified(model, CONTAINER),
        "$Reference": {
            _json_vocabulary_uri(uri): {"$Include": [{"$Namespace": namespace, "$Alias": alias}]}
            for uri, namespace, alias in VOCABULARIES
        },
        model.namespace: schema,
    }
