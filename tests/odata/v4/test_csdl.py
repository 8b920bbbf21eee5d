"""Service document and $metadata: CSDL XML content, OASIS XSD validation, CSDL JSON as OASIS converts it."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from gateway.localorg.schema import Schema
from gateway.odata.model.builder import build_model
from gateway.odata.model.publication import EntitySetSpec, Publication, load_publication
from gateway.odata.read.capabilities import CAPABILITIES
from gateway.odata.v4.csdl import (
    metadata_json,
    metadata_xml,
    service_document,
)
from gateway.source.embedded import embedded_describe
from tests.odata.v4.csdl_support import NpmMissing, install_odata_csdl, xml2json, xsd_validator
from tests.support import DEMO_METADATA

NS = {"edmx": "http://docs.oasis-open.org/odata/ns/edmx", "edm": "http://docs.oasis-open.org/odata/ns/edm"}


@pytest.fixture(scope="module")
def demo_model():
    return build_model(load_publication(DEMO_METADATA), embedded_describe())


@pytest.fixture(scope="module")
def demo_xml(demo_model):
    return metadata_xml(demo_model)


@pytest.fixture(scope="module")
def doc(demo_xml):
    return etree.fromstring(demo_xml.encode("utf-8"))


@pytest.fixture(scope="session")
def odata_csdl() -> Path:
    try:
        return install_odata_csdl()
    except NpmMissing as error:
        pytest.skip(str(error))


@pytest.fixture
def tiny_model(describes):
    schema = Schema.from_describes(describes)
    specs = tuple(
        EntitySetSpec(name=n, sobject=n, fields="*", writable=(), external_ids=(), insertable=False,
                      updatable=False, deletable=False)
        for n in ("Account", "Contact", "Widget__c")
    )  # fmt: skip
    return build_model(Publication(specs), lambda name: schema.get(name).describe)


def one(doc, xpath: str):
    found = doc.xpath(xpath, namespaces=NS)
    assert len(found) == 1, f"{xpath}: {len(found)} matches"
    return found[0]


def entity_set_annotation(doc, entity_set: str, term: str):
    return one(doc, f"//edm:EntitySet[@Name='{entity_set}']/edm:Annotation[@Term='{term}']")


def record_paths(annotation, property_name: str) -> list[str]:
    return annotation.xpath(
        f"edm:Record/edm:PropertyValue[@Property='{property_name}']/edm:Collection/edm:PropertyPath/text()",
        namespaces=NS,
    )


def record_value(annotation, property_name: str, attribute: str) -> str:
    return one(annotation, f"edm:Record/edm:PropertyValue[@Property='{property_name}']").get(attribute)


# ----- service document ----------------------------------------------------------------------------


def test_service_document_lists_every_entity_set(demo_model):
    document = service_document(demo_model, "http://host/odata/$metadata")
    assert document == {
        "@odata.context": "http://host/odata/$metadata",
        "value": [
            {"name": name, "kind": "EntitySet", "url": name}
            for name in ("User", "Account", "Contact", "Opportunity", "Case", "Project__c")
        ],
    }


# ----- CSDL XML ------------------------------------------------------------------------------------


def test_edmx_root_references_the_vocabularies(doc):
    assert doc.tag == "{http://docs.oasis-open.org/odata/ns/edmx}Edmx" and doc.get("Version") == "4.0"
    includes = {
        (i.getparent().get("Uri"), i.get("Namespace"), i.get("Alias"))
        for i in doc.xpath("edmx:Reference/edmx:Include", namespaces=NS)
    }
    assert includes == {
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
    }
    assert one(doc, "//edm:Schema").get("Namespace") == "Salesforce"


@pytest.mark.parametrize(
    ("entity_type", "name", "attributes"),
    [
        ("Account", "Id", {"Type": "Edm.String", "Nullable": "false", "MaxLength": "18"}),
        ("Account", "Name", {"Type": "Edm.String", "Nullable": "false", "MaxLength": "255"}),
        (
            "Account",
            "AnnualRevenue",
            {"Type": "Edm.Decimal", "Nullable": "true", "Precision": "18", "Scale": "0"},
        ),
        ("Account", "NumberOfEmployees", {"Type": "Edm.Int32", "Nullable": "true"}),
        (
            "Opportunity",
            "Amount",
            {"Type": "Edm.Decimal", "Nullable": "true", "Precision": "18", "Scale": "2"},
        ),
        ("Opportunity", "CloseDate", {"Type": "Edm.Date", "Nullable": "false"}),
        ("Contact", "CreatedDate", {"Type": "Edm.DateTimeOffset", "Nullable": "false", "Precision": "3"}),
        ("Project__c", "True_Up__c", {"Type": "Edm.Boolean", "Nullable": "false"}),
        ("Project__c", "Account__c", {"Type": "Edm.String", "Nullable": "true", "MaxLength": "18"}),
    ],
)
def test_property_types_and_facets(doc, entity_type, name, attributes):
    element = one(doc, f"//edm:EntityType[@Name='{entity_type}']/edm:Property[@Name='{name}']")
    assert dict(element.attrib) == {"Name": name, **attributes}


def test_every_entity_type_is_keyed_by_id(doc, demo_model):
    for entity_set in demo_model.entity_sets.values():
        refs = doc.xpath(
            f"//edm:EntityType[@Name='{entity_set.entity_type}']/edm:Key/edm:PropertyRef/@Name", namespaces=NS
        )
        assert refs == ["Id"]


def test_navigation_properties_partners_and_bindings(doc):
    lookup = one(doc, "//edm:EntityType[@Name='Contact']/edm:NavigationProperty[@Name='Account']")
    assert dict(lookup.attrib) == {
        "Name": "Account",
        "Type": "Salesforce.Account",
        "Nullable": "true",
        "Partner": "Contacts",
    }
    constraint = one(lookup, "edm:ReferentialConstraint")
    assert dict(constraint.attrib) == {"Property": "AccountId", "ReferencedProperty": "Id"}
    children = one(doc, "//edm:EntityType[@Name='Account']/edm:NavigationProperty[@Name='Contacts']")
    assert dict(children.attrib) == {
        "Name": "Contacts",
        "Type": "Collection(Salesforce.Contact)",
        "Partner": "Account",
    }
    owner = one(doc, "//edm:EntityType[@Name='Case']/edm:NavigationProperty[@Name='Owner']")
    assert owner.get("Nullable") == "false" and owner.get("Partner") is None  # User has no Cases relationship
    bindings = {
        b.get("Path"): b.get("Target")
        for b in doc.xpath("//edm:EntitySet[@Name='Project__c']/edm:NavigationPropertyBinding", namespaces=NS)
    }
    assert bindings == {"Owner": "User", "Account__r": "Account"}


def test_unpublished_fields_appear_nowhere(doc):
    names = set(doc.xpath("//@Name | //@Path | //@Property | //edm:PropertyPath/text()", namespaces=NS))
    assert "Id" in names and "Industry" in names
    for unpublished in ("MobilePhone", "Sic", "Username", "CommunityNickname", "BillingAddress"):
        assert unpublished not in names


def test_container_annotations(doc):
    container = one(doc, "//edm:EntityContainer")
    assert container.get("Name") == "Container"
    conformance = one(container, "edm:Annotation[@Term='Capabilities.ConformanceLevel']")
    assert conformance.get("EnumMember") == "Capabilities.ConformanceLevelType/Minimal"
    assert one(container, "edm:Annotation[@Term='Capabilities.BatchSupported']").get("Bool") == "true"
    functions = container.xpath(
        "edm:Annotation[@Term='Capabilities.FilterFunctions']/edm:Collection/edm:String/text()", namespaces=NS
    )
    assert functions == list(CAPABILITIES.filter_functions)
    assert {
        "contains",
        "startswith",
        "endswith",
        "tolower",
        "toupper",
        "year",
        "month",
        "day",
        "hour",
    } <= set(functions)
    assert not {"add", "sub", "any", "all", "substring", "indexof"} & set(functions)


def test_query_capabilities_of_each_entity_set(doc, demo_model):
    for name in demo_model.entity_sets:
        assert entity_set_annotation(doc, name, "Capabilities.SkipSupported").get("Bool") == "false"
        assert entity_set_annotation(doc, name, "Capabilities.TopSupported").get("Bool") == "true"
        count = entity_set_annotation(doc, name, "Capabilities.CountRestrictions")
        assert record_value(count, "Countable", "Bool") == "true"
        search = entity_set_annotation(doc, name, "Capabilities.SearchRestrictions")
        assert record_value(search, "Searchable", "Bool") == "true"  # every demo object is searchable
        unsupported = record_value(search, "UnsupportedExpressions", "EnumMember")
        assert unsupported == "Capabilities.SearchExpressions/NOT"
        expand = entity_set_annotation(doc, name, "Capabilities.ExpandRestrictions")
        assert record_value(expand, "MaxLevels", "Int") == "1"
        select = entity_set_annotation(doc, name, "Capabilities.SelectSupport")
        assert record_value(select, "Supported", "Bool") == "true"


def test_non_filterable_and_non_sortable_properties(doc):
    account_filter = entity_set_annotation(doc, "Account", "Capabilities.FilterRestrictions")
    assert record_paths(account_filter, "NonFilterableProperties") == ["Description"]
    project_sort = entity_set_annotation(doc, "Project__c", "Capabilities.SortRestrictions")
    assert record_paths(project_sort, "NonSortableProperties") == ["Description__c", "Tags__c"]
    project_filter = entity_set_annotation(doc, "Project__c", "Capabilities.FilterRestrictions")
    assert record_paths(project_filter, "NonFilterableProperties") == ["Description__c"]
    user_filter = entity_set_annotation(doc, "User", "Capabilities.FilterRestrictions")
    assert record_paths(user_filter, "NonFilterableProperties") == []


def test_insert_update_delete_restrictions_follow_the_publication(doc):
    def flags(name: str) -> tuple[str, str, str]:
        return (
            record_value(
                entity_set_annotation(doc, name, "Capabilities.InsertRestrictions"), "Insertable", "Bool"
            ),
            record_value(
                entity_set_annotation(doc, name, "Capabilities.UpdateRestrictions"), "Updatable", "Bool"
            ),
            record_value(
                entity_set_annotation(doc, name, "Capabilities.DeleteRestrictions"), "Deletable", "Bool"
            ),
        )

    assert flags("User") == ("false", "false", "false")
    assert flags("Case") == ("false", "false", "false")
    assert flags("Contact") == ("true", "true", "true")
    insert = entity_set_annotation(doc, "Contact", "Capabilities.InsertRestrictions")
    assert record_paths(insert, "NonInsertableProperties") == [
        "Id",
        "Name",
        "OwnerId",
        "IsDeleted",
        "CreatedDate",
        "LastModifiedDate",
        "SystemModstamp",
    ]


def test_alternate_keys_for_external_ids(doc):
    keys = entity_set_annotation(doc, "Account", "Core.AlternateKeys")
    refs = keys.xpath(
        "edm:Collection/edm:Record/edm:PropertyValue[@Property='Key']/edm:Collection/edm:Record",
        namespaces=NS,
    )
    assert [(record_name(r), record_alias(r)) for r in refs] == [("External_Id__c", "External_Id__c")]
    assert not doc.xpath(
        "//edm:EntitySet[@Name='User']/edm:Annotation[@Term='Core.AlternateKeys']", namespaces=NS
    )


def record_name(record) -> str:
    return one(record, "edm:PropertyValue[@Property='Name']").get("PropertyPath")


def record_alias(record) -> str:
    return one(record, "edm:PropertyValue[@Property='Alias']").get("String")


def test_computed_and_read_only_properties_of_writable_sets(doc):
    def terms(entity_type: str, name: str) -> list[str]:
        return doc.xpath(
            f"//edm:EntityType[@Name='{entity_type}']/edm:Property[@Name='{name}']/edm:Annotation/@Term",
            namespaces=NS,
        )

    assert terms("Account", "CreatedDate") == ["Core.Computed"]
    assert terms("Contact", "Name") == ["Core.Computed"]
    assert terms("Contact", "OwnerId") == ["Core.Computed"]  # published, not writable
    assert terms("Account", "Name") == []
    assert terms("Account", "Id") == []  # the key
    assert terms("User", "CreatedDate") == []  # the whole set is read-only (InsertRestrictions says so)


# ----- validation against the OASIS schemas ---------------------------------------------------------


def test_demo_metadata_validates_against_oasis_edmx_xsd(odata_csdl, demo_xml):
    validator = xsd_validator(odata_csdl)
    document = etree.fromstring(demo_xml.encode("utf-8"))
    assert validator.validate(document), validator.error_log


def test_tiny_schema_metadata_validates(odata_csdl, tiny_model):
    validator = xsd_validator(odata_csdl)
    assert validator.validate(etree.fromstring(metadata_xml(tiny_model).encode("utf-8"))), validator.error_log


def test_the_validator_rejects_broken_csdl(odata_csdl, demo_xml):
    validator = xsd_validator(odata_csdl)
    broken = demo_xml.replace('Type="Edm.Int32"', 'Type="Edm.Int32" Bogus="1"', 1)
    assert not validator.validate(etree.fromstring(broken.encode("utf-8")))


# ----- CSDL JSON ----------------------------------------------------------------------------------


def test_metadata_json_equals_the_oasis_conversion_of_the_xml(odata_csdl, demo_model, demo_xml):
    converted, warnings = xml2json(odata_csdl, demo_xml)
    assert warnings == []
    assert metadata_json(demo_model) == converted


def test_tiny_metadata_json_equals_the_oasis_conversion(odata_csdl, tiny_model):
    converted, warnings = xml2json(odata_csdl, metadata_xml(tiny_model))
    assert warnings == []
    assert metadata_json(tiny_model) == converted


def test_metadata_json_structure(demo_model):
    document = metadata_json(demo_model)
    assert document["$Version"] == "4.0"
    assert document["$EntityContainer"] == "Salesforce.Container"
    schema = document["Salesforce"]
    account = schema["Account"]
    assert account["$Kind"] == "EntityType" and account["$Key"] == ["Id"]
    assert account["Id"] == {"$MaxLength": 18}  # JSON defaults: Edm.String, not nullable
    assert account["AnnualRevenue"] == {
        "$Type": "Edm.Decimal",
        "$Nullable": True,
        "$Precision": 18,
        "$Scale": 0,
    }
    assert account["Contacts"] == {
        "$Kind": "NavigationProperty",
        "$Collection": True,
        "$Type": "Salesforce.Contact",
        "$Partner": "Account",
    }
    assert "MobilePhone" not in schema["Contact"]
    container = schema["Container"]
    assert container["@Capabilities.ConformanceLevel"] == "Minimal"
    assert container["Account"]["@Capabilities.SkipSupported"] is False
    assert container["Account"]["@Core.AlternateKeys"] == [
        {"Key": [{"Name": "External_Id__c", "Alias": "External_Id__c"}]}
    ]
