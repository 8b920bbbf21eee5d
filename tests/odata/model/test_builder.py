"""build_model: Edm types and facets from describes, navigation between published sets only, permissions."""

from __future__ import annotations

import pytest

from gateway.localorg.schema import Schema, complete_field
from gateway.odata.model.builder import build_model, build_property, edm_type
from gateway.odata.model.entities import NavigationProperty
from gateway.odata.model.publication import (
    EntitySetSpec,
    Publication,
    PublicationError,
    load_publication,
)
from gateway.source.connection import SourceError
from gateway.source.embedded import embedded_describe
from tests.support import DEMO_METADATA


@pytest.fixture(scope="module")
def demo_model():
    return build_model(load_publication(DEMO_METADATA), embedded_describe())


def spec(sobject: str, fields="*", writable=(), external_ids=(), **flags) -> EntitySetSpec:
    return EntitySetSpec(
        name=flags.pop("name", sobject),
        sobject=sobject,
        fields=fields if fields == "*" else tuple(fields),
        writable=writable if writable == "*" else tuple(writable),
        external_ids=tuple(external_ids),
        insertable=flags.pop("insertable", bool(writable)),
        updatable=flags.pop("updatable", bool(writable)),
        deletable=flags.pop("deletable", False),
        file="test.toml",
    )


def schema_describe(schema: Schema):
    def describe(name: str) -> dict:
        found = schema.get(name)
        if found is None:
            raise LookupError(name)
        return found.describe

    return describe


# ----- Edm types and facets -----------------------------------------------------------------------

DEMO_PROPERTIES = [
    # (entity set, property, Edm type, nullable, MaxLength, Precision, Scale)
    ("Account", "Id", "Edm.String", False, 18, None, None),
    ("Account", "ParentId", "Edm.String", True, 18, None, None),
    ("Account", "Name", "Edm.String", False, 255, None, None),
    ("Account", "Industry", "Edm.String", True, 255, None, None),  # picklist
    ("Account", "Phone", "Edm.String", True, 40, None, None),  # phone
    ("Account", "Website", "Edm.String", True, 255, None, None),  # url
    ("Account", "Description", "Edm.String", True, 32000, None, None),  # long textarea
    ("Account", "AnnualRevenue", "Edm.Decimal", True, None, 18, 0),  # currency
    ("Account", "NumberOfEmployees", "Edm.Int32", True, None, None, None),
    ("Account", "OwnerId", "Edm.String", False, 18, None, None),
    ("Account", "CreatedDate", "Edm.DateTimeOffset", False, None, 3, None),
    ("Contact", "Email", "Edm.String", True, 80, None, None),
    ("Contact", "Birthdate", "Edm.Date", True, None, None, None),
    ("Contact", "DoNotCall", "Edm.Boolean", False, None, None, None),
    ("Opportunity", "Amount", "Edm.Decimal", True, None, 18, 2),
    ("Opportunity", "Probability", "Edm.Decimal", True, None, 3, 0),  # percent
    ("Opportunity", "TotalOpportunityQuantity", "Edm.Decimal", True, None, 18, 2),  # double
    ("Opportunity", "CloseDate", "Edm.Date", False, None, None, None),
    ("Project__c", "Tags__c", "Edm.String", True, 4099, None, None),  # multipicklist
    ("Project__c", "Allocation__c", "Edm.Decimal", True, None, 5, 2),
    ("Project__c", "Kickoff__c", "Edm.DateTimeOffset", True, None, 3, None),
    ("Project__c", "Is_Billable__c", "Edm.Boolean", False, None, None, None),
    ("User", "LastLoginDate", "Edm.DateTimeOffset", True, None, 3, None),
]


@pytest.mark.parametrize(
    ("entity_set", "name", "edm", "nullable", "max_length", "precision", "scale"), DEMO_PROPERTIES
)
def test_demo_property_types_and_facets(
    demo_model, entity_set, name, edm, nullable, max_length, precision, scale
):
    prop = demo_model.entity_sets[entity_set].properties[name]
    assert (prop.edm_type, prop.nullable, prop.max_length, prop.precision, prop.scale) == (
        edm,
        nullable,
        max_length,
        precision,
        scale,
    )


