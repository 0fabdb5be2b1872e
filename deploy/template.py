"""Template generation: specs in, a SAM template dict out. Pure: no AWS calls, no disk, no clock.

The same specs, config and package give the same template, byte for byte once rendered. Every logical ID comes
from ``logical_id``. State machines themselves are created through the Step Functions API after the stack (see
``state_machines.py``); the template holds what they run as: one IAM role each.
"""
import copy
import json
from typing import Any, Iterable, Mapping

from .config import Config
from .discover import lambda_names_in, task_lambda_reference
from .errors import FrontMatterError, StateMachineDefinitionError
from .specs import FunctionSpec, Package, StateMachineSpec

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
DEPLOYMENT_BUCKET_VARIABLE = "DEPLOYMENT_BUCKET"
"""Set on every function by the toolkit: the private bucket of this deployment."""
ANY_BUCKET = "*"


def toolkit_environment(config: Config) -> dict[str, str]:
    """Set on every function: where its working files go, and the limits the config puts on a sync."""
    return {
        DEPLOYMENT_BUCKET_VARIABLE: config.deployment_bucket,
        "SOURCE_BUCKETS": ",".join(config.source_buckets),
        "DESTINATION_BUCKETS": ",".join(config.destination_buckets),
        "MAX_DELETES": "" if config.max_deletes is None else str(config.max_deletes),
    }


def resource_placeholders(config: Config, state_machine_prefix_all: str) -> dict[str, list[Any]]:
    """What each ``{placeholder}`` in a front matter policy's Resource stands for, from the config."""
    def buckets(patterns: tuple[str, ...]) -> list[str]:
        return [f"arn:aws:s3:::{pattern}" for pattern in (patterns or (ANY_BUCKET,))]

    states = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}"
    return {
        "{source_buckets}": buckets(config.source_buckets),
        "{source_objects}": [f"{arn}/*" for arn in buckets(config.source_buckets)],
        "{destination_buckets}": buckets(config.destination_buckets),
        "{destination_objects}": [f"{arn}/*" for arn in buckets(config.destination_buckets)],
        "{deployment_bucket}": [f"arn:aws:s3:::{config.deployment_bucket}"],
        "{deployment_runs}": [f"arn:aws:s3:::{config.deployment_bucket}/runs/*"],
        "{deployment_etag_pairs}": [f"arn:aws:s3:::{config.deployment_bucket}/etag-pairs/*"],
        "{state_machines}": [{"Fn::Sub": f"{states}:stateMachine:{state_machine_prefix_all}*"}],
        "{executions}": [{"Fn::Sub": f"{states}:execution:{state_machine_prefix_all}*"}],
    }


def expand_placeholders(policies: Any, placeholders: dict[str, list[Any]], where: str) -> Any:
    """Replace every Resource placeholder in inline policy statements; managed policy names pass through."""
    if not isinstance(policies, list):
        return policies
    expanded = []
    for policy in policies:
        if isinstance(policy, dict) and "Statement" in policy:
            statements = []
            for statement in policy["Statement"]:
                resources = statement.get("Resource", [])
                resources = resources if isinstance(resources, list) else [resources]
                concrete: list[Any] = []
                for resource in resources:
                    if isinstance(resource, str) and resource.startswith("{"):
                        if resource not in placeholders:
                            raise FrontMatterError(f"{where}: unknown Resource placeholder {resource}; known: "
                                                   f"{', '.join(sorted(placeholders))}")
                        concrete += placeholders[resource]
                    else:
                        concrete.append(resource)
                concrete = [r for i, r in enumerate(concrete) if r not in concrete[:i]]  # "any" twice is once
                statements.append({**statement, "Resource": concrete if len(concrete) != 1 else concrete[0]})
            policy = {**policy, "Statement": statements}
        expanded.append(policy)
    return expanded


def pascal_case(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def logical_id(name: str, kind: str) -> str:
    """The one naming function: ``logical_id("copy_keys", "Function") == "CopyKeysFunction"``."""
    return f"{pascal_case(name)}{kind}"


def function_name(config: Config, spec: FunctionSpec) -> str:
    return f"{config.app_name}-{spec.name}"


def function_output(name: str) -> str:
    """The stack output holding a function's ARN."""
    return logical_id(name, "FunctionArn")


def role_output(state_machine: str) -> str:
    """The stack output holding a state machine role's ARN."""
    return logical_id(state_machine, "StateMachineRoleArn")


def build_template(config: Config, functions: Iterable[FunctionSpec], state_machines: Iterable[StateMachineSpec],
                   package: Package) -> dict[str, Any]:
    functions = list(functions)
    state_machines = list(state_machines)
    _check_unique_ids([logical_id(f.name, "Function") for f in functions], "Lambda file")
    _check_unique_ids([logical_id(s.name, "StateMachineRole") for s in state_machines], "state machine file")
    resources: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    for spec in functions:
        resources[logical_id(spec.name, "Function")] = _function_resource(config, spec, package)
        outputs[function_output(spec.name)] = {
            "Description": f"ARN of {function_name(config, spec)}",
            "Value": {"Fn::GetAtt": [logical_id(spec.name, "Function"), "Arn"]},
        }
    known = {spec.name for spec in functions}
    for spec in state_machines:
        resources[logical_id(spec.name, "StateMachineRole")] = _state_machine_role(config, spec, known)
        outputs[role_output(spec.name)] = {
            "Description": f"Role the {spec.name} state machines run as",
            "Value": {"Fn::GetAtt": [logical_id(spec.name, "StateMachineRole"), "Arn"]},
        }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": SAM_TRANSFORM,
        "Description": f"{config.app_name}: one-way S3 bucket synchronisation with Step Functions and Lambda",
        "Resources": resources,
        "Outputs": outputs,
    }


