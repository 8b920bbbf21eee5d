"""The local org's SOSL: results compared with an oracle that applies the documented matching rules to the
same records; the index follows every write; scopes, WHERE/ORDER BY/LIMIT/OFFSET; Salesforce's errors;
the REST endpoint's shape, API count and request log, through simple-salesforce too."""

from __future__ import annotations

import json
import random
import re
import unicodedata

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from gateway.localorg.api import create_app
from gateway.localorg.config import LocalOrgConfig
from gateway.localorg.errors import SalesforceError
from gateway.localorg.schema import Schema
from gateway.localorg.search import search
from gateway.localorg.store import Store
from gateway.soql.sosl import Phrase, SearchAnd, SearchNot, SearchOr, Term, Wildcard
from gateway.soql.sosl_printer import print_search_expr
from gateway.source.wsgi_transport import WsgiAdapter

V = "/services/data/v59.0"
AUTH = {"Authorization": "Bearer T"}


def describes() -> list[dict]:
    return [
        {
            "name": "Account",
            "fields": [
                {"name": "Name", "type": "string", "nillable": False, "nameField": True},
                {"name": "Site", "type": "string"},
                {"name": "Phone", "type": "phone"},
                {"name": "Industry", "type": "picklist", "picklistValues": ["Banking", "Énergie", "Retail"]},
                {"name": "Description", "type": "textarea", "length": 32000},
                {"name": "Website", "type": "url"},
                {"name": "Employees", "type": "int"},
            ],
        },
        {
            "name": "Contact",
            "fields": [
                {"name": "LastName", "type": "string", "nillable": False},
                {"name": "Name", "type": "string", "createable": False, "nameField": True},
                {"name": "FirstName", "type": "string"},
                {"name": "Email", "type": "email"},
                {"name": "AccountId", "type": "reference", "referenceTo": ["Account"]},
            ],
        },
        {"name": "Secret__c", "searchable": False, "fields": [{"name": "Name", "type": "string"}]},
    ]


@pytest.fixture
def store() -> Store:
    return Store(Schema.from_describes(describes()))


def ids_of(records: list[dict]) -> list[str]:
    return [r["Id"] for r in records]


# --- the oracle: the documented rules, applied directly ------------------------------------------


def oracle_words(text: str | None) -> list[str]:
    """Maximal runs of letters and digits, case and accents ignored (written independently of the engine)."""
    if not text:
        return []
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()
    out, word = [], ""
    for ch in plain:
        if ch.isalnum():
            word += ch
        elif word:
            out.append(word)
            word = ""
    return out + ([word] if word else [])


def oracle_term(parts: tuple) -> list[re.Pattern]:
    text = "".join({"*": "\x01", "?": "\x02"}[p.kind] if isinstance(p, Wildcard) else p for p in parts)
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()
    runs = re.findall(r"(?:[^\W_]|[\x01\x02])+", plain)
    return [re.compile(re.escape(r).replace("\x01", ".*").replace("\x02", ".")) for r in runs]


def oracle_matches(expr, fields: list[str | None]) -> bool:
    match expr:
        case Term(parts) | Phrase(parts):
            patterns = oracle_term(parts)
            for value in fields:
                ws = oracle_words(value)
                for i in range(len(ws) - len(patterns) + 1):
                    if all(p.fullmatch(ws[i + k]) for k, p in enumerate(patterns)):
                        return True
            return False
        case SearchAnd(items):
            return all(
                not oracle_matches(i.item, fields) if isinstance(i, SearchNot) else oracle_matches(i, fields)
                for i in items
            )
        case SearchOr(items):
            return any(oracle_matches(i, fields) for i in items)


ACCOUNT_TEXT_FIELDS = ("Name", "Site", "Phone", "Industry", "Description", "Website")
VOCABULARY = [
    "acme",
    "Acmé",
    "ACNE",
    "ace",
    "globex",
    "Glöbex",
    "ext",
    "00017",
    "corp",
    "inc",
    "Straße",
    "strasse",
    "ab",
    "über",
    "uber",
    "東京",
    "x1",
    "banking",
]
SEPARATORS = [" ", "-", ", ", "_", "/", ".", " & "]


