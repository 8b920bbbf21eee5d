"""Issue 8, items 3 and 4: client input never yields a 5xx other than 501, and the status says the truth —
400 for what the OASIS ABNF does not allow or Salesforce cannot hold, 501 (naming the construct) for valid
OData the gateway does not implement, and the gateway decides malformed Ids and out-of-range literals
itself instead of passing Salesforce's refusal (and its SOQL text) on as a 502."""

from __future__ import annotations

import pytest

from tests.support import embedded_gateway


@pytest.fixture(scope="module")
def gateway():
    app, source, store = embedded_gateway(5)
    return app.test_client(), source, store


@pytest.mark.parametrize(
    ("odata", "status", "says"),
    [
        ("CreatedDate gt 9999-12-31T23:59:59-14:00", 400, "outside the dates Salesforce accepts"),
        ("CreatedDate lt 1699-12-31T00:00:00Z", 400, "outside the dates Salesforce accepts"),
        ("AnnualRevenue gt 1e400", 400, "outside the numbers SOQL accepts"),
        ("AnnualRevenue gt 99999999999999999999", 400, "outside the numbers SOQL accepts"),
        ("NumberOfEmployees eq 3000000000", 400, "outside the range of Edm.Int32"),
        ("Id eq '001000000000001AAZ'", 400, "not a Salesforce Id"),
        ("Id eq 'xyz'", 400, "not a Salesforce Id"),
        ("OwnerId in ('005000000000001AAA', 'nope')", 400, "not a Salesforce Id"),
        ("Name in (Name,Site)", 400, "list of literals"),
        ("AnnualRevenue gt INF", 501, "INF"),
        ("AnnualRevenue gt -INF", 501, "INF"),
        ("AnnualRevenue eq NaN", 501, "NaN"),
        ("$it/Name eq 'a'", 501, "$it"),
        ("$root/Account('001000000000001AAA')/Name eq Name", 501, "$root"),
        ("cast(Name, Edm.String) eq 'a'", 501, "cast()"),
        ("isof(Name, Edm.String)", 501, "isof()"),
        ("Industry has 'Banking'", 501, "has operator"),
        ("AnnualRevenue divby 2 eq 1", 501, "divby"),
        ("Name eq @p", 501, "parameter aliases"),
        ("Name in ['a','b']", 501, "JSON array"),
        ("nosuchfunction(Name) eq 'a'", 400, "unknown function"),
    ],
)
def test_filter_status_names_the_real_problem(gateway, odata, status, says):
    client, source, store = gateway
    calls = source.api_calls
    response = client.get("/odata/Account", query_string={"$filter": odata})
    assert response.status_code == status
    message = response.get_json()["error"]["message"]
    assert says in message
    assert "SELECT" not in message
    assert source.api_calls == calls


def test_valid_id_and_in_range_literals_still_reach_the_source(gateway):
    client, source, store = gateway
    with store.lock:
        (account_id,) = store.conn.execute('SELECT "Id" FROM "Account" ORDER BY "Id" LIMIT 1').fetchone()
    for odata in (
        f"Id eq '{account_id}'",
        f"Id eq '{account_id[:15]}'",
        "AnnualRevenue lt 999999999999999999",
    ):
        response = client.get("/odata/Account", query_string={"$filter": odata, "$select": "Id"})
        assert response.status_code == 200, (odata, response.get_json())
    response = client.get(
        "/odata/Account", query_string={"$filter": f"Id eq '{account_id}'", "$select": "Id"}
    )
    assert [r["Id"] for r in response.get_json()["value"]] == [account_id]
