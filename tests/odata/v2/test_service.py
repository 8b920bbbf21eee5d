"""The V2 face over raw HTTP (in-process WSGI) on the embedded demo local org.

Shapes are checked as a V2 client reads them (JSON verbose, and Atom parsed with lxml); rows are compared
with the oracle (SOQL on the same source) and with the V4 face; API calls are counted on the source.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from lxml import etree

from gateway.app import create_app
from gateway.odata.v2.xmlwriter import ATOM_NS, D_NS, M_NS
from gateway.source.embedded import embedded_source

NS = {"a": ATOM_NS, "m": M_NS, "d": D_NS}
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def app():
    """The gateway on a demo org of 300 Accounts, pages of 50, V2 search parameter ``doSearch``."""
    environ = {"GATEWAY_V2_SEARCH_PARAM": "doSearch"}
    demo_source, _ = embedded_source(300)
    return create_app(source=demo_source, environ=environ, host="127.0.0.1", embedded=True, page_size=50)


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def source(app):
    """The oracle: the gateway's own source asked in SOQL (``query_records`` follows every batch)."""
    return app.extensions["odata_gateway"].source


def soql_records(source, soql: str) -> list[dict]:
    return list(source.query_records(soql))


def soql_ids(source, soql: str) -> list[str]:
    return [r["Id"] for r in source.query_records(soql)]


def relative(link: str) -> str:
    parts = urlsplit(link)
    return parts.path + "?" + parts.query


