"""Counting S3 requests per operation, retries included, so every sync can say what it cost.

A botocore ``before-send`` hook fires once per HTTP attempt; nothing is counted twice and nothing is missed.
"""
import threading
from collections import Counter
from typing import Any


class RequestCounter:
    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-send.s3", self._count)
        return client

    def _count(self, request: Any = None, event_name: str = "", **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        with self._lock:
            self._counts[operation] += 1

    def add(self, counts: dict[str, int]) -> None:
        with self._lock:
            self._counts.update(counts)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))


def merge_counts(*counts: dict[str, int]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for count in counts:
        total.update(count)
    return dict(sorted(total.items()))
