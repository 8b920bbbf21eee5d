"""Progress output of long work: periodic lines off a terminal, a bar on one, and the demo's hook."""

from __future__ import annotations

import io

from gateway.localorg.demo import DEMO_SCHEMA_PATH, demo_work, load_demo, record_counts
from gateway.localorg.schema import load_schema
from gateway.localorg.store import Store
from gateway.operation.progress import Progress


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_log_lines_at_most_every_interval_with_share_and_time_left() -> None:
    stream, clock = io.StringIO(), FakeClock()
    with Progress(1000, "demo org", stream=stream, terminal=False, interval=2, clock=clock) as progress:
        for _ in range(10):
            clock.now += 0.5
            progress.advance(50)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "demo org: started (1,000 records of work)"
    assert lines[1:3] == [
        "demo org: 20% (200/1,000), about 8 s left",
        "demo org: 40% (400/1,000), about 6 s left",
    ]
    assert lines[-1] == "demo org: done in 5.0 s" and len(lines) == 4
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()


def test_bar_on_a_terminal() -> None:
    stream = io.StringIO()
    with Progress(100, "demo org", stream=stream, terminal=True) as progress:
        progress.advance(100)
    assert "100/100" in stream.getvalue() and "demo org" in stream.getvalue()


def test_demo_load_reports_all_its_work() -> None:
    seen: list[int] = []
    store = Store(load_schema(DEMO_SCHEMA_PATH))
    counts = load_demo(store, accounts=30, progress=seen.append)
    assert sum(seen) == demo_work(30) == 2 * sum(record_counts(30).values())
    assert counts == record_counts(30)


def test_a_big_demo_org_shows_progress_a_small_one_stays_quiet(monkeypatch, capsys) -> None:
    import gateway.operation.progress as progress

    store = Store(load_schema(DEMO_SCHEMA_PATH))
    progress.load_demo_with_progress(store, 20)
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(progress, "PROGRESS_FROM_ACCOUNTS", 20)
    progress.load_demo_with_progress(Store(load_schema(DEMO_SCHEMA_PATH)), 20)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("generating and loading the demo org: started")
    assert lines[-1].startswith("generating and loading the demo org: done in")
