"""Issue 8, item 2: work is bounded before it is done — the SOQL of a filter grows linearly, the statement
limit is checked while printing, long and deep filters are answered exactly or refused with a 400 that
names the limit, and a query too long for a URL still reaches the source in one API call."""

from __future__ import annotations

import time

import pytest

from gateway.odata.read.query_options import MAX_FILTER_DEPTH, MAX_FILTER_TERMS
from gateway.soql.printer import MAX_STATEMENT, StatementTooLong, print_soql
from gateway.soql.syntax import Comparison, Field, Or, Query, StringLiteral
from tests.odata.read.model_fixture import where
from tests.support import embedded_gateway


@pytest.fixture(scope="module")
def gateway():
    app, source, store = embedded_gateway(5)
    return app.test_client(), source, store


def get(client, filter_text: str, path: str = "/odata/Account"):
    return client.get(path, query_string={"$filter": filter_text, "$select": "Name"})


def account_names(store) -> list[str]:
    with store.lock:
        return [r[0] for r in store.conn.execute('SELECT "Name" FROM "Account" WHERE "IsDeleted" = 0')]


@pytest.mark.parametrize("terms", [5, 20, 200])
def test_and_chain_compared_with_null_grows_linearly(terms):
    """20 terms made 60 million characters of SOQL (each term doubled it); now a few per filter character."""
    odata = "(" + " and ".join(f"contains(Name,'a{i}')" for i in range(terms)) + ") eq null"
    assert len(where(odata)) < 5 * len(odata)
    nested = " or ".join(
        f"(contains(Name,'a{i}') eq null or not contains(Name,'b{i}'))" for i in range(terms)
    )
    assert len(where(f"({nested}) eq false")) < 8 * len(nested)


def test_and_chain_compared_with_null_is_answered_quickly_and_exactly(gateway):
    client, source, store = gateway
    started = time.monotonic()
    response = get(
        client, "(" + " and ".join(f"contains(Name,'{c}')" for c in "abcdefghijklmnopqrst") + ") eq null"
    )
    assert time.monotonic() - started < 2
    assert response.status_code == 200
    assert response.get_json()["value"] == []  # Name is never null in the org

    # the oracle: Names containing every letter a..c, asked as a plain filter and through "eq false" / null
    response = get(client, "(contains(Name,'a') and contains(Name,'e')) eq false")
    expected = sorted(n for n in account_names(store) if not ("a" in n.lower() and "e" in n.lower()))
    assert sorted(r["Name"] for r in response.get_json()["value"]) == expected


def test_statement_limit_is_checked_while_printing_not_after():
    huge = Query(
        (Field(("Id",)),),
        "Account",
        Or(tuple(Comparison(Field(("Name",)), "=", StringLiteral("x" * 50)) for _ in range(100_000))),
    )
    started = time.monotonic()
    with pytest.raises(StatementTooLong):
        print_soql(huge, max_length=MAX_STATEMENT)
    assert time.monotonic() - started < 1  # stops at 100,000 characters, not after 6 million


def test_statement_over_the_limit_is_400_without_a_call(gateway):
    client, source, store = gateway
    calls = source.api_calls
    values = ",".join(f"'{'v' * 30}{i}'" for i in range(3500))
    response = get(client, f"Name in ({values})")
    assert response.status_code == 400
    assert "100000" in response.get_json()["error"]["message"]
    assert source.api_calls == calls


def test_thousand_term_or_is_answered_exactly_in_one_call(gateway):
    """Its SOQL is too long for a URL (Salesforce refuses URIs over 16 KB): it travels in a Composite body."""
    client, source, store = gateway
    names = account_names(store)
    odata = (
        " or ".join(f"Name eq 'missing {i}'" for i in range(MAX_FILTER_TERMS - 1))
        + f" or Name eq '{names[0]}'"
    )
    calls = source.api_calls
    response = get(client, odata)
    assert response.status_code == 200, response.get_json()
    assert [r["Name"] for r in response.get_json()["value"]] == [n for n in names if n == names[0]]
    assert source.api_calls == calls + 1


@pytest.mark.parametrize(
    ("odata", "limit", "code"),
    [
        (
            " or ".join(f"Name eq '{i}'" for i in range(MAX_FILTER_TERMS + 1)),
            str(MAX_FILTER_TERMS),
            "FilterTooLong",
        ),
        ("not " * 1000 + "(Name eq 'x')", str(MAX_FILTER_DEPTH), "FilterTooDeep"),
        ("(" * 1000 + "Name eq 'x'" + ")" * 1000, str(MAX_FILTER_DEPTH), "FilterTooDeep"),
        ("/".join(["Parent"] * 2000) + "/Name eq 'x'", str(MAX_FILTER_DEPTH), "FilterTooDeep"),
    ],
    ids=["or-of-1001", "not-1000-deep", "parentheses-1000-deep", "path-2000-deep"],
)
def test_long_or_deep_filter_is_400_naming_the_limit(gateway, odata, limit, code):
    client, source, store = gateway
    calls = source.api_calls
    response = get(client, odata)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert (error["code"], error["target"]) == (code, "$filter")
    assert limit in error["message"]
    assert source.api_calls == calls


def test_filter_at_the_depth_limit_is_answered(gateway):
    client, source, store = gateway
    depth = MAX_FILTER_DEPTH // 2
    response = get(client, "not " * (depth // 2 * 2) + "(" * depth + "Name eq 'nobody'" + ")" * depth)
    assert response.status_code == 200
    assert response.get_json()["value"] == []


def test_deep_filter_inside_a_batch_is_400_for_that_part(gateway):
    client, source, store = gateway
    deep = "(" * 500 + "Name eq 'x'" + ")" * 500
    response = client.post(
        "/odata/$batch",
        json={"requests": [{"id": "1", "method": "GET", "url": f"Account?$filter={deep}"}]},
    )
    assert response.status_code == 200
    (part,) = response.get_json()["responses"]
    assert part["status"] == 400
    assert part["body"]["error"]["code"] == "FilterTooDeep"


def test_deeply_nested_expand_is_400_naming_the_limit(gateway):
    client, source, store = gateway
    expand = "Contacts($expand=" * 1000 + "Account" + ")" * 1000
    response = client.get("/odata/Account", query_string={"$expand": expand})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert (error["code"], str(MAX_FILTER_DEPTH) in error["message"]) == ("ExpandTooDeep", True)
