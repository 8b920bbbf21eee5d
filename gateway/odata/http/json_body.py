"""The one place the gateway encodes its JSON responses: orjson, byte for byte what the standard library
wrote before (``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` as UTF-8), several times
faster.

orjson writes every value as the standard library does except floats of magnitude below 1e-4, which it
writes as ``0.00001`` or ``1.5e-7`` where Python writes ``1e-05`` and ``1.5e-07``. An encoding that shows
either mark anywhere (``0.0000``, a digit before ``e-``; usually text that only looks like one) is done
again by the standard library, and so is anything orjson refuses (integers beyond 64 bits, keys that are
not strings): the bytes never change, only the time.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_SMALL_FLOAT = re.compile(rb"[0-9]e-")
# What the standard library refuses (datetimes, dataclasses) must still be refused, not encoded.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _standard(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def dump_json(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON, exactly as ``json.dumps(..., ensure_ascii=False)`` writes it."""
    try:
        data = orjson.dumps(value, option=_OPTIONS)
    except TypeError:
        return _standard(value)
    if b"0.0000" in data or (b"e-" in data and _SMALL_FLOAT.search(data)):
        return _standard(value)
    return data
