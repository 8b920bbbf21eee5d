"""The local org: a stand-in Salesforce source org on SQLite that speaks the REST API the gateway uses."""

from .api import create_app
from .config import LocalOrgConfig

__all__ = ["LocalOrgConfig", "create_app"]
