"""API request accounting: the org's daily API request count against its limit.

Every authenticated ``/services/data/vXX.X/...`` request counts once, whatever its outcome. A request that
would go past the maximum is refused with 403 REQUEST_LIMIT_EXCEEDED and is not counted, so ``used`` never
exceeds ``max``. Every API response carries ``Sforce-Limit-Info: api-usage=used/max``.
"""

from __future__ import annotations

import threading

from .errors import SalesforceError

LIMIT_INFO_HEADER = "Sforce-Limit-Info"


def request_limit_exceeded() -> SalesforceError:
    return SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")


class ApiAccounting:
    """A thread-safe counter of API requests with a maximum."""

    def __init__(self, maximum: int):
        self.maximum = maximum
        self._used = 0
        self._lock = threading.Lock()

    @property
    def used(self) -> int:
        with self._lock:
            return self._used

    @property
    def remaining(self) -> int:
        with self._lock:
            return self.maximum - self._used

    def count_request(self) -> int:
        """Count one API request and return the count it makes; REQUEST_LIMIT_EXCEEDED (uncounted) when
        the limit is used up."""
        with self._lock:
            if self._used >= self.maximum:
                raise request_limit_exceeded()
            self._used += 1
            return self._used

    def limit_info(self) -> str:
        """The value of the ``Sforce-Limit-Info`` header: the count so far and the maximum."""
        with self._lock:
            return f"api-usage={self._used}/{self.maximum}"

    def limits(self) -> dict:
        """The body of the ``limits/`` resource: DailyApiRequests and a few other limits for realism."""
        with self._lock:
            used = self._used
        return {
            "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
            "ConcurrentSyncReportRuns": {"Max": 20, "Remaining": 20},
            "DailyApiRequests": {"Max": self.maximum, "Remaining": self.maximum - used},
            "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            "DataStorageMB": {"Max": 5, "Remaining": 5},
            "FileStorageMB": {"Max": 20, "Remaining": 20},
            "HourlyTimeBasedWorkflow": {"Max": 50, "Remaining": 50},
            "SingleEmail": {"Max": 15, "Remaining": 15},
        }
