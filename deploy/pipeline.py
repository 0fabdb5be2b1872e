"""The deploy pipeline: discover -> package -> template -> stack -> state machines, and its reverse, delete.

Each stage lives in its own module; this one only wires them in order and returns plain results for the fabfile
to print. Nothing here prints.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from . import state_machines as machines
from .aws import Clients
from .config import Config
from .discover import discover_functions, discover_state_machines
from .errors import DeployError, NotDeployedError, StateMachineDefinitionError
from .package import build_package
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


@dataclass(frozen=True)
class DeleteResult:
    stack_deleted: bool
    state_machines: list[str]
    package_objects: int


def plan(project: Project, config: Config) -> Plan:
    functions = discover_functions(project.lambda_functions)
    definitions = discover_state_machines(project.state_machines)
    package = build_package(project.lambda_functions, project.build)
    return Plan(functions, definitions, package, build_template(config, functions, definitions, package))


def deploy(
    project: Project, config: Config, clients: Clients, on_event: EventCallback, now: datetime | None = None
) -> DeployResult:
    planned = plan(project, config)  # every file problem surfaces here, before anything is created
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
    return DeployResult(
        stack.status, created, uploaded, planned.package.key, deployed, removed, busy, config_warnings(config)
    )


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


def delete(project: Project, config: Config, clients: Clients, on_event: EventCallback) -> DeleteResult:
    """Remove the state machines, the stack and the deployment packages. Data buckets are never touched."""
    prefixes = [state_machine_prefix(config, spec.name) for spec in discover_state_machines(project.state_machines)]
    busy = [name for prefix in prefixes for name in machines.running(clients.stepfunctions, prefix)]
    if busy:
        raise DeployError(
            f"executions are running on {', '.join(busy)}; wait for them or stop them in the Step "
            "Functions console, then run 'fab delete' again. Nothing was deleted."
        )
    removed = []
    for prefix in prefixes:
        gone, _ = machines.remove_old(clients.stepfunctions, prefix, keep=0)
        removed += gone
    stack_deleted = delete_stack(clients.cloudformation, config.stack_name, on_event)
    objects = _delete_deployment_objects(clients.s3, config.deployment_bucket)
    return DeleteResult(stack_deleted, removed, objects)


def _delete_deployment_objects(s3: Any, bucket: str) -> int:
    """Delete what deploys uploaded (packages/, templates/), and the bucket when nothing else is in it."""
    count = 0
    try:
        for prefix in ("packages/", "templates/"):
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if keys:
                    s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
                    count += len(keys)
        if not s3.list_objects_v2(Bucket=bucket, MaxKeys=1).get("KeyCount"):
            s3.delete_bucket(Bucket=bucket)
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchBucket":
            raise
    return count


def deployed_outputs(config: Config, clients: Clients) -> dict[str, str]:
    stack = describe_stack(clients.cloudformation, config.stack_name)
    if stack is None:
        raise NotDeployedError(f"stack {config.stack_name} is not deployed; run 'fab deploy' first")
    return stack_outputs(stack)
