"""``$search`` through the gateway on the embedded demo org: results compared with an oracle that applies
the documented matching rules (gateway.soql.search_words, written independently in the local org's search
tests) to the published fields of the same records; Salesforce Connect's two request shapes; paging and
counts capped at Salesforce's 2,000; nothing unpublished found; every refusal, with no API call."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from gateway.app import create_app
from gateway.localorg.api import create_app as create_localorg_app
from gateway.localorg.config import LocalOrgConfig
from gateway.localorg.schema import Schema
from gateway.localorg.search import MAX_WILDCARD_WORDS
from gateway.localorg.store import Store
from gateway.odata.http.source_errors import odata_error_from_source
from gateway.odata.read.search_expr import parse_search
from gateway.soql.sosl_parser import parse_sosl
from gateway.soql.sosl_printer import print_sosl
from gateway.source.connection import SourceConnection, SourceError
from gateway.source.embedded import embedded_source
from tests.localorg.test_search import oracle_matches
from tests.support import DEMO_METADATA, embedded_gateway


@pytest.fixture(scope="module")
def demo():
    return embedded_gateway(1000)


@pytest.fixture()
def client(demo):
    return demo[0].test_client()


@pytest.fixture()
def source(demo):
    return demo[1]


def model(demo):
    return demo[0].extensions["odata_gateway"].model()


def every(source, soql: str) -> list[dict]:
    return list(source.query_records(soql))


def oracle(demo, entity_set: str, search: str, where: str = "", keep=lambda r: True) -> list[dict]:
    """The records of ``entity_set`` whose published searchable fields match ``search`` (Id order)."""
    fields = model(demo).entity_set(entity_set).search_fields
    rows = every(demo[1], f"SELECT Id, {', '.join(fields)} FROM {entity_set} {where} ORDER BY Id")
    expr = parse_search(search)
    return [r for r in rows if keep(r) and oracle_matches(expr, [r.get(f) for f in fields])]


def calls(source, action):
    before = source.api_calls
    result = action()
    return result, source.api_calls - before


def follow(client, url: str, headers=None) -> tuple[list[dict], list[dict]]:
    """Every row of a paged read by nextLink, and each page's body."""
    rows, bodies = [], []
    while url:
        response = client.get(url, headers=headers or {})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        bodies.append(body)
        rows += body["value"]
        link = body.get("@odata.nextLink")
        url = None if link is None else urlsplit(link).path + "?" + urlsplit(link).query
    return rows, bodies


# --- Salesforce Connect's free-text shape --------------------------------------------------------------


def test_salesforce_connect_free_text_request_is_one_search_call(demo, client, source):
    expected = oracle(demo, "Account", "Acme")
    assert 0 < len(expected) < 25
    response, spent = calls(
        source, lambda: client.get("/odata/Account?$select=Id,Name,Phone&$count=true&$search=Acme&$top=25")
    )
    assert response.status_code == 200
    body = response.get_json()
    assert [r["Id"] for r in body["value"]] == [r["Id"] for r in expected]
    assert body["@odata.count"] == len(expected)
    assert set(body["value"][0]) == {"@odata.etag", "Id", "Name", "Phone"}
    assert "@odata.nextLink" not in body
    assert spent == 1  # the count came with the page


def test_count_only_search_with_top_0_reports_the_count_in_one_call(demo, client, source):
    """Salesforce Connect's count-only request (``$count=true&$top=0``) with ``$search``: no rows, the same
    ``@odata.count`` as a normal page reports, one call (the count) — below and at the 2,000 cap."""
    for entity_set, search in (("Account", "Acme"), ("Contact", "example")):
        url = f"/odata/{entity_set}?$select=Id&$count=true&$search={search}&$top="
        paged = client.get(url + "25").get_json()
        response, spent = calls(source, lambda url=url: client.get(url + "0"))
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert body["value"] == []
        expected = min(len(oracle(demo, entity_set, search)), 2000)
        assert body["@odata.count"] == paged["@odata.count"] == expected
        assert "@odata.nextLink" not in body
        assert spent == 1


def test_terms_phrases_and_operators_match_the_oracle(demo, client):
    for search in (
        "acme corp",
        '"acme corp" OR globex',
        "acme AND NOT inc",
        "(acme OR initech) boston",
        "usa-01",
        "acme*",
        "bost?n",
    ):
        expected = oracle(demo, "Account", search)
        response = client.get(
            "/odata/Account", query_string={"$search": search, "$select": "Id", "$top": "500"}
        )
        assert response.status_code == 200, (search, response.get_json())
        assert [r["Id"] for r in response.get_json()["value"]] == [r["Id"] for r in expected], search