def render_template(template: Mapping[str, Any]) -> str:
    return json.dumps(template, indent=2, ensure_ascii=False) + "\n"


def _check_unique_ids(ids: list[str], what: str) -> None:
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise StateMachineDefinitionError(f"two {what}s map to the same logical ID {duplicates[0]}; rename one")


def _function_resource(config: Config, spec: FunctionSpec, package: Package) -> dict[str, Any]:
    properties = {
        "FunctionName": function_name(config, spec),
        "Handler": spec.handler,
        "CodeUri": {"Bucket": config.deployment_bucket, "Key": package.key},
        **copy.deepcopy(dict(spec.properties)),
    }
    variables = properties.setdefault("Environment", {}).setdefault("Variables", {})
    variables.update(toolkit_environment(config))
    properties["Policies"] = expand_placeholders(properties.get("Policies"), resource_placeholders(
        config, f"{config.app_name}-"), f"lambda_functions/{spec.name}.py")
    return {"Type": "AWS::Serverless::Function", "Properties": properties}


def _state_machine_role(config: Config, spec: StateMachineSpec, known_functions: set[str]) -> dict[str, Any]:
    referenced = sorted({name for _, name in lambda_names_in(spec.definition)})
    for state, name in lambda_names_in(spec.definition):
        if name not in known_functions:
            raise StateMachineDefinitionError(
                f"state_machines/{spec.name}.yaml: state '{state}' names Lambda '{name}', but there is no "
                f"lambda_functions/{name}.py with front matter")
    statements: list[dict[str, Any]] = []
    if referenced:
        arns = [{"Fn::GetAtt": [logical_id(name, "Function"), "Arn"]} for name in referenced]
        # "<arn>:*" covers versions and aliases of the same functions, nothing else.
        arns += [{"Fn::Sub": f"${{{logical_id(name, 'Function')}.Arn}}:*"} for name in referenced]
        statements.append({"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": arns})
    if uses_distributed_map(spec.definition):
        prefix = state_machine_prefix(config, spec.name)
        statements.append({
            "Effect": "Allow",
            "Action": "states:StartExecution",
            "Resource": {"Fn::Sub": f"arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}"
                                    f":stateMachine:{prefix}*"},
        })
        statements.append({
            "Effect": "Allow",
            "Action": ["states:DescribeExecution", "states:StopExecution"],
            "Resource": {"Fn::Sub": f"arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}"
                                    f":execution:{prefix}*"},
        })
        # The Distributed Maps read their items (plan batches) from the deployment bucket, and nothing else.
        statements.append({"Effect": "Allow", "Action": "s3:ListBucket",
                           "Resource": f"arn:aws:s3:::{config.deployment_bucket}"})
        statements.append({"Effect": "Allow", "Action": "s3:GetObject",
                           "Resource": f"arn:aws:s3:::{config.deployment_bucket}/runs/*"})
    role: dict[str, Any] = {
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"},
                           "Action": "sts:AssumeRole"}],
        },
    }
    if statements:
        role["Policies"] = [{"PolicyName": f"{spec.name}-states",
                             "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}]
    return {"Type": "AWS::IAM::Role", "Properties": role}


def uses_distributed_map(definition: Mapping[str, Any]) -> bool:
    for state in definition.get("States", {}).values():
        processor = state.get("ItemProcessor", {})
        if processor.get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED":
            return True
        if any(uses_distributed_map(b) for b in state.get("Branches", [])) or uses_distributed_map(processor):
            return True
    return False


def state_machine_prefix(config: Config, name: str) -> str:
    """Every deploy of one definition shares this prefix; the timestamp after it orders them."""
    return f"{config.app_name}-{name}-"


def resolve_definition(definition: Mapping[str, Any], function_arns: Mapping[str, str]) -> dict[str, Any]:
    """A copy of ``definition`` with every Lambda file name in a Task replaced by that function's ARN."""
    resolved = copy.deepcopy(dict(definition))

    def walk(machine: dict[str, Any]) -> None:
        for state in machine.get("States", {}).values():
            if state.get("Type") == "Task":
                name = task_lambda_reference(state)
                if name is not None:
                    if name not in function_arns:
                        raise StateMachineDefinitionError(f"no deployed function for Lambda '{name}'")
                    if state["Resource"] == name:
                        state["Resource"] = function_arns[name]
                    else:
                        state.get("Parameters", state.get("Arguments"))["FunctionName"] = function_arns[name]
            for branch in state.get("Branches", []):
                walk(branch)
            for key in ("ItemProcessor", "Iterator"):
                if key in state:
                    walk(state[key])

    walk(resolved)
    return resolved
