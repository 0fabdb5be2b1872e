"""Counting S3 requests per operation, retries included, so every sync can say what it cost.

A botocore ``before-send`` hook fires once per HTTP attempt and ``before-call`` once per API call; the attempts
beyond the first are retries. Counts travel between steps as one flat mapping: ``{"CopyObject": 12, ...}`` for
requests sent, and ``{"retry:CopyObject": 2}`` for how many of them were retries, so that one ``merge_counts``
adds up both; ``split_retries`` separates them for the summary.
"""

import os
import threading
import time
from collections import Counter
from typing import Any

RETRY_PREFIX = "retry:"
LAMBDA_PREFIX = "lambda:"
INVOCATIONS, MB_MILLISECONDS = "lambda:invocations", "lambda:MB-ms"
"""What the invocation itself cost, carried with its requests so that every step's counts add up to the run's: one
invocation, and its memory (Lambda's AWS_LAMBDA_FUNCTION_MEMORY_SIZE) times the milliseconds from the counter's
making to the snapshot, which is a handler's whole run less its imports. Only inside Lambda, where the variable is
set."""


class RequestCounter:
    def __init__(self) -> None:
        self._attempts: Counter[str] = Counter()
        self._calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._memory_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") or 0)

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-send.s3", self._count_attempt)
        client.meta.events.register("before-call.s3", self._count_call)
        return client

    def _count_attempt(self, event_name: str = "", **_: Any) -> None:
        with self._lock:
            self._attempts[event_name.rsplit(".", 1)[-1]] += 1

    def _count_call(self, event_name: str = "", **_: Any) -> None:
        with self._lock:
            self._calls[event_name.rsplit(".", 1)[-1]] += 1

    def snapshot(self) -> dict[str, int]:
        """Requests sent per operation, and retries per operation under ``retry:<operation>`` when there were any."""
        with self._lock:
            counts = dict(self._attempts)
            for operation, attempts in self._attempts.items():
                retries = attempts - self._calls[operation]
                if retries > 0:
                    counts[RETRY_PREFIX + operation] = retries
        if self._memory_mb:
            counts[INVOCATIONS] = 1
            counts[MB_MILLISECONDS] = round((time.monotonic() - self._started) * 1000) * self._memory_mb
        return dict(sorted(counts.items()))


def merge_counts(*counts: dict[str, int]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for count in counts:
        total.update(count)
    return dict(sorted(total.items()))


def split_retries(counts: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    """(requests per operation, retries per operation) from a merged mapping; the Lambda usage is left out."""
    requests = {op: n for op, n in counts.items() if not op.startswith((RETRY_PREFIX, LAMBDA_PREFIX))}
    retries = {op[len(RETRY_PREFIX) :]: n for op, n in counts.items() if op.startswith(RETRY_PREFIX)}
    return requests, retries
