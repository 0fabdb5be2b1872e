"""Executions of the deployed sync state machine: validate the input, start, follow, and read the result.

The input is checked with the very code the state machine's ValidateInput step runs, so a mistake gets the same
message here as in the console, before anything starts.
"""

import datetime
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError

from bucket_sync.contract import COPY_STATES, DELETE_STATES, NO_LIMIT, PLAN_STATES, REPORT_STATES
from deploy.config import Config
from deploy.errors import DeployError

POLL_SECONDS = 1.0
"""Step Functions has no waiter for executions; this is how often a running one is looked at."""


@dataclass(frozen=True)
class Progress:
    """What a running sync has done so far, from its history and its Distributed Map runs."""

    state: str = ""
    rounds: int = 0
    compared: int = 0
    to_copy: int = 0
    to_delete: int = 0
    batches: dict[str, tuple[int, int]] | None = None
    """Per Map state: (batches finished, batches in all)."""
    bytes_to_copy: int = 0
    copy_share: float = 0.0
    """The share of the planned copies done: batches finished of all (a small plan's one step: 0 or 1)."""
    delete_share: float = 0.0
    copied_in_batches: int = 0
    """Copies done inside the batches, as their progress objects say (runs that outlast a few seconds write
    them): a lower bound that moves within a batch, where finished batches move in steps."""
    bytes_in_batches: int = 0
    phase_started: datetime.datetime | None = None
    """When the first copy or delete step began (Step Functions' clock): objects are counted from then."""

    @property
    def to_do(self) -> int:
        return self.to_copy + self.to_delete

    @property
    def copied(self) -> int:
        """Copies done so far (made, skipped or failed): by whole batches, or what the batches in flight said,
        whichever is further; the summary tells which were made."""
        return min(self.to_copy, max(round(self.to_copy * self.copy_share), self.copied_in_batches))

    @property
    def deleted(self) -> int:
        return round(self.to_delete * self.delete_share)

    @property
    def bytes_copied(self) -> int:
        return min(self.bytes_to_copy, max(round(self.bytes_to_copy * self.copy_share), self.bytes_in_batches))

    def rate(self, now: datetime.datetime) -> float | None:
        """Objects done per second since the copy and delete phase began, or None before a second of it has
        passed (a rate over less would claim what no sync does)."""
        if self.phase_started is None:
            return None
        seconds = (now - self.phase_started).total_seconds()
        return (self.copied + self.deleted) / seconds if seconds >= 1 else None

    def line(self) -> str:
        parts = [self.state]
        if self.rounds:
            parts.append(
                f"{self.compared:,} keys compared in {self.rounds} round(s): {self.to_copy:,} to copy, "
                f"{self.to_delete:,} to delete"
            )
        for name, (done, total) in (self.batches or {}).items():
            parts.append(f"{name} {done}/{total} batches")
        if self.copy_share or self.delete_share or self.copied_in_batches:
            parts.append(
                f"copies done {self.copied:,} of {self.to_copy:,} ({human_bytes(self.bytes_copied)} of "
                f"{human_bytes(self.bytes_to_copy)}), deletions done {self.deleted:,} of {self.to_delete:,}"
            )
        return " · ".join(parts)


def human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


ProgressCallback = Callable[[Progress], None]


class SyncInputError(DeployError):
    """The sync input is wrong; nothing was started."""


class FollowInterrupted(Exception):
    """Ctrl-C while following an execution: it goes on in Step Functions; the message says how to follow or stop it."""

    def __init__(self, execution_arn: str):
        self.execution_arn = execution_arn
        name, region = execution_arn.rsplit(":", 1)[-1], execution_arn.split(":")[3]
        super().__init__(
            f"Stopped following: execution {name} goes on ('fab status' lists it). Follow it again with "
            f"'fab watch -e {name}', or stop it with 'fab stop {name}' (or: aws stepfunctions stop-execution "
            f"--execution-arn {execution_arn} --region {region})."
        )


class ExecutionNotFoundError(DeployError):
    """No execution of this deployment's sync has that name, or none is running."""


