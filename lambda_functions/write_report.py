# ---
# Description: "Write a sync's per-object report to S3 and return its summary; fail the run if anything failed."
# MemorySize: 1024
# Timeout: 900
# Policies:
#   - AWSLambdaBasicExecutionRole
#   - Statement:
#       - Effect: Allow
#         Action: [s3:ListBucket]
#         Resource: ["{deployment_bucket}"]
#       - Effect: Allow
#         Action: [s3:GetObject, s3:PutObject]  # PutObject: a multipart upload's create, parts and completion too
#         Resource: ["{deployment_runs}"]
#       - Effect: Allow
#         Action: [s3:GetObject, s3:PutObject, s3:DeleteObject]  # compacting: read, write, delete the old
#         Resource: ["{deployment_etag_pairs}"]
#       - Effect: Allow
#         Action: [s3:AbortMultipartUpload]  # a report or an ETag-pair record streamed in parts, on failure
#         Resource: ["{deployment_runs}", "{deployment_etag_pairs}"]
#       - Effect: Allow
#         Action: [s3:PutObject]  # the run's record, finished
#         Resource: ["{deployment_history}"]
#       - Effect: Allow
#         Action: [s3:GetObject, s3:DeleteObject]  # GetObject: S3 asks it of a DeleteObject with If-Match
#         Resource: ["{deployment_locks}"]
# ---
"""WriteReport: the last step. Streams every outcome into ``runs/<run>/report.jsonl`` (one JSON line per action
taken, planned, skipped or failed) as the results are read, one batch at a time (bucket_sync/report.py: one
PutObject for a report under 5 MiB, else a multipart upload of 5 MiB parts), and returns the summary that becomes
the execution's output; its memory does not grow with the number of objects.

Input: ``{"run", "lock", "record", "plan", "copyCheck", "inlineCopies", "inlineDeletes", "refusal"}`` (``refusal``:
a delete guard's ``{"Error", "Cause"}`` when it refused a plan after copies made while planning, which the run then
fails with once the report is written; the two before it: the
workers' compact results when the plan was small enough to travel in the state). Output: the summary (see README,
"Output"). Raises SyncFailedError, with the counts and the report location, when any action failed. Either way it
writes the run's record over with the outcome and the summary (bucket_sync/records.py; a run without one, from a
machine deployed before records, writes none), then releases the destination's lock last
(bucket_sync/concurrency.py): the run has changed all it will.
"""

import json
import logging
from collections import Counter
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bucket_sync import concurrency, records
from bucket_sync.clients import S3Clients
from bucket_sync.errors import REFUSALS, SyncFailedError
from bucket_sync.etag_pairs import RecordStream, compact, record_key
from bucket_sync.outcomes import COPIED
from bucket_sync.planner import PlanState
from bucket_sync.report import PART_BYTES, REPORT_CONTENT_TYPE, ObjectStream, Tally, json_line, report_lines, summarize
from bucket_sync.requests import merge_counts
from bucket_sync.run import SyncRun
from bucket_sync.run_files import InlineResults, RunFiles, WorkBucketResults

LOCATION_REQUESTS = {"HeadBucket": 2}
"""FindSourceRegion and FindDestinationRegion make one request each."""
RELEASE_REQUESTS = {"DeleteObject": 1}
"""Releasing the destination's lock, which happens after the summary is made."""

logger = logging.getLogger()


def handler(event, context):
    run = SyncRun.from_json(event["run"])
    clients = S3Clients(max_attempts=run.settings.s3_max_attempts)
    lock = event.get("lock") or {}
    try:
        return report(run, event, clients, lock)
    finally:
        if lock:
            release(run, clients, lock)


def release(run, clients, lock):
    """Release the destination's lock, last. A release S3 refuses must not hide the run's own outcome (nor have
    the state machine write the report again): the lock it leaves is taken over by the next sync once this
    execution has ended."""
    try:
        concurrency.release(clients.for_region(""), run.work_bucket, run.destination, lock["etag"])
    except Exception:
        logger.exception("could not release the lock of %s; the next sync into it takes it over", run.destination)


def is_pair(line: dict[str, Any]) -> bool:
    """A copy whose destination ETag is not its source's: the planner needs the pair to know it unchanged."""
    return line["result"] == COPIED and bool(line.get("sourceEtag")) and line["etag"] != line["sourceEtag"]


