"""A run's files in the work bucket: every name, and every write, list and read of them, in one place.

Everything a run keeps between its steps lives under ``runs/<run id>/`` (``SyncRun.folder``). Numbers have fixed
widths (a range 5 digits, a batch 9), so that S3's listing order is plan order, which is key order: range by
range, then batch by batch. ``<kind>`` is copy, delete or skip.

- ``ranges/<range>.json``: a key range to plan (``ranges.KeyRange`` as JSON, with its number). SplitKeySpace
  writes one per range when it cuts the scope in more than one; PlanRanges' ItemReader lists the folder (the state
  machine names it) and the range's first ListBucket round reads its file.
- ``plan/<kind>/<range>/<batch>.json``: a batch of planned actions, ``{"items": [...]}``, batches numbered from
  1 per range and kind across the planning rounds (range 0: the whole scope planned as one). ListBucket writes
  them, and a retried round first deletes what the attempt that died wrote after the rounds before it. The
  CopyBatches and DeleteBatches ItemReaders (and a range's copy step, from ``newCopyBatches``) list or name them
  for CopyKeys and DeleteOrphanedKeys, which read one each; CheckCopies and WriteReport read a batch that has no
  result, and WriteReport the skip batches and a dry run's batches.
- ``partial/<kind>/<range>/<batch>.json``: ``{"outcomes", "requests"}`` of the part of a batch a worker did before
  its time ran out; the invocation that goes on from there reads it. Apart from the results, so that no listing of
  results mistakes it for one.
- ``results/<kind>/<range>/<batch>.attempt-<n>.failed-<n>.json``: ``{"outcomes", "requests"}`` of a finished
  batch, written by its worker. The name carries the attempt (a retry's supersedes its predecessor's) and the
  failures, so CheckCopies counts them from one LIST without reading a file; WriteReport lists and reads them.
- ``planned/<range>.json``: a range's final plan state (``planner.PlanState`` as JSON), written by its last
  ListBucket round; SumPlans lists and reads them.
- ``progress/copy/<range>-<batch>.done-<n>.bytes-<n>.json`` (``inline.done-...`` for a plan carried in the state):
  an empty object CopyKeys writes every few seconds while a batch runs; the counts are in the name, so the
  operator's client (``client/executions.py``, for ``fab sync`` and ``fab watch``) learns them from one listing.
- ``map-runs/{ranges,copy-ranges,copy,delete}/...``: the Distributed Maps' ResultWriter output, which Step
  Functions writes (the state machine names the prefixes) and nothing of the sync reads.
- ``report.jsonl``: the report, a JSON line per object, which WriteReport streams and the operator reads
  (``fab report``, or the URI in the execution's output).
- ``report-handover/<n>.json``, and ``<n>.<stream>.bytes`` beside it: what a WriteReport invocation that ran out
  of time hands to the next (the report's and the ETag-pair record's uploads and parts, the counts so far, the
  last batch written, a compaction's progress), and the bytes each stream held, less than a part. Written once
  each, never over: a retried invocation reads the same hand-over as the attempt that died.

A plan small enough to travel in the state (``PlanState.inline``) has no plan, result or range file at all:
``InlineResults`` reads it and its workers' compact results with the same interface (``Results``) as
``WorkBucketResults`` reads the files, so the report (``report.report_lines``) does not know which it has.

Three other folders of the work bucket are not a run's, and live apart because they outlive one: the sync lock,
``locks/<destination>.json`` (bucket_sync/concurrency.py), is per destination and is held across the run's steps
by one execution after another; the ETag-pair records and compacted sets, ``etag-pairs/<destination>/``
(bucket_sync/etag_pairs.py), are per destination and read by every later run; the run records,
``history/<start>-<execution>.json`` (bucket_sync/records.py), are per deployment and outlive state machines.

This module names, writes, lists and reads; it decides nothing of the sync.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .batches import get_json, list_keys, put_json
from .outcomes import FAILED, MISSING_RESULT, BatchOutcomes, Collected, expand, outcome
from .ranges import KeyRange
from .run import SyncRun

if TYPE_CHECKING:  # the planner writes through this module: a type only here
    from .planner import PlanState

RESULT_NAME = re.compile(r"/(\d+/\d+)\.attempt-(\d+)\.failed-(\d+)\.json$")
PLAN_NAME = re.compile(r"/plan/[a-z]+/(\d+/\d+)\.json$")
PROGRESS_NAME = re.compile(r"/progress/copy/([^/]+)\.done-(\d+)\.bytes-(\d+)\.json$")
MAX_KEYS_PER_DELETE = 1000
"""S3's most keys in one DeleteObjects."""
INLINE_BATCH = "inline"
"""The one batch of each kind of a plan carried in the state (it has no batch file), and its progress name."""


