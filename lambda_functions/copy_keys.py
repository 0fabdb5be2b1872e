# ---
# Description: "Copy one batch of planned keys from source to destination, one request per object."
# MemorySize: 512
# Timeout: 900
# Policies:
#   - AWSLambdaBasicExecutionRole
#   - Statement:
#       - Effect: Allow
#         Action: [s3:ListBucket]
#         Resource: ["{source_buckets}"]
#       - Effect: Allow
#         Action: [s3:GetObject, s3:GetObjectTagging]
#         Resource: ["{source_objects}"]
#       - Effect: Allow
#         Action: [s3:PutObject, s3:PutObjectTagging, s3:AbortMultipartUpload]
#         Resource: ["{destination_objects}"]
#       - Effect: Allow
#         Action: [s3:ListBucketMultipartUploads]
#         Resource: ["{destination_buckets}"]
#       - Effect: Allow
#         Action: [s3:GetObject, s3:PutObject]
#         Resource: ["{deployment_runs}"]
# ---
"""CopySourceKeys (inside the Distributed Map): copy every key of one plan batch.

Input: ``{"run": {...}, "batch": "<plan batch key in the work bucket>", "attempt": <the task's retry count>}``,
or ``{"run", "items": [...], "attempt"}`` for a small plan carried in the state (CopyInline), answered with
``{"results": [[result, error, etag], ...], "requests", "copied", "failed"}`` in item order;
on a retry, multipart uploads an earlier attempt left behind are aborted before the object is copied again.
Output: ``{"copied", "deleted", "skipped", "failed", "bytesCopied"}``; the outcome of each key, with the S3 requests made,
goes to the batch's result file, which the report reads. A failing object never stops the others.
"""
import logging
from concurrent.futures import ThreadPoolExecutor

from bucket_sync.batches import entry_of
from bucket_sync.clients import S3Clients
from bucket_sync.copy import CopySettings, copy_object
from bucket_sync.errors import ArchivedObjectError, SyncError
from bucket_sync.outcomes import COPIED, FAILED, SKIPPED, outcome
from bucket_sync.run import SyncRun
from bucket_sync.workers import work_on

logger = logging.getLogger()


def copy_one(item, run, clients, settings):
    try:
        result = copy_object(clients.for_region(run.source_region), clients.for_region(run.destination_region),
                             run.source, run.destination, entry_of(item), settings)
    except ArchivedObjectError as error:
        return outcome(item, "copy", SKIPPED, str(error))
    except SyncError as error:
        return outcome(item, "copy", FAILED, f"{type(error).__name__}: {error}")
    return outcome(item, "copy", COPIED, sourceEtag=item["entry"]["etag"], etag=result.destination_etag,
                   multipart=result.multipart)


def copy_all(items, run, clients, settings):
    with ThreadPoolExecutor(max_workers=run.settings.copy_threads) as pool:
        return list(pool.map(lambda item: copy_one(item, run, clients, settings), items))


def handler(event, context):
    run = SyncRun.from_json(event["run"])
    clients = S3Clients()
    settings = CopySettings(multipart_threshold_bytes=run.settings.multipart_threshold_bytes,
                            abort_stale_uploads=event.get("attempt", 0) > 0)
    counts = work_on(event, run, clients, lambda items: copy_all(items, run, clients, settings))
    logger.info("%s: copied %d, failed %d, skipped %d", event.get("batch", "inline plan"), counts["copied"],
                counts["failed"], counts["skipped"])
    return counts