class NotRunningError(DeployError):
    """The execution has already ended: there is nothing to stop."""


@dataclass(frozen=True)
class ExecutionResult:
    arn: str
    status: str
    output: dict[str, Any] | None
    error: str | None = None
    cause: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


def sync_input(
    source: str,
    destination: str,
    prefix: str = "",
    start_after: str = "",
    dry_run: bool = False,
    allow_delete_all: bool = False,
    max_deletes: int | None = None,
    settings: dict[str, int] | None = None,
    config: Config | None = None,
    requester_pays: bool = False,
    plan_first: bool = False,
    filters: list[dict[str, str]] | None = None,
    mode: str = "sync",
    backup: str = "",
) -> dict[str, Any]:
    """The execution input for these options, checked as ValidateInput checks it (with the deployment's limits,
    from ``config``, when given)."""
    document: dict[str, Any] = {"source": source, "destination": destination}
    if filters:
        document["filters"] = filters
    if mode != "sync":
        document["mode"] = mode
    if backup:
        document["backup"] = backup
    if prefix:
        document["prefix"] = prefix
    if start_after:
        document["startAfter"] = start_after
    if dry_run:
        document["dryRun"] = True
    if allow_delete_all:
        document["allowDeleteAll"] = True
    if max_deletes is not None:
        document["maxDeletes"] = max_deletes
    if requester_pays:
        document["requesterPays"] = True
    if plan_first:
        document["planFirst"] = True
    if settings:
        document["settings"] = settings
    check_input(document, config)
    return document


def check_input(document: dict[str, Any], config: Config | None = None) -> None:
    """Check an execution input as ValidateInput will: its own rules, and the deployment's limits (bucket allow-lists,
    MAX_DELETES) when ``config`` is given; SyncInputError otherwise."""
    # The Lambda package's own validation: imported here, so only tasks that start a sync need it.
    from bucket_sync.errors import InvalidInputError
    from bucket_sync.inputs import Limits, parse_input

    limits = Limits()
    if config is not None:
        limits = Limits(
            config.source_buckets,
            config.destination_buckets,
            NO_LIMIT if config.max_deletes is None else config.max_deletes,
        )
    try:
        parse_input(document, run_id="check", work_bucket="check", limits=limits)
    except InvalidInputError as error:
        raise SyncInputError(nothing_started(str(error))) from None


def nothing_started(problem: str) -> str:
    """The problem, one full stop, and that nothing was started (the Lambda code's messages end in their own)."""
    return f"{problem.rstrip('.')}. Nothing was started."


def check_buckets(s3: Any, document: dict[str, Any]) -> None:
    """The buckets' checks of FindSourceRegion and FindDestinationRegion, made here with the user's credentials."""
    from bucket_sync.buckets import bucket_region
    from bucket_sync.clients import pay_for_requests
    from bucket_sync.errors import SyncError

    requester_pays = document.get("requesterPays", False)
    if requester_pays:
        s3 = pay_for_requests(s3)
    for side in ("source", "destination"):
        try:
            bucket_region(s3, document[side], requester_pays)
        except SyncError as error:
            raise SyncInputError(nothing_started(f"{side}: {error}")) from None


def start(sfn: Any, state_machine_arn: str, document: dict[str, Any]) -> str:
    return sfn.start_execution(stateMachineArn=state_machine_arn, input=json.dumps(document))["executionArn"]


COMPARED_TOTALS = ("unchanged", "toCopy", "toDelete", "skipped", "kept", "matching", "differing", "missing", "extra")
"""The plan's totals that count keys decided, one each: a sync's, a copy's kept orphans, a check's verdicts (a
check counts the keys its checksums decide in toCopy, which its copy step verifies)."""


