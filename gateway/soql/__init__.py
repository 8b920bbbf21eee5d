"""SOQL syntax shared by the gateway (which prints SOQL) and the local org (which parses it)."""
