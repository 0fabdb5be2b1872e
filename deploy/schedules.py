"""Schedules: one EventBridge Scheduler schedule per SCHEDULES entry, each starting the newest sync state machine.

Created through the Scheduler and IAM APIs by every deploy, after the state machines, because what a schedule
starts is the timestamped machine the deploy has just created through Step Functions (``state_machines.py``): no
template can name it, and a wildcard over the machines' prefix would let the schedules start every older machine
a deploy keeps. (moto's CloudFormation has no ``AWS::Scheduler::*`` resource either.) So the deploy path is one,
the same calls against AWS and the embedded endpoint.

What a deploy puts in place, and why:

- **A schedule group named after the stack** (``APP_NAME``). Every schedule in it is this deployment's: a
  deploy creates the schedules SCHEDULES names, updates those that differ and deletes the others in the group;
  schedules elsewhere are never touched. ``fab delete`` deletes the schedules and the group.
- **One execution role per deployment and region**, ``<APP_NAME>-schedule-<region>`` (IAM role names are global and
  at most 64 characters: APP_NAME's 40, the region's 14 and ``-schedule-`` fit), created here rather than in the
  template for the same reason as the schedules. Its trust policy lets only ``scheduler.amazonaws.com`` assume it,
  and only for this account's schedule group (``aws:SourceAccount`` and ``aws:SourceArn``, the group's ARN, as
  AWS's confused-deputy guidance for Scheduler asks). Its one inline policy allows ``states:StartExecution`` on
  the newest sync machine and nothing else. A deploy that creates a new machine first lets the role start the
  old and the new, then points every schedule at the new one, then narrows the policy to the new one alone: no
  scheduled start is refused in between, and after every deploy the role may start only that machine. (A role
  per machine, whose policy would never change, needs a name of the machine's timestamp and the app's 40
  characters, which IAM's 64 cannot hold.) ``fab delete`` deletes it.
- **Each schedule's target** is Scheduler's universal target for StartExecution
  (``arn:aws:scheduler:::aws-sdk:sfn:startExecution``), whose input is the StartExecution request: the machine,
  the execution input, and the name ``scheduled-<schedule>-<aws.scheduler.execution-id>`` (a context attribute
  Scheduler fills in per invocation). A scheduled run is so recognisable by its name wherever an execution name
  shows: ``fab status``, ``fab report``, the console, the run records. Scheduler's templated Step Functions target
  would let Step Functions name it, after nothing.
- **A rate() schedule keeps its phase**: created, it runs at once and then every interval (Scheduler runs a rate
  schedule without a StartDate from when it is created); updated (retargeted to a new machine, say), it is given
  the StartDate of its next run in that phase, so a deploy never runs it early or pushes it back.

Each schedule's input is checked before the deploy changes anything, by the sync's own rules held to the limits
this deploy sets (the allow-lists and MAX_DELETES of the config, which the deploy writes into ValidateInput's
environment: ``with_deployed_limits`` would read the previous deploy's). The deploy toolkit ships the Lambda code
but never imports it: ``check_inputs`` runs the project's ``bucket_sync.inputs.parse_input`` in an interpreter of
its own, as Lambda will.
"""

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from . import partitions
from .config import Config
from .errors import ScheduleError
from .schedule_expressions import ExpressionError, Rate, next_run, parse_expression
from .specs import ScheduleSpec

SYNC_DEFINITION = "sync_buckets"
"""The state machine (``state_machines/<name>.yaml``) schedules start."""
SCHEDULER_SERVICE = "scheduler.amazonaws.com"
START_EXECUTION_TARGET = "aws-sdk:sfn:startExecution"
"""Scheduler's universal target for Step Functions' StartExecution (its ARN carries neither region nor account)."""
EXECUTION_PREFIX = "scheduled-"
EXECUTION_ID_ATTRIBUTE = "<aws.scheduler.execution-id>"
"""Scheduler replaces this in a target's input with the invocation's own ID ("Adding context attributes")."""
TIMEZONE = "UTC"
ROLE_POLICY_NAME = "start-sync"
CHECK_TIMEOUT_SECONDS = 60
SCHEDULE_NOT_FOUND = ("ResourceNotFoundException",)
ROLE_NOT_FOUND = ("NoSuchEntity", "NoSuchEntityException")
EventCallback = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class DeployedSchedule:
    """A schedule of this deployment's group, as GetSchedule describes it."""

    name: str
    expression: str
    state: str
    machine_arn: str | None
    """The state machine it starts (None for a target this toolkit does not write)."""
    role_arn: str
    input: Any
    """The execution input it passes (None when it cannot be read)."""
    created: datetime
    modified: datetime
    start: datetime | None = None
    end: datetime | None = None
    timezone: str = TIMEZONE

    @property
    def anchor(self) -> datetime:
        """What a rate schedule counts from: its StartDate, else its last change (its creation, if none)."""
        return self.start or self.modified


