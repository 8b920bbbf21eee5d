"""The V2 service document (AtomPub and JSON) and ``$metadata`` (EDMX 1.0 with CSDL 2.0) of a model.

The same model as V4, in V2's type system as Salesforce Connect's OData 2.0 adapter maps it back:

- ``Edm.Date`` and ``Edm.DateTimeOffset`` → ``Edm.DateTime`` (UTC; dates at midnight, marked
  ``sap:display-format="Date"``), ``Edm.TimeOfDay`` → ``Edm.Time``; the others keep their name;
  ``Edm.Decimal`` keeps Precision and Scale (Scale only with a Precision: CSDL wants Scale ≤ Precision);
- every navigation property is one end of an ``Association`` (one per lookup field, shared by the lookup and
  the child relationship on the other side) with an ``AssociationSet`` in the container; the referential
  constraint names the lookup field;
- ``m:DataServiceVersion="2.0"``; no entity type has a stream (``m:HasStream`` is never set);
- SAP's annotation attributes (``sap:creatable``, ``sap:updatable``, ``sap:deletable``, ``sap:filterable``,
  ``sap:sortable``, ``sap:pageable``) say what the gateway accepts, as SAP clients and pyodata read them:
  ``sap:pageable="false"`` because ``$skip`` is refused (``$top`` is not: ``sap:topable="true"``);
  ``sap:searchable`` when the search parameter is configured and the set can be searched.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from gateway.odata.model.entities import EntitySet, Model, NavigationProperty, Property
from gateway.odata.read.capabilities import CAPABILITIES
from gateway.odata.v2.xmlwriter import APP_NS, ATOM_NS, EDM_NS, EDMX_NS, M_NS, SAP_NS, XML_NS, q, to_xml

CONTAINER = "Container"
DATA_SERVICE_VERSION = "2.0"

V2_TYPES = {"Edm.Date": "Edm.DateTime", "Edm.DateTimeOffset": "Edm.DateTime", "Edm.TimeOfDay": "Edm.Time"}


def v2_type(prop: Property) -> str:
    """The V2 Edm type of a property."""
    return V2_TYPES.get(prop.edm_type, prop.edm_type)


def _bool(value: bool) -> str:
    return "true" if value else "false"


# ----- associations --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Association:
    """One lookup field: the child (dependent, many) points at the parent (principal, one)."""

    name: str
    child_set: str
    parent_set: str
    field: str  # the child's reference field
    principal_role: str
    dependent_role: str
    parent_multiplicity: str  # "0..1" (nullable lookup) or "1"


def _association_key(entity_set: EntitySet, nav: NavigationProperty) -> tuple[str, str, str]:
    """(child set, field, parent set) of the lookup behind a navigation property."""
    if nav.collection:
        return nav.target_set, nav.field, entity_set.name
    return entity_set.name, nav.field, nav.target_set


def associations(model: Model) -> dict[tuple[str, str, str], Association]:
    """Every association of the model, by (child set, field, parent set), in model order."""
    found: dict[tuple[str, str, str], Association] = {}
    for entity_set in model.entity_sets.values():
        for nav in entity_set.navigation.values():
            key = _association_key(entity_set, nav)
            if key in found:
                continue
            child_set, field, parent_set = key
            child = model.entity_sets.get(child_set)
            lookup = child.properties.get(field) if child is not None else None
            nullable = True if lookup is None else lookup.nullable
            dependent_role = child_set if child_set != parent_set else f"{child_set}1"
            found[key] = Association(
                name=f"FK_{child_set}_{field}",
                child_set=child_set,
                parent_set=parent_set,
                field=field,
                principal_role=parent_set,
                dependent_role=dependent_role,
                parent_multiplicity="0..1" if nullable else "1",
            )
    return found


# ----- $metadata -----------------------------------------------------------------------------------


def _property_element(parent: ET.Element, entity_set: EntitySet, prop: Property) -> None:
    attributes = {"Name": prop.name, "Type": v2_type(prop), "Nullable": _bool(prop.nullable)}
    if prop.max_length is not None:
        attributes["MaxLength"] = str(prop.max_length)
    if prop.edm_type == "Edm.Decimal" and prop.precision is not None:
        attributes["Precision"] = str(prop.precision)
        attributes["Scale"] = str(min(prop.scale or 0, prop.precision))
    elif prop.edm_type in ("Edm.DateTimeOffset", "Edm.TimeOfDay") and prop.precision is not None:
        attributes["Precision"] = str(prop.precision)
    element = ET.SubElement(parent, q(EDM_NS, "Property"), attributes)
    if prop.edm_type == "Edm.Date":
        element.set(q(SAP_NS, "display-format"), "Date")
    if prop.name != entity_set.key and (entity_set.insertable or entity_set.updatable):
        if not prop.insertable:
            element.set(q(SAP_NS, "creatable"), "false")
        if not prop.updatable:
            element.set(q(SAP_NS, "updatable"), "false")
    if not prop.filterable:
        element.set(q(SAP_NS, "filterable"), "false")
    if not prop.sortable:
        element.set(q(SAP_NS, "sortable"), "false")


def metadata_document(model: Model, *, search: bool = False) -> bytes:
    """``$metadata`` as EDMX 1.0 / CSDL 2.0 XML (UTF-8). ``search``: the face answers a search parameter
    (``GATEWAY_V2_SEARCH_PARAM``), so sets that can be searched say ``sap:searchable="true"``."""
    found = associations(model)
    namespace = model.namespace
    edmx = ET.Element(q(EDMX_NS, "Edmx"), {"Version": "1.0"})
    services = ET.SubElement(
        edmx, q(EDMX_NS, "DataServices"), {q(M_NS, "DataServiceVersion"): DATA_SERVICE_VERSION}
    )
    schema = ET.SubElement(services, q(EDM_NS, "Schema"), {"Namespace": namespace})
    for entity_set in model.entity_sets.values():
        entity_type = ET.SubElement(schema, q(EDM_NS, "EntityType"), {"Name": entity_set.entity_type})
        if entity_set.label:
            entity_type.set(q(SAP_NS, "label"), entity_set.label)
        key = ET.SubElement(entity_type, q(EDM_NS, "Key"))
        ET.SubElement(key, q(EDM_NS, "PropertyRef"), {"Name": entity_set.key})
        for prop in entity_set.properties.values():
            _property_element(entity_type, entity_set, prop)
        for nav in entity_set.navigation.values():
            association = found[_association_key(entity_set, nav)]
            own, other = (
                (association.principal_role, association.dependent_role)
                if nav.collection
                else (association.dependent_role, association.principal_role)
            )
            ET.SubElement(
                entity_type,
                q(EDM_NS, "NavigationProperty"),
                {
                    "Name": nav.name,
                    "Relationship": f"{namespace}.{association.name}",
                    "FromRole": own,
                    "ToRole": other,
                },
            )
    for association in found.values():
        element = ET.SubElement(schema, q(EDM_NS, "Association"), {"Name": association.name})
        parent_type = model.entity_sets[association.parent_set].entity_type
        child_type = model.entity_sets[association.child_set].entity_type
        ET.SubElement(
            element,
            q(EDM_NS, "End"),
            {
                "Type": f"{namespace}.{parent_type}",
                "Multiplicity": association.parent_multiplicity,
                "Role": association.principal_role,
            },
        )
        ET.SubElement(
            element,
            q(EDM_NS, "End"),
            {"Type": f"{namespace}.{child_type}", "Multiplicity": "*", "Role": association.dependent_role},
        )
        constraint = ET.SubElement(element, q(EDM_NS, "ReferentialConstraint"))
        principal = ET.SubElement(constraint, q(EDM_NS, "Principal"), {"Role": association.principal_role})
        ET.SubElement(principal, q(EDM_NS, "PropertyRef"), {"Name": "Id"})
        dependent = ET.SubElement(constraint, q(EDM_NS, "Dependent"), {"Role": association.dependent_role})
        ET.SubElement(dependent, q(EDM_NS, "PropertyRef"), {"Name": association.field})
    container = ET.SubElement(
        schema, q(EDM_NS, "EntityContainer"), {"Name": CONTAINER, q(M_NS, "IsDefaultEntityContainer"): "true"}
    )
    for entity_set in model.entity_sets.values():
        ET.SubElement(
            container,
            q(EDM_NS, "EntitySet"),
            {
                "Name": entity_set.name,
                "EntityType": f"{namespace}.{entity_set.entity_type}",
                q(SAP_NS, "creatable"): _bool(entity_set.insertable),
                q(SAP_NS, "updatable"): _bool(entity_set.updatable),
                q(SAP_NS, "deletable"): _bool(entity_set.deletable),
                q(SAP_NS, "searchable"): _bool(search and CAPABILITIES.searches(entity_set)),
                q(SAP_NS, "pageable"): "false",
                q(SAP_NS, "topable"): "true",
            },
        )
    for association in found.values():
        element = ET.SubElement(
            container,
            q(EDM_NS, "AssociationSet"),
            {"Name": association.name, "Association": f"{namespace}.{association.name}"},
        )
        ET.SubElement(
            element,
            q(EDM_NS, "End"),
            {"Role": association.principal_role, "EntitySet": association.parent_set},
        )
        ET.SubElement(
            element,
            q(EDM_NS, "End"),
            {"Role": association.dependent_role, "EntitySet": association.child_set},
        )
    return to_xml(edmx, EDM_NS)


# ----- service document ----------------------------------------------------------------------------


def service_document_xml(model: Model, service_root: str) -> bytes:
    """The AtomPub service document: one collection per entity set."""
    service = ET.Element(q(APP_NS, "service"), {q(XML_NS, "base"): service_root})
    workspace = ET.SubElement(service, q(APP_NS, "workspace"))
    ET.SubElement(workspace, q(ATOM_NS, "title")).text = "Default"
    for entity_set in model.entity_sets.values():
        collection = ET.SubElement(workspace, q(APP_NS, "collection"), {"href": entity_set.name})
        ET.SubElement(collection, q(ATOM_NS, "title")).text = entity_set.name
    return to_xml(service, APP_NS)


def service_document_json(model: Model) -> dict:
    """The JSON service document: ``{"d": {"EntitySets": [...]}}``."""
    return {"d": {"EntitySets": list(model.entity_sets)}}