def follow_json(client, url: str) -> tuple[list[dict], int, list[dict]]:
    """Every row of a paged V2 JSON read, following __next; the number of pages; each page's body."""
    rows, bodies = [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.headers["DataServiceVersion"] == "2.0"
        body = response.get_json()["d"]
        bodies.append(body)
        rows += body["results"]
        url = relative(body["__next"]) if "__next" in body else None
    return rows, len(bodies), bodies


def follow_atom(client, url: str) -> tuple[list[etree._Element], int]:
    entries, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/atom+xml;type=feed")
        feed = etree.fromstring(response.data)
        entries += feed.findall("a:entry", NS)
        pages += 1
        nxt = feed.xpath("a:link[@rel='next']/@href", namespaces=NS)
        url = relative(nxt[0]) if nxt else None
    return entries, pages


def follow_v4(client, url: str) -> list[dict]:
    rows = []
    while url:
        body = client.get(url).get_json()
        rows += body["value"]
        url = relative(body["@odata.nextLink"]) if "@odata.nextLink" in body else None
    return rows


# --- documents and headers ------------------------------------------------------------------------------


def test_service_document_atom_by_default_and_json_on_request(client, app):
    published = list(app.extensions["odata_gateway"].model().entity_sets)
    response = client.get("/odata/v2/")
    assert response.status_code == 200 and response.headers["DataServiceVersion"] == "2.0"
    assert response.headers["Content-Type"].startswith("application/atomsvc+xml")
    root = etree.fromstring(response.data)
    assert root.xpath("//app:collection/@href", namespaces={"app": "http://www.w3.org/2007/app"}) == published
    assert client.get("/odata/v2/?$format=json").get_json() == {"d": {"EntitySets": published}}
    assert client.get("/odata/v2/", headers={"Accept": "application/json"}).get_json()["d"]["EntitySets"]


def test_metadata_is_xml_only(client):
    response = client.get("/odata/v2/$metadata")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/xml")
    assert response.headers["DataServiceVersion"] == "2.0"
    refused = client.get("/odata/v2/$metadata?$format=json")
    assert refused.status_code == 406 and refused.headers["DataServiceVersion"] == "2.0"


def test_v4_face_is_unchanged_beside_it(client):
    response = client.get("/odata/Account?$top=1")
    assert response.status_code == 200 and response.headers["OData-Version"] == "4.0"
    assert "DataServiceVersion" not in response.headers
    assert "value" in response.get_json()


# --- JSON verbose ---------------------------------------------------------------------------------------


def test_json_feed_shape_values_and_count(client, source):
    response = client.get(
        "/odata/v2/Account?$format=json&$inlinecount=allpages&$top=5&$orderby=Name"
        "&$select=Id,Name,AnnualRevenue,NumberOfEmployees,CreatedDate,SystemModstamp"
    )
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    body = response.get_json()["d"]
    assert body["__count"] == "300" and "__next" not in body
    expected = soql_records(
        source,
        "SELECT Id, Name, AnnualRevenue, NumberOfEmployees, CreatedDate FROM Account "
        "ORDER BY Name, Id LIMIT 5",
    )
    assert [r["Id"] for r in body["results"]] == [r["Id"] for r in expected]
    for row, record in zip(body["results"], expected, strict=True):
        meta = row["__metadata"]
        assert meta["uri"] == f"http://localhost/odata/v2/Account('{record['Id']}')" == meta["id"]
        assert meta["type"] == "Salesforce.Account"
        assert meta["etag"].startswith('W/"')
        assert row["Name"] == record["Name"]
        revenue = record["AnnualRevenue"]
        assert row["AnnualRevenue"] == (None if revenue is None else str(Decimal(str(revenue))))
        assert isinstance(row["NumberOfEmployees"], int | None)
        ms = int(row["CreatedDate"][len("/Date(") : -len(")/")])
        created = dt.datetime.strptime(record["CreatedDate"], "%Y-%m-%dT%H:%M:%S.%f%z")
        assert EPOCH + dt.timedelta(milliseconds=ms) == created
        assert "Contacts" not in row  # $select given: only what was asked


def test_json_entry_has_deferred_navigation_without_select(client, source):
    record_id = soql_ids(source, "SELECT Id FROM Contact WHERE Birthdate != null LIMIT 1")[0]
    response = client.get(f"/odata/v2/Contact('{record_id}')?$format=json")
    assert response.status_code == 200
    entry = response.get_json()["d"]
    assert entry["Account"] == {
        "__deferred": {"uri": f"http://localhost/odata/v2/Contact('{record_id}')/Account"}
    }
    assert response.headers["ETag"] == entry["__metadata"]["etag"]
    birthdate = soql_records(source, f"SELECT Birthdate FROM Contact WHERE Id = '{record_id}'")[0][
        "Birthdate"
    ]
    ms = int(entry["Birthdate"][6:-2])
    assert (EPOCH + dt.timedelta(milliseconds=ms)).date().isoformat() == birthdate
    assert ms % 86_400_000 == 0  # dates are midnight UTC


def test_server_driven_paging_one_api_call_a_page(client, source):
    before = source.api_calls
    rows, pages, bodies = follow_json(client, "/odata/v2/Account?$format=json&$select=Id")
    calls = source.api_calls - before
    assert [r["Id"] for r in rows] == soql_ids(source, "SELECT Id FROM Account ORDER BY Id")
    assert pages == 6 and calls == pages  # 300 rows, pages of 50
    assert all("__next" in body for body in bodies[:-1]) and "__next" not in bodies[-1]


def test_count_on_every_page_costs_at_most_one_more_call(client, source):
    before = source.api_calls
    rows, pages, bodies = follow_json(
        client, "/odata/v2/Contact?$format=json&$inlinecount=allpages&$select=Id"
    )
    calls = source.api_calls - before
    total = len(soql_ids(source, "SELECT Id FROM Contact"))
    assert len(rows) == total and {b["__count"] for b in bodies} == {str(total)}
    assert pages > 1 and calls <= pages + 1


# --- Atom -----------------------------------------------------------------------------------------------


def test_atom_is_the_default_and_reads_the_same_rows(client, source):
    entries, pages = follow_atom(client, "/odata/v2/Opportunity?$select=Id,Name,Amount,CloseDate")
    ids = [e.findtext("a:content/m:properties/d:Id", namespaces=NS) for e in entries]
    assert ids == soql_ids(source, "SELECT Id FROM Opportunity ORDER BY Id") and pages > 1
    first = entries[0]
    assert first.findtext("a:id", namespaces=NS).endswith(f"Opportunity('{ids[0]}')")
    assert first.xpath("a:link[@rel='edit']/@href", namespaces=NS) == [f"Opportunity('{ids[0]}')"]
    assert first.find("a:category", NS).get("term") == "Salesforce.Opportunity"
    assert first.get(f"{{{M_NS}}}etag").startswith('W/"')
    amount = first.find("a:content/m:properties/d:Amount", NS)
    assert amount.get(f"{{{M_NS}}}type") == "Edm.Decimal"
    close = first.find("a:content/m:properties/d:CloseDate", NS)
    assert close.get(f"{{{M_NS}}}type") == "Edm.DateTime" and close.text.endswith("T00:00:00")


def test_atom_nulls_count_and_next_link(client, source):
    response = client.get("/odata/v2/Account?$inlinecount=allpages&$select=Id,Fax&$filter=Fax eq null")
    feed = etree.fromstring(response.data)
    expected = soql_ids(source, "SELECT Id FROM Account WHERE Fax = null ORDER BY Id")
    assert feed.findtext("m:count", namespaces=NS) == str(len(expected))
    description = feed.find("a:entry/a:content/m:properties/d:Fax", NS)
    assert description.get(f"{{{M_NS}}}null") == "true" and description.text is None
    assert bool(feed.xpath("a:link[@rel='next']", namespaces=NS)) == (len(expected) > 50)
    assert feed.getchildren()[-1].get("rel") == "next" or len(expected) <= 50


def test_format_wins_over_accept(client):
    as_json = client.get("/odata/v2/Account?$top=1&$format=json", headers={"Accept": "application/atom+xml"})
    assert as_json.headers["Content-Type"].startswith("application/json")
    as_atom = client.get("/odata/v2/Account?$top=1&$format=atom", headers={"Accept": "application/json"})
    assert as_atom.headers["Content-Type"].startswith("application/atom+xml")
    by_accept = client.get("/odata/v2/Account?$top=1", headers={"Accept": "application/json"})
    assert by_accept.headers["Content-Type"].startswith("application/json")
    refused = client.get("/odata/v2/Account?$top=1", headers={"Accept": "text/csv"})
    assert refused.status_code == 406 and refused.headers["DataServiceVersion"] == "2.0"


# --- resources ------------------------------------------------------------------------------------------


def test_count_key_property_value_and_navigation(client, source):
    banking = soql_ids(source, "SELECT Id FROM Account WHERE Industry = 'Banking'")
    count = client.get("/odata/v2/Account/$count?$filter=Industry eq 'Banking'")
    assert count.status_code == 200 and count.data.decode() == str(len(banking))
    account_id = soql_records(source, "SELECT AccountId FROM Contact WHERE AccountId != null LIMIT 1")[0][
        "AccountId"
    ]
    account = soql_records(source, f"SELECT Id, Name FROM Account WHERE Id = '{account_id}'")[0]
    key = f"Account('{account['Id']}')"
    name = client.get(f"/odata/v2/{key}/Name?$format=json")
    assert name.get_json() == {"d": {"Name": account["Name"]}}
    xml = etree.fromstring(client.get(f"/odata/v2/{key}/Name").data)
    assert xml.tag == f"{{{D_NS}}}Name" and xml.text == account["Name"]
    raw = client.get(f"/odata/v2/{key}/Name/$value")
    assert raw.data.decode() == account["Name"] and raw.headers["Content-Type"].startswith("text/plain")
    contacts, _, _ = follow_json(client, f"/odata/v2/{key}/Contacts?$format=json&$select=Id")
    expected = soql_ids(source, f"SELECT Id FROM Contact WHERE AccountId = '{account['Id']}' ORDER BY Id")
    assert [c["Id"] for c in contacts] == expected
    assert client.get(f"/odata/v2/{key}/Contacts/$count").data.decode() == str(len(expected))
    parent = client.get(
        f"/odata/v2/Contact('{expected[0]}')/Account?$format=json&$select=Id,Name"
    ).get_json()["d"]
    assert parent["Id"] == account["Id"] and parent["Name"] == account["Name"]


def test_expand_inline_json_and_atom(client, source):
    record = soql_records(source, "SELECT AccountId FROM Contact WHERE AccountId != null LIMIT 1")[0]
    account_id = record["AccountId"]
    url = f"/odata/v2/Account('{account_id}')?$expand=Contacts&$select=Id,Contacts"
    entry = client.get(url + "&$format=json").get_json()["d"]
    expected = soql_ids(source, f"SELECT Id FROM Contact WHERE AccountId = '{account_id}'")
    assert sorted(c["Id"] for c in entry["Contacts"]["results"]) == sorted(expected)
    atom = etree.fromstring(client.get(url).data)
    inline = atom.xpath("a:link[@title='Contacts']/m:inline/a:feed/a:entry", namespaces=NS)
    assert len(inline) == len(expected)


def test_same_rows_as_the_v4_face(client):
    pairs = [
        (
            "substringof('Acme',Name) eq true or substringof('Acme',Phone) eq true",
            "contains(Name,'Acme') eq true or contains(Phone,'Acme') eq true",
        ),
        (
            "AnnualRevenue ge 1000000M and NumberOfEmployees lt 500L",
            "AnnualRevenue ge 1000000 and NumberOfEmployees lt 500",
        ),
        ("CreatedDate ge datetime'2024-01-01T00:00:00'", "CreatedDate ge 2024-01-01T00:00:00Z"),
        ("startswith(tolower(Name),'a') eq true", "startswith(tolower(Name),'a') eq true"),
    ]
    for v2, v4 in pairs:
        v2_rows, _, _ = follow_json(
            client, f"/odata/v2/Account?$format=json&$select=Id&$orderby=Name desc&$filter={v2}"
        )
        v4_rows = follow_v4(client, f"/odata/Account?$select=Id&$orderby=Name desc&$filter={v4}")
        assert [r["Id"] for r in v2_rows] == [r["Id"] for r in v4_rows], v2


def test_salesforce_connect_2_shapes(client, source):
    """What the OData 2.0 adapter sends: $inlinecount, a substringof search chain, $top one above the page."""
    url = (
        "/odata/v2/Account?$select=Id,Name,Phone&$inlinecount=allpages&$top=26"
        "&$filter=substringof('Acme',Name) eq true or substringof('Acme',Phone) eq true"
    )
    body = client.get(url + "&$format=json").get_json()["d"]
    expected = soql_ids(
        source, "SELECT Id FROM Account WHERE Name LIKE '%Acme%' OR Phone LIKE '%Acme%' ORDER BY Id"
    )
    assert body["__count"] == str(len(expected)) and expected
    assert [r["Id"] for r in body["results"]] == expected[:26]
    feed = etree.fromstring(client.get(url, headers={"Accept": "application/atom+xml"}).data)
    assert feed.findtext("m:count", namespaces=NS) == str(len(expected))
    atom_ids = [e.findtext("a:content/m:properties/d:Id", namespaces=NS) for e in feed.findall("a:entry", NS)]
    assert atom_ids == expected[:26]


def test_atom_round_trip_read_then_conditional_merge(client, source):
    """The adapter in Atom mode: read an entry, send the change back as an Atom entry with its m:etag."""
    record_id = soql_ids(source, "SELECT Id FROM Account ORDER BY Id LIMIT 1")[0]
    entry = etree.fromstring(client.get(f"/odata/v2/Account('{record_id}')").data)
    etag = entry.get(f"{{{M_NS}}}etag")
    body = (
        f'<entry xmlns="{ATOM_NS}" xmlns:m="{M_NS}" xmlns:d="{D_NS}"><content type="application/xml">'
        "<m:properties><d:Phone>555-0199</d:Phone></m:properties></content></entry>"
    )
    headers = {"If-Match": etag, "X-HTTP-Method": "MERGE", "Content-Type": "application/atom+xml"}
    assert client.post(f"/odata/v2/Account('{record_id}')", data=body, headers=headers).status_code == 204
    assert (
        next(source.query_records(f"SELECT Phone FROM Account WHERE Id = '{record_id}'"))["Phone"]
        == "555-0199"
    )
    stale = client.post(f"/odata/v2/Account('{record_id}')", data=body, headers=headers)
    assert stale.status_code == 412 and etree.fromstring(stale.data).tag == f"{{{M_NS}}}error"


def test_custom_search_parameter_is_answered_as_v4_search(client, source):
    """Salesforce Connect's "Custom Query Option for Salesforce Search" (here doSearch): the same SOSL search,
    the same rows and count as V4's $search, in JSON and in Atom."""
    v2 = client.get("/odata/v2/Account?$format=json&$select=Id,Name&$inlinecount=allpages&doSearch=Acme")
    v4 = client.get("/odata/Account?$select=Id,Name&$count=true&$search=Acme")
    assert v2.status_code == v4.status_code == 200
    v2_body, v4_body = v2.get_json()["d"], v4.get_json()
    assert [r["Id"] for r in v2_body["results"]] == [r["Id"] for r in v4_body["value"]]
    assert v2_body["__count"] == str(v4_body["@odata.count"]) and v4_body["@odata.count"] > 0
    assert all("acme" in r["Name"].lower() for r in v2_body["results"])
    atom = etree.fromstring(client.get("/odata/v2/Account?$select=Id&doSearch=Acme").data)
    assert len(atom.findall("a:entry", NS)) == len(v2_body["results"])
    count = client.get("/odata/v2/Account/$count?doSearch=Acme")
    assert count.data.decode() == v2_body["__count"]


def test_search_refusals_are_those_of_v4(client):
    v2 = client.get("/odata/v2/Account?$format=json&doSearch=a")
    v4 = client.get("/odata/Account?$search=a")
    assert v2.status_code == v4.status_code == 400
    assert v2.get_json()["error"]["message"]["value"] == v4.get_json()["error"]["message"]


def test_metadata_says_searchable_only_with_the_search_parameter(client):
    root = etree.fromstring(client.get("/odata/v2/$metadata").data)
    sap = "{http://www.sap.com/Protocols/SAPData}searchable"
    flags = {
        e.get("Name"): e.get(sap)
        for e in root.iter("{http://schemas.microsoft.com/ado/2008/09/edm}EntitySet")
    }
    assert flags["Account"] == "true"
    source, _ = embedded_source(5)
    plain = create_app(source=source, environ={}, host="127.0.0.1", embedded=True).test_client()
    root = etree.fromstring(plain.get("/odata/v2/$metadata").data)
    assert {e.get(sap) for e in root.iter("{http://schemas.microsoft.com/ado/2008/09/edm}EntitySet")} == {
        "false"
    }


def test_service_root_without_slash(client):
    response = client.get("/odata/v2?$format=json")
    assert response.status_code == 200 and response.get_json()["d"]["EntitySets"]


# --- refusals -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "status", "fragment"),
    [
        ("Account?$skip=10", 501, "Server Driven Pagination"),
        ("Nope", 404, "Nope"),
        ("Account?$count=true", 400, "$inlinecount=allpages"),
        ("Account?$inlinecount=some", 400, "allpages or none"),
        ("Account?$filter=substringof('a')", 400, "two arguments"),
        ("Account?$filter=Secret eq 1", 400, "Secret"),
        ("Account?$orderby=Description", 400, "Description"),
        ("Account('nope')", 404, "nope"),
        ("Account?$top=-1", 400, "$top"),
        ("Account?$select=Id&$select=Name", 400, "more than once"),
        ("Account?$skiptoken=forged", 400, "skiptoken"),
    ],
)
def test_refusals_in_v2_error_shapes(client, url, status, fragment):
    response = client.get("/odata/v2/" + url + ("&" if "?" in url else "?") + "$format=json")
    assert response.status_code == status
    assert response.headers["DataServiceVersion"] == "2.0"
    error = response.get_json()["error"]
    assert error["message"]["lang"] == "en-US" and fragment in error["message"]["value"] + str(
        error.get("innererror")
    )
    xml = client.get("/odata/v2/" + url)
    assert xml.status_code == status and xml.headers["Content-Type"].startswith("application/xml")
    root = etree.fromstring(xml.data)
    assert root.tag == f"{{{M_NS}}}error" and root.findtext("m:code", namespaces=NS) == error["code"]


