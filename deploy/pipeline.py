"""The deploy pipeline: discover -> package -> template -> stack -> state machines -> schedules, and its reverse,
delete.

Each stage lives in its own module; this one only wires them in order and returns plain results for the fabfile
to print. Nothing here prints.
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from . import schedules
from . import state_machines as machines
from .aws import Clients
from .config import Config
from .discover import discover_functions, discover_state_machines
from .errors import DeployError, NotDeployedError, ScheduleError, StateMachineDefinitionError
from .package import build_package
from .schedules import ScheduleChanges
from .specs import FunctionSpec, Package, StateMachineSpec
from .stack import (
    delete_stack,
    deploy_stack,
    describe_stack,
    ensure_deployment_bucket,
    expire_run_files,
    stack_outputs,
    upload_package,
    upload_template,
)
from .template import (
    build_template,
    deployed_settings,
    function_output,
    render_template,
    resolve_definition,
    role_output,
    state_machine_prefix,
)

EventCallback = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Project:
    """Where the toolkit finds what it deploys."""

    root: Path

    @property
    def lambda_functions(self) -> Path:
        return self.root / "lambda_functions"

    @property
    def state_machines(self) -> Path:
        return self.root / "state_machines"

    @property
    def build(self) -> Path:
        return self.root / "build"


@dataclass(frozen=True)
class Plan:
    """What a deploy would put in place, built without AWS."""

    functions: list[FunctionSpec]
    state_machines: list[StateMachineSpec]
    package: Package
    template: dict[str, Any]


@dataclass(frozen=True)
class DeployResult:
    stack_status: str
    bucket_created: bool
    package_uploaded: bool
    package_key: str
    state_machines: list[machines.DeployedStateMachine]
    removed_state_machines: list[str] = field(default_factory=list)
    busy_state_machines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    schedules: ScheduleChanges = field(default_factory=ScheduleChanges)
    """What SCHEDULES made of the deployment's schedules (each change is also an event: ``on_event``)."""


@dataclass(frozen=True)
class DeleteResult:
    stack_deleted: bool
    state_machines: list[str]
    package_objects: int
    """Objects deleted from the deployment bucket: packages and templates, and with ``purge`` everything."""
    kept_objects: int = 0
    """Objects left in the deployment bucket: what syncs wrote there (reports, run files, locks)."""
    bucket_deleted: bool = False
    schedules: list[str] = field(default_factory=list)
    """The schedules deleted (each is also an event: ``on_event``)."""


def plan(project: Project, config: Config) -> Plan:
    functions = discover_functions(project.lambda_functions)
    definitions = discover_state_machines(project.state_machines)
    package = build_package(project.lambda_functions, project.build)
    return Plan(functions, definitions, package, build_template(config, functions, definitions, package))


def deploy(
    project: Project, config: Config, clients: Clients, on_event: EventCallback, now: datetime | None = None
) -> DeployResult:
    planned = plan(project, config)  # every file problem surfaces here, before anything is created
    check_schedules(project, config, planned)  # and every schedule's: its input is checked as the sync checks it
    timestamp = machines.deploy_timestamp(now or datetime.now(UTC))
    created = ensure_deployment_bucket(clients.s3, config.deployment_bucket, config.region)
    expire_run_files(clients.s3, config.deployment_bucket, config.report_retention_days)
    uploaded = upload_package(clients.s3, config.deployment_bucket, planned.package)
    template_url = upload_template(
        clients.s3, config.deployment_bucket, config.region, render_template(planned.template)
    )
    stack = deploy_stack(clients.cloudformation, config.stack_name, template_url, f"deploy-{timestamp}", on_event)
    function_arns = {spec.name: stack.outputs[function_output(spec.name)] for spec in planned.functions}
    deployed, removed, busy = [], [], []
    for spec in planned.state_machines:
        prefix = state_machine_prefix(config, spec.name)
        definition = resolve_definition(spec.definition, function_arns, config.partition)
        role_arn = stack.outputs[role_output(spec.name)]
        # A changed stack (functions, roles) always gets a new machine, so each deploy of new code is one to see.
        same = (
            machines.unchanged(clients.stepfunctions, prefix, definition, role_arn)
            if stack.status == "unchanged"
            else None
        )
        deployed.append(same or machines.create(clients.stepfunctions, prefix + timestamp, definition, role_arn))
        gone, kept = machines.remove_old(clients.stepfunctions, prefix, config.keep_state_machines)
        removed += gone
        busy += kept
    sync = next(
        (m for m in deployed if m.name.startswith(state_machine_prefix(config, schedules.SYNC_DEFINITION))), None
    )
    changes = (
        schedules.reconcile(clients.scheduler, clients.iam, config, sync.arn, on_event)
        if sync is not None
        else ScheduleChanges()
    )
    return DeployResult(
        stack.status,
        created,
        uploaded,
        planned.package.key,
        deployed,
        removed,
        busy,
        config_warnings(config),
        changes,
    )


def check_schedules(project: Project, config: Config, planned: Plan) -> None:
    """Refuse SCHEDULES that could not run: without the sync state machine, or with an input the sync refuses."""
    if not config.schedules:
        return
    names = [spec.name for spec in planned.state_machines]
    if schedules.SYNC_DEFINITION not in names:
        raise ScheduleError(
            f"SCHEDULES start the {schedules.SYNC_DEFINITION} state machine, and this project has none "
            f"(state_machines/ holds {', '.join(names) or 'nothing'}); set SCHEDULES = None. Nothing was deployed."
        )
    schedules.check_inputs(project.lambda_functions, config)


