"""Executions of the deployed sync state machine: validate the input, start, follow, and read the result.

The input is checked with the very code the state machine's ValidateInput step runs, so a mistake gets the same
message here as in the console, before anything starts.
"""

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

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

    @property
    def to_do(self) -> int:
        return self.to_copy + self.to_delete

    @property
    def copied(self) -> int:
        """Copies done so far (made, skipped or failed), counted by whole batches; the summary tells which."""
        return round(self.to_copy * self.copy_share)

    @property
    def deleted(self) -> int:
        return round(self.to_delete * self.delete_share)

    @property
    def bytes_copied(self) -> int:
        return round(self.bytes_to_copy * self.copy_share)

    def line(self) -> str:
        parts = [self.state]
        if self.rounds:
            parts.append(
                f"{self.compared:,} keys compared in {self.rounds} round(s): {self.to_copy:,} to copy, "
                f"{self.to_delete:,} to delete"
            )
        for name, (done, total) in (self.batches or {}).items():
            parts.append(f"{name} {done}/{total} batches")
        if self.copy_share or self.delete_share:
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
            f"Stopped following: execution {name} goes on ('fab status' lists it). Follow it in the "
            f"Step Functions console, or stop it with: aws stepfunctions stop-execution --execution-arn "
            f"{execution_arn} --region {region}"
        )


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
) -> dict[str, Any]:
    """The execution input for these options, checked as ValidateInput checks it (with the deployment's limits,
    from ``config``, when given)."""
    document: dict[str, Any] = {"source": source, "destination": destination}
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
            config.source_buckets, config.destination_buckets, -1 if config.max_deletes is None else config.max_deletes
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


COPY_STATES, DELETE_STATES = ("CopySourceKeys", "CopyInline"), ("DeleteOrphanedKeys", "DeleteInline")
"""The states that copy and delete: a Distributed Map over plan batches, or one step for a small plan."""


def progress_of(sfn: Any, execution_arn: str, events: list[dict[str, Any]]) -> Progress:
    totals: dict[str, int]  # the planner's counts, by name
    state, rounds, totals, map_runs, finished = "", 0, {}, {}, set()
    for event in events:
        if "stateEnteredEventDetails" in event:
            state = event["stateEnteredEventDetails"]["name"]
        if "stateExitedEventDetails" in event:
            finished.add(event["stateExitedEventDetails"]["name"])
        if "mapRunStartedEventDetails" in event:
            map_runs[state] = event["mapRunStartedEventDetails"]["mapRunArn"]  # the Map state that started it
        details = event.get("lambdaFunctionSucceededEventDetails") or event.get("taskSucceededEventDetails")
        if state == "ListBucket" and details and details.get("output"):
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

    compared = sum(totals.get(name, 0) for name in ("unchanged", "toCopy", "toDelete", "skipped"))
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
    )


def follow(
    sfn: Any, execution_arn: str, on_progress: ProgressCallback, sleep: Callable[[float], None] = time.sleep
) -> ExecutionResult:
    """Wait for the execution to end, reporting its progress whenever it changes."""
    last = None
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        events = [
            event
            for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
            for event in page["events"]
        ]
        progress = progress_of(sfn, execution_arn, events)
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
    ('"maxDeletes"', "--max-deletes N"),
    ("maxDeletes (", "--max-deletes ("),
)
"""The execution input's words in the guards' causes (state_machines/sync_buckets.yaml), and the fab sync flags
that set them, for a sync fab started."""


def failure_message(result: ExecutionResult, fab_flags: bool = False) -> str:
    """One line for a failed execution: the error's name and, for a Lambda error, its message, not its trace; with
    ``fab_flags``, the input fields a guard's cause names are said as the fab sync flags that set them."""
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


def recent(sfn: Any, machine_arns: list[str], limit: int) -> list[ExecutionSummary]:
    """The newest executions of these state machines, newest first, with their summaries."""
    found = []
    for arn in machine_arns:
        for page in sfn.get_paginator("list_executions").paginate(
            stateMachineArn=arn, PaginationConfig={"MaxItems": limit}
        ):
            found += page["executions"]
    found.sort(key=lambda execution: execution["startDate"], reverse=True)
    return [describe(sfn, execution["executionArn"]) for execution in found[:limit]]


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
    )


def report_lines(s3: Any, report_uri: str) -> Iterator[dict[str, Any]]:
    """The lines of a sync's report, read from S3 as they come."""
    bucket, key = report_uri.removeprefix("s3://").split("/", 1)
    for line in s3.get_object(Bucket=bucket, Key=key)["Body"].iter_lines():
        if line:
            yield json.loads(line)
