"""State machines: create a timestamp-named one per deploy that changes it, find the newest, clean up old idle ones.

Created through the Step Functions API after the stack update, as the 2015 sample did, so executions already
running finish on the definition they started with while new ones get the new definition. A deploy that changes
neither the definition (after resolution to ARNs), nor its role, nor the functions keeps the newest machine
instead: a new one would only push an older one, and its executions, out of KEEP_STATE_MACHINES.
"""

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from .errors import NotDeployedError, StackError

TIMESTAMP_FORMAT = "%Y%m%dT%H%M%S"
TIMESTAMP_PATTERN = r"\d{8}T\d{9}"
TIMESTAMP_CHARACTERS = 18
"""``20261125T151230123``: what a deploy appends to a definition's prefix to name its state machine."""
ROLE_PROPAGATION_SECONDS = 120
"""IAM roles take a while to be assumable after CloudFormation reports them created."""


@dataclass(frozen=True)
class DeployedStateMachine:
    name: str
    arn: str
    created: bool = True
    """False for a machine a deploy kept because nothing it runs had changed."""


def deploy_timestamp(now: datetime) -> str:
    """Sortable and unique to the millisecond: ``20261125T151230123``."""
    now = now.astimezone(UTC)
    return now.strftime(TIMESTAMP_FORMAT) + f"{now.microsecond // 1000:03d}"


def list_deployed(sfn: Any, prefix: str) -> list[DeployedStateMachine]:
    """The state machines this toolkit created for one definition, oldest first."""
    pattern = re.compile(re.escape(prefix) + TIMESTAMP_PATTERN + "$")
    found = [
        DeployedStateMachine(machine["name"], machine["stateMachineArn"])
        for page in sfn.get_paginator("list_state_machines").paginate()
        for machine in page["stateMachines"]
        if pattern.match(machine["name"])
    ]
    return sorted(found, key=lambda machine: machine.name)


def newest(sfn: Any, prefix: str) -> DeployedStateMachine:
    deployed = list_deployed(sfn, prefix)
    if not deployed:
        raise NotDeployedError(f"no state machine named {prefix}<timestamp> is deployed; run 'fab deploy' first")
    return deployed[-1]


def is_unchanged(described: Mapping[str, Any], definition: Mapping[str, Any], role_arn: str) -> bool:
    """Does a deployed machine (DescribeStateMachine's answer) run exactly this definition with this role?"""
    try:
        deployed = json.loads(described.get("definition") or "")
    except ValueError:
        return False
    return deployed == definition and described.get("roleArn") == role_arn


def unchanged(sfn: Any, prefix: str, definition: Mapping[str, Any], role_arn: str) -> DeployedStateMachine | None:
    """The newest machine of a definition, when it runs exactly this definition with this role; else None."""
    deployed = list_deployed(sfn, prefix)
    if not deployed:
        return None
    described = sfn.describe_state_machine(stateMachineArn=deployed[-1].arn)
    return replace(deployed[-1], created=False) if is_unchanged(described, definition, role_arn) else None


def create(
    sfn: Any, name: str, definition: Mapping[str, Any], role_arn: str, sleep: Callable[[float], None] = time.sleep
) -> DeployedStateMachine:
    """Create one state machine; waits out IAM propagation of a role that was created moments ago."""
    deadline = time.monotonic() + ROLE_PROPAGATION_SECONDS
    delay = 2.0
    while True:
        try:
            response = sfn.create_state_machine(
                name=name, definition=json.dumps(definition), roleArn=role_arn, type="STANDARD"
            )
            return DeployedStateMachine(name, response["stateMachineArn"])
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code == "AccessDeniedException" and time.monotonic() < deadline:
                sleep(delay)  # no waiter exists for "role is assumable"; back off and try again
                delay = min(delay * 2, 15.0)
                continue
            raise StackError(
                f"state machine {name} could not be created: {code}: {error.response['Error'].get('Message', '')}"
            ) from None


def has_running_execution(sfn: Any, arn: str) -> bool:
    return bool(sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING", maxResults=1)["executions"])


def remove_old(sfn: Any, prefix: str, keep: int) -> tuple[list[str], list[str]]:
    """Delete all but the newest ``keep`` machines; one with a running execution is left alone.

    Returns (deleted names, names kept because they were busy).
    """
    deleted, busy = [], []
    deployed = list_deployed(sfn, prefix)
    for machine in deployed[: max(len(deployed) - keep, 0)]:
        if has_running_execution(sfn, machine.arn):
            busy.append(machine.name)
        else:
            sfn.delete_state_machine(stateMachineArn=machine.arn)
            deleted.append(machine.name)
    return deleted, busy


def running(sfn: Any, prefix: str) -> list[str]:
    """Names of the machines of one definition that have an execution running."""
    return [machine.name for machine in list_deployed(sfn, prefix) if has_running_execution(sfn, machine.arn)]
