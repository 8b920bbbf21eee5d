"""Progress of long work (generating and loading a big demo org): a tqdm bar on a terminal, a log line
every few seconds otherwise (a container's log, CI), so a 20-second start-up is never silent."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from tqdm import tqdm

from gateway.localorg import demo

LOG_INTERVAL_SECONDS = 2.0
PROGRESS_FROM_ACCOUNTS = 10_000  # smaller demo orgs load in about a second: no output


class Progress:
    """``advance(n)`` as work is done; ``close()`` at the end (also a context manager)."""

    def __init__(
        self,
        total: int,
        description: str,
        *,
        stream: TextIO | None = None,
        terminal: bool | None = None,
        interval: float = LOG_INTERVAL_SECONDS,
        clock=time.monotonic,
    ):
        self.total = max(1, total)
        self.description = description
        self.stream = stream or sys.stderr
        self.done = 0
        self._interval = interval
        self._clock = clock
        self._started = clock()
        self._last_line = self._started
        self._lock = threading.Lock()
        if terminal is None:
            terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self._bar = (
            tqdm(total=self.total, desc=description, unit="rec", unit_scale=True, file=self.stream)
            if terminal
            else None
        )
        if self._bar is None:
            self._line(f"{description}: started ({self.total:,} records of work)")

    def advance(self, count: int) -> None:
        with self._lock:
            self.done = min(self.total, self.done + count)
            if self._bar is not None:
                self._bar.update(count)
                return
            now = self._clock()
            if now - self._last_line >= self._interval:
                self._last_line = now
                self._line(self._status(now))

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.close()
            else:
                self._line(f"{self.description}: done in {self._clock() - self._started:.1f} s")

    def _status(self, now: float) -> str:
        share = self.done / self.total
        elapsed = now - self._started
        left = f", about {elapsed / share - elapsed:.0f} s left" if share > 0 else ""
        return f"{self.description}: {share:.0%} ({self.done:,}/{self.total:,}){left}"

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_demo_with_progress(store: object, accounts: int) -> None:
    """Generate and load the demo org into ``store``; a big one shows its progress on stderr."""
    if accounts < PROGRESS_FROM_ACCOUNTS:
        demo.load_demo(store, accounts=accounts)
        return
    with Progress(demo.demo_work(accounts), "generating and loading the demo org") as progress:
        demo.load_demo(store, accounts=accounts, progress=progress.advance)