def random_text(rand: random.Random, words: int) -> str:
    out = rand.choice(VOCABULARY)
    for _ in range(words - 1):
        out += rand.choice(SEPARATORS) + rand.choice(VOCABULARY)
    return out


def random_accounts(seed: int, count: int) -> list[dict]:
    rand = random.Random(seed)
    rows = []
    for _ in range(count):
        row = {"Name": random_text(rand, rand.randint(1, 3))}
        for name in ("Site", "Description", "Website"):
            if rand.random() < 0.6:
                row[name] = random_text(rand, rand.randint(1, 6))
        row["Phone"] = rand.choice([None, "(555) 123-4567", "+1 555 00017"])
        row["Industry"] = rand.choice([None, "Banking", "Énergie", "Retail"])
        rows.append(row)
    return rows


_leaf_terms = st.sampled_from(
    [
        Term.of(w)
        for w in (
            "acme",
            "ACME",
            "acmé",
            "Glöbex",
            "strasse",
            "straße",
            "00017",
            "ext-00017",
            "uber",
            "東京",
            "banking",
            "energie",
            "555",
            "x1",
            "ab",
        )
    ]
    + [
        Term(("ac", Wildcard("*"))),
        Term(("ac", Wildcard("?"), "e")),
        Term(("gl", Wildcard("*"), "x")),
        Term(("ex", Wildcard("?"))),
        Phrase.of("acme corp"),
        Phrase.of("EXT 00017"),
        Phrase(("ext 000", Wildcard("*"))),
        Phrase(("acme ac", Wildcard("?"), "e")),
    ]
)


def _compound(children):
    return st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda items: SearchOr(tuple(items))),
        st.tuples(
            children, st.lists(st.one_of(children, children.map(SearchNot)), min_size=1, max_size=2)
        ).map(lambda t: SearchAnd((t[0], *t[1]))),
    )


_expressions = st.recursive(_leaf_terms, _compound, max_leaves=5)


@pytest.fixture(scope="module")
def oracle_store() -> tuple[Store, list[dict]]:
    store = Store(Schema.from_describes(describes()))
    rows = random_accounts(7, 400)
    loaded = store.load_data({"Account": rows})["Account"]
    # some records change and some are deleted after the index exists: the oracle sees their current state
    search(store, "FIND {acme} RETURNING Account(Id)")
    rand = random.Random(3)
    for record_id, row in zip(loaded[:60], rows[:60], strict=True):
        row["Name"] = random_text(rand, 2)
        store.update("Account", record_id, {"Name": row["Name"]})
    for record_id, row in zip(loaded[60:90], rows[60:90], strict=True):
        store.delete("Account", record_id)
        row["deleted"] = True
    for _ in range(20):
        row = {"Name": random_text(rand, 2), "Description": random_text(rand, 4)}
        loaded.append(store.insert("Account", row))
        rows.append(row)
    for record_id, row in zip(loaded, rows, strict=True):
        row["Id"] = record_id
    return store, rows


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_expressions, st.sampled_from(["ALL", "NAME", "PHONE"]))
def test_search_finds_exactly_what_the_documented_rules_find(oracle_store, expr, scope):
    store, rows = oracle_store
    fields = {"ALL": ACCOUNT_TEXT_FIELDS, "NAME": ("Name",), "PHONE": ("Phone",)}[scope]
    expected = sorted(
        r["Id"] for r in rows if not r.get("deleted") and oracle_matches(expr, [r.get(f) for f in fields])
    )
    text = f"FIND {{{print_search_expr(expr)}}} IN {scope} FIELDS RETURNING Account(Id ORDER BY Id)"
    try:
        found = ids_of(search(store, text))
    except SalesforceError as error:  # only the documented refusal: no term of two characters
        assert error.error_code == "MALFORMED_SEARCH"
        return
    assert found == expected[:2000]


# --- the index follows writes ----------------------------------------------------------------------