def test_search_combines_with_filter_orderby_expand_and_pages_by_nextlink(demo, client, source):
    matching = {r["Id"] for r in oracle(demo, "Contact", "usa", "WHERE LeadSource = 'Web'")}
    by_name = every(source, "SELECT Id FROM Contact WHERE LeadSource = 'Web' ORDER BY LastName, Id")
    ordered = [r for r in by_name if r["Id"] in matching]
    assert len(ordered) > 100
    url = (
        "/odata/Contact?$search=usa&$filter=LeadSource eq 'Web'&$orderby=LastName&$count=true"
        "&$select=Id,LastName&$expand=Account($select=Name)"
    )
    before = source.api_calls
    rows, bodies = follow(client, url, headers={"Prefer": "odata.maxpagesize=50"})
    assert [r["Id"] for r in rows] == [r["Id"] for r in ordered]
    assert all(b["@odata.count"] == len(ordered) for b in bodies[:1])
    assert all("Name" in (r["Account"] or {"Name": None}) for r in rows)
    assert source.api_calls - before == len(bodies) + 1  # one call a page, one count


def test_the_result_set_is_salesforces_first_2000_matches(demo, client, source):
    matches = oracle(demo, "Contact", "example")  # in most e-mail addresses
    assert len(matches) > 2000
    before = source.api_calls
    rows, bodies = follow(
        client,
        "/odata/Contact?$search=example&$select=Id&$count=true",
        headers={"Prefer": "odata.maxpagesize=700"},
    )
    assert [r["Id"] for r in rows] == [r["Id"] for r in matches[:2000]]
    assert [len(b["value"]) for b in bodies] == [700, 700, 600]
    assert bodies[0]["@odata.count"] == 2000
    assert "@odata.nextLink" not in bodies[-1]
    assert source.api_calls - before == 3 + 1
    count, spent = calls(source, lambda: client.get("/odata/Contact/$count?$search=example"))
    assert count.data == b"2000" and spent == 1


def test_navigation_collections_search_the_parents_children(demo, client, source):
    account = every(source, "SELECT Id FROM Account ORDER BY Id LIMIT 1")[0]["Id"]
    expected = oracle(demo, "Contact", "example", f"WHERE AccountId = '{account}'")
    response = client.get(f"/odata/Account('{account}')/Contacts?$search=example&$select=Id&$count=true")
    assert response.status_code == 200
    assert [r["Id"] for r in response.get_json()["value"]] == [r["Id"] for r in expected]
    assert response.get_json()["@odata.count"] == len(expected) > 0


def test_a_term_with_punctuation_is_the_phrase_of_its_words(client, source):
    external_id = every(source, "SELECT External_Id__c FROM Account ORDER BY Id LIMIT 1")[0]["External_Id__c"]
    prefix, number = external_id.split("-")  # ACC-0000001
    for search, found in (
        (external_id, [external_id]),
        (f'"{prefix} {number}"', [external_id]),
        (f"{prefix.lower()}_{number}", [external_id]),
        (f'"{number} {prefix}"', []),
    ):
        response = client.get("/odata/Account", query_string={"$search": search, "$select": "External_Id__c"})
        assert [r["External_Id__c"] for r in response.get_json()["value"]] == found, search


# --- nothing unpublished leaks ----------------------------------------------------------------------------


def test_a_record_is_found_only_through_published_fields(demo, client, source):
    account = every(source, "SELECT Id FROM Account ORDER BY Id DESC LIMIT 1")[0]["Id"]
    source.update("Account", account, {"Sic": "Quxblorp"})  # Sic is not published (metadata/demo.toml)
    response, spent = calls(source, lambda: client.get("/odata/Account?$search=quxblorp&$count=true"))
    assert response.get_json()["value"] == [] and response.get_json()["@odata.count"] == 0
    assert spent == 1
    assert client.get("/odata/Account/$count?$search=quxblorp").data == b"0"
    source.update("Account", account, {"Site": "Quxblorp Works"})
    found = client.get("/odata/Account?$search=quxblorp&$select=Id,Site").get_json()["value"]
    assert found == [{"@odata.etag": found[0]["@odata.etag"], "Id": account, "Site": "Quxblorp Works"}]


