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

Input: ``{"run": {...}, "batch": "<plan batch key>"}``, or ``{"run", "items": [...]}`` for a small plan carried
in the state (DeleteInline), answered with ``{"results": [[result, error, null], ...], "requests", "deleted",
"failed"}``. Output: ``{"deleted", "failed"}``; each key's outcome
goes to the batch's result file. On a versioned destination this leaves delete markers: no version is lost.
"""
import logging

from botocore.exceptions import ClientError

from bucket_sync.batches import get_json, put_json
from bucket_sync.clients import S3Clients
from bucket_sync.outcomes import DELETED, FAILED, compact, outcome, tally
from bucket_sync.requests import merge_counts
from bucket_sync.run import SyncRun, result_key_for

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
    if "items" in event:  # a small plan, carried in the state: the results go back the same way
        outcomes = delete_batch(clients.for_region(run.destination_region), run.destination, event["items"])
        counts = tally(outcomes)
        return {"results": [compact(line) for line in outcomes], "requests": clients.counter.snapshot(),
                "deleted": counts[DELETED], "failed": counts[FAILED]}
    work = clients.for_region("")
    items = get_json(work, run.work_bucket, event["batch"])["items"]
    outcomes = delete_batch(clients.for_region(run.destination_region), run.destination, items)
    requests = merge_counts(clients.counter.snapshot(), {"PutObject": 1})
    put_json(work, run.work_bucket, result_key_for(event["batch"]), {"outcomes": outcomes, "requests": requests})
    counts = tally(outcomes)
    logger.info("batch %s: %s", event["batch"], dict(counts))
    return {"deleted": counts[DELETED], "failed": counts[FAILED]}
