"""What is deployed, as plain frozen data: no behaviour, no AWS, no disk.

Discovery turns files into these specs; the template builder and the stack stage only read them.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function: ``lambda_functions/<name>.py`` with a front matter block."""

    name: str
    """File name without ``.py``; also the name a state machine uses in a Task's ``Resource``."""
    properties: Mapping[str, Any] = field(default_factory=dict)
    """AWS::Serverless::Function properties from the front matter, defaults applied."""

    @property
    def handler(self) -> str:
        return f"{self.name}.handler"


@dataclass(frozen=True)
class StateMachineSpec:
    """One state machine: ``state_machines/<name>.yaml``, an ASL definition written in YAML."""

    name: str
    definition: Mapping[str, Any]
    """The ASL definition as parsed; Lambda names in ``Resource`` are still unresolved."""


@dataclass(frozen=True)
class Package:
    """The deployment package: one zip holding every handler and shared module."""

    path: str
    sha256: str

    @property
    def key(self) -> str:
        """S3 key named by content, so unchanged code is never uploaded twice."""
        return f"packages/{self.sha256}.zip"


@dataclass(frozen=True)
class ScheduleSpec:
    """One entry of SCHEDULES: an EventBridge Scheduler schedule that starts the newest sync state machine."""

    name: str
    expression: str
    """``rate(1 day)``, ``cron(0 3 * * ? *)`` or ``at(2027-01-31T12:00:00)`` (deploy/schedule_expressions.py)."""
    input: str
    """The execution input as JSON text: what the schedule passes to StartExecution."""
    enabled: bool = True