# --- refusals before any call ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "status", "fragment"),
    [
        ("$search=", 400, "empty"),
        ("$search=a", 400, "at least two characters"),
        ("$search=a b", 400, "at least two characters"),
        ('$search="acme', 400, "unbalanced quote"),
        ("$search=(acme", 400, "unbalanced parenthesis"),
        ("$search=acme)", 400, "unbalanced parenthesis"),
        ("$search=*cme", 400, "Wildcards cannot start"),
        ("$search=" + "ab " * 3334, 400, "10,000"),
        ("$search=acme OR", 400, "search term is expected"),
        ("$search=NOT acme", 501, "AND NOT"),
        ("$search=acme OR NOT corp", 501, "AND NOT"),
        ("$search=acme&$expand=Contacts", 501, "Expand lookups only"),
        ("$search=acme&$expand=Contacts($search=x)", 501, "$search inside $expand"),
        ("$search=acme&$skip=5", 501, "$skip"),
        ("$search=acme&$filter=Description eq 'x'", 400, "cannot be used in $filter"),
        ("$search=acme&$orderby=Sic", 400, "Unknown property"),
    ],
)
def test_refusals_cost_no_api_call(client, source, query, status, fragment):
    response, spent = calls(source, lambda: client.get("/odata/Account?" + query))
    assert response.status_code == status, response.get_json()
    assert fragment in response.get_json()["error"]["message"]
    assert spent == 0


def test_searchable_false_in_the_publication_turns_search_off(demo, tmp_path):
    text = (DEMO_METADATA / "demo.toml").read_text()
    text = text.replace(
        'name = "Contact"\nsobject = "Contact"\n',
        'name = "Contact"\nsobject = "Contact"\nsearchable = false\n',
    )
    (tmp_path / "demo.toml").write_text(text)
    app = create_app(metadata_path=tmp_path, source=demo[1], environ={}, host="127.0.0.1", embedded=True)
    client = app.test_client()
    response, spent = calls(demo[1], lambda: client.get("/odata/Contact?$search=usa"))
    assert response.status_code == 501 and spent == 0
    assert "searchable = false" in response.get_json()["error"]["message"]
    assert client.get("/odata/Account?$search=acme").status_code == 200
    metadata = client.get("/odata/$metadata?$format=json").get_json()
    sets = metadata["Salesforce"]["Container"]
    assert sets["Contact"]["@Capabilities.SearchRestrictions"] == {"Searchable": False}
    assert sets["Account"]["@Capabilities.SearchRestrictions"] == {
        "Searchable": True,
        "UnsupportedExpressions": "NOT",
    }


def test_an_object_salesforce_cannot_search_is_501_and_not_searchable_in_metadata(tmp_path):
    describes = [
        {"name": "Account", "fields": [{"name": "Name", "type": "string"}]},
        {"name": "Log__c", "searchable": False, "fields": [{"name": "Name", "type": "string"}]},
    ]
    org = create_localorg_app(LocalOrgConfig(token="T"), Store(Schema.from_describes(describes)))
    source = SourceConnection.in_process(org, access_token="T")
    publication = tmp_path / "p.toml"
    publication.write_text('[[entity_set]]\nsobject = "Account"\n\n[[entity_set]]\nsobject = "Log__c"\n')
    client = create_app(
        metadata_path=publication, source=source, environ={}, host="127.0.0.1", embedded=True
    ).test_client()
    response, spent = calls(source, lambda: client.get("/odata/Log__c?$search=acme"))
    assert response.status_code == 501 and spent == 0
    assert "searchable: false" in response.get_json()["error"]["message"]
    assert client.get("/odata/Account?$search=acme").status_code == 200
    sets = client.get("/odata/$metadata?$format=json").get_json()["Salesforce"]["Container"]
    assert sets["Log__c"]["@Capabilities.SearchRestrictions"] == {"Searchable": False}


def test_a_search_the_org_refuses_for_its_search_text_is_400_not_502():
    """A wildcard inside a term that the org's index finds standing for more than 5,000 words is refused by
    the org (MALFORMED_SEARCH) — only the index can tell, so the gateway asks: the client gets 400 naming
    ``$search`` with the org's reason and code, and no SOSL, host or URL; on both faces, counts included."""
    source, store = embedded_source(5)
    words = [f"zq{i}x" for i in range(MAX_WILDCARD_WORDS + 1)]
    for start in range(0, len(words), 2000):
        store.insert(
            "Account", {"Name": f"Wide {start}", "Description": " ".join(words[start : start + 2000])}
        )
    environ = {"GATEWAY_V2_SEARCH_PARAM": "search"}
    client = create_app(source=source, environ=environ, host="127.0.0.1", embedded=True).test_client()
    found = client.get("/odata/Account?$search=zq12*&$select=Name").get_json()["value"]
    assert [row["Name"] for row in found] == ["Wide 0"]  # a narrower wildcard is answered

    for url in ("/odata/Account?$search=zq*x", "/odata/Account?$search=zq*x&$count=true"):
        response = client.get(url)
        assert response.status_code == 400, response.get_json()
        error = response.get_json()["error"]
        assert (error["code"], error["target"], error["details"]) == (
            "SearchRefused",
            "$search",
            [{"code": "MALFORMED_SEARCH"}],
        )
        assert "more than 5000 words" in error["message"]
        assert not any(leak in error["message"] for leak in ("FIND", "RETURNING", "{", "zq*x}"))
        assert not any(leak in response.get_data(as_text=True) for leak in ("FIND", "localorg", "http"))
    assert client.get("/odata/Account/$count?$search=zq*x").status_code == 400
    v2 = client.get("/odata/v2/Account?search=zq*x")
    assert v2.status_code == 400 and b"SearchRefused" in v2.data and b"FIND" not in v2.data


