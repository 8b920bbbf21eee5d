"""Schema from describe JSON: Salesforce's defaults, system fields, key prefixes, relationships."""

from __future__ import annotations

import json

from gateway.localorg.schema import Schema, load_schema


def test_lookups_are_case_insensitive(schema):
    account = schema.get("account")
    assert account is schema.get("ACCOUNT") and account.name == "Account"
    assert account.field("name")["name"] == "Name"
    assert schema.get("widget__C").name == "Widget__c"
    assert schema.get("Nope") is None
    assert account.field("Nope") is None
    assert [t.name for t in schema.types] == ["Account", "Contact", "Widget__c"]


def test_system_fields_added_with_salesforce_flags(schema):
    contact = schema.get("Contact")
    names = [f["name"] for f in contact.fields]
    assert names[0] == "Id"
    assert names[-4:] == ["IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp"]
    id_field = contact.field("Id")
    assert (id_field["type"], id_field["idLookup"], id_field["nillable"]) == ("id", True, False)
    assert (id_field["createable"], id_field["updateable"], id_field["length"]) == (False, False, 18)
    deleted = contact.field("IsDeleted")
    assert (deleted["type"], deleted["createable"], deleted["updateable"], deleted["nillable"]) == (
        "boolean",
        False,
        False,
        False,
    )
    for name in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
        field = contact.field(name)
        assert field["type"] == "datetime"
        assert not field["createable"] and not field["updateable"] and field["defaultedOnCreate"]


def test_existing_system_field_is_kept_not_duplicated():
    schema = Schema.from_describes(
        [{"name": "Thing__c", "fields": [{"name": "CreatedDate", "type": "datetime", "label": "Made"}]}]
    )
    fields = schema.get("Thing__c").fields
    assert [f["name"] for f in fields].count("CreatedDate") == 1
    assert schema.get("Thing__c").field("CreatedDate")["label"] == "Made"


def test_field_defaults_as_salesforce_fills_them(schema):
    account = schema.get("Account")
    name = account.field("Name")
    assert name["label"] == "Name" and name["length"] == 255 and name["nillable"] is False
    assert name["filterable"] and name["sortable"] and name["groupable"]
    assert name["createable"] and name["updateable"] and not name["custom"]
    assert name["referenceTo"] == [] and name["relationshipName"] is None
    assert name["picklistValues"] == [] and name["restrictedPicklist"] is False
    for key in ("externalId", "unique", "idLookup", "calculated", "autoNumber", "defaultedOnCreate"):
        assert name[key] is False, key
    assert (name["precision"], name["scale"]) == (0, 0)

    revenue = account.field("AnnualRevenue")
    assert (revenue["precision"], revenue["scale"], revenue["groupable"]) == (18, 2, False)
    description = account.field("Description")
    assert not description["filterable"] and not description["sortable"] and not description["groupable"]
    ext = account.field("Ext_Id__c")
    assert ext["externalId"] and ext["idLookup"] and ext["custom"] and ext["label"] == "Ext Id"
    industry = account.field("Industry")
    assert industry["picklistValues"][0] == {
        "active": True,
        "defaultValue": False,
        "label": "Banking",
        "validFor": None,
        "value": "Banking",
    }


def test_boolean_multipicklist_and_calculated_defaults(schema):
    widget = schema.get("Widget__c")
    active = widget.field("Active__c")
    assert active["nillable"] is False and active["defaultedOnCreate"] is True
    colors = widget.field("Colors__c")
    assert colors["filterable"] and not colors["sortable"] and not colors["groupable"]
    formula = widget.field("Formula__c")
    assert formula["calculated"] and not formula["createable"] and not formula["updateable"]
    assert widget.field("Weight__c")["precision"] == 8
    assert widget.field("Status__c")["picklistValues"][2]["active"] is False


