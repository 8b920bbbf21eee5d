"""A small published OData model built directly from the model dataclasses, for parse/bind/plan tests.

Account publishes fields whose names start with OData keywords (Allocation__c, Nullable__c, True_Up__c,
AnyScore__c) and leaves some fields of the object unpublished (UNPUBLISHED) so tests can show they
never reach SOQL.
"""

from __future__ import annotations

from gateway.odata.model.entities import EntitySet, Model, NavigationProperty, Property
from gateway.odata.read.bind import bind
from gateway.odata.read.plan import ReadPlan, plan_read
from gateway.odata.read.query_options import parse_query_options
from gateway.soql.printer import print_soql

EDM = {
    "id": "Edm.String",
    "reference": "Edm.String",
    "string": "Edm.String",
    "textarea": "Edm.String",
    "picklist": "Edm.String",
    "multipicklist": "Edm.String",
    "email": "Edm.String",
    "boolean": "Edm.Boolean",
    "int": "Edm.Int32",
    "double": "Edm.Decimal",
    "currency": "Edm.Decimal",
    "date": "Edm.Date",
    "datetime": "Edm.DateTimeOffset",
    "time": "Edm.TimeOfDay",
}


def prop(name: str, sf_type: str, **kwargs) -> Property:
    return Property(name, sf_type, EDM[sf_type], nullable=kwargs.pop("nullable", True), **kwargs)


def _props(*items: Property) -> dict[str, Property]:
    return {p.name: p for p in items}


UNPUBLISHED = ("Secret__c", "Salary__c", "Hidden__c")

ACCOUNT = EntitySet(
    name="Accounts",
    sobject="Account",
    entity_type="Account",
    properties=_props(
        prop("Id", "id", nullable=False),
        prop("Name", "string", nullable=False, max_length=255),
        prop("AnnualRevenue", "currency"),
        prop("NumberOfEmployees", "int"),
        prop("Description", "textarea", filterable=False, sortable=False),
        prop("Industry", "picklist", picklist_values=("Banking", "Energy", "Retail")),
        prop("IsActive__c", "boolean", nullable=False),
        prop("Allocation__c", "double"),
        prop("Nullable__c", "string"),
        prop("True_Up__c", "boolean", nullable=False),
        prop("AnyScore__c", "int"),
        prop("Founded__c", "date"),
        prop("LastSeen__c", "datetime"),
        prop("Opens__c", "time"),
        prop("Colors__c", "multipicklist", sortable=False, picklist_values=("Red", "Green", "Blue")),
        prop("ParentId", "reference"),
        prop("OwnerId", "reference"),
        prop("SystemModstamp", "datetime", nullable=False),
    ),
    navigation={
        "Parent": NavigationProperty("Parent", "Accounts", collection=False, field="ParentId"),
        "Owner": NavigationProperty("Owner", "Users", collection=False, field="OwnerId"),
        "Contacts": NavigationProperty("Contacts", "Contacts", collection=True, field="AccountId"),
    },
)

CONTACT = EntitySet(
    name="Contacts",
    sobject="Contact",
    entity_type="Contact",
    properties=_props(
        prop("Id", "id", nullable=False),
        prop("LastName", "string", nullable=False),
        prop("FirstName", "string"),
        prop("Email", "email"),
        prop("Birthdate", "date"),
        prop("DoNotCall", "boolean", nullable=False),
        prop("AccountId", "reference"),
    ),
    navigation={
        "Account": NavigationProperty("Account", "Accounts", collection=False, field="AccountId"),
    },
)

USER = EntitySet(
    name="Users",
    sobject="User",
    entity_type="User",
    properties=_props(prop("Id", "id", nullable=False), prop("Name", "string")),
    navigation={},
)

MODEL = Model("Demo", {s.name: s for s in (ACCOUNT, CONTACT, USER)})


def plan(args: dict[str, str], entity_set: EntitySet = ACCOUNT) -> ReadPlan:
    return plan_read(bind(entity_set, MODEL, parse_query_options(args)))


def soql(args: dict[str, str], entity_set: EntitySet = ACCOUNT) -> str:
    return print_soql(plan(args, entity_set).query)


def where(filter_text: str, entity_set: EntitySet = ACCOUNT) -> str:
    """The WHERE clause $filter=filter_text becomes ("" when there is none)."""
    text = print_soql(plan({"$filter": filter_text, "$select": "Id"}, entity_set).query)
    _, found, rest = text.partition(" WHERE ")
    return rest.split(" ORDER BY ")[0] if found else ""