def test_created_updated_and_deleted_records_are_found_by_their_current_words(store):
    first = store.insert("Account", {"Name": "Initech Software"})
    assert ids_of(search(store, "FIND {initech} RETURNING Account(Id)")) == [first]
    second = store.insert("Account", {"Name": "Other", "Description": "supplier of INITECH parts"})
    assert ids_of(search(store, "FIND {initech} RETURNING Account(Id ORDER BY Name)")) == [first, second]
    store.update("Account", first, {"Name": "Globex"})
    assert ids_of(search(store, "FIND {initech} RETURNING Account(Id)")) == [second]
    assert ids_of(search(store, "FIND {globex} RETURNING Account(Id)")) == [first]
    store.update("Account", second, {"Employees": 5})  # a non-text change keeps its words
    assert ids_of(search(store, "FIND {initech} RETURNING Account(Id)")) == [second]
    store.delete("Account", second)
    assert search(store, "FIND {initech} RETURNING Account(Id)") == []
    composite = store.composite("create", [{"attributes": {"type": "Account"}, "Name": "Initech Two"}])
    assert ids_of(search(store, "FIND {initech} RETURNING Account(Id)")) == [composite[0]["id"]]


def test_a_failed_write_leaves_the_index_as_it_was(store):
    search(store, "FIND {acme} RETURNING Account(Id)")
    results = store.composite(
        "create",
        [{"attributes": {"type": "Account"}, "Name": "Rolled Back"}, {"attributes": {"type": "Account"}}],
        all_or_none=True,
    )
    assert not results[0]["success"]
    assert search(store, "FIND {rolled} RETURNING Account(Id)") == []


# --- scopes, RETURNING clauses, limits ------------------------------------------------------------


@pytest.fixture
def people(store) -> dict[str, str]:
    acme = store.insert("Account", {"Name": "Acme", "Phone": "+1 (555) 010-9999", "Employees": 10})
    beta = store.insert("Account", {"Name": "Beta", "Description": "acme reseller", "Employees": 50})
    gamma = store.insert("Account", {"Name": "Gamma Acme", "Website": "https://acme.example", "Employees": 5})
    ann = store.insert("Contact", {"LastName": "Zed", "FirstName": "Ann", "Email": "ann@acme.example"})
    return {"acme": acme, "beta": beta, "gamma": gamma, "ann": ann}


def test_scopes_search_name_email_and_phone_fields(store, people):
    assert ids_of(
        search(store, "FIND {acme} IN NAME FIELDS RETURNING Account(Id ORDER BY Name), Contact")
    ) == [
        people["acme"],
        people["gamma"],
    ]
    assert ids_of(search(store, "FIND {acme} IN EMAIL FIELDS RETURNING Account, Contact")) == [people["ann"]]
    assert ids_of(search(store, "FIND {555\\-010\\-9999} IN PHONE FIELDS RETURNING Account, Contact")) == [
        people["acme"]
    ]
    everything = search(store, "FIND {acme} RETURNING Account(Id ORDER BY Name), Contact(Id, Email)")
    assert ids_of(everything) == [people["acme"], people["beta"], people["gamma"], people["ann"]]
    assert everything[-1] == {
        "attributes": {"type": "Contact", "url": f"{V}/sobjects/Contact/{people['ann']}"},
        "Id": people["ann"],
        "Email": "ann@acme.example",
    }


def test_where_order_by_limit_and_offset_apply_to_each_object(store, people):
    found = search(
        store, "FIND {acme} RETURNING Account(Name, Employees WHERE Employees < 20 ORDER BY Employees DESC)"
    )
    assert [(r["Name"], r["Employees"]) for r in found] == [("Acme", 10), ("Gamma Acme", 5)]
    assert ids_of(search(store, "FIND {acme} RETURNING Account(Id ORDER BY Name LIMIT 1 OFFSET 1)")) == [
        people["beta"]
    ]
    assert len(search(store, "FIND {acme} RETURNING Account(Id), Contact(Id) LIMIT 2")) == 2
    without_returning = search(store, "FIND {acme}")
    assert sorted(ids_of(without_returning)) == sorted(people.values())