def config_warnings(config: Config) -> list[str]:
    """What a deploy should say about a config that leaves the deployment more power than it may need."""
    warnings = []
    for setting, patterns, may in (
        ("SOURCE_BUCKETS", config.source_buckets, "read"),
        ("DESTINATION_BUCKETS", config.destination_buckets, "write and delete in"),
    ):
        if not patterns:
            warnings.append(
                f"{setting} is not set: the functions may {may} any bucket of the account. Name the "
                f"buckets (or patterns) in fabfile_config.py to narrow their IAM policies."
            )
    return warnings


def newest_state_machine(
    project: Project, config: Config, clients: Clients, name: str | None = None
) -> machines.DeployedStateMachine:
    """The newest deployed machine of the named definition (the only one, when there is one)."""
    names = [spec.name for spec in discover_state_machines(project.state_machines)]
    if name is None:
        if len(names) != 1:
            raise StateMachineDefinitionError(f"name one of the state machines: {', '.join(names)}")
        name = names[0]
    elif name not in names:
        raise StateMachineDefinitionError(f"no state machine {name!r}; there are: {', '.join(names)}")
    return machines.newest(clients.stepfunctions, state_machine_prefix(config, name))


def check_deletable(project: Project, config: Config, clients: Clients) -> None:
    """Refuse, before anything is asked or deleted, while an execution of the deployment runs."""
    busy = [name for prefix in _prefixes(project, config) for name in machines.running(clients.stepfunctions, prefix)]
    if busy:
        raise DeployError(
            f"executions are running on {', '.join(busy)}; wait for them or stop them ('fab stop NAME' for a "
            "sync), then run 'fab delete' again. Nothing was deleted."
        )


def delete(
    project: Project, config: Config, clients: Clients, on_event: EventCallback, purge: bool = False
) -> DeleteResult:
    """Remove the schedules (with their group and role), the state machines, the stack and the deployment packages;
    with ``purge``, the deployment bucket too, with every sync's reports and records. Data buckets are never
    touched."""
    check_deletable(project, config, clients)
    # The schedules first, so that none starts an execution of a machine about to go.
    unscheduled = schedules.remove_all(clients.scheduler, clients.iam, config, on_event)
    removed = []
    for prefix in _prefixes(project, config):
        gone, _ = machines.remove_old(clients.stepfunctions, prefix, keep=0)
        removed += gone
    stack_deleted = delete_stack(clients.cloudformation, config.stack_name, on_event)
    objects, kept, bucket_deleted = _delete_deployment_objects(clients.s3, config.deployment_bucket, purge)
    return DeleteResult(stack_deleted, removed, objects, kept, bucket_deleted, unscheduled)


def _prefixes(project: Project, config: Config) -> list[str]:
    return [state_machine_prefix(config, spec.name) for spec in discover_state_machines(project.state_machines)]


DEPLOY_FOLDERS = ("packages/", "templates/")
"""What deploys upload; the rest of the deployment bucket is what syncs wrote (reports, run files, locks)."""


def _delete_deployment_objects(s3: Any, bucket: str, purge: bool) -> tuple[int, int, bool]:
    """Delete what deploys uploaded (everything, with ``purge``), and the bucket when nothing else is in it.

    Returns (objects deleted, objects kept, whether the bucket was deleted).
    """
    deleted = kept = 0
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            listed = [item["Key"] for item in page.get("Contents", [])]
            chosen = [{"Key": key} for key in listed if purge or key.startswith(DEPLOY_FOLDERS)]
            if chosen:  # a page holds at most 1,000 keys: what one DeleteObjects takes
                answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": chosen, "Quiet": True})
                if answer.get("Errors"):
                    first = answer["Errors"][0]
                    raise DeployError(
                        f"S3 refused to delete {len(answer['Errors'])} object(s) of deployment bucket {bucket}, "
                        f"{first['Key']!r} first: {first['Code']}: {first.get('Message', '')}"
                    )
                deleted += len(chosen)
            kept += len(listed) - len(chosen)
        if kept:
            return deleted, kept, False
        s3.delete_bucket(Bucket=bucket)
        return deleted, 0, True
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchBucket":
            raise
    return deleted, kept, False


def with_deployed_limits(
    project: Project, config: Config, clients: Clients, function: str = "validate_input"
) -> Config:
    """The config with the settings ``function`` has in its deployed environment (ValidateInput: the bucket
    allow-lists and MAX_DELETES): what an execution will be held to, even when fabfile_config.py was edited since
    the last deploy."""
    spec = next((spec for spec in discover_functions(project.lambda_functions) if spec.name == function), None)
    arn = deployed_outputs(config, clients).get(function_output(function))
    if spec is None or arn is None:
        raise NotDeployedError(f"stack {config.stack_name} has no function {function}; run 'fab deploy' first")
    declared = spec.properties.get("Environment", {}).get("Variables", {})
    described = clients.lambda_.get_function_configuration(FunctionName=arn)
    return replace(config, **deployed_settings(declared, described.get("Environment", {}).get("Variables", {})))


def deployed_outputs(config: Config, clients: Clients) -> dict[str, str]:
    stack = describe_stack(clients.cloudformation, config.stack_name)
    if stack is None:
        raise NotDeployedError(f"stack {config.stack_name} is not deployed; run 'fab deploy' first")
    return stack_outputs(stack)