def progress_of(
    sfn: Any, execution_arn: str, events: list[dict[str, Any]], in_batches: tuple[int, int] = (0, 0)
) -> Progress:
    """What the execution's history (and its Map runs) say it has done; ``in_batches``: (copies, bytes) the copy
    batches in flight have said (``copies_in_batches``)."""
    totals: dict[str, int]  # the planner's counts, by name
    state, rounds, totals, map_runs, finished, phase_started = "", 0, {}, {}, set(), None
    for event in events:
        if "stateEnteredEventDetails" in event:
            state = event["stateEnteredEventDetails"]["name"]
            state = REPORT_STATES[0] if state in REPORT_STATES else state
            if phase_started is None and state in COPY_STATES + DELETE_STATES:
                phase_started = event.get("timestamp")
        if "stateExitedEventDetails" in event:
            finished.add(event["stateExitedEventDetails"]["name"])
        if "mapRunStartedEventDetails" in event:
            map_runs[state] = event["mapRunStartedEventDetails"]["mapRunArn"]  # the Map state that started it
        details = event.get("lambdaFunctionSucceededEventDetails") or event.get("taskSucceededEventDetails")
        if state in PLAN_STATES and details and details.get("output"):
            output = json.loads(details["output"])
            rounds, totals = output.get("rounds", rounds), output.get("totals", totals)
    batches = {}
    for name, map_run_arn in map_runs.items():
        counts = sfn.describe_map_run(mapRunArn=map_run_arn).get("itemCounts", {})
        batches[name] = (counts.get("succeeded", 0) + counts.get("failed", 0), counts.get("total", 0))

    def share(states: tuple[str, ...]) -> float:
        if finished.intersection(states):
            return 1.0
        done, total = next((batches[name] for name in states if name in batches), (0, 0))
        return done / total if total else 0.0

    compared = sum(totals.get(name, 0) for name in COMPARED_TOTALS)
    return Progress(
        state,
        rounds,
        compared,
        totals.get("toCopy", 0),
        totals.get("toDelete", 0),
        batches,
        totals.get("bytesToCopy", 0),
        share(COPY_STATES),
        share(DELETE_STATES),
        in_batches[0],
        in_batches[1],
        phase_started,
    )


InBatches = Callable[[str], tuple[int, int]]
"""(copies done, bytes copied) that the copy batches of the run (named by its execution) have said so far."""


def copies_in_batches(s3: Any, work_bucket: str, run_id: str) -> tuple[int, int]:
    """What the copy batches of a run said of themselves while running (copy_keys' progress objects, whose names
    carry the counts): one ListObjectsV2 per 1,000 of them, nothing read; the latest of each batch counts."""
    from bucket_sync.run_files import parse_progress_key, progress_prefix

    latest: dict[str, tuple[int, int]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=work_bucket, Prefix=progress_prefix(run_id)):
        for item in page.get("Contents", []):
            parsed = parse_progress_key(item["Key"])
            if parsed and parsed[1] >= latest.get(parsed[0], (-1, 0))[0]:
                latest[parsed[0]] = parsed[1:]
    return sum(done for done, _ in latest.values()), sum(size for _, size in latest.values())


def history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    return [
        event
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
        for event in page["events"]
    ]


def follow(
    sfn: Any,
    execution_arn: str,
    on_progress: ProgressCallback,
    sleep: Callable[[float], None] = time.sleep,
    in_batches: InBatches | None = None,
) -> ExecutionResult:
    """Wait for the execution to end, reporting its progress whenever it changes; with ``in_batches``, copies
    inside the batches are counted too (looked for only while a copy step runs)."""
    last, counted = None, (0, 0)
    run_id = execution_arn.rsplit(":", 1)[-1]
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        events = history(sfn, execution_arn)
        progress = progress_of(sfn, execution_arn, events, counted)
        if in_batches and progress.state in COPY_STATES and described["status"] == "RUNNING":
            counted = in_batches(run_id)
            progress = replace(progress, copied_in_batches=counted[0], bytes_in_batches=counted[1])
        if progress != last:
            on_progress(progress)
            last = progress
        if described["status"] != "RUNNING":
            output = json.loads(described["output"]) if described.get("output") else None
            return ExecutionResult(
                execution_arn, described["status"], output, described.get("error"), described.get("cause")
            )
        sleep(POLL_SECONDS)


