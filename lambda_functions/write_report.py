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

Nor does its time limit the bucket: an invocation within ``HANDOVER_SECONDS`` of its timeout (or after
``maxReportBatchesPerInvocation`` batches) stops between two batches, or between two chunks of the ETag pairs it
compacts, and hands over: the uploads are suspended, not completed, and what the next invocation needs (uploads
and parts, the counts so far, where it is) goes to ``runs/<run>/report-handover/<n>.json``. It then returns
``{"handover": KEY, "handovers": n}``, which the state machine passes back in as ``reportWriting`` until an
invocation returns the summary.

Input: ``{"run", "lock", "record", "plan", "copyCheck", "inlineCopies", "inlineDeletes", "refusal", "split",
"reportWriting"}`` (``refusal``: a delete guard's ``{"Error", "Cause"}`` when it refused a plan after copies made
while planning, which the run then fails with once the report is written; the two before it: the workers' compact
results when the plan was small enough to travel in the state; ``reportWriting``: ``{}``, or the hand-over of the
invocation before). Output: the summary (see README, "Output"), or a hand-over. Raises SyncFailedError, with the
counts and the report location, when any action failed. Either way the invocation that ends the report writes the
run's record over with the outcome and the summary (bucket_sync/records.py; a run without one, from a machine
deployed before records, writes none), then releases the destination's lock last (bucket_sync/concurrency.py): the
run has changed all it will.
"""

import json
import logging
import os
from collections import Counter
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bucket_sync import concurrency, records
from bucket_sync.clients import S3Clients
from bucket_sync.errors import REFUSALS, NotInSyncError, SyncFailedError
from bucket_sync.etag_pairs import RecordStream, compact, record_key
from bucket_sync.outcomes import COPIED
from bucket_sync.planner import PlanState
from bucket_sync.report import (
    PART_BYTES,
    REPORT_CONTENT_TYPE,
    Gathered,
    ObjectStream,
    json_line,
    report_batches,
    summarize,
)
from bucket_sync.requests import merge_counts
from bucket_sync.run import CHECK, SyncRun
from bucket_sync.run_files import InlineResults, Results, RunFiles, WorkBucketResults

LOCATION_REQUESTS = {"HeadBucket": 2}
"""FindSourceRegion and FindDestinationRegion make one request each."""
BACKUP_CHECK_REQUESTS = {"HeadBucket": 1, "PutObject": 1}
"""CheckBackup's: the backup bucket's region, and the run's note beside its backups."""
RELEASE_REQUESTS = {"DeleteObject": 1}
"""Releasing the destination's lock, which happens after the summary is made."""
HANDOVER_SECONDS = 60
"""An invocation hands over when it has less than this left: after the check, it writes at most a batch of
results (2,500 lines, well under a second) or a chunk of pairs, then completes two uploads and writes the
run's record, or suspends them and writes its hand-over; seconds, whatever the bucket's size."""
PAIRS_CONTENT_TYPE = "application/json"

logger = logging.getLogger()


def handler(event, context):
    run = SyncRun.from_json(event["run"])
    clients = S3Clients(max_attempts=run.settings.s3_max_attempts)
    lock = event.get("lock") or {}
    out_of_time = budget(
        run.settings.max_report_batches_per_invocation,
        lambda: context.get_remaining_time_in_millis() < HANDOVER_SECONDS * 1000,
    )
    handed_over = False
    try:
        answer = report(run, event, clients, lock, out_of_time=out_of_time)
        handed_over = "handover" in answer
        return answer
    finally:
        if lock and not handed_over:  # the invocation that ends the report, whichever way it ends
            release(run, clients, lock)


def budget(batches: int, time_is_short: Callable[[], bool]) -> Callable[[], bool]:
    """Whether an invocation should hand over, asked after each batch or chunk it writes: when its time is short,
    or after ``batches`` of them (0: no such limit)."""
    asked = 0

    def out_of_time() -> bool:
        nonlocal asked
        asked += 1
        return bool(batches and asked >= batches) or time_is_short()

    return out_of_time


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


