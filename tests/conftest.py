"""Shared fixtures: the tiny schema of ``tests/support.py`` (Account, Contact, one custom object)."""

from __future__ import annotations

import pytest

from gateway.localorg.schema import Schema
from tests.support import tiny_describes


@pytest.fixture
def describes() -> list[dict]:
    return tiny_describes()


@pytest.fixture
def schema() -> Schema:
    return Schema.from_describes(tiny_describes())