@pytest.mark.parametrize(
    ("field_type", "expected"),
    [
        ("id", "Edm.String"),
        ("reference", "Edm.String"),
        ("string", "Edm.String"),
        ("picklist", "Edm.String"),
        ("multipicklist", "Edm.String"),
        ("combobox", "Edm.String"),
        ("email", "Edm.String"),
        ("phone", "Edm.String"),
        ("url", "Edm.String"),
        ("textarea", "Edm.String"),
        ("encryptedstring", "Edm.String"),
        ("boolean", "Edm.Boolean"),
        ("int", "Edm.Int32"),
        ("double", "Edm.Decimal"),
        ("currency", "Edm.Decimal"),
        ("percent", "Edm.Decimal"),
        ("date", "Edm.Date"),
        ("datetime", "Edm.DateTimeOffset"),
        ("time", "Edm.TimeOfDay"),
        ("address", None),
        ("location", None),
        ("base64", None),
        ("anyType", None),
    ],
)
def test_edm_type_of_each_describe_type(field_type, expected):
    assert edm_type({"name": "F", "type": field_type}) == expected


def test_facets_of_types_the_demo_lacks():
    time = build_property(complete_field({"name": "Start__c", "type": "time"}), False, False)
    assert (time.edm_type, time.precision, time.nullable) == ("Edm.TimeOfDay", 3, True)
    secret = build_property(complete_field({"name": "Secret__c", "type": "encryptedstring"}), False, False)
    assert (secret.edm_type, secret.max_length, secret.filterable) == ("Edm.String", 175, False)
    odd = build_property(
        complete_field({"name": "Odd__c", "type": "double", "precision": 2, "scale": 5}), False, False
    )
    assert (odd.precision, odd.scale) == (2, 2)  # CSDL needs Scale <= Precision
    flag = build_property(
        complete_field({"name": "Flag__c", "type": "boolean", "nillable": True}), False, False
    )
    assert flag.nullable is False


def test_filterable_sortable_and_picklist_values_come_from_the_describe(schema):
    model = build_model(Publication((spec("Widget__c"),)), schema_describe(schema))
    props = model.entity_sets["Widget__c"].properties
    assert props["Colors__c"].filterable and not props["Colors__c"].sortable
    assert props["Status__c"].picklist_values == ("New", "Done")  # inactive "Old" left out
    assert props["Code__c"].sortable and props["Code__c"].filterable


def test_long_text_is_neither_filterable_nor_sortable(demo_model):
    description = demo_model.entity_sets["Account"].properties["Description"]
    assert (description.filterable, description.sortable) == (False, False)


# ----- what is published --------------------------------------------------------------------------


def test_star_publishes_every_field_but_compound_ones(schema):
    describe = embedded_describe()
    model = build_model(Publication((spec("Account"),)), describe)
    names = list(model.entity_sets["Account"].properties)
    assert names[0] == "Id"
    assert "BillingAddress" not in names and "ShippingAddress" not in names
    assert names == [f["name"] for f in describe("Account")["fields"] if f["type"] != "address"]


def test_listed_fields_keep_their_order_with_id_first_and_source_spelling():
    model = build_model(Publication((spec("Account", ["industry", "NAME"]),)), embedded_describe())
    assert list(model.entity_sets["Account"].properties) == ["Id", "Industry", "Name"]


def test_unpublished_fields_are_absent_from_the_demo_model(demo_model):
    assert demo_model.entity_sets["Contact"].property("MobilePhone") is None
    assert demo_model.entity_sets["Account"].property("sic") is None
    user = demo_model.entity_sets["User"]
    assert {"Email", "Username", "Phone"}.isdisjoint(user.properties)
    assert user.property("name").name == "Name"


def test_demo_entity_sets_and_permissions(demo_model):
    sets = demo_model.entity_sets
    assert list(sets) == ["User", "Account", "Contact", "Opportunity", "Case", "Project__c"]
    flags = {name: (s.insertable, s.updatable, s.deletable) for name, s in sets.items()}
    assert flags == {
        "User": (False, False, False),
        "Account": (True, True, True),
        "Contact": (True, True, True),
        "Opportunity": (True, True, True),
        "Case": (False, False, False),
        "Project__c": (True, True, True),
    }
    assert sets["Account"].external_ids == ("External_Id__c",)
    assert sets["Project__c"].external_ids == ("Project_Code__c",)
    assert demo_model.by_sobject("project__C") is sets["Project__c"]
    assert sets["Project__c"].label == "Project"


