"""V2 value forms both ways: what the gateway writes is what it reads back, for every Edm type it uses."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.odata.v2.values import V2ValueError, atom_converter, from_atom, from_json, json_converter
from tests.odata.read.model_fixture import prop

DATETIME = prop("When__c", "datetime")
DATE = prop("Day__c", "date")
TIME = prop("Opens__c", "time")
DECIMAL = prop("Amount__c", "currency")
INT = prop("Count__c", "int")
BOOL = prop("Flag__c", "boolean", nullable=False)

instants = st.datetimes(
    min_value=dt.datetime(1800, 1, 1), max_value=dt.datetime(3999, 12, 31), timezones=st.just(dt.UTC)
).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))


def salesforce_datetime(instant: dt.datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}+0000"


@given(instants)
@settings(max_examples=80, deadline=None)
def test_datetimes_round_trip_through_json_and_atom(instant):
    sf = salesforce_datetime(instant)
    expected = instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"
    assert from_json(DATETIME, json_converter(DATETIME)(sf)) == expected
    assert from_atom(DATETIME, atom_converter(DATETIME)(sf)) == expected


@given(st.dates(min_value=dt.date(1800, 1, 1), max_value=dt.date(3999, 12, 31)))
@settings(max_examples=60, deadline=None)
def test_dates_are_midnight_utc_both_ways(day):
    text = json_converter(DATE)(day.isoformat())
    assert int(text[6:-2]) % 86_400_000 == 0
    assert from_json(DATE, text) == day.isoformat()
    assert from_atom(DATE, atom_converter(DATE)(day.isoformat())) == day.isoformat()


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**12), max_value=10**12))
@settings(max_examples=60, deadline=None)
def test_decimals_travel_as_strings_without_loss(number):
    text = json_converter(DECIMAL)(number)
    assert isinstance(text, str) and Decimal(text) == number
    assert (
        from_json(DECIMAL, text) == number and from_atom(DECIMAL, atom_converter(DECIMAL)(number)) == number
    )


def test_times_booleans_and_integers():
    assert json_converter(TIME)("10:30:05.000Z") == "PT10H30M05S"
    assert from_json(TIME, "PT10H30M05S") == "10:30:05" and from_json(TIME, "PT9H") == "09:00:00"
    assert from_atom(BOOL, "true") is True and from_atom(BOOL, "0") is False
    assert from_atom(INT, "42") == 42 and from_json(INT, "42") == 42
    assert from_atom(INT, None) is None


@pytest.mark.parametrize(
    ("target", "value"),
    [
        (DATE, "/Date(1000)/"),  # not midnight
        (DATETIME, "/Date(0+0060)/"),  # offset form: ambiguous
        (DATETIME, "yesterday"),
        (DATETIME, "/Date(99999999999999999)/"),  # beyond year 9999
        (TIME, "PT25H"),
        (TIME, "10:30"),
    ],
)
def test_values_that_cannot_mean_anything_are_refused(target, value):
    with pytest.raises(V2ValueError):
        from_json(target, value)


def test_values_of_the_wrong_kind_pass_on_for_the_core_to_name():
    assert from_json(INT, "many") == "many" and from_atom(BOOL, "maybe") == "maybe"
