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

Input: ``{"run": {...}, "plan": {...} | null, "attempt": <the state's retry count>, "range"?: <a range file's key>}``:
without ``range`` it plans the whole scope (its first round stops after two ranges' worth of keys when the scope may
be cut, see planner.plan_round), with it the one key range PlanRanges gave it. Output: the next plan state
``{"cursor", "done", "rounds", "copyBatches", "deleteBatches", "skipBatches", "totals", "requests", ...}``
(planner.PlanState); the state machine calls again until ``done``, copying a range's ``newCopyBatches`` between
rounds. Each call stops HANDOVER_SECONDS before its timeout, so no bucket is too big for a round, and a range's
last round writes its final state for SumPlans.
"""

import logging
from dataclasses import replace

from bucket_sync.clients import S3Clients
from bucket_sync.planner import PlanState, finish_range, plan_round, start_range
from bucket_sync.requests import merge_counts
from bucket_sync.run import SyncRun

HANDOVER_SECONDS = 120
"""Stop deciding this long before the Lambda timeout: the partial batches still have to be written."""

logger = logging.getLogger()


def handler(event, context):
    run = SyncRun.from_json(event["run"])
    clients = S3Clients(max_attempts=run.settings.s3_max_attempts)
    work_s3 = clients.for_region("")
    if event.get("plan"):
        state = PlanState.from_json(event["plan"], run)
    elif event.get("range"):
        state = start_range(run, work_s3, event["range"])
    else:
        state = PlanState.from_json(None, run)
    next_state = plan_round(
        run,
        state,
        source_s3=clients.for_region(run.source_region, run.requester_pays),
        destination_s3=clients.for_region(run.destination_region, run.requester_pays),
        work_s3=work_s3,
        out_of_time=lambda: context.get_remaining_time_in_millis() < HANDOVER_SECONDS * 1000,
        attempt=event.get("attempt", 0),
    )
    next_state = replace(next_state, requests=merge_counts(next_state.requests, clients.counter.snapshot()))
    if next_state.ranged and next_state.done:
        next_state = finish_range(run, next_state, work_s3)
    logger.info(
        "round %d of %s: cursor %r done=%s totals=%s",
        next_state.rounds,
        run.run_id,
        next_state.cursor,
        next_state.done,
        next_state.totals,
    )
    return next_state.to_json()