FAB_FLAGS = (
    ('"allowDeleteAll": true', "--allow-delete-all"),
    ('"dryRun": true', "--dry-run"),
    ('"planFirst": true', "--plan-first"),
    ('"maxDeletes"', "--max-deletes N"),
    ("maxDeletes (", "--max-deletes ("),
)
"""The execution input's words in the guards' causes (state_machines/sync_buckets.yaml), and the fab sync flags
that set them, for a sync fab started."""


def failure_message(result: ExecutionResult, fab_flags: bool = False) -> str:
    """One line for a failed execution: the error's name and, for a Lambda error, its message, not its trace; with
    ``fab_flags``, the input fields a guard's cause names are said as the fab sync flags that set them."""
    if result.status == "ABORTED" and not result.cause:  # Step Functions may keep no cause of a stop
        return "ABORTED: the execution was stopped before it ended"
    cause = cause_message(result.cause)
    if fab_flags:
        for field, flag in FAB_FLAGS:
            cause = cause.replace(field, flag)
    return f"{result.error or result.status}: {cause}"


def cause_message(cause: str | None) -> str:
    """A cause's words: a Lambda error's message (its errorMessage, not its trace), or the cause as it is."""
    try:
        return str(json.loads(cause or "")["errorMessage"])
    except (ValueError, KeyError, TypeError):
        return cause or "no cause given"


def failure_summary(result: ExecutionResult) -> dict[str, Any] | None:
    """The summary a failed sync put in its cause (SyncFailedError carries it), if there is one."""
    try:
        message = json.loads(result.cause or "")["errorMessage"]
        return json.loads(message.split("Summary: ", 1)[1])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def output_json(result: ExecutionResult) -> str:
    """The execution's output as one line of JSON; for a failed sync, the summary its error carries."""
    return json.dumps(result.output if result.succeeded else failure_summary(result), ensure_ascii=False)


@dataclass(frozen=True)
class ExecutionSummary:
    name: str
    arn: str
    status: str
    started: Any
    stopped: Any
    summary: dict[str, Any] | None
    source: str = "?"
    destination: str = "?"
    """The buckets, from the summary or else the execution's input (a running or refused sync has no summary)."""
    problem: str = ""
    """For a run that ended in an error: its name and the first line of its cause (without the summary a
    SyncFailedError carries); empty otherwise."""
    dry_run: bool = False
    prefix: str = ""
    start_after: str = ""
    """The run's scope, from the summary or else the execution's input: what ``fab status`` marks."""
    mode: str = "sync"
    filtered: bool = False
    backup: str = ""

    @property
    def flags(self) -> list[str]:
        """The marks of a run that is not a plain full sync: ``scheduled`` (a schedule started it), ``dry-run``,
        ``copy`` or ``check`` (its mode), ``filters``, ``backup``, ``prefix=P``, ``start-after=K``."""
        marks = ["scheduled"] if self.name.startswith(SCHEDULED_PREFIX) else []
        marks += ["dry-run"] if self.dry_run else []
        marks += [self.mode] if self.mode != "sync" else []
        marks += ["filters"] if self.filtered else []
        marks += ["backup"] if self.backup else []
        if self.prefix:
            marks.append(f"prefix={self.prefix}")
        if self.start_after:
            marks.append(f"start-after={self.start_after}")
        return marks


SCHEDULED_PREFIX = "scheduled-"
"""How a schedule names the executions it starts (deploy/schedules.py): ``scheduled-<schedule>-<id>``."""


def run_options(fields: Any) -> dict[str, Any]:
    """The mode, filters and backup of an execution's input or a run's record, as ExecutionSummary takes them."""
    fields = fields if isinstance(fields, dict) else {}
    mode = fields.get("mode")
    return {
        "mode": mode if isinstance(mode, str) and mode else "sync",
        "filtered": bool(fields.get("filters")),
        "backup": fields.get("backup") if isinstance(fields.get("backup"), str) else "",
    }