@dataclass(frozen=True)
class ScheduleChanges:
    """What a deploy did to the schedules, by name."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def group_name(config: Config) -> str:
    return config.stack_name


def role_name(config: Config) -> str:
    return f"{config.app_name}-schedule-{config.region}"


def execution_name(schedule: str) -> str:
    """The name each execution the schedule starts gets (Scheduler fills in the invocation's ID)."""
    return f"{EXECUTION_PREFIX}{schedule}-{EXECUTION_ID_ATTRIBUTE}"


def schedule_of_execution(name: str) -> str | None:
    """The schedule that started an execution of this name, or None for one no schedule started."""
    if not name.startswith(EXECUTION_PREFIX):
        return None
    schedule, dash, invocation = name.removeprefix(EXECUTION_PREFIX).rpartition("-")
    return schedule if dash and schedule and invocation else None


def account_of(arn: str) -> str:
    return arn.split(":")[4]


def group_arn(config: Config, account: str) -> str:
    return partitions.arn(config.region, "scheduler", f"schedule-group/{group_name(config)}", config.region, account)


def target_arn(config: Config) -> str:
    return partitions.arn(config.region, "scheduler", START_EXECUTION_TARGET)


def trust_policy(config: Config, account: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": SCHEDULER_SERVICE},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnEquals": {"aws:SourceArn": group_arn(config, account)},
                },
            }
        ],
    }


def start_policy(machine_arns: list[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "states:StartExecution", "Resource": sorted(set(machine_arns))}],
    }


# ----------------------------------------------------------------------------------------------------------------
# Before anything changes: the inputs, by the sync's own rules

CHECK_PROGRAM = """
import json, sys
sys.path.insert(0, sys.argv[1])
from bucket_sync.contract import NO_LIMIT
from bucket_sync.errors import InvalidInputError
from bucket_sync.inputs import Limits, parse_input

request = json.load(sys.stdin)
limit = NO_LIMIT if request["maxDeletes"] is None else request["maxDeletes"]
limits = Limits(tuple(request["sourceBuckets"]), tuple(request["destinationBuckets"]), limit)
problems = {}
for name, text in request["inputs"].items():
    try:
        parse_input(json.loads(text), run_id="check", work_bucket="check", limits=limits)
    except InvalidInputError as error:
        problems[name] = str(error)
json.dump(problems, sys.stdout)
"""
"""Run by the project's own Lambda code's interpreter-to-be: ``bucket_sync.inputs`` is what ValidateInput runs."""


