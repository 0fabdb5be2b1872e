"""What ``fab schedules`` shows: the deployment's EventBridge Scheduler schedules, each with its expression, state,
next run, the machine it starts and its last execution, and what in it disagrees with SCHEDULES.

A schedule's executions are named ``scheduled-<schedule>-<id>`` (deploy/schedules.py), so its last one is found by
name: among the run records first (``client/history.py``: they outlive the machines), then among the executions of
the machines that still exist. The next run is computed from the expression (``deploy/schedule_expressions.py``).
Reads only. (Its table is printed here rather than in console.py, which another change holds.)
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from deploy import schedules
from deploy.config import Config
from deploy.specs import ScheduleSpec

from . import history
from .executions import ExecutionSummary, SyncInputError, check_input, describe

MAX_EXECUTIONS_SEARCHED = 1000
"""Per machine, for a schedule with no run record: a run that old has a record (every run writes one first)."""
NOT_DEPLOYED = "NOT DEPLOYED"


@dataclass(frozen=True)
class ScheduleRow:
    name: str
    expression: str
    state: str
    """ENABLED, DISABLED, or NOT DEPLOYED (in SCHEDULES, not yet deployed)."""
    next_run: datetime | None
    machine: str
    """The name of the state machine it starts ("-" when none)."""
    last: ExecutionSummary | None = None
    notes: list[str] = field(default_factory=list)
    """What disagrees with SCHEDULES or the deployment, each with what to do."""


def refusal(document: Any, limits: Config) -> str | None:
    """Why the deployed ValidateInput would refuse this input (``limits``: the deployed limits), or None."""
    try:
        check_input(document, limits)
    except SyncInputError as error:
        return str(error).removesuffix(" Nothing was started.")
    return None


def last_runs(s3: Any, sfn: Any, bucket: str, machine_arns: list[str], names: set[str]) -> dict[str, ExecutionSummary]:
    """The last execution of each named schedule that has one."""
    found: dict[str, ExecutionSummary] = {}
    for key in reversed(history.record_keys(s3, bucket)):  # newest first
        schedule = schedules.schedule_of_execution(key.name)
        if schedule in names and schedule not in found:
            record = history.read_record(s3, bucket, key.key)
            if record is not None:
                found[schedule] = history.row_of(sfn, record, set(machine_arns))
        if len(found) == len(names):
            return found
    for arn in reversed(machine_arns):  # executions without a record, newest machine first
        for execution in islice(history.executions_of(sfn, arn), MAX_EXECUTIONS_SEARCHED):
            schedule = schedules.schedule_of_execution(execution["name"])
            if schedule in names and schedule not in found:
                found[schedule] = describe(sfn, execution["executionArn"])
    return found


def overview(
    scheduler: Any,
    s3: Any,
    sfn: Any,
    config: Config,
    machine_arns: list[str],
    now: datetime,
    refused: Callable[[Any], str | None] = lambda document: None,
) -> list[ScheduleRow]:
    """One row per schedule deployed or configured, in SCHEDULES' order, then those only deployed.

    ``machine_arns``: the deployed sync machines, oldest first; ``refused``: why an input would be refused now."""
    deployed = {schedule.name: schedule for schedule in schedules.deployed(scheduler, config)}
    wanted = {spec.name: spec for spec in config.schedules}
    runs = last_runs(s3, sfn, config.deployment_bucket, machine_arns, set(deployed))
    newest = machine_arns[-1] if machine_arns else None
    rows = []
    for name in [*wanted, *sorted(set(deployed) - set(wanted))]:
        spec, schedule = wanted.get(name), deployed.get(name)
        if schedule is None:
            assert spec is not None
            notes = ["not deployed: run 'fab deploy'"]
            rows.append(ScheduleRow(name, spec.expression, NOT_DEPLOYED, None, "-", None, notes))
            continue
        notes = _notes(schedule, spec, newest, set(machine_arns), refused)
        machine = schedule.machine_arn.rsplit(":", 1)[-1] if schedule.machine_arn else "-"
        next_run = schedules.next_run_of(schedule, now)
        rows.append(ScheduleRow(name, schedule.expression, schedule.state, next_run, machine, runs.get(name), notes))
    return rows


def _notes(
    schedule: schedules.DeployedSchedule,
    spec: ScheduleSpec | None,
    newest: str | None,
    existing: set[str],
    refused: Callable[[Any], str | None],
) -> list[str]:
    notes = []
    if spec is None:
        notes.append("not in SCHEDULES: the next 'fab deploy' deletes it")
    elif (
        schedule.expression != spec.expression
        or schedule.input != json.loads(spec.input)
        or (schedule.state == "ENABLED") != spec.enabled
    ):
        notes.append("differs from SCHEDULES: the next 'fab deploy' updates it")
    if schedule.machine_arn not in existing:
        notes.append("starts a state machine that is not deployed: run 'fab deploy'")
    elif schedule.machine_arn != newest:
        notes.append("starts an older state machine: run 'fab deploy' to point it at the newest")
    problem = refused(schedule.input)
    if problem:
        notes.append(f"its input would be refused: {problem}")
    return notes


def table(rows: list[ScheduleRow]) -> list[str]:
    """``fab schedules``' lines: a header and one line per schedule (times in UTC), each note indented under it."""
    if not rows:
        return ["No schedules: SCHEDULES in fabfile_config.py lists none, and none is deployed."]
    cells = [
        (
            row.name,
            row.state,
            row.expression,
            f"{row.next_run:%Y-%m-%d %H:%M:%S}" if row.next_run else "-",
            f"{row.last.started:%Y-%m-%d %H:%M:%S} {row.last.status}" if row.last else "never",
            row.last.name if row.last else "-",
            row.machine,
        )
        for row in rows
    ]
    header = ("schedule", "state", "expression", "next run (UTC)", "last run (UTC)", "last execution", "starts")
    widths = [max(len(line[column]) for line in [header, *cells]) for column in range(len(header))]
    lines = ["  ".join(text.ljust(width) for text, width in zip(header, widths, strict=True)).rstrip()]
    for row, line in zip(rows, cells, strict=True):
        lines.append("  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip())
        lines += [f"  {note}" for note in row.notes]
    return lines


def as_json(rows: list[ScheduleRow]) -> str:
    """``fab schedules --json``: the rows as one JSON array; times in ISO 8601 (UTC), null when none."""
    return json.dumps(
        [
            {
                "name": row.name,
                "state": row.state,
                "expression": row.expression,
                "nextRun": row.next_run.isoformat() if row.next_run else None,
                "stateMachine": row.machine,
                "lastExecution": (
                    {"name": row.last.name, "status": row.last.status, "started": row.last.started.isoformat()}
                    if row.last
                    else None
                ),
                "notes": row.notes,
            }
            for row in rows
        ],
        ensure_ascii=False,
    )