@pytest.mark.parametrize(
    ("code", "message", "status"),
    [
        ("INVALID_SEARCH", "search term must be longer than one character", 400),
        (
            "MALFORMED_SEARCH",
            "\nFIND {a} RETURNING Account\n       ^\nERROR at Row:1:Column:7\nNo search term",
            400,
        ),
        ("MALFORMED_SEARCH", "unexpected token: FIND {x} at https://org.my.salesforce.com/x", 400),
        ("MALFORMED_QUERY", "unexpected token: FROM", 502),  # a query's refusal is not the client's search
    ],
)
def test_search_text_refusals_map_to_400_without_sosl_and_nothing_else_does(code, message, status):
    mapped = odata_error_from_source(SourceError(400, code, message))
    assert mapped is not None and mapped.status == status
    if status == 400:
        assert mapped.target == "$search" and mapped.details == [{"code": code}]
        for leak in ("FIND", "RETURNING", "{", "ERROR at", "salesforce.com", "http"):
            assert leak not in mapped.message


# --- Salesforce Connect's contains() chain ---------------------------------------------------------------


def test_contains_chain_over_filterable_fields_stays_soql(demo, client, source):
    chain = " or ".join(f"contains({f},'Acme') eq true" for f in ("Name", "Site", "AccountNumber"))
    response, spent = calls(
        source, lambda: client.get(f"/odata/Account?$select=Id,Name&$count=true&$filter={chain}&$top=25")
    )
    assert response.status_code == 200 and spent == 1
    expected = every(
        source,
        "SELECT Id FROM Account WHERE Name LIKE '%Acme%' OR Site LIKE '%Acme%' "
        "OR AccountNumber LIKE '%Acme%' ORDER BY Id",
    )
    assert [r["Id"] for r in response.get_json()["value"]] == [r["Id"] for r in expected][:25]


def test_contains_chain_over_a_long_text_field_tells_the_admin_what_to_change(client, source):
    chain = " or ".join(f"contains({f},'Acme') eq true" for f in ("Name", "Title", "Description"))
    response, spent = calls(
        source, lambda: client.get(f"/odata/Contact?$select=Name&$count=true&$filter={chain}&$top=25")
    )
    assert response.status_code == 400 and spent == 0
    error = response.get_json()["error"]
    assert error["target"] == "$filter"
    assert "Use Free-Text Search Expressions" in error["message"]
    assert "stop publishing Description" in error["message"]


# --- the SOSL the gateway prints parses back ---------------------------------------------------------------


def test_the_sosl_sent_parses_back_to_what_the_gateway_built(demo, client):
    sent = []
    inner = demo[1]
    original = inner.search

    def spy(sosl: str) -> dict:
        sent.append(sosl)
        return original(sosl)

    inner.search = spy
    search = '"o\'brien & co" OR ext-001* AND NOT {x}'
    try:
        response = client.get(
            "/odata/Account",
            query_string={
                "$search": search,
                "$filter": "Name ne 'a\\b'",
                "$select": "Name",
                "$orderby": "Name desc",
            },
        )
    finally:
        inner.search = original
    assert response.status_code == 200, response.get_json()
    assert len(sent) == 1
    parsed = parse_sosl(sent[0])
    assert print_sosl(parsed) == sent[0]
    assert parsed.find == parse_search(search)
    returning = parsed.returning[0]
    assert returning.sobject == "Account" and returning.limit == 201
    assert [(k.field.dotted, k.descending) for k in returning.order_by] == [("Name", True), ("Id", False)]
    assert "o\\'brien \\& co" in sent[0] and "ext\\-001*" in sent[0] and "\\{x\\}" in sent[0]