# --- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("FIND {a} RETURNING Account", "MALFORMED_SEARCH", "search term must be longer than one character"),
        ("FIND {a OR b*} RETURNING Account", "MALFORMED_SEARCH", "longer than one character"),
        ("FIND {*acme} RETURNING Account", "MALFORMED_SEARCH", "Wildcards cannot start"),
        ("FIND {acme|corp} RETURNING Account", "MALFORMED_SEARCH", "ERROR at Row:1:Column:11"),
        ("FIND {acme} RETURNING Account(Nope__c)", "INVALID_FIELD", "No such column 'Nope__c'"),
        ("FIND {acme} RETURNING Account(Id WHERE Description = 'x')", "INVALID_FIELD", "can not be filtered"),
        ("FIND {acme} RETURNING Nope__c", "INVALID_TYPE", "sObject type 'Nope__c' is not supported"),
        ("FIND {acme} RETURNING Secret__c", "INVALID_TYPE", "does not support search"),
        ("FIND {acme} RETURNING Account LIMIT 2001", "MALFORMED_SEARCH", "maximum LIMIT"),
        ("FIND {acme} RETURNING Account(Id LIMIT 5 OFFSET 2001)", "NUMBER_OUTSIDE_VALID_RANGE", "2000"),
        ("FIND {acme} RETURNING Account(Id OFFSET 1), Contact", "MALFORMED_SEARCH", "OFFSET"),
        ("FIND {" + "ab " * 3334 + "} RETURNING Account", "MALFORMED_SEARCH", "10,000"),
        (
            "FIND {" + "(" * 51 + "ab" + ")" * 51 + "} RETURNING Account",
            "MALFORMED_SEARCH",
            "at most 50 levels",
        ),
        (
            "FIND {ab} RETURNING Account(Id WHERE " + "(" * 3000 + "Name = 'x'" + ")" * 3000 + ")",
            "MALFORMED_SEARCH",
            "too complicated",
        ),
        (
            "FIND {ab} RETURNING Account(Id WHERE " + "NOT " * 400 + "Name = 'x')",
            "QUERY_TOO_COMPLICATED",
            "too complicated",
        ),
    ],
)
def test_refusals_are_salesforces(store, text, code, message):
    with pytest.raises(SalesforceError) as refused:
        search(store, text)
    assert refused.value.status == 400
    assert refused.value.error_code == code
    assert message in refused.value.message


def test_error_positions_point_into_the_statement(store):
    with pytest.raises(SalesforceError) as refused:
        search(store, "FIND {acme} RETURNING Account(Id, Nope__c)")
    assert refused.value.message.startswith("\nFIND {acme} RETURNING Account(Id, Nope__c)\n" + " " * 34 + "^")


# --- the REST endpoint ---------------------------------------------------------------------------


@pytest.fixture
def log_path(tmp_path):
    return tmp_path / "requests.jsonl"


@pytest.fixture
def app(store, log_path):
    return create_app(LocalOrgConfig(token="T", request_log=str(log_path)), store)


def test_search_endpoint_answers_salesforces_shape_counts_and_logs(app, store, people, log_path):
    client = app.test_client()
    text = "FIND {acme} IN NAME FIELDS RETURNING Account(Id, Name ORDER BY Name)"
    response = client.get(f"{V}/search/", query_string={"q": text}, headers=AUTH)
    assert response.status_code == 200
    assert response.get_json() == {
        "searchRecords": [
            {
                "attributes": {"type": "Account", "url": f"{V}/sobjects/Account/{people['acme']}"},
                "Id": people["acme"],
                "Name": "Acme",
            },
            {
                "attributes": {"type": "Account", "url": f"{V}/sobjects/Account/{people['gamma']}"},
                "Id": people["gamma"],
                "Name": "Gamma Acme",
            },
        ]
    }
    assert response.headers["Sforce-Limit-Info"] == "api-usage=1/15000"
    refused = client.get(f"{V}/search", query_string={"q": "FIND {acme"}, headers=AUTH)
    assert refused.status_code == 400
    assert refused.get_json()[0]["errorCode"] == "MALFORMED_SEARCH"
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=2/15000"
    assert client.get(f"{V}/search", headers=AUTH).get_json()[0]["errorCode"] == "MALFORMED_SEARCH"
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert [
        (entry["path"], entry["soql"], entry["status"], entry["rows"], entry["counted"]) for entry in lines
    ] == [
        (f"{V}/search/", text, 200, 2, True),
        (f"{V}/search", "FIND {acme", 400, None, True),
        (f"{V}/search", None, 400, None, True),
    ]
    assert client.get(f"{V}/search", query_string={"q": "FIND {acme}"}).status_code == 401