def check_inputs(lambda_code: Path, config: Config) -> None:
    """ScheduleError naming the first schedule whose input the sync would refuse, and why; nothing else is done."""
    if not config.schedules:
        return
    request = {
        "sourceBuckets": list(config.source_buckets),
        "destinationBuckets": list(config.destination_buckets),
        "maxDeletes": config.max_deletes,
        "inputs": {spec.name: spec.input for spec in config.schedules},
    }
    ran = subprocess.run(
        [sys.executable, "-I", "-c", CHECK_PROGRAM, str(lambda_code)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT_SECONDS,
        check=False,
    )
    if ran.returncode != 0:
        last = (ran.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise ScheduleError(
            f"the schedules' inputs could not be checked with {lambda_code}/bucket_sync/inputs.py: {last}. "
            "Nothing was deployed."
        )
    problems: dict[str, str] = json.loads(ran.stdout)
    for spec in config.schedules:  # in the config's order: the first refused is named
        if spec.name in problems:
            raise ScheduleError(
                f"SCHEDULES entry {spec.name!r}: its input is refused by the sync's own checks: "
                f"{problems[spec.name].rstrip('.')}. Fix the input in fabfile_config.py; nothing was deployed."
            )


# ----------------------------------------------------------------------------------------------------------------
# Reading what is deployed


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _group_exists(scheduler: Any, config: Config) -> bool:
    try:
        scheduler.get_schedule_group(Name=group_name(config))
    except ClientError as error:
        if _code(error) in SCHEDULE_NOT_FOUND:
            return False
        raise
    return True


def _names(scheduler: Any, config: Config) -> list[str]:
    pages = scheduler.get_paginator("list_schedules").paginate(GroupName=group_name(config))
    return sorted(item["Name"] for page in pages for item in page.get("Schedules", []))


def _timestamp(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def describe(described: dict[str, Any], partition_target: str) -> DeployedSchedule:
    """A GetSchedule answer as a DeployedSchedule; ``partition_target`` is the universal target's ARN."""
    target = described.get("Target") or {}
    machine: str | None = None
    execution_input: Any = None
    try:
        payload = json.loads(target.get("Input") or "{}")
    except ValueError:
        payload = None
    if target.get("Arn") == partition_target and isinstance(payload, dict):
        machine = payload.get("StateMachineArn")
        try:
            execution_input = json.loads(payload.get("Input") or "{}")
        except ValueError:
            execution_input = None
    elif ":states:" in str(target.get("Arn", "")):  # the templated target: the machine itself
        machine, execution_input = target["Arn"], payload
    created = _timestamp(described.get("CreationDate")) or datetime.now(UTC)
    return DeployedSchedule(
        name=described["Name"],
        expression=described.get("ScheduleExpression", ""),
        state=described.get("State") or "ENABLED",
        machine_arn=machine,
        role_arn=target.get("RoleArn", ""),
        input=execution_input,
        created=created,
        modified=_timestamp(described.get("LastModificationDate")) or created,
        start=_timestamp(described.get("StartDate")),
        end=_timestamp(described.get("EndDate")),
        timezone=described.get("ScheduleExpressionTimezone") or TIMEZONE,
    )


def deployed(scheduler: Any, config: Config) -> list[DeployedSchedule]:
    """Every schedule of this deployment's group, by name; none when there is no group."""
    if not _group_exists(scheduler, config):
        return []
    found = []
    for name in _names(scheduler, config):
        try:
            described = scheduler.get_schedule(Name=name, GroupName=group_name(config))
        except ClientError as error:
            if _code(error) in SCHEDULE_NOT_FOUND:
                continue  # deleted between the listing and now
            raise
        found.append(describe(described, target_arn(config)))
    return found


def next_run_of(schedule: DeployedSchedule, now: datetime) -> datetime | None:
    """When a deployed schedule next starts its machine; None when disabled, ended or its expression unreadable."""
    if schedule.state != "ENABLED":
        return None
    try:
        expression = parse_expression(schedule.expression)
    except ExpressionError:
        return None
    return next_run(expression, now, schedule.anchor, schedule.start, schedule.end, schedule.timezone)


# ----------------------------------------------------------------------------------------------------------------
# Putting them in place


def request_of(config: Config, spec: ScheduleSpec, machine_arn: str, role_arn: str) -> dict[str, Any]:
    """CreateSchedule's (and UpdateSchedule's) parameters for one SCHEDULES entry."""
    payload = {"StateMachineArn": machine_arn, "Name": execution_name(spec.name), "Input": spec.input}
    return {
        "Name": spec.name,
        "GroupName": group_name(config),
        "ScheduleExpression": spec.expression,
        "ScheduleExpressionTimezone": TIMEZONE,
        "State": "ENABLED" if spec.enabled else "DISABLED",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Description": (
            f"Starts the newest {config.app_name} sync state machine; kept by fab deploy from SCHEDULES in "
            "fabfile_config.py"
        ),
        "Target": {"Arn": target_arn(config), "RoleArn": role_arn, "Input": json.dumps(payload, ensure_ascii=False)},
    }


def is_current(schedule: DeployedSchedule, spec: ScheduleSpec, machine_arn: str, role_arn: str) -> bool:
    """Does a deployed schedule already do what ``spec`` asks, on this machine, as this role?"""
    return (
        schedule.expression == spec.expression
        and schedule.timezone == TIMEZONE
        and schedule.state == ("ENABLED" if spec.enabled else "DISABLED")
        and schedule.machine_arn == machine_arn
        and schedule.role_arn == role_arn
        and schedule.input == json.loads(spec.input)
    )


def kept_phase(schedule: DeployedSchedule, spec: ScheduleSpec, now: datetime) -> datetime | None:
    """The StartDate that keeps a rate schedule's phase through an update (its next run), or None to leave it."""
    try:
        old, new = parse_expression(schedule.expression), parse_expression(spec.expression)
    except ExpressionError:
        return None
    if not isinstance(old, Rate) or not isinstance(new, Rate):
        return None
    return next_run(new, now, schedule.anchor)


def _policy_document(value: Any) -> Any:
    """IAM answers a policy document as a dict (boto3 decodes it) or as URL-encoded JSON text."""
    if isinstance(value, str):
        return json.loads(unquote(value))
    return value


def _ensure_role(iam: Any, config: Config, account: str, machine_arns: list[str]) -> str:
    """The execution role, created or corrected, allowed to start exactly ``machine_arns``; returns its ARN."""
    name, trust = role_name(config), trust_policy(config, account)
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except ClientError as error:
        if _code(error) not in ROLE_NOT_FOUND:
            raise
        role = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust),
            Description=f"EventBridge Scheduler starts the newest {config.app_name} sync state machine as this role",
        )["Role"]
    else:
        if _policy_document(role.get("AssumeRolePolicyDocument")) != trust:
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
    _allow(iam, name, machine_arns)
    return str(role["Arn"])


