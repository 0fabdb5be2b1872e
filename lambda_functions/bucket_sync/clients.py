"""S3 clients per region, created lazily and counted.

Transient errors (SlowDown, 500, throttling, connection resets) are retried by botocore's standard retry mode
with exponential backoff; the sync code never writes its own retry loop.
"""
from typing import Any

import boto3
from botocore.config import Config

from .requests import RequestCounter

RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 10}, max_pool_connections=64)


class S3Clients:
    """One client per region, sharing one request counter."""

    def __init__(self, counter: RequestCounter | None = None):
        self.counter = counter or RequestCounter()
        self._clients: dict[str, Any] = {}

    def for_region(self, region: str) -> Any:
        if region not in self._clients:
            self._clients[region] = self.counter.attach(
                boto3.client("s3", region_name=region or None, config=RETRY_CONFIG))
        return self._clients[region]
