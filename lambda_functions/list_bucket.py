# ---
# Description: "Plan one round of a sync: merge-join both listings from a cursor, write the actions as batches."
# MemorySize: 512
# Timeout: 900
# Policies:
#   - AWSLambdaBasicExecutionRole
#   - Statement:
#       - Effect: Allow
#         Action: [s3:ListBucket]
#         Resource: ["{source_buckets}", "{destination_buckets}", "{deployment_bucket}"]
#       - Effect: Allow
#         Action: [s3:GetObject, s3:PutObject, s3:DeleteObject]
#         Resource: ["{deployment_runs}"]
#       - Effect: Allow
#         Action: [s3:GetObject]
#         Resource: ["{deployment_etag_pairs}"]
# ---
"""ListBucket (the PlanSync loop's body): decide keys from the cursor until done or out of time.

Input: ``{"run": {...}, "plan": {...} | null, "attempt": <the state's retry count>}``. Output: the next plan state
``{"cursor", "done", "rounds", "copyBatches", "deleteBatches", "skipBatches", "totals", "requests"}``; the state machine
calls again until ``done``. Each call stops HANDOVER_SECONDS before its timeout, so no bucket is too big for a round.
"""

import logging

from bucket_sync.clients import S3Clients
from bucket_sync.planner import PlanState, plan_round
from bucket_sync.requests import merge_counts
from bucket_sync.run import SyncRun

HANDOVER_SECONDS = 120
"""Stop deciding this long before the Lambda timeout: the partial batches still have to be written."""

logger = logging.getLogger()


def handler(event, context):
    run = SyncRun.from_json(event["run"])
    state = PlanState.from_json(event.get("plan"), run)
    clients = S3Clients(max_attempts=run.settings.s3_max_attempts)
    next_state = plan_round(
        run,
        state,
        source_s3=clients.for_region(run.source_region, run.requester_pays),
        destination_s3=clients.for_region(run.destination_region, run.requester_pays),
        work_s3=clients.for_region(""),
        out_of_time=lambda: context.get_remaining_time_in_millis() < HANDOVER_SECONDS * 1000,
        attempt=event.get("attempt", 0),
    )
    requests = merge_counts(next_state.requests, clients.counter.snapshot())
    logger.info(
        "round %d of %s: cursor %r done=%s totals=%s",
        next_state.rounds,
        run.run_id,
        next_state.cursor,
        next_state.done,
        next_state.totals,
    )
    return PlanState.to_json(next_state) | {"requests": requests}