def describe(sfn: Any, execution_arn: str) -> ExecutionSummary:
    described = sfn.describe_execution(executionArn=execution_arn)
    result = ExecutionResult(
        execution_arn,
        described["status"],
        json.loads(described["output"]) if described.get("output") else None,
        described.get("error"),
        described.get("cause"),
    )
    summary = result.output if result.succeeded else failure_summary(result)
    try:
        document = json.loads(described.get("input") or "{}")
    except ValueError:
        document = {}
    buckets = summary if summary and "source" in summary else document if isinstance(document, dict) else {}
    problem = ""
    if result.error:
        first_line = cause_message(result.cause).split("\n", 1)[0].split(" Summary: ", 1)[0]
        problem = f"{result.error}: {first_line}"
    return ExecutionSummary(
        described["name"],
        execution_arn,
        described["status"],
        described["startDate"],
        described.get("stopDate"),
        summary,
        str(buckets.get("source", "?")),
        str(buckets.get("destination", "?")),
        problem,
        bool(buckets.get("dryRun", False)),
        str(buckets.get("prefix", "")),
        str(buckets.get("startAfter", "")),
        **run_options(document),
    )


def report_lines(s3: Any, report_uri: str) -> Iterator[dict[str, Any]]:
    """The lines of a sync's report, read from S3 as they come."""
    bucket, key = report_uri.removeprefix("s3://").split("/", 1)
    for line in s3.get_object(Bucket=bucket, Key=key)["Body"].iter_lines():
        if line:
            yield json.loads(line)


PLANNED = "planned"
"""The result of a dry run's report lines that say what it would copy or delete (bucket_sync.outcomes)."""


def planned_lines(s3: Any, report_uri: str, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """The first ``limit`` (all, when None) report lines of a dry run that say what it would do: its copies and
    deletions ("planned"), in the report's order, read as they come; the skipped lines (archived objects) are
    left out, as the sync would not act on them either."""
    found = 0
    for line in report_lines(s3, report_uri):
        if limit is not None and found >= limit:
            return
        if line["result"] == PLANNED:
            found += 1
            yield line


def execution_arn_of(machine_arn: str, name: str) -> str:
    """The ARN an execution named ``name`` of that state machine has."""
    return machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


def _exists(sfn: Any, execution_arn: str) -> bool:
    try:
        sfn.describe_execution(executionArn=execution_arn)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("ExecutionDoesNotExist", "InvalidArn"):
            return False
        raise
    return True


def find_execution(sfn: Any, machine_arns: list[str], name: str | None = None) -> str:
    """The ARN of the execution ``name`` (a name or an ARN) of these state machines, or, without one, of the newest
    running one; ExecutionNotFoundError says what to do otherwise."""
    if name:
        candidates = [name] if name.startswith("arn:") else [execution_arn_of(arn, name) for arn in machine_arns]
        for candidate in reversed(candidates):  # the newest machine first
            if _exists(sfn, candidate):
                return candidate
        raise ExecutionNotFoundError(f"no sync execution named {name!r}; 'fab status' lists them")
    running = [
        execution
        for arn in machine_arns
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn, statusFilter="RUNNING")
        for execution in page["executions"]
    ]
    if not running:
        raise ExecutionNotFoundError(
            "no sync is running; name the execution to see how it ended ('fab status' lists them)"
        )
    return max(running, key=lambda execution: execution["startDate"])["executionArn"]


STOP_ERROR = "StoppedByFab"
"""The error a stopped execution ends with: Step Functions records it, and ``fab status`` shows it."""


@dataclass(frozen=True)
class Stopped:
    """What ``fab stop`` did: the execution it stopped, where it was and what it had done."""

    name: str
    destination: str
    progress: Progress
    deletes_started: bool
    """Whether a delete step (DeleteOrphanedKeys, DeleteInline) had begun: until then no deletion was made."""
    lock: str
    """What became of the destination's lock, in a sentence."""


