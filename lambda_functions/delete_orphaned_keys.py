# ---
# Description: "Delete one batch of destination keys that the source no longer has, 1,000 keys a request."
# MemorySize: 256
# Timeout: 300
# Policies:
#   - AWSLambdaBasicExecutionRole
#   - Statement:
#       - Effect: Allow
#         # GetObject: S3 asks it of a delete conditional on the ETag (every delete here is); the rest: a backup
#         # copies the object into the backup location (one of DESTINATION_BUCKETS) before it is deleted.
#         Action: [s3:DeleteObject, s3:GetObject, s3:GetObjectTagging, s3:PutObject, s3:PutObjectTagging,
#                  s3:AbortMultipartUpload]
#         Resource: ["{destination_objects}"]
#       - Effect: Allow
#         Action: [s3:ListBucketMultipartUploads]  # a retried backup's multipart copy aborts what it left
#         Resource: ["{destination_buckets}"]
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

Race-safe: every delete is conditional on the ETag the orphan was listed with (``<ETag>`` per object of
DeleteObjects, ``If-Match`` on a single DeleteObject), so an orphan rewritten in the destination after it was listed
is kept, reported as skipped with DestinationChangedError, and decided again by the next run. With a ``backup``,
each orphan is first copied, as listed, to the run's backup location (the copies ``copyThreads`` at a time), and only
the orphans whose backup succeeded are deleted; a failed backup fails its key, which is kept.
"""

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from xml.sax.saxutils import escape

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from bucket_sync.backup import back_up, held_back
from bucket_sync.batches import entry_of
from bucket_sync.clients import S3Clients
from bucket_sync.concurrency import conditional
from bucket_sync.copy import CHANGED_CODES, MISSING_CODES, CopySettings
from bucket_sync.outcomes import DELETED, FAILED, SKIPPED, outcome
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
    """Delete every item's key if it still has its listed ETag, 1,000 a request; a request that fails fails its
    keys only."""
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
        with etags_in_delete_objects(s3, [item["entry"]["etag"] for item in chunk]):
            response = s3.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": item["key"]} for item in chunk], "Quiet": True}
            )
    except (ClientError, BotoCoreError) as error:
        return {item["key"]: outcome(item, "delete", FAILED, _error_text(error)) for item in chunk}
    errors = {e["Key"]: (e.get("Code", ""), e.get("Message", "")) for e in response.get("Errors", [])}
    return {
        item["key"]: not_deleted(item, *errors[item["key"]])
        if item["key"] in errors
        else outcome(item, "delete", DELETED)
        for item in chunk
    }


def _delete_one(s3, bucket, item):
    try:
        with conditional(s3, "DeleteObject", {"If-Match": item["entry"]["etag"]}):
            s3.delete_object(Bucket=bucket, Key=item["key"])
    except ClientError as error:
        details = error.response.get("Error", {})
        return not_deleted(item, str(details.get("Code", "")), details.get("Message", ""))
    except BotoCoreError as error:
        return outcome(item, "delete", FAILED, _error_text(error))
    return outcome(item, "delete", DELETED)


def not_deleted(item, code, message):
    """The outcome of a delete S3 refused: kept and skipped when the orphan changed or went since it was
    listed (the condition did its work), failed otherwise."""
    if code in CHANGED_CODES:
        return outcome(
            item,
            "delete",
            SKIPPED,
            f"DestinationChangedError: kept, as it was rewritten after it was listed (its ETag is no longer "
            f"{item['entry']['etag']}); the next run decides again",
        )
    if code in MISSING_CODES:
        return outcome(item, "delete", SKIPPED, "already gone: deleted by someone else after it was listed")
    return outcome(item, "delete", FAILED, f"{code}: {message}")


@contextmanager
def etags_in_delete_objects(s3, etags):
    """Give each object of the DeleteObjects requests made inside the block its ``<ETag>``, in order. Written into
    the request body by a hook (before its checksum is computed) rather than as a parameter, because the Lambda
    runtime's botocore may predate the ETag member of DeleteObjects' ObjectIdentifier."""

    def add(params, **_):
        body = params["body"].decode("utf-8") if isinstance(params["body"], bytes) else params["body"]
        pieces = body.split(OBJECT_END)
        if len(pieces) != len(etags) + 1:
            raise ValueError(f"a DeleteObjects body of {len(pieces) - 1} objects for {len(etags)} ETags")
        tagged = [f"{piece}<ETag>{escape(etag)}</ETag>" for piece, etag in zip(pieces, etags, strict=False)]
        params["body"] = OBJECT_END.join([*tagged, pieces[-1]]).encode("utf-8")

    event = "before-call.s3.DeleteObjects"
    s3.meta.events.register_first(event, add)
    try:
        yield
    finally:
        s3.meta.events.unregister(event, add)


OBJECT_END = "</Object>"


def _error_text(error):
    if isinstance(error, ParamValidationError):
        raise error  # the request this code built is wrong: a bug, which must fail loudly
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code')}: {details.get('Message', '')}"
    return f"{type(error).__name__}: {error}"


def back_up_then_delete(run, clients, items, attempt=0):
    """With a backup: copy each orphan to the backup location as listed, then delete those backed up."""
    destination = clients.for_region(run.destination_region, run.requester_pays)
    if not run.backup:
        return delete_batch(destination, run.destination, items)
    settings = CopySettings(
        multipart_threshold_bytes=run.settings.multipart_threshold_bytes, abort_stale_uploads=attempt > 0
    )

    def backed_up_or_failed(item):
        backup, failure = back_up(run, clients, entry_of(item), settings)
        return backup or outcome(item, "delete", *held_back(failure, "deleted"))

    with ThreadPoolExecutor(max_workers=run.settings.copy_threads) as pool:
        backups = list(pool.map(backed_up_or_failed, items))
    backed_up = [item for item, backup in zip(items, backups, strict=True) if isinstance(backup, str)]
    deleted = iter(delete_batch(destination, run.destination, backed_up))
    return [{**next(deleted), "backup": backup} if isinstance(backup, str) else backup for backup in backups]


def handler(event, context):
    run = SyncRun.from_json(event["run"])
    clients = S3Clients(max_attempts=run.settings.s3_max_attempts)
    attempt = event.get("attempt", 0)
    counts = work_on(event, run, clients, lambda items: back_up_then_delete(run, clients, items, attempt))
    logger.info("%s: deleted %d, failed %d", event.get("batch", "inline plan"), counts["deleted"], counts["failed"])
    return counts
