# ---
# Description: "Check a sync's input before anything is read or written; name the field that is wrong."
# MemorySize: 128
# Timeout: 10
# Policies:
#   - AWSLambdaBasicExecutionRole
#   - Statement:
#       - Effect: Allow
#         Action: [s3:GetObject, s3:PutObject]
#         Resource: ["{deployment_locks}"]
#       - Effect: Allow
#         Action: [states:DescribeExecution]  # is the lock's holder still running?
#         Resource: ["{executions}"]
# ---
"""ValidateInput: the execution input in, a run out, and the destination's lock taken.

Input: ``{"executionArn": $$.Execution.Id, "runId": $$.Execution.Name, "input": {"source", "destination",
"prefix"?, "startAfter"?, "dryRun"?, "allowDeleteAll"?, "maxDeletes"?, "settings"?}}``.
Output: ``{"run": {...}, "lock": {"etag", "requests"}}``: the validated run (regions still empty), and the lock
this execution holds with the S3 requests taking it cost (the summary counts them).
Raises InvalidInputError (a field is wrong, or names a bucket this deployment may not use) or ConcurrentSyncError
(a sync into the same destination is running); either way nothing was written. From here on, every path of the
state machine releases the lock (bucket_sync/concurrency.py).
"""

import logging

import boto3

from bucket_sync import concurrency
from bucket_sync.clients import S3Clients
from bucket_sync.inputs import Limits, parse_input
from bucket_sync.run import work_bucket_from_environment

logger = logging.getLogger()

_sfn = None


def sfn():
    global _sfn
    if _sfn is None:
        _sfn = boto3.client("stepfunctions")
    return _sfn


def handler(event, context):
    run = parse_input(event.get("input"), event["runId"], work_bucket_from_environment(), Limits.from_environment())
    clients = S3Clients()
    etag = concurrency.take(clients.for_region(""), sfn(), run.work_bucket, run.destination, event["executionArn"])
    logger.info("validated run %s: %s -> %s", run.run_id, run.source, run.destination)
    return {"run": run.to_json(), "lock": {"etag": etag, "requests": clients.counter.snapshot()}}
