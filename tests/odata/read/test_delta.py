"""The delta algorithm's plain functions: windows and their token form, the page queries, and how rows
become entries (changes, deletions, filter leavers; remembered versions skipped; full pages marked)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.odata.model.builder import supports_change_tracking
from gateway.odata.model.entities import EntitySet, Property
from gateway.odata.read import delta
from gateway.odata.read.plan import ReadPlan
from gateway.soql import syntax as soql
from gateway.soql.printer import print_soql

T = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


def sf_stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def row(n: int, seconds: float, deleted: bool = False) -> dict:
    return {
        "Id": f"001000000000{n:03d}AAA",
        "IsDeleted": deleted,
        "SystemModstamp": sf_stamp(T + dt.timedelta(seconds=seconds)),
        "Name": f"N{n}",
    }


def plan(where: soql.Condition | None = None) -> ReadPlan:
    name = Property("Name", "string", "Edm.String", True)
    entity_set = EntitySet("Account", "Account", "Account", {"Name": name}, {}, change_tracking=True)
    select = (soql.Field(("Id",)), soql.Field(("Name",)))
    return ReadPlan(entity_set, soql.Query(select, "Account", where), ("Name",), (), (), None, False)


def test_change_tracking_needs_system_modstamp_is_deleted_and_queryable():
    fields = [{"name": "Id"}, {"name": "SystemModstamp"}, {"name": "IsDeleted"}]
    assert supports_change_tracking({"fields": fields})
    assert not supports_change_tracking({"fields": fields[:2]})
    assert not supports_change_tracking({"fields": fields, "queryable": False})


def test_page_queries_one_window_same_order_same_limit():
    window = delta.Window(T, (delta.Seen(T, b"123456"),)).begin_read()
    filtered = plan(soql.Comparison(soql.Field(("Name",)), "=", soql.StringLiteral("A")))
    queries = delta.page_queries(filtered, window, 10)
    assert print_soql(queries.changes) == (
        "SELECT Id, IsDeleted, SystemModstamp, Name FROM Account WHERE SystemModstamp > 2026-12-01T07:55:00Z "
        "ORDER BY SystemModstamp ASC, Id ASC LIMIT 12"
    )
    assert print_soql(queries.matching) == (
        "SELECT Id FROM Account WHERE SystemModstamp > 2026-12-01T07:55:00Z AND Name = 'A' "
        "ORDER BY SystemModstamp ASC, Id ASC LIMIT 12"
    )
    assert delta.page_queries(plan(), delta.Window(None), 10).matching is None
    assert delta.page_queries(plan(), delta.Window(None), 10).changes.where is None
    later = delta.page_queries(plan(), delta.Window(T, after=(sf_stamp(T), "001000000000001AAA")), 5)
    keyset = (  # led by a range on the stamp, so the org seeks through its index
        "SystemModstamp >= 2026-12-01T08:00:00Z AND (SystemModstamp > 2026-12-01T08:00:00Z OR "
        "(SystemModstamp = 2026-12-01T08:00:00Z AND Id > "
    )
    assert "WHERE " + keyset in print_soql(later.changes)
    biggest = delta.Window(T, tuple(delta.Seen(T, bytes([n]) * 6) for n in range(delta.MAX_SEEN)))
    assert delta.page_queries(plan(), biggest, 5000).changes.limit == delta.MAX_QUERY_ROWS


def test_rows_become_changes_deletions_and_leavers_and_known_versions_are_skipped():
    rows = [row(1, 1), row(2, 2, deleted=True), row(3, 3), row(4, 4)]
    known = delta.Seen(
        T + dt.timedelta(seconds=4), delta.version_digest(rows[3]["Id"], T + dt.timedelta(seconds=4))
    )
    page = delta.apply_page(rows, {rows[0]["Id"]}, delta.Window(T, (known,)).begin_read(), 10)
    assert page.entries == [
        delta.Change(rows[0]),
        delta.Removal(rows[1]["Id"], "deleted"),
        delta.Removal(rows[2]["Id"], "changed"),
    ]
    assert not page.more and page.window.after is None and page.window.low is None
    assert page.window.mark == T + dt.timedelta(seconds=4)
    assert len(page.window.seen) == 4  # everything processed is remembered, within the overlap


def test_a_full_page_says_more_and_where_to_go_on():
    rows = [row(n, n) for n in range(1, 6)]
    page = delta.apply_page(rows, None, delta.Window(None).begin_read(), 3)
    assert [e.record["Id"] for e in page.entries] == [r["Id"] for r in rows[:3]]
    assert page.more and page.window.after == (rows[2]["SystemModstamp"], rows[2]["Id"])
    rest = delta.apply_page(rows[3:], None, page.window, 3)
    assert len(rest.entries) == 2 and not rest.more


def test_remembered_versions_are_kept_within_the_overlap_and_at_most_max_seen():
    rows = [row(n, n * 10) for n in range(1, 200)]
    page = delta.apply_page(rows, None, delta.Window(None).begin_read(), 500)
    mark = T + dt.timedelta(seconds=1990)
    assert page.window.mark == mark
    assert len(page.window.seen) == 30  # the versions of the last five minutes (10 s apart)
    assert all(s.stamp > mark - delta.OVERLAP for s in page.window.seen)
    busy = delta.apply_page([row(n, 0.001 * n) for n in range(1, 300)], None, delta.Window(None), 500)
    assert len(busy.window.seen) == delta.MAX_SEEN  # the newest; older ones may come again, never be lost


@settings(max_examples=50, deadline=None)
@given(
    st.one_of(st.none(), st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1))),
    st.lists(st.integers(0, 299_999), max_size=20),
    st.booleans(),
)
def test_windows_survive_their_token_form(mark, offsets, mid_read):
    mark = None if mark is None else mark.replace(microsecond=mark.microsecond // 1000 * 1000, tzinfo=dt.UTC)
    seen = (
        ()
        if mark is None
        else tuple(
            delta.Seen(mark - dt.timedelta(milliseconds=o), delta.version_digest(f"001{o:015d}", mark))
            for o in offsets
        )
    )
    window = delta.Window(mark, seen)
    if mid_read:
        window = delta.Window(
            mark, seen, low=mark, after=("2026-12-01T08:00:00.000+0000", "001000000000001AAA")
        )
    assert delta.window_from_dict(delta.window_to_dict(window)) == window


@pytest.mark.parametrize(
    "state",
    [
        {},
        {"m": 5},
        {"m": "not a date"},
        {"m": None, "s": "AAAA"},
        {"m": "2026-12-01T08:00:00.000Z", "s": "AAA"},
        {"m": None, "a": ["x"]},
        {"m": None, "a": "x"},
    ],
)
def test_a_state_that_is_not_a_window_is_refused(state):
    with pytest.raises(ValueError):
        delta.window_from_dict(state)


def test_expiry_follows_the_retention():
    assert not delta.expired(0, 15 * 86400)
    assert delta.expired(0, 15 * 86400 + 1)
    assert delta.expired(0, 2 * 86400, retention_days=1)
