"""Failed HTTP Basic logins must not be a cheap way to burn the gateway's memory and CPU.

Verifying a password hash is deliberately expensive (scrypt takes tenths of a second and 16 MB), so 40
concurrent logins with random user names took a server from 143 MB to 1.2 GB. Two bounds:

- at most ``MAX_CONCURRENT_VERIFICATIONS`` hash verifications run at once in a process; a login that finds
  them all busy waits up to ``VERIFICATION_WAIT_SECONDS`` for one, then gets 429 with ``Retry-After``;
- a client (its address) whose logins failed ``MAX_FAILURES`` times within ``FAILURE_WINDOW_SECONDS`` gets
  429 with ``Retry-After`` (the time until its oldest failure leaves the window) without any verification.

Valid users are not slowed: credentials verified once are remembered by ``Access`` for minutes and never
reach the throttle again, and a success clears its client's failures.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator

from cachetools import TTLCache

from gateway.odata.http.errors import ODataError

MAX_CONCURRENT_VERIFICATIONS = 4
VERIFICATION_WAIT_SECONDS = 10.0
MAX_FAILURES = 5
FAILURE_WINDOW_SECONDS = 60.0
MAX_CLIENTS_TRACKED = 10_000


def too_many(message: str, retry_after: float) -> ODataError:
    seconds = max(1, math.ceil(retry_after))
    return ODataError(429, "TooManyRequests", message, headers={"Retry-After": str(seconds)})


class LoginThrottle:
    def __init__(
        self,
        *,
        max_concurrent: int = MAX_CONCURRENT_VERIFICATIONS,
        max_failures: int = MAX_FAILURES,
        window: float = FAILURE_WINDOW_SECONDS,
        wait: float = VERIFICATION_WAIT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.max_failures = max_failures
        self.window = window
        self.wait = wait
        self.clock = clock
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._failures: TTLCache = TTLCache(maxsize=MAX_CLIENTS_TRACKED, ttl=window, timer=clock)
        self._lock = threading.Lock()
        self.running = 0
        self.peak = 0  # the most verifications that ran at once (tests and metrics read it)

    def check(self, client: str | None) -> None:
        """429 when ``client`` failed too often lately; nothing is verified for it then."""
        if client is None:
            return
        now = self.clock()
        with self._lock:
            failures = self._failures.get(client)
            recent = [t for t in failures or () if now - t < self.window]
        if len(recent) >= self.max_failures:
            raise too_many(
                f"Too many failed logins from this client ({len(recent)} within {int(self.window)} s); "
                "try again later.",
                recent[0] + self.window - now,
            )

    @contextlib.contextmanager
    def verifying(self) -> Iterator[None]:
        """Hold one of the verification slots while a password hash is checked."""
        if not self._slots.acquire(timeout=self.wait):
            raise too_many("The gateway is busy verifying logins; try again shortly.", 1)
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            yield
        finally:
            with self._lock:
                self.running -= 1
            self._slots.release()

    def failed(self, client: str | None) -> None:
        if client is None:
            return
        with self._lock:
            failures = self._failures.get(client) or deque(maxlen=self.max_failures)
            failures.append(self.clock())
            self._failures[client] = failures  # re-set: the window starts again from this failure

    def succeeded(self, client: str | None) -> None:
        if client is None:
            return
        with self._lock:
            self._failures.pop(client, None)
