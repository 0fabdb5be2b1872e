"""JSON documents in the work bucket, read and written whole, and a plan item's JSON form.

The helpers name no file: a run's files are named by bucket_sync/run_files.py, the ETag pairs' by
bucket_sync/etag_pairs.py, and both write and read through these."""

import json
from collections.abc import Iterator
from typing import Any

from .decide import Decision
from .listing import Entry


def decision_to_json(decision: Decision) -> dict[str, Any]:
    entry = decision.source or decision.destination
    return {"key": decision.key, "reason": decision.reason, "entry": entry.to_json() if entry else None}


def entry_of(item: dict[str, Any]) -> Entry:
    return Entry.from_json(item["entry"])


def put_json(s3: Any, bucket: str, key: str, document: Any) -> None:
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(document, ensure_ascii=False).encode("utf-8"),
        ContentType="application/json",
    )


def get_json(s3: Any, bucket: str, key: str) -> Any:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def list_keys(s3: Any, bucket: str, prefix: str, start_after: str = "") -> Iterator[str]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, StartAfter=start_after):
        for item in page.get("Contents", []):
            yield item["Key"]