def test_property_writability_is_publication_and_describe(demo_model):
    contact = demo_model.entity_sets["Contact"].properties
    assert contact["LastName"].insertable and contact["LastName"].updatable
    assert not contact["OwnerId"].insertable and not contact["OwnerId"].updatable  # published, not writable
    assert not contact["Name"].insertable  # not createable in the source
    account = demo_model.entity_sets["Account"].properties  # writable = "*"
    assert account["OwnerId"].insertable and account["OwnerId"].updatable
    assert not account["Id"].insertable and not account["CreatedDate"].updatable
    assert not any(p.insertable or p.updatable for p in demo_model.entity_sets["User"].properties.values())


def test_entity_set_permissions_are_capped_by_the_object_describe():
    describes = [
        {"name": "Log__c", "createable": False, "updateable": True, "deletable": False, "fields": []}
    ]
    schema = Schema.from_describes(describes)
    model = build_model(Publication((spec("Log__c", writable="*", deletable=True),)), schema_describe(schema))
    log = model.entity_sets["Log__c"]
    assert (log.insertable, log.updatable, log.deletable) == (False, True, False)


# ----- navigation ---------------------------------------------------------------------------------


def test_demo_navigation(demo_model):
    sets = demo_model.entity_sets
    assert sets["Contact"].navigation["Account"] == NavigationProperty(
        "Account", "Account", False, "AccountId"
    )
    assert sets["Account"].navigation["Contacts"] == NavigationProperty(
        "Contacts", "Contact", True, "AccountId"
    )
    assert sets["Account"].navigation["Parent"] == NavigationProperty("Parent", "Account", False, "ParentId")
    assert sets["Account"].navigation["ChildAccounts"].collection
    assert sets["Project__c"].navigation["Account__r"].field == "Account__c"
    assert sets["Account"].navigation["Projects__r"] == NavigationProperty(
        "Projects__r", "Project__c", True, "Account__c"
    )
    assert sets["User"].navigation["ManagedUsers"].target_set == "User"
    # User's child relationships through OwnerId have no relationshipName: no navigation.
    assert list(sets["User"].navigation) == ["Manager", "ManagedUsers"]


def test_navigation_only_between_published_sets():
    publication = Publication((spec("Contact"), spec("Account")))
    sets = build_model(publication, embedded_describe()).entity_sets
    assert list(sets["Contact"].navigation) == ["Account"]  # no Owner: User is not published
    assert list(sets["Account"].navigation) == ["Parent", "ChildAccounts", "Contacts"]


def test_unpublished_lookup_field_gives_no_navigation_either_way():
    publication = Publication((spec("Contact", ["LastName"]), spec("Account", ["Name"])))
    sets = build_model(publication, embedded_describe()).entity_sets
    assert sets["Contact"].navigation == {}
    assert sets["Account"].navigation == {}


def test_entity_set_names_are_used_as_navigation_targets():
    publication = Publication((spec("Contact", name="People"), spec("Account", name="Companies")))
    sets = build_model(publication, embedded_describe()).entity_sets
    assert sets["People"].navigation["Account"].target_set == "Companies"
    assert sets["Companies"].navigation["Contacts"].target_set == "People"
    assert sets["People"].entity_type == "Contact"


# ----- unknown objects ----------------------------------------------------------------------------


def source_describe(status: int, code: str):
    def describe(name: str) -> dict:
        raise SourceError(status, code, "The requested resource does not exist")

    return describe


def test_unknown_sobject_from_the_source_is_a_publication_error():
    with pytest.raises(PublicationError, match="unknown sObject 'Nope__c'"):
        build_model(Publication((spec("Nope__c"),)), source_describe(404, "NOT_FOUND"))


def test_other_source_failures_are_not_hidden():
    with pytest.raises(SourceError):
        build_model(Publication((spec("Account"),)), source_describe(503, "SERVER_UNAVAILABLE"))
