"""``gateway localorg --recycle-days N`` and ``LOCALORG_RECYCLE_DAYS``: how long deleted records stay in the
local org's recycle bin (visible to queryAll) before they are purged."""

from __future__ import annotations

import pytest

from gateway import cli
from gateway.localorg.store import DEFAULT_RECYCLE_DAYS


def recycle_days(local_org) -> int:
    return local_org.app.extensions["localorg"].store.recycle_days


def test_option_default_and_value():
    assert cli.build_parser().parse_args(["localorg"]).recycle_days is None
    assert cli.build_parser().parse_args(["localorg", "--recycle-days", "3"]).recycle_days == 3


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5"])
def test_option_refuses_what_is_not_a_positive_number_of_days(bad, capsys):
    with pytest.raises(SystemExit) as refused:
        cli.build_parser().parse_args(["localorg", "--recycle-days", bad])
    assert refused.value.code == 2
    assert "--recycle-days" in capsys.readouterr().err


def test_the_store_keeps_deleted_records_for_the_configured_days():
    from gateway.cli.localorg import build_local_org

    assert recycle_days(build_local_org(rows=1)) == DEFAULT_RECYCLE_DAYS == 15
    assert recycle_days(build_local_org(rows=1, recycle_days=2)) == 2
    assert recycle_days(cli.localorg_from_env({"LOCALORG_ROWS": "1", "LOCALORG_RECYCLE_DAYS": "4"})) == 4