def _allow(iam: Any, name: str, machine_arns: list[str]) -> None:
    wanted = start_policy(machine_arns)
    try:
        current = _policy_document(iam.get_role_policy(RoleName=name, PolicyName=ROLE_POLICY_NAME)["PolicyDocument"])
    except ClientError as error:
        if _code(error) not in ROLE_NOT_FOUND:
            raise
        current = None
    if current != wanted:
        iam.put_role_policy(RoleName=name, PolicyName=ROLE_POLICY_NAME, PolicyDocument=json.dumps(wanted))


def _refused(name: str, action: str, error: ClientError) -> ScheduleError:
    message = error.response.get("Error", {}).get("Message", "")
    return ScheduleError(
        f"Scheduler refused to {action} schedule {name!r}: {_code(error)}: {message}. (A role created moments ago "
        "may not be usable yet: run 'fab deploy' again.)"
    )


def _event(on_event: EventCallback, now: datetime, name: str, status: str, reason: str) -> None:
    """One line of the deploy's output, in the form of the stack's events."""
    on_event(
        {
            "Timestamp": now,
            "LogicalResourceId": f"Schedule {name}",
            "ResourceStatus": status,
            "ResourceStatusReason": reason,
        }
    )


def reconcile(
    scheduler: Any,
    iam: Any,
    config: Config,
    machine_arn: str,
    on_event: EventCallback,
    now: datetime | None = None,
) -> ScheduleChanges:
    """Make the deployment's schedules what SCHEDULES says, every one starting ``machine_arn``."""
    now = now or datetime.now(UTC)
    if not config.schedules:
        return ScheduleChanges(deleted=remove_all(scheduler, iam, config, on_event, now))
    machine_name = machine_arn.rsplit(":", 1)[-1]
    group = group_name(config)
    if not _group_exists(scheduler, config):
        scheduler.create_schedule_group(Name=group)
    existing = {schedule.name: schedule for schedule in deployed(scheduler, config)}
    # Widen first: the schedules still pointing at an older machine keep working until they are moved.
    older = [s.machine_arn for s in existing.values() if s.machine_arn and s.machine_arn != machine_arn]
    role_arn = _ensure_role(iam, config, account_of(machine_arn), [machine_arn, *older])
    changes = ScheduleChanges()
    for spec in config.schedules:
        request = request_of(config, spec, machine_arn, role_arn)
        schedule = existing.get(spec.name)
        if schedule is not None and is_current(schedule, spec, machine_arn, role_arn):
            changes.unchanged.append(spec.name)
            continue
        try:
            if schedule is None:
                scheduler.create_schedule(**request)
                changes.created.append(spec.name)
                _event(on_event, now, spec.name, "CREATED", f"{spec.expression}, starts {machine_name}")
            else:
                start = kept_phase(schedule, spec, now)
                scheduler.update_schedule(**request, **({"StartDate": start} if start else {}))
                changes.updated.append(spec.name)
                _event(on_event, now, spec.name, "UPDATED", f"{spec.expression}, starts {machine_name}")
        except ClientError as error:
            raise _refused(spec.name, "create" if schedule is None else "update", error) from None
    for name in sorted(set(existing) - {spec.name for spec in config.schedules}):
        _delete_schedule(scheduler, group, name)
        changes.deleted.append(name)
        _event(on_event, now, name, "DELETED", "no longer in SCHEDULES")
    _allow(iam, role_name(config), [machine_arn])  # narrow: the role may start this machine only
    return changes


def _delete_schedule(scheduler: Any, group: str, name: str) -> bool:
    try:
        scheduler.delete_schedule(Name=name, GroupName=group)
    except ClientError as error:
        if _code(error) in SCHEDULE_NOT_FOUND:
            return False
        raise
    return True


def remove_all(
    scheduler: Any, iam: Any, config: Config, on_event: EventCallback, now: datetime | None = None
) -> list[str]:
    """Delete the deployment's schedules, their group and their role (what is not there is no error); returns the
    names of the schedules deleted."""
    now = now or datetime.now(UTC)
    deleted = []
    try:
        present = _group_exists(scheduler, config)
    except ClientError as error:
        if _code(error) != "AccessDeniedException" or config.schedules:
            raise
        present = False  # a deployer who may not use Scheduler has no schedules to delete
    if present:
        for name in _names(scheduler, config):
            if _delete_schedule(scheduler, group_name(config), name):
                deleted.append(name)
                _event(on_event, now, name, "DELETED", "")
        try:
            scheduler.delete_schedule_group(Name=group_name(config))
        except ClientError as error:
            if _code(error) not in SCHEDULE_NOT_FOUND:
                raise
    _delete_role(iam, role_name(config))
    return deleted


def _delete_role(iam: Any, name: str) -> None:
    try:
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=policy)
        iam.delete_role(RoleName=name)
    except ClientError as error:
        if _code(error) not in ROLE_NOT_FOUND:
            raise