def write(run, results, copies_failed, work, part_bytes=PART_BYTES, compact_pairs=False, refusal=None):
    """Stream the report and the run's ETag-pair record to the work bucket as the lines pass, counting them; both
    uploads are aborted if anything fails. With ``compact_pairs`` (the run holds the destination's lock, so no
    other run writes its pairs), a record written is then merged into the destination's compacted set
    (bucket_sync/etag_pairs.py); without, it waits for the next run that holds the lock. Returns the tally, the
    workers' requests and the report's URI (None: a sync with nothing to do writes nothing, and costs nothing
    beyond its listings)."""
    tally, worker_requests, files = Tally(), Counter(), RunFiles(run, work)
    report_stream = ObjectStream(work, run.work_bucket, files.report_key, REPORT_CONTENT_TYPE, part_bytes)
    pairs_stream = ObjectStream(
        work, run.work_bucket, record_key(run.destination, run.run_id), "application/json", part_bytes
    )
    with report_stream, pairs_stream:
        pairs = RecordStream(pairs_stream)
        for line in report_lines(results, run.dry_run, copies_failed, worker_requests, refusal):
            tally.add(line)
            report_stream.write(json_line(line))
            if is_pair(line):
                pairs.add(line["key"], line["sourceEtag"], line["etag"])
        pairs.finish()
    if compact_pairs and pairs_stream.written:
        try:
            compact(work, run.work_bucket, run.destination, part_bytes)
        except (ClientError, BotoCoreError) as error:
            # Bookkeeping, not the sync: the run's record is written and the next run that holds the lock merges it.
            logger.warning("ETag pairs of %s not compacted, left for the next run: %s", run.destination, error)
    report_uri = files.report_uri if report_stream.written else None
    return tally, dict(worker_requests), report_uri


def refused(refusal, summary, report_uri):
    """A delete guard's refusal of a plan whose copies were made while it was planned: its own error, with what
    was done before it. The guard's cause says "Nothing was changed", which the copies made untrue."""
    cause = refusal["Cause"].removeprefix("Nothing was changed: ")
    return REFUSALS[refusal["Error"]](
        f"No object was deleted ({summary['copied']} copied while the plan was made, {summary['failed']} failed; "
        f"see the report at {report_uri}): {cause} Summary: {json.dumps(summary)}"
    )


def report(run, event, clients, lock, part_bytes=PART_BYTES):
    plan = PlanState.from_json(event["plan"], run)
    copy_check = event.get("copyCheck") or {}
    work = clients.for_region("")
    if plan.inline is not None:
        results = InlineResults(plan, event.get("inlineCopies") or {}, event.get("inlineDeletes") or {})
        copies_failed = None  # a small plan has no CheckCopies: its copy lines tell
    else:
        results = WorkBucketResults(RunFiles(run, work), plan)
        copies_failed = copy_check.get("copiesFailed", 0)
    refusal = event.get("refusal")
    tally, worker_requests, report_uri = write(
        run, results, copies_failed, work, part_bytes, compact_pairs=bool(lock), refusal=refusal and refusal["Error"]
    )
    lock_requests = merge_counts(lock.get("requests", {}), RELEASE_REQUESTS) if lock else {}
    requests = merge_counts(
        LOCATION_REQUESTS,
        lock_requests,
        plan.requests,
        (event.get("split") or {}).get("requests", {}),  # SplitKeySpace's discovery, when the scope was cut
        copy_check.get("requests", {}),
        worker_requests,
        clients.counter.snapshot(),  # the report's and the pairs' requests among them
    )
    run_record = event.get("record")
    if run_record:  # counted before it is made: the record carries the summary
        requests = merge_counts(requests, records.PUT_REQUESTS)
    summary = summarize(run, plan, tally, requests, report_uri)
    logger.info("summary of %s: %s", run.run_id, json.dumps(summary))
    failure = None
    if refusal:
        failure = refused(refusal, summary, report_uri)
    elif summary["failed"]:
        failure = SyncFailedError(
            f"{summary['failed']} object(s) failed ({summary['copied']} copied, "
            f"{summary['deleted']} deleted); see the report at {report_uri}. "
            f"Summary: {json.dumps(summary)}"
        )
    if run_record:
        status = records.FAILED if failure else records.SUCCEEDED
        error = (type(failure).__name__, str(failure)) if failure else (None, None)
        records.put(work, run.work_bucket, records.finished(run_record, status, summary, *error))
    if failure:
        raise failure
    return summary
