# ---
# Description: "Release a sync's destination lock on a path that ends the run in failure."
# MemorySize: 128
# Timeout: 30
# Policies:
#   - AWSLambdaBasicExecutionRole
#   - Statement:
#       - Effect: Allow
#         Action: [s3:GetObject, s3:DeleteObject]  # GetObject: S3 asks it of a DeleteObject with If-Match
#         Resource: ["{deployment_locks}"]
#       - Effect: Allow
#         Action: [s3:PutObject]  # the run's record, finished with the error that ended it
#         Resource: ["{deployment_history}"]
# ---
"""ReleaseLockAfterFailure: every path that ends a run without WriteReport goes through here first (a refused
plan, a step that failed every retry), so the next sync into the destination is not held up. WriteReport
releases the lock itself. A run that is stopped or times out runs neither; the next sync takes its lock over.

It also writes the run's record over (bucket_sync/records.py): FAILED, with the error that ended the run and the
first line of its cause. The lock is released first: a record S3 refuses must not hold up the next sync.

Input: ``{"run": {...}, "lock": {"etag", ...}, "record": {...}, "error": {"Error", "Cause"}}`` (``record`` is
null or absent for a machine deployed before records). Output: ``{"released": bool}`` (false when the lock is no
longer the one this execution took).
"""

import boto3

from bucket_sync import concurrency, records
from bucket_sync.clients import RETRY_CONFIG
from bucket_sync.run import SyncRun

_s3 = None


def s3():
    global _s3
    if _s3 is None:
        _s3 = boto3.client("s3", config=RETRY_CONFIG)
    return _s3


def handler(event, context):
    run = SyncRun.from_json(event["run"])
    released = concurrency.release(s3(), run.work_bucket, run.destination, event["lock"]["etag"])
    if event.get("record"):
        error = event.get("error") or {}
        records.put(
            s3(),
            run.work_bucket,
            records.finished(event["record"], records.FAILED, None, error.get("Error") or "Error", error.get("Cause")),
        )
    return {"released": released}
