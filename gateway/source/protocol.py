"""The ``Source`` Protocol: what the gateway asks of a source org, and nothing more.

``SourceConnection`` (``connection.py``) is the implementation that talks to an org over its REST API. The
core (read, write, change sets) and the faces are typed against this Protocol, so a per-user connection,
a recording wrapper (SOQL sent, API calls spent per request) or a test double fits without touching them.
Every method answers the org's REST JSON and raises ``SourceError`` (``connection.py``) on failure.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Source(Protocol):
    def query(self, soql: str, batch_size: int | None = None) -> dict:
        """The first batch of a SOQL query (``records``, ``totalSize``, ``done``, ``nextRecordsUrl``)."""
        ...

    def query_more(self, next_records_url: str, batch_size: int | None = None) -> dict:
        """The next batch of a query."""
        ...

    def search(self, sosl: str) -> dict:
        """A SOSL search: ``{"searchRecords": [...]}`` (one API call)."""
        ...

    def query_all(self, soql: str, batch_size: int | None = None) -> dict:
        """The first batch of a queryAll: deleted records (``IsDeleted = true``) included."""
        ...

    def describe_global(self) -> dict: ...

    def describe(self, name: str) -> dict: ...

    def create(self, name: str, values: dict) -> dict:
        """``{"id", "success", "errors"}`` of the created record."""
        ...

    def update(self, name: str, record_id: str, values: dict) -> None: ...

    def delete(self, name: str, record_id: str) -> None: ...

    def upsert(self, name: str, field: str, value: str, values: dict) -> dict:
        """Upsert by external ID: ``{"id", "created"}``."""
        ...

    def composite(self, method: str, records: list, all_or_none: bool = False) -> list:
        """sObject Collections create (POST), update (PATCH) or delete (DELETE: a list of Ids)."""
        ...

    def composite_upsert(self, name: str, field: str, records: list, all_or_none: bool = False) -> list: ...

    def composite_request(self, subrequests: list[dict], all_or_none: bool = False) -> dict:
        """One Composite request (``{"compositeResponse": [...]}``)."""
        ...

    def data_path(self) -> str:
        """``/services/data/vXX.X``: the prefix of Composite subrequest URLs."""
        ...

    @property
    def api_calls(self) -> int:
        """API calls this source has made (to the org's REST API, token calls excluded)."""
        ...
