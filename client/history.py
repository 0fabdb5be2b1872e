"""The syncs of a deployment, from the run records in its deployment bucket, which outlive state machines.

Every execution writes ``history/<start>-<execution>.json`` as it starts and writes it over as it ends
(``lambda_functions/bucket_sync/records.py``). A deploy may delete a machine, and Step Functions its executions
with it; the records stay until the REPORT_RETENTION_DAYS lifecycle rule expires them. ``recent`` lists the
folder once (the keys sort in start order, so the newest are the last), reads only the records it shows, and
merges in the executions of the machines that still exist which have no record (started by a machine deployed
before records). A record still saying RUNNING is asked about (DescribeExecution) while its machine exists; once
the machine is gone, how the run ended is unknown: it ended without writing its record (stopped, timed out).

It returns ``client.executions.ExecutionSummary`` rows, as ``executions.describe`` does, so the console prints
either. Nothing here writes.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import islice
from typing import Any

from botocore.exceptions import ClientError

from bucket_sync.records import FOLDER, execution_name, key_stamp

from .executions import ExecutionSummary, describe, run_options

UNKNOWN = "UNKNOWN"
ENDED_UNRECORDED = (
    "the run ended without writing its record (stopped or timed out?) and its state machine has been removed"
)


@dataclass(frozen=True)
class RecordKey:
    key: str
    name: str
    """The execution's name: unique to the deployment (it also names ``runs/<name>/``)."""


def record_keys(s3: Any, bucket: str) -> list[RecordKey]:
    """Every record's key, oldest first (their names start with the start time). No bucket yet: none."""
    found = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=FOLDER):
            for item in page.get("Contents", []):
                key = item["Key"]
                if "-" in key.removeprefix(FOLDER) and key.endswith(".json"):
                    found.append(RecordKey(key, execution_name(key)))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "NoSuchBucket":
            raise
    return found


def read_record(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """A record, or None when it expired between the listing and the read."""
    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise


def machine_arn_of(execution_arn: str) -> str:
    """``arn:...:execution:<machine>:<name>`` -> ``arn:...:stateMachine:<machine>``."""
    head, _, _ = execution_arn.rpartition(":")
    return head.replace(":execution:", ":stateMachine:", 1)


def from_record(record: dict[str, Any]) -> ExecutionSummary:
    """The row of a finished run's record (or of one that says it is running)."""
    summary = record.get("summary")
    problem = f"{record['error']}: {record.get('cause', '')}" if record.get("error") else ""
    stopped = record.get("stopTime")
    return ExecutionSummary(
        record.get("execution", "?"),
        record.get("executionArn", ""),
        record.get("status", UNKNOWN),
        datetime.fromisoformat(record["startTime"]),
        datetime.fromisoformat(stopped) if stopped else None,
        summary,
        (summary or record).get("source") or "?",
        (summary or record).get("destination") or "?",
        problem,
        record.get("dryRun") is True,
        record.get("prefix") or "",
        record.get("startAfter") or "",
        **run_options(record),
    )


def row_of(sfn: Any, record: dict[str, Any], machine_arns: set[str]) -> ExecutionSummary:
    """A record's row; one that still says RUNNING is settled by Step Functions while its machine exists."""
    row = from_record(record)
    if row.status != "RUNNING":
        return row
    if machine_arn_of(row.arn) in machine_arns:
        try:
            return describe(sfn, row.arn)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ExecutionDoesNotExist":
                raise
    return replace(row, status=UNKNOWN, stopped=None, summary=None, problem=ENDED_UNRECORDED)


def executions_of(sfn: Any, machine_arn: str) -> Iterator[dict[str, Any]]:
    """A machine's executions, newest first (ListExecutions' order), a page at a time as they are needed."""
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine_arn):
        yield from page["executions"]


def unrecorded(sfn: Any, machine_arns: list[str], recorded: set[str], limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` executions of the machines that exist which have no record, newest first."""
    found: list[dict[str, Any]] = []
    for arn in machine_arns:
        found += islice((e for e in executions_of(sfn, arn) if e["name"] not in recorded), limit)
    found.sort(key=lambda execution: execution["startDate"], reverse=True)
    return found[:limit]


def recent(s3: Any, sfn: Any, bucket: str, machine_arns: list[str], limit: int) -> list[ExecutionSummary]:
    """The newest ``limit`` syncs of the deployment, newest first: from their records, and from Step Functions
    for the executions of existing machines that have none."""
    keys = record_keys(s3, bucket)
    recorded = {key.name for key in keys}
    existing = set(machine_arns)
    extra = unrecorded(sfn, machine_arns, recorded, limit)
    # Newest first across both: the records' keys carry their start, the executions their startDate.
    candidates: list[tuple[str, Any]] = [(key.key.removeprefix(FOLDER)[:19], key) for key in keys[-limit:]]
    candidates += [(key_stamp(execution["startDate"].isoformat()), execution) for execution in extra]
    candidates.sort(key=lambda pair: pair[0], reverse=True)
    rows = []
    for _, item in candidates[:limit]:
        if isinstance(item, RecordKey):
            record = read_record(s3, bucket, item.key)
            if record is not None:
                rows.append(row_of(sfn, record, existing))
        else:
            rows.append(describe(sfn, item["executionArn"]))
    return rows


def find(s3: Any, sfn: Any, bucket: str, machine_arns: list[str], name_or_arn: str) -> ExecutionSummary | None:
    """One sync by its execution name or ARN: its record, else the execution of an existing machine."""
    name = name_or_arn.rsplit(":", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn
    for key in reversed(record_keys(s3, bucket)):
        if key.name == name:
            record = read_record(s3, bucket, key.key)
            if record is not None and (not name_or_arn.startswith("arn:") or record.get("executionArn") == name_or_arn):
                return row_of(sfn, record, set(machine_arns))
    if name_or_arn.startswith("arn:"):
        if machine_arn_of(name_or_arn) not in machine_arns:
            return None
        try:
            return describe(sfn, name_or_arn)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
                return None
            raise
    for arn in machine_arns:
        for execution in executions_of(sfn, arn):
            if execution["name"] == name:
                return describe(sfn, execution["executionArn"])
    return None
