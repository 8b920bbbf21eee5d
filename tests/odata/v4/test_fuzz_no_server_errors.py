"""Issue 8, item 3: no client input yields a 5xx other than 501, nor a trace. Hypothesis throws generated
``$filter``, ``$orderby``, ``$select``, ``$expand``, keys, JSON bodies and ``$batch`` bodies (JSON and
multipart) at the gateway on a throwaway embedded org; every answer must be a 2xx–4xx or 501 with an OData
error body when it is an error. Examples are bounded so the default suite stays quick."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.app import create_app
from gateway.source.embedded import embedded_source

SOURCE, STORE = embedded_source(3)
CLIENT = create_app(source=SOURCE, environ={}, host="127.0.0.1", embedded=True).test_client()
with STORE.lock:
    ACCOUNT_ID = STORE.conn.execute('SELECT "Id" FROM "Account" LIMIT 1').fetchone()[0]
    CONTACT_ID = STORE.conn.execute('SELECT "Id" FROM "Contact" LIMIT 1').fetchone()[0]

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NAMES = [
    "Name",
    "Industry",
    "AnnualRevenue",
    "NumberOfEmployees",
    "CreatedDate",
    "Id",
    "OwnerId",
    "Owner/Name",
    "Contacts",
    "Parent/Name",
    "External_Id__c",
    "Description",
    "IsDeleted",
    "Nope",
    "$it",
    "@p",
    "Site",
]
LITERALS = [
    "'a'",
    "'O''Brien'",
    "''",
    "null",
    "true",
    "false",
    "0",
    "-1",
    "1.5",
    "1e400",
    "99999999999999999999",
    "INF",
    "-INF",
    "NaN",
    "2024-01-31",
    "2024-02-30",
    "2024-01-31T10:00:00Z",
    "9999-12-31T23:59:59-14:00",
    f"'{ACCOUNT_ID}'",
    f"'{CONTACT_ID}'",
    "'001'",
    "['a']",
    "('a','b')",
    "('a')",
    "()",
]
OPERATORS = [
    "eq",
    "ne",
    "gt",
    "ge",
    "lt",
    "le",
    "in",
    "and",
    "or",
    "not",
    "has",
    "add",
    "divby",
    "(",
    ")",
    ",",
    "/",
    "contains(",
    "startswith(",
    "tolower(",
    "year(",
    "cast(",
    "any(",
    "length(",
    "$count",
]
TOKEN = st.sampled_from(NAMES + LITERALS + OPERATORS)
EXPRESSION = st.one_of(
    st.lists(TOKEN, max_size=12).map(" ".join),
    st.builds(
        lambda n, o, v: f"{n} {o} {v}",
        st.sampled_from(NAMES),
        st.sampled_from(OPERATORS[:7]),
        st.sampled_from(LITERALS),
    ),
    st.text(max_size=40),
)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
ENTITY = st.one_of(
    JSON_VALUE,
    st.dictionaries(
        st.sampled_from(NAMES + ["Account@odata.bind", "Parent@odata.bind", "@odata.type"]),
        JSON_VALUE | st.sampled_from(LITERALS + [f"Account('{CONTACT_ID}')", "Account('x')"]),
        max_size=5,
    ),
)


def check(response) -> None:
    status = response.status_code
    text = response.get_data(as_text=True)
    assert status < 500 or status == 501, (status, text[:500])
    assert "Traceback" not in text and 'File "' not in text
    if status >= 400 and text:
        error = json.loads(text)["error"]
        assert error["code"] and error["message"]


@FUZZ
@given(filter_text=EXPRESSION, orderby=EXPRESSION, select=EXPRESSION)
def test_query_options_never_give_a_server_error(filter_text, orderby, select):
    for args in (
        {"$filter": filter_text},
        {"$orderby": orderby},
        {"$select": select},
        {"$expand": select},
        {"$filter": filter_text, "$orderby": orderby, "$select": select, "$count": "true"},
    ):
        check(CLIENT.get("/odata/Account", query_string=args))


@FUZZ
@given(
    key=st.text(max_size=30) | st.sampled_from(LITERALS),
    member=st.sampled_from(["", "/Name", "/Contacts", "/$count", "/Name/$value", "/Nope", "/Owner"]),
    by=st.sampled_from(["", "Id=", "External_Id__c=", "Nope="]),
)
def test_keys_never_give_a_server_error(key, member, by):
    quoted = "'" + key.replace("'", "''") + "'"
    check(CLIENT.get(f"/odata/Account({by}{quoted}){member}"))
    check(CLIENT.get(f"/odata/Account({key}){member}"))


@FUZZ
@given(
    body=ENTITY,
    method=st.sampled_from(["POST", "PATCH", "PUT", "DELETE"]),
    target=st.sampled_from(
        [
            "Account",
            f"Account('{ACCOUNT_ID}')",
            f"Account('{CONTACT_ID}')",
            "Account(External_Id__c='F-1')",
            f"Account('{ACCOUNT_ID}')/Contacts",
        ]
    ),
)
def test_json_bodies_never_give_a_server_error(body, method, target):
    check(
        CLIENT.open(f"/odata/{target}", method=method, data=json.dumps(body), content_type="application/json")
    )


SUB_REQUEST = st.fixed_dictionaries(
    {
        "id": st.text(min_size=1, max_size=4),
        "method": st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT", "X"]),
        "url": st.sampled_from(
            [
                "",
                "/odata/",
                "Account",
                f"Account('{CONTACT_ID}')",
                f"Account('{ACCOUNT_ID}')",
                "Account?$filter=Name eq 'x'",
                "$batch",
                "$1",
                "Nope",
                "Account/$count",
            ]
        )
        | st.text(max_size=15),
    },
    optional={
        "atomicityGroup": st.sampled_from(["g", "h"]),
        "body": ENTITY,
        "headers": st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=2),
        "dependsOn": st.lists(st.text(max_size=3), max_size=2),
    },
)


@FUZZ
@given(requests=st.lists(SUB_REQUEST, max_size=4) | JSON_VALUE)
def test_json_batches_never_give_a_server_error(requests):
    body = {"requests": requests} if isinstance(requests, list) else requests
    check(CLIENT.post("/odata/$batch", data=json.dumps(body), content_type="application/json"))


@FUZZ
@given(
    boundary=st.text(min_size=1, max_size=12),
    parts=st.lists(st.text(max_size=80), max_size=3),
    method=st.sampled_from(["GET", "POST", "PATCH", "DELETE"]),
    url=st.text(max_size=20),
)
def test_multipart_batches_never_give_a_server_error(boundary, parts, method, url):
    head = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
    items = [
        f"--{boundary}\r\n{head}{method} {url} HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{p}\r\n"
        for p in parts or [""]
    ]
    data = ("".join(items) + f"--{boundary}--\r\n").encode("utf-8", "surrogatepass")
    content_type = "multipart/mixed; boundary=" + boundary.replace("\r", "").replace("\n", "")
    check(CLIENT.post("/odata/$batch", data=data, headers={"Content-Type": content_type}))
