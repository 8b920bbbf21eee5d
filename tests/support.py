"""What several test folders share: the repository paths and a tiny describe-JSON schema.

Fixtures built on these live in ``tests/conftest.py``; helpers that belong to one folder live there
(``tests/odata/read/model_fixture.py``, ``tests/odata/v4/csdl_support.py``).
"""

from __future__ import annotations

from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
DEMO_METADATA = REPOSITORY / "metadata"


def tiny_describes() -> list[dict]:
    """A few describes with as few keys as a saved schema may have; Salesforce's defaults fill the rest."""
    return [
        {
            "name": "Account",
            "fields": [
                {"name": "Name", "type": "string", "nillable": False},
                {"name": "AnnualRevenue", "type": "currency"},
                {"name": "NumberOfEmployees", "type": "int"},
                {"name": "Description", "type": "textarea", "length": 32000},
                {
                    "name": "Industry",
                    "type": "picklist",
                    "picklistValues": ["Banking", "Energy", "Retail"],
                },
                {"name": "Ext_Id__c", "type": "string", "length": 20, "externalId": True},
                {"name": "ParentId", "type": "reference", "referenceTo": ["Account"]},
            ],
        },
        {
            "name": "Contact",
            "fields": [
                {"name": "FirstName", "type": "string", "length": 40},
                {"name": "LastName", "type": "string", "length": 80, "nillable": False},
                {"name": "AccountId", "type": "reference", "referenceTo": ["Account"]},
                {"name": "Email", "type": "email"},
                {"name": "Birthdate", "type": "date"},
                {"name": "DoNotCall", "type": "boolean"},
            ],
        },
        {
            "name": "Widget__c",
            "label": "Widget",
            "fields": [
                {"name": "Name", "type": "string", "length": 80},
                {"name": "Account__c", "type": "reference", "referenceTo": ["Account"]},
                {"name": "Weight__c", "type": "double", "precision": 8, "scale": 2},
                {"name": "Ratio__c", "type": "percent"},
                {"name": "Due__c", "type": "datetime"},
                {"name": "Active__c", "type": "boolean"},
                {
                    "name": "Status__c",
                    "type": "picklist",
                    "restrictedPicklist": True,
                    "picklistValues": [
                        {"value": "New"},
                        {"value": "Done"},
                        {"value": "Old", "active": False},
                    ],
                },
                {
                    "name": "Colors__c",
                    "type": "multipicklist",
                    "restrictedPicklist": True,
                    "picklistValues": ["Red", "Green", "Blue"],
                },
                {"name": "Code__c", "type": "string", "length": 10, "externalId": True},
                {"name": "Formula__c", "type": "string", "calculated": True},
            ],
        },
    ]