class Writing:
    """One invocation's share of writing the report: the streams and counts it starts or resumes, and the
    hand-over it writes when its time is short. The state handed over:

    - ``number``: the hand-overs so far, this one included; ``requests``: the S3 requests of the invocations
      before (their own; the workers' are in ``gathered``);
    - ``gathered``: ``report.Gathered`` (tally, workers' requests, copy failures, the last batch written);
    - ``report``, ``pairs``: the suspended streams (``ObjectStream.suspend``), None once completed; ``pairCount``;
    - ``reportWritten``, ``pairsWritten``: what the completed streams wrote;
    - ``compaction``: the ETag pairs' merge handed over (``etag_pairs.compact``), or None.
    """

    def __init__(self, run: SyncRun, work: Any, part_bytes: int, handover: str | None):
        self.run, self.work, self.part_bytes = run, work, part_bytes
        self.files = RunFiles(run, work)
        state = self.files.read_handover(handover) if handover else {}
        self.number = state.get("number", 0)
        self.earlier_requests = Counter(state.get("requests", {}))
        self.gathered = Gathered.from_json(state["gathered"]) if state else Gathered()
        self.report_written = state.get("reportWritten", False)
        self.pairs_written = state.get("pairsWritten", False)
        self.compaction = state.get("compaction")
        self.report_stream = self.pairs_stream = None
        if not state:
            self.report_stream = ObjectStream(
                work, run.work_bucket, self.files.report_key, REPORT_CONTENT_TYPE, part_bytes
            )
            record = record_key(run.destination, run.run_id)
            self.pairs_stream = ObjectStream(work, run.work_bucket, record, PAIRS_CONTENT_TYPE, part_bytes)
        elif state["report"] is not None:
            self.report_stream = ObjectStream.resume(
                work, run.work_bucket, state["report"], REPORT_CONTENT_TYPE, part_bytes
            )
            self.pairs_stream = ObjectStream.resume(
                work, run.work_bucket, state["pairs"], PAIRS_CONTENT_TYPE, part_bytes
            )
        self.pairs = RecordStream(self.pairs_stream, state.get("pairCount", 0)) if self.pairs_stream else None

    @property
    def streaming(self) -> bool:
        return self.report_stream is not None

    def hand_over(
        self, own_requests: Callable[[], dict[str, int]], compaction: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Suspend the streams (if still open) and write the hand-over: what the invocation returns."""
        number = self.number + 1
        streams: dict[str, Any] = {"report": None, "pairs": None}
        if self.streaming:
            assert self.report_stream is not None and self.pairs_stream is not None and self.pairs is not None
            streams["report"] = self.report_stream.suspend(self.files.carry_key(number, "report"))
            streams["pairs"] = self.pairs_stream.suspend(self.files.carry_key(number, "pairs"))
        state = {
            "number": number,
            # This invocation's requests, the hand-over's own PutObject among them: counted before it is made.
            "requests": merge_counts(self.earlier_requests, own_requests(), {"PutObject": 1}),
            "gathered": self.gathered.to_json(),
            **streams,
            "pairCount": self.pairs.pairs if self.pairs else 0,
            "reportWritten": self.report_written,
            "pairsWritten": self.pairs_written,
            "compaction": compaction,
        }
        key = self.files.write_handover(number, state)
        logger.info("report of %s handed over (%d): %s", self.run.run_id, number, key)
        return {"handover": key, "handovers": number}


def write(
    run: SyncRun,
    results: Results,
    copies_failed: int | None,
    work: Any,
    part_bytes: int = PART_BYTES,
    compact_pairs: bool = False,
    refusal: str | None = None,
    out_of_time: Callable[[], bool] = lambda: False,
    handover: str | None = None,
    own_requests: Callable[[], dict[str, int]] = dict,
) -> Writing | dict[str, Any]:
    """Stream the report and the run's ETag-pair record to the work bucket as the lines pass, counting them; both
    uploads are aborted if anything fails in the invocation that started them. With ``compact_pairs`` (the run
    holds the destination's lock, so no other run writes its pairs), a record written is then merged into the
    destination's compacted set (bucket_sync/etag_pairs.py); without, it waits for the next run that holds the
    lock. Goes on from ``handover`` (a key), if given, and when ``out_of_time`` says so between two batches or two
    chunks, stops and returns the hand-over (``own_requests``: this invocation's S3 requests so far, for it).
    Otherwise returns the finished ``Writing``: its tally, the workers' requests, and whether a report was
    written (a sync with nothing to do writes nothing, and costs nothing beyond its listings)."""
    writing = Writing(run, work, part_bytes, handover)
    if writing.streaming:
        assert writing.report_stream is not None and writing.pairs_stream is not None and writing.pairs is not None
        with writing.report_stream, writing.pairs_stream:
            for lines in report_batches(results, run.dry_run, copies_failed, writing.gathered, refusal):
                for line in lines:
                    writing.gathered.tally.add(line)
                    writing.report_stream.write(json_line(line))
                    if is_pair(line):
                        writing.pairs.add(line["key"], line["sourceEtag"], line["etag"])
                if out_of_time():
                    return writing.hand_over(own_requests)
            writing.pairs.finish()
        writing.report_written, writing.pairs_written = writing.report_stream.written, writing.pairs_stream.written
        writing.report_stream = writing.pairs_stream = writing.pairs = None  # completed: nothing to suspend
    if compact_pairs and writing.pairs_written:
        try:
            left = compact(
                work, run.work_bucket, run.destination, part_bytes, out_of_time=out_of_time, resume=writing.compaction
            )
        except (ClientError, BotoCoreError) as error:
            # Bookkeeping, not the sync: the run's record is written and the next run that holds the lock merges it.
            logger.warning("ETag pairs of %s not compacted, left for the next run: %s", run.destination, error)
        else:
            if left is not None:
                return writing.hand_over(own_requests, left)
    return writing


def refused(refusal, summary, report_uri):
    """A delete guard's refusal of a plan whose copies were made while it was planned: its own error, with what
    was done before it. The guard's cause says "Nothing was changed", which the copies made untrue."""
    cause = refusal["Cause"].removeprefix("Nothing was changed: ")
    return REFUSALS[refusal["Error"]](
        f"No object was deleted ({summary['copied']} copied while the plan was made, {summary['failed']} failed; "
        f"see the report at {report_uri}): {cause} Summary: {json.dumps(summary)}"
    )


NOT_MATCHING = ("differing", "missing", "extra", "unverifiable", "failed")


def not_in_sync(summary, report_uri):
    """A check's failure when any key in scope is not proven the same on both sides, or None."""
    counts = {name: summary[name] for name in NOT_MATCHING if summary[name]}
    if not counts:
        return None
    found = ", ".join(f"{count} {name}" for name, count in counts.items())
    return NotInSyncError(
        f"{source_and_destination(summary)} are not in sync: {found}, {summary['matching']} matching; "
        f'see the report at {report_uri} ("fab report" lists every key). Summary: {json.dumps(summary)}'
    )


def source_and_destination(summary):
    scope = f"s3://{summary['source']}/{summary['prefix']}", f"s3://{summary['destination']}/{summary['prefix']}"
    return f"{scope[0]} and {scope[1]}"


def report(run, event, clients, lock, part_bytes=PART_BYTES, out_of_time=lambda: False):
    plan = PlanState.from_json(event["plan"], run)
    copy_check = event.get("copyCheck") or {}
    work = clients.for_region("")
    results: Results
    if plan.inline is not None:
        backups = f"s3://{run.backup_bucket}/{run.backup_key('')}" if run.backup else ""
        results = InlineResults(plan, event.get("inlineCopies") or {}, event.get("inlineDeletes") or {}, backups)
        copies_failed = None  # a small plan has no CheckCopies: its copy lines tell
    else:
        results = WorkBucketResults(RunFiles(run, work), plan)
        copies_failed = copy_check.get("copiesFailed", 0)
    refusal = event.get("refusal")
    written = write(
        run,
        results,
        copies_failed,
        work,
        part_bytes,
        compact_pairs=bool(lock),
        refusal=refusal and refusal["Error"],
        out_of_time=out_of_time,
        handover=(event.get("reportWriting") or {}).get("handover"),
        own_requests=clients.counter.snapshot,
    )
    if isinstance(written, dict):
        return written  # handed over: the next invocation goes on
    report_uri = written.files.report_uri if written.report_written else None
    lock_requests = merge_counts(lock.get("requests", {}), RELEASE_REQUESTS) if lock else {}
    requests = merge_counts(
        LOCATION_REQUESTS,
        BACKUP_CHECK_REQUESTS if run.backup else {},
        lock_requests,
        plan.requests,
        (event.get("split") or {}).get("requests", {}),  # SplitKeySpace's discovery, when the scope was cut
        copy_check.get("requests", {}),
        written.gathered.requests,  # the workers'
        written.earlier_requests,  # the invocations' before this one, when the report was handed over
        clients.counter.snapshot(),  # the report's and the pairs' requests among them
    )
    run_record = event.get("record")
    if run_record:  # counted before it is made: the record carries the summary
        requests = merge_counts(requests, records.PUT_REQUESTS)
    summary = summarize(run, plan, written.gathered.tally, requests, report_uri, os.environ.get("AWS_REGION", ""))
    logger.info("summary of %s: %s", run.run_id, json.dumps(summary))
    failure = None
    if refusal:
        failure = refused(refusal, summary, report_uri)
    elif run.mode == CHECK:
        failure = not_in_sync(summary, report_uri)
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