def stop(sfn: Any, s3: Any, work_bucket: str, execution_arn: str) -> Stopped:
    """Stop a running sync (StopExecution on its parent: its children stop with it), then read its history for
    where it was and what it had done, and what is left of the destination's lock."""
    described = sfn.describe_execution(executionArn=execution_arn)
    name = described["name"]
    if described["status"] != "RUNNING":
        raise NotRunningError(
            f"execution {name} is not running ({described['status']}): nothing to stop; "
            f"'fab watch -e {name}' shows its summary"
        )
    sfn.stop_execution(executionArn=execution_arn, error=STOP_ERROR, cause="stopped with fab stop")
    finish_record(s3, work_bucket, name, described["startDate"])
    events = history(sfn, execution_arn)
    entered = {event["stateEnteredEventDetails"]["name"] for event in events if "stateEnteredEventDetails" in event}
    progress = progress_of(sfn, execution_arn, events)
    if progress.state in COPY_STATES:
        counted = copies_in_batches(s3, work_bucket, name)
        progress = replace(progress, copied_in_batches=counted[0], bytes_in_batches=counted[1])
    try:
        document = json.loads(described.get("input") or "{}")
    except ValueError:
        document = {}
    destination = str(document.get("destination", "")) if isinstance(document, dict) else ""
    return Stopped(
        name,
        destination,
        progress,
        bool(entered.intersection(DELETE_STATES)),
        lock_after_stop(sfn, s3, work_bucket, destination, execution_arn),
    )


def finish_record(s3: Any, work_bucket: str, name: str, started: datetime.datetime) -> bool:
    """Write the stopped run's record over as ABORTED (bucket_sync/records.py): no step of the run's own writes
    its end after a stop. Only a record that still says RUNNING, and only that version of it (If-Match), so that
    an end step that finished first keeps its word. True when it was written."""
    from bucket_sync import records

    # The record's name starts with the start time as the run saw it; listing that day's records finds it even if
    # the two clocks' fractions round apart.
    day = records.record_key(started.isoformat(), name)[: len(records.FOLDER) + 8]
    listed = (
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=work_bucket, Prefix=day)
        for item in page.get("Contents", [])
    )
    key = next((found for found in listed if found.endswith(f"-{name}.json")), None)
    if key is None:
        return False  # a machine deployed before records: nothing to finish
    found = s3.get_object(Bucket=work_bucket, Key=key)
    record = json.loads(found["Body"].read())
    if record.get("status") != records.RUNNING:
        return False
    done = records.finished(record, records.ABORTED, error=STOP_ERROR, cause="stopped with fab stop")
    try:
        s3.put_object(
            Bucket=work_bucket,
            Key=key,
            Body=json.dumps(done, ensure_ascii=False).encode("utf-8"),
            ContentType="application/json",
            IfMatch=found["ETag"],
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict"):
            return False  # the run's own end step wrote it first
        raise
    return True


def lock_after_stop(sfn: Any, s3: Any, work_bucket: str, destination: str, execution_arn: str) -> str:
    """Whether the next sync into ``destination`` can go on, from its lock (bucket_sync.concurrency): a lock held
    by an execution that is no longer running is taken over by the next sync."""
    from bucket_sync.concurrency import lock_key

    if not destination:
        return "its input names no destination, so it held no lock"
    key = lock_key(destination)
    try:
        holder = json.loads(s3.get_object(Bucket=work_bucket, Key=key)["Body"].read())["executionArn"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return f"no lock is left on {destination}: the next sync into it can go on"
        raise
    if holder == execution_arn:
        status = sfn.describe_execution(executionArn=execution_arn)["status"]
        if status == "RUNNING":  # StopExecution is asynchronous: it is about to end
            return (
                f"its lock on {destination} (s3://{work_bucket}/{key}) is taken over by the next sync once the "
                "execution has ended, which takes a moment"
            )
        return (
            f"its lock on {destination} (s3://{work_bucket}/{key}) is left, and the next sync into it takes it "
            f"over, since this execution is {status}: the next sync can go on"
        )
    return f"the lock on {destination} is now held by {holder.rsplit(':', 1)[-1]}, another sync"
