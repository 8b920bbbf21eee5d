"""The V2 ``$metadata`` (EDMX 1.0 / CSDL 2.0) and service documents: well-formed, accepted by pyodata's
strict parser, and saying exactly what the model holds in V2's type system."""

from __future__ import annotations

import pytest
from lxml import etree
from pyodata.v2.model import Config, MetadataBuilder, PolicyFatal

from gateway.odata.v2.metadata import (
    metadata_document,
    service_document_json,
    service_document_xml,
    v2_type,
)
from gateway.odata.v2.xmlwriter import EDM_NS, EDMX_NS, M_NS, SAP_NS
from tests.odata.read.model_fixture import MODEL
from tests.support import embedded_gateway

NS = {"edmx": EDMX_NS, "edm": EDM_NS, "m": M_NS, "sap": SAP_NS}


@pytest.fixture(scope="module")
def demo_model():
    app, source, _ = embedded_gateway(50)
    return app.extensions["odata_gateway"].model()


@pytest.fixture(params=["fixture", "demo"])
def model(request, demo_model):
    return MODEL if request.param == "fixture" else demo_model


def strict_schema(document: bytes):
    return MetadataBuilder(document, config=Config(default_error_policy=PolicyFatal())).build()


def test_pyodata_strict_parser_accepts_it_and_sees_every_set_property_and_navigation(model):
    schema = strict_schema(metadata_document(model))
    assert schema.is_valid
    assert {s.name for s in schema.entity_sets} == set(model.entity_sets)
    for entity_set in model.entity_sets.values():
        entity_type = schema.entity_type(entity_set.entity_type)
        assert [p.name for p in entity_type.key_proprties] == [entity_set.key]
        assert {p.name: p.typ.name for p in entity_type.proprties()} == {
            p.name: v2_type(p) for p in entity_set.properties.values()
        }
        for nav in entity_set.navigation.values():
            navigation = entity_type.nav_proprty(nav.name)
            assert navigation.typ.name == model.entity_sets[nav.target_set].entity_type
            assert navigation.to_role.multiplicity in (("*",) if nav.collection else ("0..1", "1"))
        pyodata_set = schema.entity_set(entity_set.name)
        assert (pyodata_set.creatable, pyodata_set.updatable, pyodata_set.deletable) == (
            entity_set.insertable,
            entity_set.updatable,
            entity_set.deletable,
        )


def test_v2_header_types_and_facets(model):
    root = etree.fromstring(metadata_document(model))
    assert root.tag == f"{{{EDMX_NS}}}Edmx" and root.get("Version") == "1.0"
    services = root.find("edmx:DataServices", NS)
    assert services.get(f"{{{M_NS}}}DataServiceVersion") == "2.0"
    assert not root.xpath("//@m:HasStream", namespaces=NS)
    types = set(root.xpath("//edm:Property/@Type", namespaces=NS))
    assert types <= {"Edm.String", "Edm.Boolean", "Edm.Int32", "Edm.Decimal", "Edm.DateTime", "Edm.Time"}
    for entity_set in model.entity_sets.values():
        for prop in entity_set.properties.values():
            (element,) = root.xpath(
                f"//edm:EntityType[@Name='{entity_set.entity_type}']/edm:Property[@Name='{prop.name}']",
                namespaces=NS,
            )
            assert element.get("Nullable") == ("true" if prop.nullable else "false")
            if prop.edm_type in ("Edm.Date", "Edm.DateTimeOffset"):
                assert element.get("Type") == "Edm.DateTime"
                assert (element.get(f"{{{SAP_NS}}}display-format") == "Date") == (prop.edm_type == "Edm.Date")
            if prop.edm_type == "Edm.Decimal" and prop.precision is not None:
                assert element.get("Precision") == str(prop.precision)
                assert int(element.get("Scale")) <= prop.precision
            if prop.max_length is not None:
                assert element.get("MaxLength") == str(prop.max_length)


def test_associations_are_consistent(model):
    root = etree.fromstring(metadata_document(model))
    namespace = model.namespace
    associations = {a.get("Name"): a for a in root.xpath("//edm:Schema/edm:Association", namespaces=NS)}
    sets = {a.get("Name"): a for a in root.xpath("//edm:AssociationSet", namespaces=NS)}
    assert set(sets) == set(associations)
    for nav in root.xpath("//edm:NavigationProperty", namespaces=NS):
        relationship = nav.get("Relationship")
        assert relationship.startswith(namespace + ".")
        association = associations[relationship.split(".", 1)[1]]
        roles = {end.get("Role") for end in association.findall("edm:End", NS)}
        assert {nav.get("FromRole"), nav.get("ToRole")} == roles
    for name, association_set in sets.items():
        ends = association_set.findall("edm:End", NS)
        assert {e.get("Role") for e in ends} == {
            e.get("Role") for e in associations[name].findall("edm:End", NS)
        }
        assert all(e.get("EntitySet") in model.entity_sets for e in ends)


def test_one_association_per_lookup_shared_by_both_sides(demo_model):
    root = etree.fromstring(metadata_document(demo_model))
    contacts = root.xpath(
        "//edm:EntityType[@Name='Account']/edm:NavigationProperty[@Name='Contacts']", namespaces=NS
    )
    account = root.xpath(
        "//edm:EntityType[@Name='Contact']/edm:NavigationProperty[@Name='Account']", namespaces=NS
    )
    assert contacts and account and contacts[0].get("Relationship") == account[0].get("Relationship")
    name = account[0].get("Relationship").split(".", 1)[1]
    (constraint,) = root.xpath(
        f"//edm:Association[@Name='{name}']/edm:ReferentialConstraint",
        namespaces=NS,
    )
    assert constraint.find("edm:Dependent/edm:PropertyRef", NS).get("Name") == "AccountId"


def test_service_documents(model):
    root = etree.fromstring(service_document_xml(model, "http://h/odata/v2/"))
    hrefs = root.xpath("//app:collection/@href", namespaces={"app": "http://www.w3.org/2007/app"})
    assert hrefs == list(model.entity_sets)
    assert service_document_json(model) == {"d": {"EntitySets": list(model.entity_sets)}}
