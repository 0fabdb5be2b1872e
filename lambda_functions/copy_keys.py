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
#         # GetObject and GetObjectTagging: a check heads both sides; a backup copies the object it overwrites
#         # into the backup location (itself one of DESTINATION_BUCKETS) first.
#         Action: [s3:GetObject, s3:GetObjectTagging, s3:PutObject, s3:PutObjectTagging, s3:AbortMultipartUpload]
#         Resource: ["{destination_objects}"]
#       - Effect: Allow
#         Action: [s3:ListBucketMultipartUploads]
#         Resource: ["{destination_buckets}"]
#       - Effect: Allow
#         Action: [s3:GetObject, s3:PutObject]
#         Resource: ["{deployment_runs}"]
#       - Effect: Allow
#         # SSE-KMS: reading a source under a customer managed key needs Decrypt; writing the copy GenerateDataKey,
#         # and a multipart copy Decrypt of its own parts too. Only through S3, only on the keys of KMS_KEYS.
#         Action: [kms:Decrypt, kms:GenerateDataKey]
#         Resource: ["{kms_keys}"]
#         Condition:
#           StringLike:
#             kms:ViaService: "s3.*.amazonaws.com*"  # the last *: amazonaws.com.cn in China
# ---
"""CopySourceKeys (inside the Distributed Map): copy every key of one plan batch.

Input: ``{"run": {...}, "batch": "<plan batch key in the work bucket>", "start": <index to go on from>,
"attempt": <the task's retry count>}``, or ``{"run", "items": [...], "previous": <the output of the invocation
before, or the empty start>, "attempt"}`` for a small plan carried in the state (CopyInline), answered with
``{"results": [[result, error, etag], ...], "requests", "copied", "failed", ..., "done"}`` in item order.
On a retry, multipart uploads an earlier attempt left behind are aborted before the object is copied again.
Output: ``{"copied", "deleted", "skipped", "failed", "bytesCopied", "done", "next"?}``; the outcome of each key,
with the S3 requests made, goes to the batch's result file, which the report reads. A failing object never stops
the others: every failure of one object (S3's refusal, a source changed, SlowDown or 500 after every retry) is
that object's outcome. The invocation starts no new copy within ``HANDOVER_SECONDS`` of its timeout, keeps what
it did and answers ``"done": false``; the state machine calls it again from ``next``. A batch that runs longer than
``workers.PROGRESS_SECONDS`` says how far it got, every few seconds, with an empty object under
``runs/<id>/progress/copy/`` whose name carries its counts (one PutObject each, in its requests), which
``fab sync`` and ``fab watch`` list to move their progress bar within the batch.
"""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

from bucket_sync.backup import back_up, held_back
from bucket_sync.batches import entry_of
from bucket_sync.clients import S3Clients
from bucket_sync.copy import CopySettings, copy_object
from bucket_sync.errors import ArchivedObjectError, SyncError
from bucket_sync.listing import Entry
from bucket_sync.outcomes import COPIED, FAILED, SKIPPED, outcome
from bucket_sync.run import CHECK, SyncRun
from bucket_sync.verify import verify
from bucket_sync.workers import BatchProgress, batch_name, work_on, write_progress_with

HANDOVER_SECONDS = 180
"""Start no new copy this close to the Lambda timeout: copies in flight must still finish (a 5 GiB CopyObject
takes about a minute or two) and the outcomes must be written."""

logger = logging.getLogger()


def copy_one(item, run, clients, settings):
    if run.mode == CHECK:
        return verify(
            item,
            clients.for_region(run.source_region, run.requester_pays),
            clients.for_region(run.destination_region, run.requester_pays),
            run.source,
            run.destination,
        )
    backup = None
    if run.backup and item.get("target"):
        backup, failure = back_up(run, clients, Entry.from_json(item["target"]), settings)
        if failure:
            return outcome(item, "copy", *held_back(failure, "overwritten"))
    try:
        result = copy_object(
            clients.for_region(run.source_region, run.requester_pays),
            clients.for_region(run.destination_region, run.requester_pays),
            run.source,
            run.destination,
            entry_of(item),
            settings,
        )
    except ArchivedObjectError as error:
        return outcome(item, "copy", SKIPPED, str(error))
    except SyncError as error:
        return outcome(item, "copy", FAILED, f"{type(error).__name__}: {error}")
    extra = {"backup": backup} if backup else {}
    return outcome(
        item,
        "copy",
        COPIED,
        sourceEtag=item["entry"]["etag"],
        etag=result.destination_etag,
        multipart=result.multipart,
        **extra,
    )


def copy_all(items, run, clients, settings, out_of_time, progress=None):
    """Copy ``items`` in order, ``copyThreads`` at a time, starting none once ``out_of_time()`` or after
    ``maxCopiesPerInvocation``: the outcomes of the items started, which are a prefix of ``items``, in order.
    ``progress`` (a ``BatchProgress``) counts each outcome as it comes, and writes while the copies run."""
    limit = run.settings.max_copies_per_invocation or len(items)
    slots = threading.BoundedSemaphore(run.settings.copy_threads)

    def copy_in_slot(item):
        try:
            return copy_one(item, run, clients, settings)
        finally:
            slots.release()

    futures = []
    with (
        ThreadPoolExecutor(max_workers=run.settings.copy_threads) as pool,
        progress.running() if progress else nullcontext(),
    ):
        for item in items[:limit]:
            slots.acquire()  # a copy is started only when a thread is free, so the budget is checked in time
            if out_of_time():
                slots.release()
                break
            futures.append(pool.submit(copy_in_slot, item))
            if progress:
                futures[-1].add_done_callback(lambda future: progress.count(future.result()))
        pool.shutdown(wait=True)  # every copy ends before the progress writer stops
    return [future.result() for future in futures]


def handler(event, context):
    run = SyncRun.from_json(event["run"])
    clients = S3Clients(max_attempts=run.settings.s3_max_attempts)
    settings = CopySettings(
        multipart_threshold_bytes=run.settings.multipart_threshold_bytes,
        abort_stale_uploads=event.get("attempt", 0) > 0,
    )

    def out_of_time():
        return context.get_remaining_time_in_millis() < HANDOVER_SECONDS * 1000

    progress = BatchProgress(write_progress_with(clients, run), run.run_id, batch_name(event))
    counts = work_on(
        event,
        run,
        clients,
        lambda items: copy_all(items, run, clients, settings, out_of_time, progress),
        resumed=progress.resume,
    )
    logger.info(
        "%s: copied %d, failed %d, skipped %d, done %s",
        event.get("batch", "inline plan"),
        counts["copied"],
        counts["failed"],
        counts["skipped"],
        counts["done"],
    )
    return counts
