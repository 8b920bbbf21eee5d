"""Keyset paging against the local org: exact (every page after the first, concatenated, is the unpaged
answer) and seekable (the org finds a deep page through an index instead of reading every row before it).

The oracle is the same query without paging, asked of the local org, whose ordering follows Salesforce's
(case-insensitive text, nulls first ascending and last descending as printed, ties broken by Id).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.localorg import demo, engine
from gateway.localorg.schema import Schema, load_schema
from gateway.localorg.store import Store
from gateway.odata.read.plan import page_query, sort_values
from gateway.soql.printer import print_soql
from tests.odata.read.model_fixture import plan
from tests.support import tiny_describes

NAMES = ("a", "A", "ab", "b", "B", "é", "e", "z", "Zz", "a b")
NUMBERS = (None, None, 0, 1, 2.5, 1000, -3)
SORT_KEYS = ("Name", "AnnualRevenue", "NumberOfEmployees", "Industry", "Parent/Name", "SystemModstamp")

rows = st.lists(
    st.tuples(
        st.sampled_from(NAMES),
        st.sampled_from(NUMBERS),
        st.sampled_from(NUMBERS),
        st.sampled_from((None, "Banking", "Energy", "Retail")),
        st.integers(min_value=-1, max_value=2),  # which of three parents (-1: none)
    ),
    max_size=24,
)
orderings = st.lists(
    st.tuples(st.sampled_from(SORT_KEYS), st.booleans()), min_size=1, max_size=2, unique_by=lambda k: k[0]
)


def store_with(records: list[tuple]) -> Store:
    store = Store(Schema.from_describes(tiny_describes()), ":memory:")
    parents = store.load_data({"Account": [{"Name": name} for name in ("Mu", "mu", "Nu")]})["Account"]
    store.load_data(
        {
            "Account": [
                {
                    "Name": name,
                    "AnnualRevenue": revenue,
                    "NumberOfEmployees": None if employees is None else int(employees),
                    "Industry": industry,
                    "ParentId": parents[parent] if parent >= 0 else None,
                }
                for name, revenue, employees, industry, parent in records
            ]
        }
    )
    return store


def ids_of(store: Store, soql_text: str) -> list[str]:
    result = engine.execute(store, soql_text)
    return [record["Id"] for record in result.next_batch(10_000)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=rows, ordering=orderings, size=st.integers(min_value=1, max_value=4))
def test_pages_concatenated_are_the_unpaged_answer(records, ordering, size):
    store = store_with(records)
    orderby = ",".join(f"{key}{' desc' if descending else ''}" for key, descending in ordering)
    read = plan({"$select": "Name", "$orderby": orderby})
    expected = ids_of(store, print_soql(page_query(read)))
    served: list[str] = []
    after = None
    while True:
        page = engine.execute(store, print_soql(page_query(read, after, size))).next_batch(size)
        served += [record["Id"] for record in page]
        if len(page) < size:
            break
        after = sort_values(page[-1], read.order_keys)
    assert served == expected


def deep_store() -> Store:
    store = Store(load_schema(demo.DEMO_SCHEMA_PATH), ":memory:")
    demo.load_demo(store, accounts=2000)
    return store


def test_a_deep_page_is_found_through_the_sort_index_in_either_direction():
    store = deep_store()
    for descending, comparison in ((False, "Name>?"), (True, "Name<?")):
        read = plan({"$select": "Name", "$orderby": "Name desc" if descending else "Name"})
        last = engine.execute(store, print_soql(page_query(read, None, 1000))).next_batch(1000)[-1]
        deep = print_soql(page_query(read, sort_values(last, read.order_keys), 201))
        steps = engine.explain(store, deep)
        assert steps[0] == f"SEARCH t0 USING INDEX sf_ci_Account_Name ({comparison})", steps
        assert not any(step.startswith("SCAN") for step in steps)


def test_without_the_leading_range_the_org_would_read_every_earlier_row():
    # Why the range is there: the bare OR form walks the index from its first row.
    store = deep_store()
    steps = engine.explain(
        store,
        "SELECT Id FROM Account WHERE Name > 'M' OR (Name = 'M' AND Id > '001000000000000AAA') "
        "ORDER BY Name ASC, Id ASC LIMIT 201",
    )
    assert steps[0].startswith("SCAN t0 USING INDEX sf_ci_Account_Name"), steps