def test_object_level_defaults(schema):
    widget = schema.get("Widget__c").describe
    assert widget["label"] == "Widget" and widget["labelPlural"] == "Widgets" and widget["custom"]
    for key in ("queryable", "createable", "updateable", "deletable"):
        assert widget[key] is True
    assert schema.get("Account").describe["custom"] is False


def test_key_prefixes_standard_given_and_assigned():
    schema = Schema.from_describes(
        [
            {"name": "Zed__c"},
            {"name": "Account"},
            {"name": "Case"},
            {"name": "Given__c", "keyPrefix": "a00"},
            {"name": "Other__c"},
            {"name": "User"},
        ]
    )
    prefixes = {t.name: t.key_prefix for t in schema.types}
    assert prefixes == {
        "Zed__c": "a01",
        "Account": "001",
        "Case": "500",
        "Given__c": "a00",
        "Other__c": "a02",
        "User": "005",
    }
    assert schema.by_key_prefix("500").name == "Case"
    assert schema.type_of_id("500000000000001AAA").name == "Case"


def test_parent_relationships(schema):
    contact = schema.get("Contact")
    field, target = contact.parent("account")
    assert field["name"] == "AccountId" and target == "Account"
    assert contact.parent("Nope") is None
    field, target = schema.get("Widget__c").parent("Account__r")
    assert field["name"] == "Account__c" and target == "Account"
    assert schema.get("Account").parent("Parent")[0]["name"] == "ParentId"


def test_child_relationships_derived(schema):
    account = schema.get("Account")
    relationships = {r["relationshipName"]: r for r in account.describe["childRelationships"]}
    assert set(relationships) == {"Accounts", "Contacts", "Widgets__r"}
    assert relationships["Contacts"] == {
        "childSObject": "Contact",
        "field": "AccountId",
        "relationshipName": "Contacts",
        "cascadeDelete": False,
        "deprecatedAndHidden": False,
        "restrictedDelete": False,
    }
    assert account.child("contacts") == ("Contact", "AccountId")
    assert account.child("Widgets__r") == ("Widget__c", "Account__c")
    assert account.child("ChildAccounts") is None
    assert schema.get("Contact").describe["childRelationships"] == []


def test_child_relationships_given_are_kept():
    schema = Schema.from_describes(
        [
            {
                "name": "Account",
                "childRelationships": [
                    {"childSObject": "Contact", "field": "AccountId", "relationshipName": "People"}
                ],
            },
            {
                "name": "Contact",
                "fields": [{"name": "AccountId", "type": "reference", "referenceTo": ["Account"]}],
            },
        ]
    )
    assert schema.get("Account").child("People") == ("Contact", "AccountId")
    assert schema.get("Account").child("Contacts") is None


def test_colliding_child_relationship_names_are_made_unique():
    schema = Schema.from_describes(
        [
            {"name": "Account"},
            {
                "name": "Contact",
                "fields": [
                    {"name": "AccountId", "type": "reference", "referenceTo": ["Account"]},
                    {"name": "BillingAccountId", "type": "reference", "referenceTo": ["Account"]},
                ],
            },
        ]
    )
    names = [r["relationshipName"] for r in schema.get("Account").describe["childRelationships"]]
    assert names == ["Contacts", "BillingAccountContacts"]
    assert schema.get("Account").child("BillingAccountContacts") == ("Contact", "BillingAccountId")


def test_load_schema_from_saved_describe_file_with_missing_keys(tmp_path, describes):
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(describes))
    schema = load_schema(path)
    assert schema.get("Contact").field("LastName")["length"] == 80
    assert schema.get("Contact").key_prefix == "003"
    wrapped = tmp_path / "global.json"
    wrapped.write_text(json.dumps({"sobjects": describes}))
    assert [t.name for t in load_schema(wrapped).types] == ["Account", "Contact", "Widget__c"]


def test_from_describes_does_not_mutate_input(describes):
    before = json.dumps(describes, sort_keys=True)
    Schema.from_describes(describes)
    assert json.dumps(describes, sort_keys=True) == before
