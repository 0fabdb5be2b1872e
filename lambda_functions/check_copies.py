# ---
# Description: "Count failed copies of a run, so deletions happen only when every copy succeeded."
# MemorySize: 256
# Timeout: 300
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
"""CheckCopies: between CopySourceKeys and DeleteOrphanedKeys.

Input: ``{"run": {...}, "plan": {"copyBatches", "ranged", ...}}``. Output: ``{"copiesFailed": n, "requests": {...}}``,
from one LIST of the copy results (their names carry their failure counts); a copy batch without a result counts
all its keys as failed, so a crashed worker holds the deletions back too. With several key ranges it lists the copy
plan batches too (their names are not known in advance) and counts the copies every range made while planned.
"""

from bucket_sync.clients import S3Clients
from bucket_sync.run import SyncRun
from bucket_sync.run_files import RunFiles


def handler(event, context):
    run = SyncRun.from_json(event["run"])
    clients = S3Clients(max_attempts=run.settings.s3_max_attempts)
    plan = event["plan"]
    known = None if plan.get("ranged") else plan["copyBatches"]  # one range's batch names are known
    failed = RunFiles(run, clients.for_region("")).count_failed("copy", known)
    return {"copiesFailed": failed, "requests": clients.counter.snapshot()}
