"""18-character Salesforce Ids.

A 15-character Id is case-sensitive: a 3-character key prefix (the object), 2 instance characters, and a
10-character base-62 number. The 18-character form appends a 3-character suffix that makes it unique
case-insensitively: each suffix character encodes, for one 5-character chunk, which of its characters are
upper-case letters (bit i set when character i is A-Z), as an index into ``A``..``Z0``..``5``.

Generated Ids are ``key_prefix + "00" + base62(sequence)`` (10 digits, zero-padded), so their text order
is their creation order within one object.
"""

from __future__ import annotations

import re

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
INSTANCE = "00"
SEQUENCE_DIGITS = 10
MAX_SEQUENCE = 62**SEQUENCE_DIGITS - 1

_ID15 = re.compile(r"[0-9A-Za-z]{15}")
_ID18 = re.compile(r"[0-9A-Za-z]{15}[A-Z0-5]{3}", re.IGNORECASE)


def checksum_suffix(id15: str) -> str:
    """The 3-character case-insensitivity suffix of a 15-character Id."""
    suffix = ""
    for start in (0, 5, 10):
        bits = 0
        for offset, char in enumerate(id15[start : start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << offset
        suffix += SUFFIX_ALPHABET[bits]
    return suffix


def to_18(id_value: str) -> str:
    """The 18-character form of a 15- or 18-character Id (an 18-character Id gets its suffix recomputed)."""
    if not _ID15.fullmatch(id_value[:15]) or len(id_value) not in (15, 18):
        raise ValueError(f"not a Salesforce Id: {id_value!r}")
    id15 = id_value[:15]
    return id15 + checksum_suffix(id15)


def is_valid_id(value: object) -> bool:
    """True for a well-formed 15-character Id or an 18-character Id whose suffix matches."""
    if not isinstance(value, str):
        return False
    if len(value) == 15:
        return bool(_ID15.fullmatch(value))
    if len(value) == 18 and _ID18.fullmatch(value):
        return value[15:].upper() == checksum_suffix(value[:15])
    return False


def normalize_id(value: object) -> str | None:
    """The canonical 18-character Id for a valid 15- or 18-character Id, else None.

    The suffix is compared case-insensitively, as Salesforce accepts it, and returned upper-case.
    """
    if not is_valid_id(value):
        return None
    assert isinstance(value, str)
    return to_18(value)


def key_prefix(id_value: str) -> str:
    """The key prefix (first three characters) of an Id: it names the object the record belongs to."""
    return id_value[:3]


def base62(number: int, width: int) -> str:
    if number < 0:
        raise ValueError("negative number")
    digits = ""
    while number:
        number, remainder = divmod(number, 62)
        digits = BASE62[remainder] + digits
    if len(digits) > width:
        raise ValueError("number too large")
    return digits.rjust(width, "0")


def make_id(prefix: str, sequence_number: int) -> str:
    """The 18-character Id of record number ``sequence_number`` (1, 2, ...) of the object with ``prefix``."""
    if len(prefix) != 3 or not all(c in BASE62 for c in prefix):
        raise ValueError(f"bad key prefix: {prefix!r}")
    if not 0 < sequence_number <= MAX_SEQUENCE:
        raise ValueError(f"sequence number out of range: {sequence_number}")
    return to_18(prefix + INSTANCE + base62(sequence_number, SEQUENCE_DIGITS))


def sequence_of(id_value: str) -> int | None:
    """The sequence number of an Id made by ``make_id``; None for an Id of another shape."""
    if id_value[3:5] != INSTANCE:
        return None
    number = 0
    for char in id_value[5:15]:
        number = number * 62 + BASE62.index(char)
    return number
