"""Run records: one small JSON file per execution in the deployment bucket, which outlives state machines.

A deploy keeps only the newest KEEP_STATE_MACHINES machines, and Step Functions deletes a machine's executions
with it; the record is what ``fab status`` and ``fab report`` read instead. ``history/<start>-<execution>.json``:
the start time first, in a fixed-width UTC form, so that S3's listing order is start order and the newest records
are the last keys of one listing (each execution name is unique to the deployment: it also names ``runs/<name>/``).

``started`` builds the record ValidateInput writes (status RUNNING); ``finished`` the one WriteReport (SUCCEEDED,
or FAILED with SyncFailedError) or ReleaseLockAfterFailure (FAILED, with the error that ended the run) writes
over it. Each is one PutObject (``put``). A run that is stopped or times out runs neither end step, so its record
keeps saying RUNNING: the reader asks Step Functions, while the machine exists, how it ended.

This module only builds and writes records; it never reads them (the client does, in ``client/history.py``).
"""

import json
from datetime import UTC, datetime
from typing import Any

FOLDER = "history/"
RUNNING, SUCCEEDED, FAILED, ABORTED = "RUNNING", "SUCCEEDED", "FAILED", "ABORTED"
"""ABORTED: written by ``fab stop``, which stopped the run (no end step of the run's own runs after a stop)."""
START_FORMAT = "%Y%m%dT%H%M%S"
CAUSE_CHARACTERS = 400
"""The first line of a cause is kept, clipped: the record is a status line, the execution has the rest."""
PUT_REQUESTS = {"PutObject": 1}
"""What writing a record costs: the summary counts it as it counts the lock's requests."""


def key_stamp(start_time: str) -> str:
    """``2026-12-02T00:15:17.123Z`` (Step Functions' ``$$.Execution.StartTime``) as ``20261202T001517123Z``:
    fixed width, so that keys sort in start order whatever the fraction's digits."""
    started = parse_time(start_time)
    return started.strftime(START_FORMAT) + f"{started.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime:
    started = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (started if started.tzinfo else started.replace(tzinfo=UTC)).astimezone(UTC)


def record_key(start_time: str, execution_name: str) -> str:
    return f"{FOLDER}{key_stamp(start_time)}-{execution_name}.json"


def execution_name(key: str) -> str:
    """The execution's name from a key ``record_key`` made (the stamp has no '-', the name may)."""
    return key.removeprefix(FOLDER).split("-", 1)[1].removesuffix(".json")


def machine_name(execution_arn: str) -> str:
    """``arn:aws:states:<region>:<account>:execution:<machine>:<name>`` -> ``<machine>``."""
    parts = execution_arn.split(":")
    return parts[6] if len(parts) > 7 else ""


def started(execution_arn: str, start_time: str, document: Any) -> dict[str, Any]:
    """The record of a run that has just started, with the input's buckets, scope (prefix, startAfter, filters),
    dry run, mode and backup as given (the input may be the one ValidateInput refuses: only string and boolean fields,
    and a list of filters, are kept)."""
    fields = document if isinstance(document, dict) else {}

    def text(name: str) -> str:
        value = fields.get(name, "")
        return value if isinstance(value, str) else ""

    name = execution_arn.rsplit(":", 1)[-1]
    return {
        "key": record_key(start_time, name),
        "execution": name,
        "executionArn": execution_arn,
        "stateMachine": machine_name(execution_arn),
        "startTime": parse_time(start_time).isoformat(),
        "source": text("source"),
        "destination": text("destination"),
        "prefix": text("prefix"),
        "startAfter": text("startAfter"),
        "dryRun": fields.get("dryRun") is True,
        "mode": text("mode") or "sync",
        "filters": fields.get("filters") if isinstance(fields.get("filters"), list) else [],
        "backup": text("backup"),
        "status": RUNNING,
    }


def finished(
    record: dict[str, Any],
    status: str,
    summary: dict[str, Any] | None = None,
    error: str | None = None,
    cause: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The record of a run that ended: its status and stop time, its summary (with the report's location), or
    the error that ended it and the first line of its cause."""
    done = {**record, "status": status, "stopTime": (now or datetime.now(UTC)).isoformat()}
    if summary is not None:
        done["summary"] = summary
        done["report"] = summary.get("report")
    if error:
        done["error"] = error
        done["cause"] = first_line(cause)
    return done


def first_line(cause: str | None) -> str:
    """A cause's first line: a Lambda error's message (its errorMessage, not its trace), without the summary a
    SyncFailedError carries (the record has it whole)."""
    text = cause or ""
    try:
        text = str(json.loads(text)["errorMessage"])
    except (ValueError, KeyError, TypeError):
        pass
    return text.split("\n", 1)[0].split(" Summary: ", 1)[0][:CAUSE_CHARACTERS]


def put(s3: Any, bucket: str, record: dict[str, Any]) -> None:
    """Write (or overwrite) the record: one PutObject."""
    s3.put_object(
        Bucket=bucket,
        Key=record["key"],
        Body=json.dumps(record, ensure_ascii=False).encode("utf-8"),
        ContentType="application/json",
    )