def result_key_for(plan_key: str, attempt: int, failed: int) -> str:
    """Where a worker writes the outcome of one plan batch. The name carries the attempt (a retry's result
    supersedes its predecessor's) and the number of failed keys, so one LIST of the results tells whether every
    copy succeeded without reading a file."""
    stem = plan_key.replace("/plan/", "/results/", 1).removesuffix(".json")
    return f"{stem}.attempt-{attempt}.failed-{failed}.json"


def partial_key_for(plan_key: str) -> str:
    """Where a worker that ran out of time keeps the outcomes of the part of a batch it did, for the invocation
    that goes on from there; apart from the results, so no listing of results ever mistakes it for one."""
    return plan_key.replace("/plan/", "/partial/", 1)


def batch_of_plan_key(key: str) -> str:
    """A plan batch's name within its kind (``<range>/<batch>``), which its result's name repeats."""
    match = PLAN_NAME.search(key)
    if not match:
        raise ValueError(f"not a plan batch name: {key!r}")
    return match.group(1)


def parse_result_key(key: str) -> tuple[str, int, int]:
    """(batch, attempt, failed) from a name ``result_key_for`` made; batch as ``batch_of_plan_key`` gives it."""
    match = RESULT_NAME.search(key)
    if not match:
        raise ValueError(f"not a result file name: {key!r}")
    return match.group(1), int(match.group(2)), int(match.group(3))


def progress_prefix(run_id: str) -> str:
    """The folder of a run's copy progress objects (inside ``runs/<id>/``, which copy_keys may write). Of the run's
    id alone: the operator's client knows no more of the run when it lists them."""
    return f"runs/{run_id}/progress/copy/"


def progress_key(run_id: str, batch: str, done: int, bytes_copied: int) -> str:
    """One progress object of a batch (``batch``: its number, or ``INLINE_BATCH``): the counts are in its
    name, so a listing gives them; each write is a new name, and the largest ``done`` of a batch is its latest."""
    return f"{progress_prefix(run_id)}{batch}.done-{done}.bytes-{bytes_copied}.json"


def parse_progress_key(key: str) -> tuple[str, int, int] | None:
    """(batch, done, bytes copied) from a name ``progress_key`` made; None for any other key."""
    match = PROGRESS_NAME.search(key)
    if not match:
        return None
    return match.group(1), int(match.group(2)), int(match.group(3))


