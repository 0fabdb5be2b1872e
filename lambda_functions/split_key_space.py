# ---
# Description: "Cut a sync's key scope into ranges that are planned in parallel."
# MemorySize: 256
# Timeout: 60
# Policies:
#   - AWSLambdaBasicExecutionRole
#   - Statement:
#       - Effect: Allow
#         Action: [s3:ListBucket]
#         Resource: ["{source_buckets}"]
#       - Effect: Allow
#         Action: [s3:PutObject]
#         Resource: ["{deployment_runs}"]
# ---
"""SplitKeySpace: after the first planning round, when the scope did not end within it.

Input: ``{"run": {...}, "cursor": <the first round's last key>}``. Output: ``{"ranges": n, "copyConcurrency": m,
"requests": {...}}``. It spends a few Delimiter listings and probes of the source (bucket_sync/ranges.py) to cut the
rest of the scope, the keys after the cursor, into at most ``settings.listRanges`` ranges that cover it exactly, no
key in two, and, when it finds more than one, writes one file per range (``runs/<run>/ranges/<n>.json``, numbered
from 1: range 0 is the first round's) for PlanRanges to read. One range writes nothing: the planning goes on as one
stream. ``copyConcurrency`` is each range's share of ``settings.maxConcurrency``, so that the ranges' copies
together keep to it.
"""

import logging

from bucket_sync.clients import S3Clients
from bucket_sync.ranges import Scope, choose_boundaries, s3_page_lister, split
from bucket_sync.run import SyncRun
from bucket_sync.run_files import RunFiles

logger = logging.getLogger()


def handler(event, context):
    run = SyncRun.from_json(event["run"])
    clients = S3Clients(max_attempts=run.settings.s3_max_attempts)
    scope = Scope(prefix=run.prefix, start_after=event["cursor"])  # the rest of the scope
    source = s3_page_lister(clients.for_region(run.source_region, run.requester_pays), run.source)
    settings = run.settings
    cuts = choose_boundaries(
        source, scope, settings.list_ranges, min_range_keys=settings.min_range_keys, page_size=settings.page_size
    )
    ranges = split(scope, cuts)
    if len(ranges) > 1:
        files = RunFiles(run, clients.for_region(""))
        for number, key_range in enumerate(ranges, start=1):
            files.write_range(number, key_range)
    logger.info("%s: %d range(s) %s", run.run_id, len(ranges), [key_range.to_json() for key_range in ranges])
    return {
        "ranges": len(ranges),
        "copyConcurrency": max(1, run.settings.max_concurrency // len(ranges)),
        "requests": clients.counter.snapshot(),
    }
