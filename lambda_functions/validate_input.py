# ---
# Description: "Check a sync's input before anything is read or written; name the field that is wrong."
# MemorySize: 128
# Timeout: 10
# Policies:
#   - AWSLambdaBasicExecutionRole
#   - Statement:
#       - Effect: Allow
#         Action: [states:ListStateMachines]
#         Resource: ["*"]
#       - Effect: Allow
#         Action: [states:ListExecutions]
#         Resource: ["{state_machines}"]
#       - Effect: Allow
#         Action: [states:DescribeExecution]
#         Resource: ["{executions}"]
# ---
"""ValidateInput: the execution input in, a run out.

Input: ``{"executionArn": $$.Execution.Id, "runId": $$.Execution.Name, "input": {"source", "destination",
"prefix"?, "startAfter"?, "dryRun"?, "allowDeleteAll"?, "maxDeletes"?, "settings"?}}``.
Output: ``{"run": {...}}``, the validated run (regions still empty).
Raises InvalidInputError (a field is wrong, or names a bucket this deployment may not use) or ConcurrentSyncError
(a sync into the same destination is running).
"""
import logging

import boto3

from bucket_sync.concurrency import refuse_concurrent
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
    refuse_concurrent(sfn(), event["executionArn"], run.destination)
    logger.info("validated run %s: %s -> %s", run.run_id, run.source, run.destination)
    return {"run": run.to_json()}
