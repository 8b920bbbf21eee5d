"""python-odata, a real OData V4 client, reads the gateway: reflects $metadata, filters, orders, pages.

Each answer is compared with the same question asked of the local org in SOQL.
"""

from __future__ import annotations

import pytest
import requests
from odata import ODataService

from gateway.source.wsgi_transport import WsgiAdapter
from tests.support import embedded_gateway

ROOT = "http://gateway.test/odata/"


@pytest.fixture(scope="module")
def demo():
    app, source, _ = embedded_gateway(300)
    session = requests.Session()
    session.mount("http://gateway.test/", WsgiAdapter(app))
    service = ODataService(ROOT, reflect_entities=True, session=session)
    return service, source, app


def all_ids(source, soql: str) -> list[str]:
    return [r["Id"] for r in source.query_records(soql)]


def test_reflects_every_published_entity_set(demo):
    service, _, app = demo
    published = set(app.extensions["odata_gateway"].model().entity_sets)
    assert set(service.entities) == published


def test_reads_every_published_entity_set_completely(demo):
    """Every set, every row, by following nextLinks: the same Ids as SOQL gives."""
    service, source, app = demo
    model = app.extensions["odata_gateway"].model()
    for name, entity_set in model.entity_sets.items():
        entity = service.entities[name]
        got = sorted(row.Id for row in service.query(entity))
        assert got == sorted(all_ids(source, f"SELECT Id FROM {entity_set.sobject}")), name


def test_filter_and_order_match_the_oracle(demo):
    service, source, _ = demo
    account = service.entities["Account"]
    rows = list(
        service.query(account).filter(account.Industry == "Banking").order_by(account.AnnualRevenue.desc())
    )
    expected = all_ids(
        source, "SELECT Id FROM Account WHERE Industry = 'Banking' ORDER BY AnnualRevenue DESC NULLS LAST, Id"
    )
    assert [r.Id for r in rows] == expected and expected


def test_quirky_field_names_filter(demo):
    """Allocation__c and AnyScore__c start with 'all' and 'any': odata-query cannot lex them unaided."""
    service, source, _ = demo
    project = service.entities["Project__c"]
    rows = list(service.query(project).filter(project.Allocation__c > 50).filter(project.AnyScore__c < 80))
    expected = all_ids(source, "SELECT Id FROM Project__c WHERE Allocation__c > 50 AND AnyScore__c < 80")
    assert sorted(r.Id for r in rows) == sorted(expected)
