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

Input: ``{"run": {...}, "batch": "<plan batch key>", "attempt": <the task's retry count>}``, or
``{"run", "items": [...]}`` for a small plan carried in the state (DeleteInline), answered with
``{"results": [[result, error, null], ...], "requests", ...counts}``.
Output: the counts (``deleted``, ``failed``, ...); for a batch, each key's outcome goes to its result file. On a
versioned destination this leaves delete markers: no version is lost. A batch is one DeleteObjects request per
1,000 keys, so it never needs a time budget of its own.
"""

import logging
import re

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from bucket_sync.clients import S3Clients
from bucket_sync.outcomes import DELETED, FAILED, outcome
from bucket_sync.run import SyncRun
from bucket_sync.workers import work_on

MAX_KEYS_PER_REQUEST = 1000
"""DeleteObjects' limit."""

NOT_IN_XML = re.compile("[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|\r")
"""Characters a DeleteObjects body cannot carry as they are: those XML 1.0 forbids (S3 answers the whole request
with MalformedXML), and the carriage return, which XML parsers turn into a line feed, so an error S3 reports
for such a key would come back under another key's name. Keys holding any are deleted one by one."""

logger = logging.getLogger()


def needs_single_delete(key):
    return NOT_IN_XML.search(key) is not None


def delete_batch(s3, bucket, items):
    """Delete every item's key, 1,000 a request; a request that fails fails its keys only."""
    bulk = [item for item in items if not needs_single_delete(item["key"])]
    by_key = {}
    for start in range(0, len(bulk), MAX_KEYS_PER_REQUEST):
        by_key.update(_delete_many(s3, bucket, bulk[start : start + MAX_KEYS_PER_REQUEST]))
    for item in items:
        if needs_single_delete(item["key"]):
            by_key[item["key"]] = _delete_one(s3, bucket, item)
    return [by_key[item["key"]] for item in items]


def _delete_many(s3, bucket, chunk):
    try:
        response = s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": item["key"]} for item in chunk], "Quiet": True}
        )
    except (ClientError, BotoCoreError) as error:
        return {item["key"]: outcome(item, "delete", FAILED, _error_text(error)) for item in chunk}
    errors = {e["Key"]: f"{e.get('Code')}: {e.get('Message', '')}" for e in response.get("Errors", [])}
    return {
        item["key"]: outcome(item, "delete", FAILED, errors[item["key"]])
        if item["key"] in errors
        else outcome(item, "delete", DELETED)
        for item in chunk
    }


def _delete_one(s3, bucket, item):
    try:
        s3.delete_object(Bucket=bucket, Key=item["key"])
    except (ClientError, BotoCoreError) as error:
        return outcome(item, "delete", FAILED, _error_text(error))
    return outcome(item, "delete", DELETED)


def _error_text(error):
    if isinstance(error, ParamValidationError):
        raise error  # the request this code built is wrong: a bug, which must fail loudly
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code')}: {details.get('Message', '')}"
    return f"{type(error).__name__}: {error}"


def handler(event, context):
    run = SyncRun.from_json(event["run"])
    clients = S3Clients(max_attempts=run.settings.s3_max_attempts)
    destination = clients.for_region(run.destination_region, run.requester_pays)
    counts = work_on(event, run, clients, lambda items: delete_batch(destination, run.destination, items))
    logger.info("%s: deleted %d, failed %d", event.get("batch", "inline plan"), counts["deleted"], counts["failed"])
    return counts