@dataclass(frozen=True)
class RunFiles:
    """The files of one run in the work bucket, through ``s3`` (the work bucket's client): one request per write
    or read, one LIST per 1,000 keys listed."""

    run: SyncRun
    s3: Any

    @property
    def bucket(self) -> str:
        return self.run.work_bucket

    # Plan batches.

    def plan_prefix(self, kind: str, range_number: int | None = None) -> str:
        """Where the plan batches of ``kind`` are: all of them, or one range's."""
        return f"{self.run.folder}plan/{kind}/" + ("" if range_number is None else f"{range_number:05d}/")

    def plan_key(self, kind: str, batch: int, range_number: int = 0) -> str:
        """A batch of planned actions, numbered from 1 per range and kind across the planning rounds."""
        return f"{self.plan_prefix(kind, range_number)}{batch:09d}.json"

    def write_plan_batch(self, kind: str, batch: int, range_number: int, items: list[dict[str, Any]]) -> str:
        """Write one plan batch; its key."""
        key = self.plan_key(kind, batch, range_number)
        put_json(self.s3, self.bucket, key, {"items": items})
        return key

    def plan_batches(self, kind: str, batches: int | None = None, after: str | None = None) -> Iterator[str]:
        """The plan batch files of ``kind``, in plan order, those after the batch named ``after`` (as
        ``batch_of_plan_key`` names it) if given: a plan made as one range knows their names (``batches`` of them,
        numbered from 1); the batches of several ranges are listed (one LIST per 1,000 batches)."""
        if batches is not None:
            first = 1 if after is None else int(after.rpartition("/")[2]) + 1
            return iter([self.plan_key(kind, number) for number in range(first, batches + 1)])
        start_after = "" if after is None else f"{self.plan_prefix(kind)}{after}.json"
        return list_keys(self.s3, self.bucket, self.plan_prefix(kind), start_after=start_after)

    def read_plan_batch(self, key: str) -> list[dict[str, Any]]:
        """The items of one plan batch."""
        items: list[dict[str, Any]] = get_json(self.s3, self.bucket, key)["items"]
        return items

    def forget_plan_batches_after(self, kind: str, range_number: int, batches: int) -> None:
        """Delete a range's plan batches of ``kind`` numbered after ``batches``: what an attempt that died wrote
        after the rounds before it (one LIST, and a DeleteObjects per 1,000, only when it wrote any)."""
        stale = list(
            list_keys(
                self.s3,
                self.bucket,
                self.plan_prefix(kind, range_number),
                start_after=self.plan_key(kind, batches, range_number),
            )
        )
        for start in range(0, len(stale), MAX_KEYS_PER_DELETE):
            self.s3.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": key} for key in stale[start : start + MAX_KEYS_PER_DELETE]], "Quiet": True},
            )

    # Results, and the partial outcomes of a batch a worker did not finish.

    def results_prefix(self, kind: str) -> str:
        return f"{self.run.folder}results/{kind}/"

    def write_result(self, plan_key: str, attempt: int, failed: int, document: dict[str, Any]) -> str:
        """Write a finished batch's ``{"outcomes", "requests"}``; its key."""
        key = result_key_for(plan_key, attempt, failed)
        put_json(self.s3, self.bucket, key, document)
        return key

    def latest_results(self, kind: str, after: str | None = None) -> dict[str, tuple[int, int, str]]:
        """Each finished batch of ``kind`` (after the batch named ``after``, if given): its name -> (attempt,
        failed, result key), the latest attempt's."""
        results: dict[str, tuple[int, int, str]] = {}
        # Every result name of batch B starts "<B>.", and "<B>/" sorts after all of them and before the next batch.
        start_after = "" if after is None else f"{self.results_prefix(kind)}{after}/"
        for key in list_keys(self.s3, self.bucket, self.results_prefix(kind), start_after=start_after):
            batch, attempt, failed = parse_result_key(key)
            # A retry's result supersedes its predecessor's; should two ever tie, the one with more failures counts.
            results[batch] = max(results.get(batch, (-1, -1, "")), (attempt, failed, key))
        return results

    def read_result(self, key: str) -> dict[str, Any]:
        """One result file: ``{"outcomes", "requests"}``."""
        document: dict[str, Any] = get_json(self.s3, self.bucket, key)
        return document

    def write_partial(self, plan_key: str, document: dict[str, Any]) -> None:
        put_json(self.s3, self.bucket, partial_key_for(plan_key), document)

    def read_partial(self, plan_key: str) -> dict[str, Any]:
        document: dict[str, Any] = get_json(self.s3, self.bucket, partial_key_for(plan_key))
        return document

    def count_failed(self, kind: str, batches: int | None = None) -> int:
        """How many keys of the ``kind`` batches failed: the result names tell, and a batch without a result counts
        all its keys (its plan file is read to know how many). ``batches``: as ``plan_batches``."""
        results = self.latest_results(kind)
        failed = 0
        for plan_key in self.plan_batches(kind, batches):
            batch = batch_of_plan_key(plan_key)
            if batch in results:
                failed += results[batch][1]
            else:
                failed += len(self.read_plan_batch(plan_key))
        return failed

    def batch_outcomes(
        self, kind: str, batches: int | None = None, after: str | None = None
    ) -> Iterator[tuple[str, BatchOutcomes]]:
        """The outcomes of the ``kind`` ("copy" or "delete") batches, one batch at a time in plan order, each with
        its name, so a reader holds one batch and never the run; a batch without result counts each key as failed.
        Only the result names are held whole (one per batch: a thousandth of the objects, or less). ``batches``
        and ``after``: as ``plan_batches``."""
        results = self.latest_results(kind, after)
        for plan_key in self.plan_batches(kind, batches, after):
            batch = batch_of_plan_key(plan_key)
            if batch in results:
                document = self.read_result(results[batch][2])
                yield batch, BatchOutcomes(document["outcomes"], document["requests"])
            else:
                items = self.read_plan_batch(plan_key)
                yield batch, BatchOutcomes([outcome(item, kind, FAILED, MISSING_RESULT) for item in items], None)

    def collect(self, kind: str, batches: int | None = None) -> Collected:
        """Every outcome of the ``kind`` batches, missing results included, in one list: for a few batches
        (WriteReport streams them with ``batch_outcomes``)."""
        outcomes, requests = [], []
        for _, batch in self.batch_outcomes(kind, batches):
            outcomes += batch.outcomes
            if batch.requests is not None:
                requests.append(batch.requests)
        return Collected(outcomes, requests)

    # Key ranges, and their final plan states.

    @property
    def ranges_prefix(self) -> str:
        """The range files' folder, which PlanRanges' ItemReader lists (the state machine names it too)."""
        return f"{self.run.folder}ranges/"

    def range_key(self, range_number: int) -> str:
        return f"{self.ranges_prefix}{range_number:05d}.json"

    def write_range(self, range_number: int, key_range: KeyRange) -> None:
        put_json(self.s3, self.bucket, self.range_key(range_number), {"number": range_number, **key_range.to_json()})

    def read_range(self, key: str) -> tuple[int, KeyRange]:
        """(number, range) of the range file ``key`` (as PlanRanges' ItemReader hands it over)."""
        document = get_json(self.s3, self.bucket, key)
        return document["number"], KeyRange.from_json(document)

    @property
    def planned_prefix(self) -> str:
        return f"{self.run.folder}planned/"

    def planned_key(self, range_number: int) -> str:
        return f"{self.planned_prefix}{range_number:05d}.json"

    def write_planned(self, range_number: int, state: dict[str, Any]) -> None:
        """Write a range's final plan state (as JSON), for SumPlans."""
        put_json(self.s3, self.bucket, self.planned_key(range_number), state)

    def planned_states(self) -> Iterator[dict[str, Any]]:
        """Every planned range's final state, one GET each (a LIST per 1,000), one at a time."""
        for key in list_keys(self.s3, self.bucket, self.planned_prefix):
            yield get_json(self.s3, self.bucket, key)

    # Progress and the report.

    def write_progress(self, key: str) -> None:
        """An empty progress object named by ``progress_key`` (of the run's id alone, as the client lists them)."""
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"")

    @property
    def report_key(self) -> str:
        return f"{self.run.folder}report.jsonl"

    def handover_key(self, number: int) -> str:
        """WriteReport's ``number``-th hand-over (numbered from 1): its state, for the invocation after it."""
        return f"{self.run.folder}report-handover/{number:05d}.json"

    def carry_key(self, number: int, stream: str) -> str:
        """The bytes a stream held, less than a part, at hand-over ``number``."""
        return f"{self.run.folder}report-handover/{number:05d}.{stream}.bytes"

    def write_handover(self, number: int, state: dict[str, Any]) -> str:
        key = self.handover_key(number)
        put_json(self.s3, self.bucket, key, state)
        return key

    def read_handover(self, key: str) -> dict[str, Any]:
        document: dict[str, Any] = get_json(self.s3, self.bucket, key)
        return document

    @property
    def report_uri(self) -> str:
        return f"s3://{self.bucket}/{self.report_key}"


