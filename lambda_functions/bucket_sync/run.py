"""A sync run as plain data: what every step after validation receives. Its files in the work bucket, under
``folder``, are named, written and read by bucket_sync/run_files.py.

States pass this small object and S3 locations, never key lists, so no bucket size or key length can push a
payload past Step Functions' 256 KB.
"""

import os
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from . import contract

SYNC, COPY, CHECK = "sync", "copy", "check"
MODES = (SYNC, COPY, CHECK)
BACKUP_SCHEME = "s3://"


def backup_location(uri: str) -> tuple[str, str]:
    """``s3://bucket/prefix/`` as (bucket, prefix); the prefix may be empty."""
    bucket, _, prefix = uri.removeprefix(BACKUP_SCHEME).partition("/")
    return bucket, prefix


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
    max_report_batches_per_invocation: int = 0
    """Batches of results (and chunks of the compacted ETag pairs) one write_report invocation writes before
    handing the report over to the next; 0 means until its time budget runs out (tests use small values to see
    the hand-over)."""
    max_concurrency: int = 20
    """copy_keys / delete_orphaned_keys invocations at a time (the Distributed Maps' MaxConcurrency)."""
    list_ranges: int = 16
    """Key ranges planned in parallel at most (one planner per range, each listing both buckets over its part of the
    scope; bucket_sync/ranges.py says where the cuts go and why 16). 1 is one stream per bucket: the plan is made
    first, then copied, as a single planner does."""
    min_range_keys: int = 10_000
    """The fewest keys a range is given (estimated from SplitKeySpace's listings): 2 to 3 s of one stream on S3,
    against what a range costs (a child execution, its files, the pages that straddle its cuts). The first planning
    round decides twice this many keys alone: a scope that ends within it is planned as one range and costs nothing
    to cut; the rest of a larger one is cut after it."""
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
    filters: tuple[dict[str, str], ...] = ()
    """``{"exclude": PATTERN}`` or ``{"include": PATTERN}`` each, in order (bucket_sync/filters.py)."""
    mode: str = SYNC
    """SYNC (copy and delete), COPY (never delete) or CHECK (change nothing; say whether the two are equal)."""
    backup: str = ""
    """``s3://bucket/prefix/``: what the run deletes or overwrites is first copied to ``<prefix><runId>/<key>``."""
    source_region: str = ""
    destination_region: str = ""
    backup_region: str = ""
    work_bucket: str = ""
    settings: Settings = field(default_factory=Settings)

    def to_json(self) -> dict[str, Any]:
        data = {camel_case(k): v for k, v in asdict(self).items()}
        data["filters"] = list(self.filters)
        data["settings"] = self.settings.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SyncRun":
        values = {_snake(k): v for k, v in data.items()}
        values["settings"] = Settings.from_json(values.get("settings") or {})
        values["filters"] = tuple(values.get("filters") or ())
        return cls(**values)

    @property
    def deletes(self) -> bool:
        """Whether orphans are deleted: only a sync's are (a copy keeps them, a check changes nothing)."""
        return self.mode == SYNC

    @property
    def backup_bucket(self) -> str:
        return backup_location(self.backup)[0] if self.backup else ""

    def backup_key(self, key: str) -> str:
        """Where the run keeps the old body of ``key`` before deleting or overwriting it."""
        return f"{backup_location(self.backup)[1]}{self.run_id}/{key}"

    @property
    def backup_manifest_key(self) -> str:
        """The run's note beside its backups, ``<prefix><runId>.json``: written first, to prove the location
        writable (a key beside the folder, so that no backed-up key can be its name)."""
        return f"{backup_location(self.backup)[1]}{self.run_id}.json"

    def with_regions(self, source_region: str, destination_region: str) -> "SyncRun":
        return replace(self, source_region=source_region, destination_region=destination_region)

    @property
    def folder(self) -> str:
        return f"runs/{self.run_id}/"


def work_bucket_from_environment() -> str:
    return os.environ.get(contract.WORK_BUCKET_VARIABLE, "")


def camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
