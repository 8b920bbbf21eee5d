"""The local org: a stand-in Salesforce source org on SQLite that speaks the REST API the gateway uses."""
