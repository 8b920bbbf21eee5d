"""The OData read path end to end: the gateway app on the embedded demo local org, driven over WSGI.

Results are compared with the oracle: the same question asked of the local org directly in SOQL through
the same source connection. API calls are counted on that connection.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from gateway.app import create_app
from tests.support import embedded_gateway


@pytest.fixture(scope="module")
def demo():
    app, source, store = embedded_gateway(1000)
    return app, source


@pytest.fixture()
def client(demo):
    return demo[0].test_client()


@pytest.fixture()
def source(demo):
    return demo[1]


def soql_ids(source, soql: str) -> list[str]:
    """The oracle: Ids the local org returns for ``soql``, following every batch."""
    return [r["Id"] for r in source.query_records(soql)]


def get(client, path: str, **kwargs):
    return client.get("/odata/" + path, **kwargs)


def follow(client, path: str, headers=None) -> tuple[list[dict], int]:
    """Every row of a paged read, following @odata.nextLink; and the number of pages."""
    rows, pages = [], 0
    url = "/odata/" + path
    while url:
        response = client.get(url, headers=headers or {})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        rows += body["value"]
        pages += 1
        link = body.get("@odata.nextLink")
        url = None if link is None else urlsplit(link).path + "?" + urlsplit(link).query
    return rows, pages


# --- service document, headers ------------------------------------------------------------------------


def test_service_document_lists_published_sets(client):
    response = get(client, "")
    assert response.status_code == 200
    assert response.headers["OData-Version"] == "4.0"
    names = {e["name"] for e in response.get_json()["value"]}
    assert {"Account", "Contact", "Opportunity"} <= names


def test_metadata_is_xml_by_default_and_json_on_request(client):
    xml = get(client, "$metadata")
    assert xml.status_code == 200
    assert xml.headers["Content-Type"].startswith("application/xml")
    assert b"<edmx:Edmx" in xml.data
    js = get(client, "$metadata?$format=json")
    assert js.status_code == 200
    assert js.get_json()["$Version"].startswith("4.0")


def test_odata_max_version_below_4_is_refused(client):
    response = get(client, "Account?$top=1", headers={"OData-MaxVersion": "3.0"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"]


# --- reading ------------------------------------------------------------------------------------------


def test_select_top_returns_exactly_those_properties(client):
    body = get(client, "Account?$select=Name,Industry&$top=5").get_json()
    assert len(body["value"]) == 5
    assert body["@odata.context"].endswith("$metadata#Account(Name,Industry)")
    for row in body["value"]:
        assert set(k for k in row if not k.startswith("@")) == {"Name", "Industry"}


def test_filter_matches_the_soql_oracle(client, source):
    odata = get(client, "Contact?$filter=startswith(LastName,'Sm') and Email ne null&$select=Id&$top=2000")
    assert odata.status_code == 200, odata.get_json()
    got = sorted(r["Id"] for r in odata.get_json()["value"])
    expected = sorted(soql_ids(source, "SELECT Id FROM Contact WHERE LastName LIKE 'Sm%' AND Email != null"))
    assert got == expected and expected


def test_orderby_desc_matches_oracle_with_nulls_last(client, source):
    rows, _ = follow(client, "Account?$select=Id,AnnualRevenue&$orderby=AnnualRevenue desc")
    expected = soql_ids(source, "SELECT Id FROM Account ORDER BY AnnualRevenue DESC NULLS LAST, Id ASC")
    assert [r["Id"] for r in rows] == expected
    revenues = [r["AnnualRevenue"] for r in rows]
    assert revenues[-1] is None or all(v is not None for v in revenues)


def test_server_driven_paging_reads_every_contact_once_one_call_per_page(client, source):
    before = source.api_calls
    rows, pages = follow(client, "Contact?$select=Id,LastName", headers={"Prefer": "odata.maxpagesize=500"})
    ids = [r["Id"] for r in rows]
    expected = soql_ids(source, "SELECT Id FROM Contact ORDER BY Id")
    assert ids == expected
    assert len(ids) == len(set(ids)) >= 3000
    assert source.api_calls - before == pages + len(expected) // 2000 + 1  # pages + the oracle's batches


def test_maxpagesize_is_applied_and_echoed(client):
    response = get(client, "Contact?$select=Id", headers={"Prefer": "odata.maxpagesize=50"})
    assert response.headers["Preference-Applied"] == "odata.maxpagesize=50"
    body = response.get_json()
    assert len(body["value"]) == 50
    assert "$skiptoken=" in body["@odata.nextLink"]


def test_default_page_is_200(client):
    body = get(client, "Contact?$select=Id").get_json()
    assert len(body["value"]) == 200
    assert "@odata.nextLink" in body


def test_top_caps_the_total_across_pages(client):
    rows, pages = follow(client, "Contact?$select=Id&$top=120", headers={"Prefer": "odata.maxpagesize=50"})
    assert len(rows) == 120 and pages == 3


def test_count_ignores_top_and_matches_oracle(client, source):
    body = get(client, "Opportunity?$count=true&$top=3&$filter=Amount gt 50000").get_json()
    total = source.query("SELECT COUNT() FROM Opportunity WHERE Amount > 50000")["totalSize"]
    assert body["@odata.count"] == total and len(body["value"]) == 3


def test_count_costs_nothing_extra_when_one_page_holds_everything(client, source):
    before = source.api_calls
    body = get(client, "Account?$count=true&$filter=Industry eq 'Banking'&$select=Id").get_json()
    assert source.api_calls - before == 1
    assert body["@odata.count"] == len(body["value"])


def test_dollar_count_path_is_plain_text(client, source):
    response = get(client, "Contact/$count")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert int(response.data) == source.query("SELECT COUNT() FROM Contact")["totalSize"]


def test_salesforce_connect_contains_eq_true_shape(client, source):
    path = (
        "Account?$select=Name,Phone,Id&$count=true"
        "&$filter=contains(Name,'Ltd') eq true or contains(Phone,'Ltd') eq true&$top=25"
    )
    response = get(client, path)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    total = source.query("SELECT COUNT() FROM Account WHERE Name LIKE '%Ltd%' OR Phone LIKE '%Ltd%'")
    assert body["@odata.count"] == total["totalSize"]
    assert all("ltd" in r["Name"].lower() for r in body["value"])


def test_salesforce_connect_row_probe_shape(client):
    body = get(client, "Account?$select=Id&$count=true&$top=26").get_json()
    assert len(body["value"]) == 26
    assert body["@odata.count"] >= 1000
    assert "@odata.nextLink" not in body


def test_entity_by_key_property_and_value(client, source):
    record = source.query("SELECT Id, Name FROM Account ORDER BY Id LIMIT 1")["records"][0]
    one = get(client, f"Account('{record['Id']}')")
    assert one.status_code == 200
    assert one.get_json()["Name"] == record["Name"]
    assert one.get_json()["@odata.context"].endswith("$metadata#Account/$entity")
    assert one.headers["ETag"].startswith('W/"')
    prop = get(client, f"Account('{record['Id']}')/Name").get_json()
    assert prop["value"] == record["Name"]
    raw = get(client, f"Account('{record['Id']}')/Name/$value")
    assert raw.data.decode() == record["Name"]


def test_navigation_to_children_matches_oracle(client, source):
    account = source.query("SELECT AccountId FROM Contact WHERE AccountId != null LIMIT 1")["records"][0][
        "AccountId"
    ]
    rows, _ = follow(client, f"Account('{account}')/Contacts?$select=Id")
    assert sorted(r["Id"] for r in rows) == sorted(
        soql_ids(source, f"SELECT Id FROM Contact WHERE AccountId = '{account}'")
    )


def test_expand_children_and_parent_in_one_call(client, source):
    before = source.api_calls
    body = get(client, "Account?$select=Name&$expand=Contacts($select=LastName)&$top=3").get_json()
    assert source.api_calls - before == 1
    assert all(isinstance(r["Contacts"], list) for r in body["value"])
    body = get(client, "Contact?$select=LastName&$expand=Account($select=Name)&$top=3").get_json()
    assert all(r["Account"] is None or set(r["Account"]) >= {"Name"} for r in body["value"])


def test_dates_and_datetimes_are_odata_formatted(client):
    row = get(client, "Opportunity?$select=CloseDate,CreatedDate&$top=1").get_json()["value"][0]
    assert len(row["CloseDate"]) == 10
    assert row["CreatedDate"].endswith("Z") and len(row["CreatedDate"]) == 24


def test_ieee754_compatible_writes_decimals_as_strings(client):
    response = get(
        client,
        "Opportunity?$select=Amount&$top=1&$count=true&$filter=Amount ne null",
        headers={"Accept": "application/json;odata.metadata=minimal;IEEE754Compatible=true"},
    )
    body = response.get_json()
    assert isinstance(body["value"][0]["Amount"], str)
    assert isinstance(body["@odata.count"], str)


def test_metadata_none_and_full(client):
    none = get(client, "Account?$top=1&$format=application/json;odata.metadata=none").get_json()
    assert "@odata.context" not in none
    full = get(client, "Account?$top=1&$format=application/json;odata.metadata=full").get_json()
    assert full["value"][0]["@odata.type"].endswith(".Account")
    assert full["value"][0]["@odata.id"].startswith("http")


# --- refusals -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "needle"),
    [
        ("Account?$skip=10", 501, "Server Driven Pagination"),
        ("Account?$apply=groupby((Industry))", 501, "$apply"),
        ("Account?$search=NOT Acme", 501, "$search"),
        ("Account?$compute=AnnualRevenue mul 2 as Double", 501, "$compute"),
        ("Account?$filter=Contacts/any(c: c/LastName eq 'x')", 501, "any"),
        ("Account?$filter=AnnualRevenue add 5 gt 10", 501, "add"),
        ("Account?$expand=Contacts($expand=Account)", 501, "level"),
        ("Account?$filter=Nope__c eq 'x'", 400, "Nope__c"),
        ("Account?$select=Nope__c", 400, "Nope__c"),
        ("Account?$orderby=Nope__c", 400, "Nope__c"),
        ("Account?$filter=Description eq 'x'", 400, "Description"),
        ("Account?$filter=Name eq 5", 400, "Name"),
        ("Account?$filter=Name eq 'a' or or", 400, ""),
        ("Account?$filter=Name eq", 400, ""),
        ("Nope", 404, "Nope"),
        ("Account('001000000000000AAA')", 404, ""),
        ("Account('not-an-id')", 404, ""),
    ],
)
def test_refusals_are_odata_errors(client, path, status, needle):
    response = get(client, path)
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] and error["message"]
    assert needle in error["message"] or needle in (error.get("target") or "")


def test_long_string_literal_is_refused_before_the_source(client, source):
    before = source.api_calls
    response = get(client, "Account?$filter=Name eq '" + "x" * 4001 + "'")
    assert response.status_code == 400
    assert source.api_calls == before


def test_tampered_skiptoken_is_refused(client):
    link = get(client, "Contact?$select=Id").get_json()["@odata.nextLink"]
    parts = urlsplit(link)
    token = parts.query.split("$skiptoken=")[1]
    tampered = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    response = client.get(parts.path + "?" + parts.query.replace(token, tampered))
    assert response.status_code == 400


def test_altered_nextlink_options_are_refused(client):
    link = get(client, "Contact?$select=Id&$filter=LastName ne null").get_json()["@odata.nextLink"]
    parts = urlsplit(link)
    response = client.get(parts.path + "?" + parts.query.replace("LastName", "FirstName", 1))
    assert response.status_code == 400


def test_statement_over_100000_characters_is_refused_before_the_source(client, source):
    values = ",".join(f"'{'v' * 90}{i:05d}'" for i in range(1100))
    before = source.api_calls
    response = get(client, f"Account?$filter=Name in ({values})")
    assert response.status_code == 400
    assert "100000" in response.get_json()["error"]["message"]
    assert source.api_calls == before


def test_next_page_is_served_by_another_gateway_instance_with_the_same_secret(demo):
    """Stateless paging: a second app (a restart, another instance) serves the first one's nextLink."""
    _, source = demo
    environ = {"GATEWAY_SECRET": "shared-secret-for-every-instance"}
    first = create_app(source=source, environ=environ, host="127.0.0.1", embedded=True).test_client()
    second = create_app(source=source, environ=environ, host="127.0.0.1", embedded=True).test_client()
    page1 = first.get("/odata/Contact?$select=Id&$orderby=LastName").get_json()
    link = urlsplit(page1["@odata.nextLink"])
    page2 = second.get(link.path + "?" + link.query)
    assert page2.status_code == 200
    ids = [r["Id"] for r in page1["value"] + page2.get_json()["value"]]
    expected = soql_ids(source, "SELECT Id FROM Contact ORDER BY LastName, Id LIMIT 400")
    assert ids == expected
