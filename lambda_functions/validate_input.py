# ---
# Description: "Check a sync's input before anything is read or written; name the field that is wrong."
# MemorySize: 128
# Timeout: 10
# Environment:
#   Variables:  # the deployment's limits (bucket_sync/contract.py names them; deploy fills in the settings)
#     SOURCE_BUCKETS: "{source_buckets}"
#     DESTINATION_BUCKETS: "{destination_buckets}"
#     MAX_DELETES: "{max_deletes}"
# Policies:
#   - AWSLambdaBasicExecutionRole
#   - Statement:
#       - Effect: Allow
#         Action: [s3:GetObject, s3:PutObject]
#         Resource: ["{deployment_locks}"]
#       - Effect: Allow
#         Action: [s3:PutObject]  # the run's record, written as it starts (or is refused)
#         Resource: ["{deployment_history}"]
#       - Effect: Allow
#         Action: [states:DescribeExecution]  # is the lock's holder still running?
#         Resource: ["{executions}"]
# ---
"""ValidateInput: the execution input in, a run out, and the destination's lock taken.

Input: ``{"executionArn": $$.Execution.Id, "runId": $$.Execution.Name, "startTime": $$.Execution.StartTime,
"input": {"source", "destination", "prefix"?, "startAfter"?, "dryRun"?, "allowDeleteAll"?, "maxDeletes"?,
"settings"?}}``.
Output: ``{"run": {...}, "lock": {"etag", "requests"}, "record": {...}}``: the validated run (regions still
empty), the lock this execution holds with the S3 requests taking it and writing the record cost (the summary
counts them), and the run's record (bucket_sync/records.py), which the end steps write over.
Raises InvalidInputError (a field is wrong, or names a bucket this deployment may not use) or ConcurrentSyncError
(a sync into the same destination is running); either way nothing was written but the run's record, which says
so. From here on, every path of the state machine releases the lock (bucket_sync/concurrency.py) and finishes
the record. An event without ``startTime`` (a machine deployed before records) writes no record.
"""

import logging

import boto3

from bucket_sync import concurrency, records
from bucket_sync.clients import S3Clients
from bucket_sync.errors import SyncError
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
    clients = S3Clients()
    work = clients.for_region("")
    work_bucket = work_bucket_from_environment()
    record = None
    if event.get("startTime"):
        record = records.started(event["executionArn"], event["startTime"], event.get("input"))
    try:
        run = parse_input(event.get("input"), event["runId"], work_bucket, Limits.from_environment())
        if record is not None:  # before the lock: a run that holds a lock always has a record
            records.put(work, work_bucket, record)
        etag = concurrency.take(work, sfn(), run.work_bucket, run.destination, event["executionArn"])
    except SyncError as error:  # refused: the record says why, and the run ends here
        if record is not None:
            finish_refused(work, work_bucket, record, error)
        raise
    logger.info("validated run %s: %s -> %s", run.run_id, run.source, run.destination)
    return {"run": run.to_json(), "lock": {"etag": etag, "requests": clients.counter.snapshot()}, "record": record}


def finish_refused(work, work_bucket, record, error):
    """The record of a refused run, named as Step Functions names the error (its class, its message). A record
    S3 refuses must not hide why the run was refused."""
    try:
        records.put(work, work_bucket, records.finished(record, records.FAILED, None, type(error).__name__, str(error)))
    except Exception:
        logger.exception("could not write the record of %s", record["execution"])
