"""OData v4 gateway in front of a Salesforce org."""
