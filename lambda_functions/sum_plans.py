# ---
# Description: "Sum the plans of the key ranges planned in parallel into the run's plan."
# MemorySize: 256
# Timeout: 120
# Policies:
#   - AWSLambdaBasicExecutionRole
#   - Statement:
#       - Effect: Allow
#         Action: [s3:ListBucket]
#         Resource: ["{deployment_bucket}"]
#       - Effect: Allow
#         Action: [s3:GetObject]
#         Resource: ["{deployment_runs}"]
# ---
"""SumPlans: after PlanRanges, before the delete guards.

Input: ``{"run": {...}, "split": <SplitKeySpace's output>, "first": <the first round's plan state>}``. Output: the
run's plan state (bucket_sync/planner.py), the sum of the first round's (range 0) and every range's final state
(``runs/<run>/planned/``, one file a range): totals, batches, rounds and S3 requests (its own included; WriteReport
adds SplitKeySpace's). ``missingRanges`` counts the ranges without a final state (their planning failed every
retry): the guards then refuse every deletion. ``copiedWhilePlanning`` says that the ranges copied their batches as
they planned them; ``copyPrefix`` then leaves CopySourceKeys only range 0's.
"""

from dataclasses import replace

from bucket_sync.clients import S3Clients
from bucket_sync.planner import PlanState, sum_ranges
from bucket_sync.requests import merge_counts
from bucket_sync.run import SyncRun


def handler(event, context):
    run = SyncRun.from_json(event["run"])
    clients = S3Clients(max_attempts=run.settings.s3_max_attempts)
    first = PlanState.from_json(event["first"], run)
    plan = sum_ranges(run, clients.for_region(""), event["split"]["ranges"], first)
    requests = merge_counts(plan.requests, clients.counter.snapshot())
    return replace(plan, requests=requests).to_json()
