"""Change tracking through the gateway: ``Prefer: odata.track-changes``, delta links and delta responses,
on the local org (in-process WSGI) with a clock the tests move. Outcomes are compared with the oracle — the
local org asked directly — and API calls are counted on the source connection."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from gateway.localorg import records
from tests.odata.v4.delta_support import (
    SECRET,
    TRACK,
    TrackedOrg,
    apply_delta,
    entry_id,
    follow_delta,
    full_read,
    is_removal,
    link_option,
)

SELECT = "$select=Id,Name,Industry"


@pytest.fixture()
def org() -> TrackedOrg:
    return TrackedOrg.start(accounts=5)


def oracle(org: TrackedOrg, where: str = "") -> dict[str, dict]:
    """Id → {Id, Name, Industry} of the live Accounts, asked of the local org directly."""
    result = org.source.query(f"SELECT Id, Name, Industry FROM Account {where}")
    return {r["Id"]: {"Id": r["Id"], "Name": r["Name"], "Industry": r["Industry"]} for r in result["records"]}


def account_ids(org: TrackedOrg) -> list[str]:
    return sorted(oracle(org))


# --- asking for tracking ----------------------------------------------------------------------------------


def test_top_zero_answers_an_empty_value_and_a_delta_link_for_one_api_call(org):
    before = org.calls()
    response = org.get(f"Account?{SELECT}&$top=0", TRACK)

    assert response.status_code == 200
    assert response.headers["Preference-Applied"] == "odata.track-changes"
    body = response.get_json()
    assert body["value"] == []
    assert body["@odata.context"].endswith("$metadata#Account(Id,Name,Industry)")
    assert "$deltatoken=" in body["@odata.deltaLink"] and "@odata.nextLink" not in body
    assert org.calls() - before == 1


def test_top_zero_with_count_counts_the_set(org):
    body = org.get("Account?$top=0&$count=true", TRACK).get_json()
    assert body["@odata.count"] == len(oracle(org)) and body["value"] == []


def test_a_tracked_read_answers_as_usual_and_its_last_page_carries_the_delta_link(org):
    plain = org.get(f"Account?{SELECT}").get_json()["value"]
    before = org.calls()
    copy, link = full_read(org, f"Account?{SELECT}", {"Prefer": "odata.track-changes,odata.maxpagesize=2"})
    assert copy == oracle(org) == {e["Id"]: {k: v for k, v in e.items() if k[0] != "@"} for e in plain}
    assert org.calls() - before == 3 + 1  # three pages of 2 (5 rows) and the latest versions, read first

    first = org.get(f"Account?{SELECT}", {"Prefer": "odata.track-changes,odata.maxpagesize=2"})
    assert first.headers["Preference-Applied"] == "odata.track-changes, odata.maxpagesize=2"
    assert "@odata.deltaLink" not in first.get_json()
    assert link_option(first.get_json()["@odata.nextLink"], "$skiptoken").startswith("track.")


@pytest.mark.parametrize("option", ["$orderby=Name", "$expand=Owner", "$search=Acme"])
def test_orderby_expand_and_search_with_tracking_are_501_with_advice(org, option):
    before = org.calls()
    response = org.get(f"Account?{option}", TRACK)
    assert response.status_code == 501
    error = response.get_json()["error"]
    assert "odata.track-changes" in error["message"] and error["target"] == option.split("=")[0]
    assert org.calls() == before


def test_a_positive_top_is_answered_without_applying_the_preference(org):
    response = org.get("Account?$top=2", TRACK)
    assert response.status_code == 200
    assert "Preference-Applied" not in response.headers
    assert "@odata.deltaLink" not in response.get_json() and len(response.get_json()["value"]) == 2


def test_metadata_declares_change_tracking_per_entity_set(org):
    xml = etree.fromstring(org.get("$metadata").data)
    ns = {"e": "http://docs.oasis-open.org/odata/ns/edm"}
    for name in ("Account", "Contact"):
        [record] = xml.xpath(
            f"//e:Annotations[@Target='Salesforce.EntityContainer/{name}']"
            "/e:Annotation[@Term='Capabilities.ChangeTracking']/e:Record",
            namespaces=ns,
        ) or xml.xpath(
            f"//e:EntitySet[@Name='{name}']/e:Annotation[@Term='Capabilities.ChangeTracking']/e:Record",
            namespaces=ns,
        )
        supported = record.xpath("e:PropertyValue[@Property='Supported']/@Bool", namespaces=ns)
        assert supported == ["true"]
        filterable = record.xpath(
            "e:PropertyValue[@Property='FilterableProperties']/e:Collection/e:PropertyPath/text()",
            namespaces=ns,
        )
        assert "Name" in filterable and "Id" in filterable


# --- following delta links --------------------------------------------------------------------------------


def test_creates_updates_and_deletes_arrive_once_and_an_immediate_poll_is_empty_for_one_call(org):
    copy, link = full_read(org, f"Account?{SELECT}")
    first, second, third = account_ids(org)[:3]
    org.clock.advance(minutes=1)
    org.source.update("Account", first, {"Name": "Renamed"})
    org.source.delete("Account", second)
    created = org.source.create("Account", {"Name": "Brand new", "Industry": "Energy"})["id"]
    expected = oracle(org)

    before = org.calls()
    entries, link, pages = follow_delta(org, link)
    assert org.calls() - before == pages == 1
    assert sorted((entry_id(e), is_removal(e)) for e in entries) == sorted(
        [(first, False), (second, True), (created, False)]
    )
    [removed] = [e for e in entries if is_removal(e)]
    assert removed == {
        "@odata.context": "$metadata#Account/$deletedEntity",
        "id": f"Account('{second}')",
        "reason": "deleted",
    }
    [renamed] = [e for e in entries if entry_id(e) == first]
    assert renamed["Name"] == "Renamed" and renamed["@odata.id"] == f"Account('{first}')"
    apply_delta(copy, entries)
    assert copy == expected and third in copy

    before = org.calls()
    response = org.get(link)
    assert response.get_json()["value"] == [] and org.calls() - before == 1
    assert response.get_json()["@odata.context"].endswith("$metadata#Account(Id,Name,Industry)/$delta")


def test_odata_401_forms_when_the_client_asks_for_them(org):
    _, link = full_read(org, f"Account?{SELECT}")
    first, second = account_ids(org)[:2]
    org.source.update("Account", first, {"Name": "Renamed"})
    org.source.delete("Account", second)

    response = org.get(link, {"OData-MaxVersion": "4.01"})
    assert response.headers["OData-Version"] == "4.01"
    body = response.get_json()
    assert set(body) == {"@context", "value", "@deltaLink"}
    assert body["@context"].endswith("/$delta")
    assert {"@removed": {"reason": "deleted"}, "@id": f"Account('{second}')"} in body["value"]
    [changed] = [e for e in body["value"] if "@removed" not in e]
    assert changed["@id"] == f"Account('{first}')" and changed["Name"] == "Renamed"

    assert org.get(link).headers["OData-Version"] == "4.0"


def test_filter_leavers_are_removed_as_changed_and_joiners_arrive(org):
    ids = account_ids(org)
    org.source.update("Account", ids[0], {"Industry": "Banking"})
    org.source.update("Account", ids[1], {"Industry": "Banking"})
    org.source.update("Account", ids[2], {"Industry": "Energy"})
    where = "WHERE Industry = 'Banking'"
    copy, link = full_read(org, f"Account?{SELECT}&$filter=Industry eq 'Banking'")
    assert copy == oracle(org, where)

    org.clock.advance(minutes=1)
    org.source.update("Account", ids[0], {"Industry": "Energy"})  # leaves
    org.source.update("Account", ids[2], {"Industry": "Banking"})  # joins
    org.source.update("Account", ids[1], {"Name": "Still a bank"})  # stays
    before = org.calls()
    entries, link, _ = follow_delta(org, link)
    assert org.calls() - before == 1  # one Composite request of two queries
    reasons = {entry_id(e): e.get("reason") for e in entries}
    assert reasons == {ids[0]: "changed", ids[2]: None, ids[1]: None}
    apply_delta(copy, entries)
    assert copy == oracle(org, where)


def test_records_created_and_deleted_between_polls_are_reported_deleted_never_live(org):
    copy, link = full_read(org, f"Account?{SELECT}")
    created = org.source.create("Account", {"Name": "Short-lived"})["id"]
    org.source.delete("Account", created)
    entries, link, _ = follow_delta(org, link)
    assert [(entry_id(e), is_removal(e)) for e in entries] == [(created, True)]
    apply_delta(copy, entries)
    assert copy == oracle(org)


def test_a_big_delta_pages_by_next_link_without_prefer_and_changes_during_the_read_arrive(org):
    copy, link = full_read(org, f"Account?{SELECT}")
    ids = account_ids(org)
    for n, record_id in enumerate(ids):
        org.clock.advance(seconds=1)
        org.source.update("Account", record_id, {"Name": f"Round one {n}"})

    response = org.get(link, {"Prefer": "odata.maxpagesize=2"})
    assert response.headers["Preference-Applied"] == "odata.maxpagesize=2"
    body = response.get_json()
    assert [entry_id(e) for e in body["value"]] == ids[:2] and "@odata.deltaLink" not in body
    apply_delta(copy, body["value"])
    # while the delta is read: a record already delivered changes again, one not yet delivered too
    org.source.update("Account", ids[0], {"Name": "Changed during the read"})
    org.source.update("Account", ids[3], {"Name": "Also changed during the read"})
    org.source.delete("Account", ids[4])
    rest, link, pages = follow_delta(org, body["@odata.nextLink"])  # no Prefer: pages of the default size
    apply_delta(copy, rest)
    assert copy == oracle(org)
    assert copy[ids[0]]["Name"] == "Changed during the read"
    assert [e for e in rest if entry_id(e) == ids[0]], "a record changed again is delivered again"
    assert follow_delta(org, link)[0] == []


def test_a_late_commit_within_the_overlap_window_is_not_lost(org):
    copy, link = full_read(org, f"Account?{SELECT}")
    org.clock.advance(minutes=10)
    org.source.update("Account", account_ids(org)[0], {"Name": "Visible first"})
    entries, link, _ = follow_delta(org, link)
    apply_delta(copy, entries)
    # a transaction that started two minutes earlier commits now: its stamp is below the mark
    late = account_ids(org)[1]
    stamp = records.stored_datetime(org.clock() - dt.timedelta(minutes=2))
    with org.store.transaction():
        org.store.conn.execute(
            'UPDATE "Account" SET "Name" = ?, "SystemModstamp" = ? WHERE "Id" = ?', ("Late", stamp, late)
        )
    entries, link, _ = follow_delta(org, link)
    assert [(entry_id(e), e["Name"]) for e in entries] == [(late, "Late")]
    apply_delta(copy, entries)
    assert copy == oracle(org)


# --- tokens -----------------------------------------------------------------------------------------------


def test_another_instance_with_the_same_secret_serves_the_links_and_another_secret_refuses_them(org):
    _, link = full_read(org, f"Account?{SELECT}")
    first = account_ids(org)[0]
    org.source.update("Account", first, {"Name": "Seen by the restarted gateway"})
    restarted = org.new_gateway()
    response = org.get(link, app=restarted)
    assert response.status_code == 200
    assert [entry_id(e) for e in response.get_json()["value"]] == [first]

    foreign = org.get(link, app=org.new_gateway(GATEWAY_SECRET="another-secret-of-another-deployment"))
    assert foreign.status_code == 400
    assert foreign.get_json()["error"]["target"] == "$deltatoken"


def test_tampered_tokens_are_400_and_cost_nothing(org):
    response = org.get("Account?$top=0", TRACK)
    link = response.get_json()["@odata.deltaLink"]
    token = link_option(link, "$deltatoken")
    before = org.calls()
    for bad in (token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), token[:40], "x", ""):
        response = org.get(f"Account?$deltatoken={bad}")
        assert response.status_code == 400, bad
        error = response.get_json()["error"]
        assert error["target"] == "$deltatoken" and "altered" in error["message"]
    paged = org.get("Account?$skiptoken=track.AAAA")
    assert paged.status_code == 400 and paged.get_json()["error"]["target"] == "$skiptoken"
    assert org.get(f"Contact?$deltatoken={token}").status_code == 400  # another set's link
    assert org.calls() == before


def test_links_older_than_the_recycle_bin_retention_are_410_gone(org):
    big = org.get(f"Account?{SELECT}", {"Prefer": "odata.track-changes,odata.maxpagesize=2"}).get_json()
    next_page = big["@odata.nextLink"]
    link = org.get("Account?$top=0", TRACK).get_json()["@odata.deltaLink"]
    org.clock.advance(days=14, hours=23)
    response = org.get(link)
    assert response.status_code == 200
    fresh = response.get_json()["@odata.deltaLink"]
    org.clock.advance(days=1, hours=2)  # the first link was last used 16 days ago; the fresh one 1 day ago
    before = org.calls()
    for expired in (link, next_page):
        gone = org.get(expired)
        assert gone.status_code == 410
        assert "full read" in gone.get_json()["error"]["message"]
    assert org.calls() == before
    assert org.get(fresh).status_code == 200

    short = org.new_gateway(GATEWAY_RECYCLE_DAYS="1")
    assert org.get(fresh, app=short).status_code == 410
    for bad in ("0", "two", "-3"):
        with pytest.raises(ValueError, match="GATEWAY_RECYCLE_DAYS"):
            org.new_gateway(GATEWAY_RECYCLE_DAYS=bad)


def test_links_are_bound_to_the_user_who_started_the_read():
    org = TrackedOrg.start(accounts=2, environ={"GATEWAY_API_KEYS": "key-one,key-two"})
    one = {"Authorization": "Bearer key-one"}
    two = {"Authorization": "Bearer key-two"}
    link = org.get("Account?$top=0", {**TRACK, **one}).get_json()["@odata.deltaLink"]
    assert org.get(link, one).status_code == 200
    refused = org.get(link, two)
    assert refused.status_code == 400 and "another user" in refused.get_json()["error"]["message"]
    assert SECRET not in refused.get_data(as_text=True)


def test_a_filtered_delta_poll_is_a_read_for_the_result_cache():
    org = TrackedOrg.start(accounts=3, environ={"GATEWAY_CACHE_TTL": "60"})
    link = org.get("Account?$top=0&$filter=Industry eq 'Banking'", TRACK).get_json()["@odata.deltaLink"]
    assert org.get("Account?$top=1").status_code == 200
    before = org.calls()
    assert org.get("Account?$top=1").status_code == 200
    assert org.calls() == before  # answered from the cache
    assert org.get(link).status_code == 200  # one Composite request of two queryAll reads
    assert org.calls() == before + 1
    assert org.get("Account?$top=1").status_code == 200
    assert org.calls() == before + 1  # the delta poll did not drop the cached reads


def test_the_refused_options_are_those_change_tracking_does_not_declare():
    from gateway.odata.read.capabilities import CAPABILITIES
    from gateway.odata.v4.delta import REFUSED_WITH_TRACKING

    assert not set(REFUSED_WITH_TRACKING) & set(CAPABILITIES.change_tracking_options)


def test_the_request_log_shows_both_queries_of_a_filtered_delta_page(org):
    import io
    import json

    from gateway.app import create_app

    log = io.StringIO()
    app = create_app(source=org.source, environ=org.environ, embedded=True, log_stream=log)
    app.extensions["odata_gateway"].clock = org.clock.seconds
    link = org.get("Account?$top=0&$filter=Industry eq 'Banking'", TRACK, app=app).get_json()[
        "@odata.deltaLink"
    ]
    assert org.get(link, app=app).status_code == 200
    line = json.loads(log.getvalue().splitlines()[-1])
    assert line["api_calls"] == 1
    changes, matching = line["soql"]
    assert changes.startswith("SELECT Id, IsDeleted, SystemModstamp") and " FROM Account WHERE " in changes
    assert matching.startswith("SELECT Id FROM Account WHERE ")
    assert "Industry = 'Banking'" in line["soql"][1] and "Industry = 'Banking'" not in line["soql"][0]


@pytest.fixture(scope="module")
def shared_org() -> TrackedOrg:
    return TrackedOrg.start(accounts=1)


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=60), option=st.sampled_from(["$deltatoken", "$skiptoken"]))
def test_any_token_text_is_a_clear_400_never_a_500(shared_org, text, option):
    org = shared_org
    value = ("track." + text) if option == "$skiptoken" else text
    response = org.get(f"Account?{option}={quote(value, safe='')}")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]["target"] == option


def test_a_set_whose_object_cannot_be_tracked_declares_it_and_ignores_the_preference():
    from gateway.odata.model.entities import EntitySet, Property
    from gateway.odata.v4 import csdl
    from gateway.odata.v4.delta import handles

    name = Property("Name", "string", "Edm.String", True)
    untracked = EntitySet("Log", "Log__c", "Log__c", {"Name": name}, {}, change_tracking=False)
    tracked = EntitySet("Log", "Log__c", "Log__c", {"Name": name}, {}, change_tracking=True)
    annotations = dict(csdl.entity_set_annotations(untracked))
    assert annotations["Capabilities.ChangeTracking"] == {"Supported": False}
    declared = dict(csdl.entity_set_annotations(tracked))["Capabilities.ChangeTracking"]
    assert declared["Supported"] is True and [p.path for p in declared["FilterableProperties"]] == ["Name"]
    assert not handles(untracked, {}, TRACK) and handles(tracked, {}, TRACK)
    assert not handles(tracked, {"$top": "5"}, TRACK) and handles(tracked, {"$top": "0"}, TRACK)
