"""The property behind delta links: a client that read a set with track-changes and applies every delta to
its copy holds exactly the source's records, whatever happened in between — creates, updates, deletes,
filter leavers and joiners, the clock standing still or jumping, transactions committing late (within the
overlap window), writes while a delta is read page by page. And a poll right after a poll is empty and
costs one API call."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gateway.localorg import records
from tests.odata.v4.delta_support import TrackedOrg, apply_delta, full_read

INDUSTRIES = ("Banking", "Energy", "Retail")
FILTERS = {None: "", "Industry eq 'Banking'": "WHERE Industry = 'Banking'"}

names = st.text(alphabet="abcxyz ", min_size=1, max_size=6)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("create"), names, st.sampled_from(INDUSTRIES)),
        st.tuples(st.just("update"), st.integers(0, 50), st.sampled_from(INDUSTRIES), names),
        st.tuples(st.just("delete"), st.integers(0, 50)),
        st.tuples(st.just("late"), st.integers(0, 50), st.integers(1, 240)),
        st.tuples(st.just("tick"), st.integers(0, 900)),
        st.tuples(st.just("poll"), st.integers(1, 3), st.booleans()),
    ),
    max_size=14,
)


def oracle(org: TrackedOrg, where: str) -> dict[str, dict]:
    rows = org.store.conn.execute(
        'SELECT "Id", "Name", "Industry" FROM "Account" WHERE "IsDeleted" = 0'
        + (" AND \"Industry\" = 'Banking'" if where else "")
    ).fetchall()
    return {i: {"Id": i, "Name": n, "Industry": ind} for i, n, ind in rows}


def live_ids(org: TrackedOrg) -> list[str]:
    return [
        r[0] for r in org.store.conn.execute('SELECT "Id" FROM "Account" WHERE "IsDeleted" = 0 ORDER BY 1')
    ]


def write(org: TrackedOrg, operation: tuple) -> None:
    kind = operation[0]
    if kind == "create":
        org.store.insert("Account", {"Name": operation[1], "Industry": operation[2]})
    elif kind == "tick":
        org.clock.advance(seconds=operation[1])
    elif live_ids(org):
        ids = live_ids(org)
        record_id = ids[operation[1] % len(ids)]
        if kind == "update":
            org.store.update("Account", record_id, {"Industry": operation[2], "Name": operation[3]})
        elif kind == "delete":
            org.store.delete("Account", record_id)
        elif kind == "late":  # a transaction that began earlier commits now: its stamp is below the newest
            # "Newest" is the highest stamp ever issued, not today's MAX: an earlier late commit may have
            # lowered the MAX, and measuring from it would put this commit outside the overlap window.
            (newest,) = org.store.conn.execute('SELECT MAX("SystemModstamp") FROM "Account"').fetchone()
            highest = records.parse_stored_datetime(newest)
            org.highest_stamp = highest = max(highest, org.highest_stamp or highest)
            stamp = highest - dt.timedelta(seconds=operation[2])
            with org.store.transaction():
                org.store.conn.execute(
                    'UPDATE "Account" SET "Name" = ?, "SystemModstamp" = ? WHERE "Id" = ?',
                    ("late", records.stored_datetime(stamp), record_id),
                )


def poll(org: TrackedOrg, copy: dict, link: str, page_size: int, write_during: bool) -> str:
    """Follow a delta link to its end (pages of ``page_size``), maybe writing after its first page."""
    headers = {"Prefer": f"odata.maxpagesize={page_size}"}
    pages = 0
    while True:
        before = org.calls()
        response = org.get(link, headers)
        assert response.status_code == 200, response.get_json()
        assert org.calls() - before == 1
        body = response.get_json()
        apply_delta(copy, body["value"])
        pages += 1
        if "@odata.nextLink" not in body:
            return body["@odata.deltaLink"]
        if pages == 1 and write_during and live_ids(org):
            org.store.update("Account", live_ids(org)[0], {"Name": "during the read"})
        link = body["@odata.nextLink"]


# Two late commits whose lateness adds up to the whole window: the second is still inside it.
@example(history=[("late", 2, 60), ("late", 0, 240)], odata_filter=None)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations, st.sampled_from(sorted(FILTERS, key=str)))
def test_applying_every_delta_to_a_copy_reproduces_the_source(history, odata_filter):
    org = TrackedOrg.start(accounts=3)
    path = "Account?$select=Id,Name,Industry" + (f"&$filter={odata_filter}" if odata_filter else "")
    where = FILTERS[odata_filter]
    copy, link = full_read(org, path)
    assert copy == oracle(org, where)
    for operation in [*history, ("poll", 2, False)]:
        if operation[0] != "poll":
            write(org, operation)
            continue
        link = poll(org, copy, link, operation[1], operation[2])
        assert copy == oracle(org, where)
        # nothing is delivered twice: a poll right after a poll is empty, for one API call
        before = org.calls()
        again = org.get(link).get_json()
        assert again["value"] == [] and org.calls() - before == 1
        link = again["@odata.deltaLink"]
