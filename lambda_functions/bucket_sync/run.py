"""A sync run as plain data: what every step after validation receives, and where its files live.

States pass this small object and S3 locations, never key lists, so no bucket size or key length can push a
payload past Step Functions' 256 KB.
"""

import os
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from . import contract


@dataclass(frozen=True)
class Settings:
    """Tuning with documented defaults; an execution input may override them (tests use tiny values)."""

    page_size: int = 1000
    """Keys per LIST request (S3's maximum)."""
    copy_batch_keys: int = 2500
    """Objects per copy_keys invocation: 2,500 single copies at 16 in flight take seconds, far inside the Lambda
    timeout, and each batch costs 4 requests of bookkeeping (plan PUT and GET, result PUT and GET): 0.16% of its
    copies. Smaller batches spread a small sync over more invocations, at more bookkeeping."""
    copy_batch_bytes: int = 20 * 1024**3
    """Bytes per copy_keys invocation, so a batch of big objects is cut short."""
    delete_batch_keys: int = 1000
    """Keys per delete_orphaned_keys invocation: one DeleteObjects request takes 1,000 at most."""
    max_keys_per_round: int = 0
    """Keys one list_bucket invocation decides before handing over; 0 means until its time budget runs out."""
    multipart_threshold_bytes: int = 5 * 1024**3
    """Non-multipart objects larger than this are copied part by part (5 GiB is CopyObject's limit)."""
    copy_threads: int = 16
    """Copies in flight inside one copy_keys invocation (each is one request and waits on S3)."""
    s3_max_attempts: int = 10
    """Attempts per S3 request, the first included, before an object fails with TransientS3Error (botocore's
    adaptive retry mode backs off between them)."""
    max_copies_per_invocation: int = 0
    """Copies one copy_keys invocation starts before handing the rest of its batch to the next; 0 means until its
    time budget runs out (tests use small values to see the hand-over)."""
    max_concurrency: int = 20
    """copy_keys / delete_orphaned_keys invocations at a time (the Distributed Maps' MaxConcurrency)."""
    list_ranges: int = 16
    """Key ranges planned in parallel at most (one planner per range, each listing both buckets over its part of the
    scope; bucket_sync/ranges.py says where the cuts go and why 16). 1 is one stream per bucket: the plan is made
    first, then copied, as a single planner does."""
    min_range_keys: int = 10_000
    """The fewest keys a range is given (estimated from SplitKeySpace's listings): 2 to 3 s of one stream on S3,
    against what a range costs (a child execution, its files, the pages that straddle its cuts); a scope under
    twice this is planned as one range."""
    round_copy_batches: int = 8
    """Copy batches a range's planning round writes before it hands over, so that they are copied while the
    planning goes on (20,000 copies at the default batch size; a range's first round hands over after one, so that
    copying starts at once); 0 means until its time budget runs out."""
    inline_plan_bytes: int = 96 * 1024
    """A plan decided in one round and no larger than this (as JSON) travels in the state instead of in batch
    files: a small sync then writes, lists and reads no plan or result file. 0: always use files."""

    def to_json(self) -> dict[str, Any]:
        return {camel_case(k): v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Settings":
        return cls(**{_snake(k): v for k, v in data.items()})


@dataclass(frozen=True)
class SyncRun:
    run_id: str
    """The execution's name: unique per state machine, and it names the run's folder in the work bucket."""
    source: str
    destination: str
    prefix: str = ""
    start_after: str = ""
    dry_run: bool = False
    allow_delete_all: bool = False
    """Delete even when the in-scope source is empty (otherwise such a run is refused)."""
    max_deletes: int = contract.NO_LIMIT
    """A run planning more deletions stops before any; -1: no limit."""
    plan_first: bool = False
    """Copy nothing until every range is planned and the delete guards have passed (with several ranges, copies
    otherwise start as soon as a range has planned them)."""
    requester_pays: bool = False
    """Send ``x-amz-request-payer: requester`` on every request to the source and destination buckets, which
    requester-pays buckets of another account require (this deployment's account then pays their requests)."""
    source_region: str = ""
    destination_region: str = ""
    work_bucket: str = ""
    settings: Settings = field(default_factory=Settings)

    def to_json(self) -> dict[str, Any]:
        data = {camel_case(k): v for k, v in asdict(self).items()}
        data["settings"] = self.settings.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SyncRun":
        values = {_snake(k): v for k, v in data.items()}
        values["settings"] = Settings.from_json(values.get("settings") or {})
        return cls(**values)

    def with_regions(self, source_region: str, destination_region: str) -> "SyncRun":
        return replace(self, source_region=source_region, destination_region=destination_region)

    @property
    def folder(self) -> str:
        return f"runs/{self.run_id}/"

    def plan_key(self, kind: str, batch: int, range_number: int = 0) -> str:
        """A batch of planned actions: ``kind`` is copy, delete or skip; each key range's batches of a kind are
        numbered from 1 across its planning rounds (range 0 is the whole scope when it is planned as one). Fixed
        widths keep listing order equal to plan order, which is key order: range by range, then batch by batch."""
        return f"{self.plan_prefix(kind)}{range_number:05d}/{batch:09d}.json"

    def plan_prefix(self, kind: str, range_number: int | None = None) -> str:
        """Where the plan batches of ``kind`` are: all of them, or one range's."""
        return f"{self.folder}plan/{kind}/" + ("" if range_number is None else f"{range_number:05d}/")

    def results_prefix(self, kind: str) -> str:
        return f"{self.folder}results/{kind}/"

    def range_key(self, range_number: int) -> str:
        """A key range to plan (``ranges.KeyRange`` as JSON, with its number): one file each, for PlanRanges."""
        return f"{self.folder}ranges/{range_number:05d}.json"

    @property
    def planned_prefix(self) -> str:
        return f"{self.folder}planned/"

    def planned_key(self, range_number: int) -> str:
        """A range's final plan state, written by its last planning round, for SumPlans."""
        return f"{self.planned_prefix}{range_number:05d}.json"

    @property
    def report_key(self) -> str:
        return f"{self.folder}report.jsonl"


def work_bucket_from_environment() -> str:
    return os.environ.get(contract.WORK_BUCKET_VARIABLE, "")


RESULT_NAME = re.compile(r"/(\d+/\d+)\.attempt-(\d+)\.failed-(\d+)\.json$")
PLAN_NAME = re.compile(r"/plan/[a-z]+/(\d+/\d+)\.json$")


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


def camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
