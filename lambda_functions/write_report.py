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
#         Action: [s3:GetObject, s3:PutObject]
#         Resource: ["{deployment_runs}"]
#       - Effect: Allow
#         Action: [s3:PutObject]
#         Resource: ["{deployment_etag_pairs}"]
#       - Effect: Allow
#         Action: [s3:PutObject]  # the run's record, finished
#         Resource: ["{deployment_history}"]
#       - Effect: Allow
#         Action: [s3:GetObject, s3:DeleteObject]  # GetObject: S3 asks it of a DeleteObject with If-Match
#         Resource: ["{deployment_locks}"]
# ---
"""WriteReport: the last step. Gathers every outcome into ``runs/<run>/report.jsonl`` (one JSON line per action
taken, planned, skipped or failed) and returns the summary that becomes the execution's output.

Input: ``{"run", "lock", "record", "plan", "copyCheck", "inlineCopies", "inlineDeletes"}`` (the last two: the
workers' compact results when the plan was small enough to travel in the state). Output: the summary (see README,
"Output"). Raises SyncFailedError, with the counts and the report location, when any action failed. Either way it
writes the run's record over with the outcome and the summary (bucket_sync/records.py; a run without one, from a
machine deployed before records, writes none), then releases the destination's lock last
(bucket_sync/concurrency.py): the run has changed all it will.
"""

import json
import logging

from bucket_sync import concurrency, records
from bucket_sync.clients import S3Clients
from bucket_sync.errors import SyncFailedError
from bucket_sync.etag_pairs import record
from bucket_sync.outcomes import COPIED, DELETED, FAILED, PLANNED, SKIPPED, collect, expand, outcome, planned
from bucket_sync.planner import PlanState
from bucket_sync.requests import merge_counts, split_retries
from bucket_sync.run import SyncRun

LOCATION_REQUESTS = {"HeadBucket": 2}
"""FindSourceRegion and FindDestinationRegion make one request each."""
RELEASE_REQUESTS = {"DeleteObject": 1}
"""Releasing the destination's lock, which happens after the summary is made."""

logger = logging.getLogger()


def held_back(lines, copies_failed):
    reason = (
        f"not deleted: {copies_failed} copies failed, and deletions run only after every copy succeeded; "
        "the next run deletes it"
    )
    return [{**line, "result": SKIPPED, "error": reason} for line in lines]


def held_deletes(run, plan, work, copies_failed):
    return held_back(planned(run, work, "delete", plan.delete_batches, SKIPPED), copies_failed)


def gather_inline(run, plan, inline_copies, inline_deletes):
    """Report lines of a small plan carried in the state, from the workers' compact results; no request."""
    inline = plan.inline
    if run.dry_run:
        lines = [outcome(item, "copy", PLANNED) for item in inline["copy"]]
        lines += [outcome(item, "delete", PLANNED) for item in inline["delete"]]
        return lines + [outcome(item, "copy", SKIPPED) for item in inline["skip"]], []
    lines = expand(inline["copy"], "copy", inline_copies.get("results", []))
    copies_failed = sum(1 for line in lines if line["result"] == FAILED)
    if copies_failed:
        lines += held_back([outcome(item, "delete", SKIPPED) for item in inline["delete"]], copies_failed)
    else:
        lines += expand(inline["delete"], "delete", inline_deletes.get("results", []))
    lines += [outcome(item, "copy", SKIPPED) for item in inline["skip"]]
    return lines, [inline_copies.get("requests", {}), inline_deletes.get("requests", {})]


def gather(run, plan, work, copies_failed):
    """Every report line of the run and the S3 requests its workers made."""
    lines, requests = [], []
    if run.dry_run:
        for kind, batches in (("copy", plan.copy_batches), ("delete", plan.delete_batches)):
            lines += planned(run, work, kind, batches, PLANNED)
    else:
        if plan.copy_batches:
            copies = collect(run, work, "copy", plan.copy_batches)
            lines += copies.outcomes
            requests += copies.requests
        if plan.delete_batches:
            if copies_failed:
                lines += held_deletes(run, plan, work, copies_failed)
            else:
                deletes = collect(run, work, "delete", plan.delete_batches)
                lines += deletes.outcomes
                requests += deletes.requests
    lines += planned(run, work, "skip", plan.skip_batches, SKIPPED)
    return lines, requests


def summarize(run, plan, lines, requests, report_uri):
    def count(action, result):
        return sum(1 for line in lines if line["action"] == action and line["result"] == result)

    return {
        "runId": run.run_id,
        "source": run.source,
        "destination": run.destination,
        "prefix": run.prefix,
        "startAfter": run.start_after,
        "dryRun": run.dry_run,
        "copied": count("copy", COPIED),
        "deleted": count("delete", DELETED),
        "unchanged": plan.totals.get("unchanged", 0),
        "skipped": sum(1 for line in lines if line["result"] == SKIPPED),
        "failed": sum(1 for line in lines if line["result"] == FAILED),
        "toCopy": plan.totals.get("toCopy", 0),
        "toDelete": plan.totals.get("toDelete", 0),
        "bytesCopied": sum(line["size"] for line in lines if line["result"] == COPIED),
        "s3Requests": split_retries(requests)[0],
        "s3Retries": split_retries(requests)[1],
        "report": report_uri,
    }


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


def report(run, event, clients, lock):
    plan = PlanState.from_json(event["plan"], run)
    copy_check = event.get("copyCheck") or {}
    work = clients.for_region("")
    if plan.inline is not None:
        lines, worker_requests = gather_inline(
            run, plan, event.get("inlineCopies") or {}, event.get("inlineDeletes") or {}
        )
    else:
        lines, worker_requests = gather(run, plan, work, copy_check.get("copiesFailed", 0))
    report_uri = None
    if lines:  # a sync with nothing to do writes nothing, and costs nothing beyond its listings
        body = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        work.put_object(
            Bucket=run.work_bucket, Key=run.report_key, Body=body.encode("utf-8"), ContentType="application/x-ndjson"
        )
        report_uri = f"s3://{run.work_bucket}/{run.report_key}"
    lock_requests = merge_counts(lock.get("requests", {}), RELEASE_REQUESTS) if lock else {}
    requests = merge_counts(
        LOCATION_REQUESTS,
        lock_requests,
        plan.requests,
        copy_check.get("requests", {}),
        *worker_requests,
        clients.counter.snapshot(),
    )
    pairs = [
        (line["key"], line["sourceEtag"], line["etag"])
        for line in lines
        if line["result"] == COPIED and line.get("sourceEtag") and line["etag"] != line["sourceEtag"]
    ]
    if record(work, run.work_bucket, run.destination, run.run_id, pairs):
        requests = merge_counts(requests, {"PutObject": 1})
    run_record = event.get("record")
    if run_record:  # counted before it is made: the record carries the summary
        requests = merge_counts(requests, records.PUT_REQUESTS)
    summary = summarize(run, plan, lines, requests, report_uri)
    logger.info("summary of %s: %s", run.run_id, json.dumps(summary))
    failure = None
    if summary["failed"]:
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