class Results(Protocol):
    """What a run's report is made of, whichever way its plan travelled: batches, each with a name that orders it
    within its kind, so that a report written in several invocations goes on after the last batch it wrote."""

    def item_batches(self, kind: str, after: str | None = None) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """The plan items of ``kind`` (copy, delete or skip), a batch at a time in plan order, after ``after``."""
        ...

    def outcome_batches(self, kind: str, after: str | None = None) -> Iterator[tuple[str, BatchOutcomes]]:
        """The outcomes of the ``kind`` (copy or delete) batches, one batch at a time in plan order, after
        ``after``."""
        ...


@dataclass(frozen=True)
class WorkBucketResults:
    """A plan in batch files and its workers' results, read from the work bucket one file at a time."""

    files: RunFiles
    plan: "PlanState"

    def item_batches(self, kind: str, after: str | None = None) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        if self.plan.batches()[kind]:  # no batch, no LIST of the plan
            for plan_key in self.files.plan_batches(kind, self._known(kind), after):
                yield batch_of_plan_key(plan_key), self.files.read_plan_batch(plan_key)

    def outcome_batches(self, kind: str, after: str | None = None) -> Iterator[tuple[str, BatchOutcomes]]:
        if self.plan.batches()[kind]:  # no batch, no LIST of the plan or of their results
            yield from self.files.batch_outcomes(kind, self._known(kind), after)

    def _known(self, kind: str) -> int | None:
        """How many batches of ``kind`` a plan made as one range has (their names follow); None: list them."""
        return None if self.plan.ranged else self.plan.batches()[kind]


@dataclass(frozen=True)
class InlineResults:
    """A small plan carried in the state, with the workers' compact results (``{"results", "requests"}`` per
    kind), as one batch per kind; costs no request."""

    plan: "PlanState"
    copies: dict[str, Any]
    deletes: dict[str, Any]
    backups: str = ""
    """Where the run's backups are (``s3://bucket/prefix<runId>/``), for the lines of the objects backed up."""

    def item_batches(self, kind: str, after: str | None = None) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        assert self.plan.inline is not None  # only made for an inline plan
        if after is None and self.plan.inline[kind]:  # no item, no batch
            yield INLINE_BATCH, self.plan.inline[kind]

    def outcome_batches(self, kind: str, after: str | None = None) -> Iterator[tuple[str, BatchOutcomes]]:
        assert self.plan.inline is not None
        if after is None and self.plan.inline[kind]:
            worker = self.copies if kind == "copy" else self.deletes
            results = expand(self.plan.inline[kind], kind, worker.get("results", []), self.backups)
            yield INLINE_BATCH, BatchOutcomes(results, worker.get("requests", {}))
