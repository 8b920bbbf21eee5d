"""18-character Salesforce Ids: the checksum suffix, validity, key prefixes and generated Ids."""

from __future__ import annotations

import pytest

from gateway.localorg import ids

# (15-character Id, its 18-character form) as printed in Salesforce's documentation.
KNOWN_PAIRS = [
    ("001xx000003DGb2", "001xx000003DGb2AAG"),
    ("003xx000004TmiQ", "003xx000004TmiQAAS"),
    ("001D000000IqhSL", "001D000000IqhSLIAZ"),
]


@pytest.mark.parametrize(("id15", "id18"), KNOWN_PAIRS)
def test_checksum_matches_salesforce(id15, id18):
    assert ids.to_18(id15) == id18
    assert ids.to_18(id18) == id18
    assert ids.is_valid_id(id15)
    assert ids.is_valid_id(id18)
    assert ids.is_valid_id(id18[:15] + id18[15:].lower())


def test_suffix_all_upper_and_none_upper():
    assert ids.checksum_suffix("000000000000000") == "AAA"
    assert ids.checksum_suffix("AAAAAAAAAAAAAAA") == "555"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "001xx000003DGb",
        "001xx000003DGb2AA",
        "001xx000003DGb2AAH",
        "001xx000003DG-2",
        None,
        12,
        "001xx000003DGb2AAGX",
    ],
)
def test_invalid_ids(value):
    assert not ids.is_valid_id(value)
    assert ids.normalize_id(value) is None


def test_normalize_id_gives_upper_suffix():
    assert ids.normalize_id("001xx000003DGb2aag") == "001xx000003DGb2AAG"
    assert ids.normalize_id("001xx000003DGb2") == "001xx000003DGb2AAG"


def test_to_18_refuses_garbage():
    with pytest.raises(ValueError):
        ids.to_18("not-an-id")


def test_make_id_is_valid_ordered_and_round_trips():
    made = [ids.make_id("a00", n) for n in (1, 2, 61, 62, 63, 10_000_000)]
    assert all(len(i) == 18 and ids.is_valid_id(i) for i in made)
    assert all(ids.key_prefix(i) == "a00" for i in made)
    assert [i[:15] for i in made] == sorted(i[:15] for i in made)
    assert [ids.sequence_of(i) for i in made] == [1, 2, 61, 62, 63, 10_000_000]
    assert ids.make_id("001", 1) == "001000000000001AAA"


@pytest.mark.parametrize(("prefix", "number"), [("01", 1), ("0-1", 1), ("001", 0), ("001", 62**10)])
def test_make_id_refuses_bad_input(prefix, number):
    with pytest.raises(ValueError):
        ids.make_id(prefix, number)
