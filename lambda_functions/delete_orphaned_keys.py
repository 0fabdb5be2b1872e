# ---
# Description: "Delete one batch of destination keys that the source no longer has, 1,000 keys a request."
# MemorySize: 256
# Timeout: 300
# Policies:
#   - AWSLambdaBasicExecutionRole
#   - Statement:
#       - Effect: Allow
#         Action: [s3:DeleteObject]
#         Resource: ["{destination_objects}"]
#       - Effect: Allow
#         Action: [s3:GetObject, s3:PutObject]
#         Resource: ["{deployment_runs}"]
# ---
"""DeleteOrphanedKeys (inside the Distributed Map, only after every copy succeeded).

Input: ``{"run": {...}, "batch": "<plan batch key>", "attempt": <the task's retry count>}``, or ``{"run", "items": [...]}`` for a small plan carried
in the state (DeleteInline), answered with ``{"results": [[result, error, null], ...], "requests", ...counts}``.
Output: the counts (``deleted``, ``failed``, ...); for a batch, each key's outcome goes to its result file. On a versioned destination this leaves delete markers: no version is lost.
"""
import logging

from botocore.exceptions import ClientError

from bucket_sync.clients import S3Clients
from bucket_sync.outcomes import DELETED, FAILED, outcome
from bucket_sync.run import SyncRun
from bucket_sync.workers import work_on

MAX_KEYS_PER_REQUEST = 1000
"""DeleteObjects' limit."""

logger = logging.getLogger()


def delete_batch(s3, bucket, items):
    outcomes = []
    for start in range(0, len(items), MAX_KEYS_PER_REQUEST):
        chunk = items[start:start + MAX_KEYS_PER_REQUEST]
        try:
            response = s3.delete_objects(Bucket=bucket, Delete={
                "Objects": [{"Key": item["key"]} for item in chunk], "Quiet": True})
        except ClientError as error:
            code = error.response["Error"]["Code"]
            outcomes += [outcome(item, "delete", FAILED, code) for item in chunk]
            continue
        errors = {e["Key"]: f"{e.get('Code')}: {e.get('Message', '')}" for e in response.get("Errors", [])}
        outcomes += [outcome(item, "delete", FAILED, errors[item["key"]]) if item["key"] in errors
                     else outcome(item, "delete", DELETED) for item in chunk]
    return outcomes


def handler(event, context):
    run = SyncRun.from_json(event["run"])
    clients = S3Clients()
    destination = clients.for_region(run.destination_region)
    counts = work_on(event, run, clients, lambda items: delete_batch(destination, run.destination, items))
    logger.info("%s: deleted %d, failed %d", event.get("batch", "inline plan"), counts["deleted"], counts["failed"])
    return counts