def test_simple_salesforce_searches_the_local_org(app, people):
    session = requests.Session()
    session.mount("https://", WsgiAdapter(app))
    sf = Salesforce(instance="localorg.test", session_id="T", session=session)
    found = sf.search("FIND {Gamma} RETURNING Account(Id, Name)")
    assert [r["Name"] for r in found["searchRecords"]] == ["Gamma Acme"]
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.search("FIND {x} RETURNING Account")
    assert refused.value.content[0]["errorCode"] == "MALFORMED_SEARCH"


# --- security: sharing and field-level security -----------------------------------------------------


def test_search_runs_as_the_user_sharing_and_hidden_fields_apply():
    import tomllib

    from gateway.localorg import demo
    from gateway.localorg.schema import load_schema
    from gateway.localorg.security import DEMO_SECURITY_PATH, parse_security
    from tests.localorg.test_security import ADMIN, EAST, MANAGER, WEST, as_user, owners_visible

    model = tomllib.loads(DEMO_SECURITY_PATH.read_text(encoding="utf-8"))
    model["profiles"]["Sales Rep"]["fields"]["Account.Site"] = "none"  # reps cannot read Site
    data = demo.generate_demo_data(accounts=40)
    store = Store(load_schema(demo.DEMO_SCHEMA_PATH))
    store.load_data(data)
    client = create_app(LocalOrgConfig(security=parse_security(model)), store).test_client()
    user_ids = {u["Username"]: u["Id"] for u in data["User"]}
    west_account = next(a for a in data["Account"] if a["OwnerId"] == user_ids[WEST])
    store.update("Account", west_account["Id"], {"Site": "Zyxwvu Plant"})

    def found(username: str, text: str) -> list[str]:
        response = client.get(f"{V}/search", query_string={"q": text}, headers=as_user(client, username))
        assert response.status_code == 200, response.get_json()
        return ids_of(response.get_json()["searchRecords"])

    assert found(ADMIN, "FIND {zyxwvu} RETURNING Account(Id)") == [west_account["Id"]]
    # a word only in Site: the west rep owns the record but cannot read Site, so it is not found through it
    assert found(WEST, "FIND {zyxwvu} RETURNING Account(Id)") == []
    # sharing: the manager reads Site but does not see the west rep's records
    assert found(MANAGER, "FIND {zyxwvu} RETURNING Account(Id)") == []
    # every result of a wide search is a record the user may see
    for username in (EAST, WEST, MANAGER):
        reachable = owners_visible(username, user_ids)
        expected = sorted(
            a["Id"] for a in data["Account"] if a["OwnerId"] in reachable and a["BillingCountry"] == "USA"
        )
        assert found(username, "FIND {usa} IN ALL FIELDS RETURNING Account(Id ORDER BY Id)") == expected
    response = client.get(
        f"{V}/search",
        query_string={"q": "FIND {acme} RETURNING Account(Id, Site)"},
        headers=as_user(client, EAST),
    )
    assert response.status_code == 400
    assert response.get_json()[0]["errorCode"] == "INVALID_FIELD"


def test_a_wildcard_standing_for_too_many_words_is_refused(store):
    store.load_data({"Account": [{"Name": f"zz{n}x"} for n in range(5001)]})
    assert len(search(store, "FIND {zz12*x} RETURNING Account(Id)")) == 111  # zz12x, zz120x … zz1299x
    with pytest.raises(SalesforceError) as refused:
        search(store, "FIND {zz*x} RETURNING Account(Id)")
    assert refused.value.error_code == "MALFORMED_SEARCH"
    assert "more than 5000 words" in refused.value.message
