# ---
# Description: "Check a sync's input before anything is read or written; name the field that is wrong."
# MemorySize: 128
# Timeout: 10
# ---
"""ValidateInput: the execution input in, a run out.

Input: ``{"runId": <execution name>, "input": {"source", "destination", "prefix"?, "startAfter"?, "dryRun"?,
"settings"?}}``.
Output: ``{"run": {...}}``, the validated run (regions still empty). Raises InvalidInputError.
"""
import logging

from bucket_sync.inputs import parse_input
from bucket_sync.run import work_bucket_from_environment

logger = logging.getLogger()


def handler(event, context):
    run = parse_input(event.get("input"), event["runId"], work_bucket_from_environment())
    logger.info("validated run %s: %s -> %s", run.run_id, run.source, run.destination)
    return {"run": run.to_json()}