def test_v4_next_link_does_not_serve_v2(client):
    body = client.get("/odata/Account?$select=Id").get_json()
    token = body["@odata.nextLink"].split("$skiptoken=")[1]
    response = client.get(f"/odata/v2/Account?$select=Id&$format=json&$skiptoken={token}")
    assert response.status_code == 400


def test_max_data_service_version_below_2_is_refused(client):
    response = client.get("/odata/v2/Account?$top=1", headers={"MaxDataServiceVersion": "1.0"})
    assert response.status_code == 400


def test_access_rules_are_those_of_the_v4_face():
    source, _ = embedded_source(20)
    app = create_app(source=source, environ={"GATEWAY_API_KEYS": "k-123"}, host="0.0.0.0")
    client = app.test_client()
    refused = client.get("/odata/v2/Account?$format=json")
    assert refused.status_code == 401 and refused.headers["DataServiceVersion"] == "2.0"
    assert "WWW-Authenticate" in refused.headers and "error" in refused.get_json()
    allowed = client.get("/odata/v2/Account?$format=json", headers={"Authorization": "Bearer k-123"})
    assert allowed.status_code == 200


def test_if_none_match_is_304_while_unchanged(client, source):
    record_id = soql_ids(source, "SELECT Id FROM Account LIMIT 1")[0]
    first = client.get(f"/odata/v2/Account('{record_id}')")
    again = client.get(f"/odata/v2/Account('{record_id}')", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.headers["ETag"] == first.headers["ETag"]
    other = client.get(
        f"/odata/v2/Account('{record_id}')", headers={"If-None-Match": 'W/"1999-01-01T00:00:00.000Z"'}
    )
    assert other.status_code == 200


def test_text_xml_cannot_carry_is_replaced_so_atom_stays_well_formed(app, client, source):
    record_id = soql_ids(source, "SELECT Id FROM Account LIMIT 1")[0]
    source.update("Account", record_id, {"Description": "bell\x07 and null\x00 end"})
    response = client.get(f"/odata/v2/Account('{record_id}')?$select=Description")
    entry = etree.fromstring(response.data)
    text = entry.findtext("a:content/m:properties/d:Description", namespaces=NS)
    assert text == "bell\ufffd and null\ufffd end"
    as_json = client.get(f"/odata/v2/Account('{record_id}')?$select=Description&$format=json")
    assert as_json.get_json()["d"]["Description"] == "bell\x07 and null\x00 end"


def test_select_through_an_expansion_by_path(client, source):
    """V2 selects the properties of an expanded entity with $select=Nav/Prop (V4 nests $select in $expand)."""
    url = "/odata/v2/Contact?$top=3&$select=LastName,Account/Name&$expand=Account&$format=json"
    rows = client.get(url).get_json()["d"]["results"]
    expected = soql_records(source, "SELECT LastName, Account.Name FROM Contact ORDER BY Id LIMIT 3")
    for row, record in zip(rows, expected, strict=True):
        assert set(row) == {"__metadata", "LastName", "Account"}
        assert row["LastName"] == record["LastName"]
        account = row["Account"]
        assert (
            account
            and set(account) == {"__metadata", "Name"}
            and account["Name"] == record["Account"]["Name"]
        ) or (account is None and record["Account"] is None)
    children = client.get(
        "/odata/v2/Account?$top=2&$select=Name,Contacts/LastName&$expand=Contacts&$format=json"
    ).get_json()["d"]["results"]
    assert all(set(c) == {"__metadata", "LastName"} for row in children for c in row["Contacts"]["results"])
    refused = client.get("/odata/v2/Contact?$select=Account/Name&$format=json")
    assert refused.status_code == 400 and "$expand=Account" in refused.get_json()["error"]["message"]["value"]
    nested = client.get("/odata/v2/Contact?$expand=Account($select=Name)&$format=json")
    assert nested.status_code == 400


def test_search_chain_over_a_long_text_area_is_refused_as_on_v4(client):
    v2 = client.get("/odata/v2/Account?$format=json&$filter=substringof('Acme',Description) eq true")
    v4 = client.get("/odata/Account?$filter=contains(Description,'Acme') eq true")
    assert v2.status_code == v4.status_code == 400


def test_a_request_is_authenticated_once(monkeypatch):
    """The operation layer authenticates every face's request; the V2 blueprint reuses that principal
    (a password hash is verified once, not twice)."""
    from gateway.odata.http.access import hash_password

    demo_source, _ = embedded_source(5)
    users = f"ana:{hash_password('s3cret-pass')}"
    app = create_app(source=demo_source, environ={"GATEWAY_USERS": users}, host="0.0.0.0")
    access = app.extensions["odata_gateway"].access
    calls = []
    original = access.authenticate

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(access, "authenticate", counting)
    response = app.test_client().get("/odata/v2/Account?$top=1", auth=("ana", "s3cret-pass"))
    assert response.status_code == 200 and len(calls) == 1
