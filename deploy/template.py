"""Template generation: specs in, a SAM template dict out. Pure: no AWS calls, no disk, no clock.

The same specs, config and package give the same template, byte for byte once rendered. Every logical ID comes
from ``logical_id``. State machines themselves are created through the Step Functions API after the stack (see
``state_machines.py``); the template holds what they run as: one IAM role each. Every ARN is built in the
configured region's partition (``Config.partition``, from botocore's data), never a hard-coded ``aws``. A template
that IAM, Lambda or CloudFormation would refuse is refused here, before anything is uploaded (``limits.py``).
"""

import copy
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from . import limits
from .config import Config, alias_name, is_key_arn
from .discover import lambda_names_in, task_lambda_reference
from .errors import FrontMatterError, StateMachineDefinitionError
from .specs import FunctionSpec, Package, StateMachineSpec
from .state_machines import TIMESTAMP_CHARACTERS

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
DEPLOYMENT_BUCKET_VARIABLE = "DEPLOYMENT_BUCKET"
"""Set on every function by the toolkit: the private bucket of this deployment."""
ANY_BUCKET = "*"
KMS_KEYS_PLACEHOLDER = "{kms_keys}"
RESULT_WRITER_RESOURCE = re.compile(r"^arn:[a-z-]+:states:::s3:putObject$")
RESULT_WRITER_FOLDER = "runs/"
"""A ResultWriter may write only under this folder of the deployment bucket, where every run keeps its files."""
RESULT_WRITER_ACTIONS = ["s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"]
"""Step Functions, "IAM policies for ResultWriter": PutObject, and for its multipart writes ListMultipartUploadParts
and AbortMultipartUpload (its s3:GetObject is already granted on the same folder for the ItemReader)."""
STATES_SERVICE_INTEGRATION = re.compile(r"^arn:aws:states:::")
"""A Step Functions service integration written for the aws partition, as definitions are usually written."""


def toolkit_environment(config: Config) -> dict[str, str]:
    """Set on every function of any project: where its working files go."""
    return {DEPLOYMENT_BUCKET_VARIABLE: config.deployment_bucket}


def _patterns(value: str) -> tuple[str, ...]:
    return tuple(pattern for pattern in value.split(",") if pattern)


def _optional_number(limit: int | None) -> str:
    return "" if limit is None else str(limit)


def _read_optional_number(value: str) -> int | None:
    return int(value) if value else None


ENVIRONMENT_PLACEHOLDERS: dict[str, tuple[str, Callable[[Any], str], Callable[[str], Any]]] = {
    "{source_buckets}": ("source_buckets", ",".join, _patterns),
    "{destination_buckets}": ("destination_buckets", ",".join, _patterns),
    "{max_deletes}": (
        "max_deletes",
        lambda limit: "" if limit is None else str(limit),
        lambda v: int(v) if v else None,
    ),
}
"""What a front matter Environment value may be instead of a literal: the setting it stands for (a Config field),
how it is written into the environment (a list comma-separated, None as empty) and how it is read back. The
function names its own variables; deploy knows only the settings."""


def expand_environment(variables: Mapping[str, str], config: Config, where: str) -> dict[str, str]:
    """A front matter's Environment variables with each ``{setting}`` value replaced by the config's value."""
    expanded = {}
    for name, value in variables.items():
        if value.startswith("{") and value.endswith("}"):
            if value not in ENVIRONMENT_PLACEHOLDERS:
                raise FrontMatterError(
                    f"{where}: Environment variable {name} is {value}, which is no setting; a value in braces is one "
                    f"of {', '.join(ENVIRONMENT_PLACEHOLDERS)}"
                )
            setting, write, _ = ENVIRONMENT_PLACEHOLDERS[value]
            value = write(getattr(config, setting))
        expanded[name] = value
    return expanded


def deployed_settings(declared: Mapping[str, str], deployed: Mapping[str, str]) -> dict[str, Any]:
    """The settings a front matter put in a function's environment (``declared``: its Environment variables), read
    back from the environment the function has (``deployed``): Config fields and values."""
    found = {}
    for name, value in declared.items():
        if value in ENVIRONMENT_PLACEHOLDERS:
            setting, _, read = ENVIRONMENT_PLACEHOLDERS[value]
            found[setting] = read(deployed.get(name, ""))
    return found


def s3_arn(config: Config, resource: str) -> str:
    """``arn:<partition>:s3:::<resource>``: S3 ARNs carry neither region nor account."""
    return f"arn:{config.partition}:s3:::{resource}"


def resource_placeholders(config: Config, state_machine_prefix_all: str) -> dict[str, list[Any]]:
    """What each ``{placeholder}`` in a front matter policy's Resource stands for, from the config.

    ``{kms_keys}`` stands here for the key ARNs of KMS_KEYS only; its aliases become a statement of their own
    (``kms_alias_statements``), since a policy can name a key only by its key ARN.
    """

    def buckets(patterns: tuple[str, ...]) -> list[str]:
        return [s3_arn(config, pattern) for pattern in (patterns or (ANY_BUCKET,))]

    states = f"arn:{config.partition}:states:${{AWS::Region}}:${{AWS::AccountId}}"
    return {
        "{source_buckets}": buckets(config.source_buckets),
        "{source_objects}": [f"{arn}/*" for arn in buckets(config.source_buckets)],
        "{destination_buckets}": buckets(config.destination_buckets),
        "{destination_objects}": [f"{arn}/*" for arn in buckets(config.destination_buckets)],
        "{deployment_bucket}": [s3_arn(config, config.deployment_bucket)],
        "{deployment_runs}": [s3_arn(config, f"{config.deployment_bucket}/runs/*")],
        "{deployment_etag_pairs}": [s3_arn(config, f"{config.deployment_bucket}/etag-pairs/*")],
        "{deployment_locks}": [s3_arn(config, f"{config.deployment_bucket}/locks/*")],
        "{deployment_history}": [s3_arn(config, f"{config.deployment_bucket}/history/*")],
        "{state_machines}": [{"Fn::Sub": f"{states}:stateMachine:{state_machine_prefix_all}*"}],
        "{executions}": [{"Fn::Sub": f"{states}:execution:{state_machine_prefix_all}*"}],
        KMS_KEYS_PLACEHOLDER: [key for key in config.kms_keys if is_key_arn(key)],
    }


def kms_alias_grants(config: Config) -> list[tuple[Any, list[str]]]:
    """(key Resource, alias names) for the aliases of KMS_KEYS, one pair per account and region they name.

    KMS authorises kms:Decrypt against the key, never the alias ("To specify a KMS key in an IAM policy statement,
    you must use its key ARN"), so an alias is granted as "any key of that account whose aliases include it"
    (the kms:ResourceAliases condition key). An alias name is this account's, in any region (source and
    destination buckets may be in two); an alias ARN names its own account and region.
    """
    grants: dict[str, list[str]] = {}
    for entry in config.kms_keys:
        if is_key_arn(entry):
            continue
        if entry.startswith("alias/"):
            resource = f"arn:{config.partition}:kms:*:${{AWS::AccountId}}:key/*"
        else:
            _, partition, _, region, account, _ = entry.split(":", 5)
            resource = f"arn:{partition}:kms:{region}:{account}:key/*"
        grants.setdefault(resource, []).append(alias_name(entry))
    return [({"Fn::Sub": resource} if "${" in resource else resource, names) for resource, names in grants.items()]


def expand_placeholders(
    policies: Any, placeholders: dict[str, list[Any]], where: str, alias_grants: Sequence[tuple[Any, list[str]]] = ()
) -> Any:
    """Replace every Resource placeholder in inline policy statements; managed policy names pass through.

    A statement left with no Resource (``{kms_keys}`` with KMS_KEYS unset) grants nothing and is dropped, and so is
    a policy left with no statement: IAM refuses both.
    """
    if not isinstance(policies, list):
        return policies
    expanded = []
    for policy in policies:
        if isinstance(policy, dict) and "Statement" in policy:
            statements = [
                expanded_statement
                for statement in _as_list(policy["Statement"])
                for expanded_statement in _expand_statement(statement, placeholders, where, alias_grants)
            ]
            if not statements:
                continue
            policy = {**policy, "Statement": statements}
        expanded.append(policy)
    return expanded


def _expand_statement(
    statement: dict[str, Any],
    placeholders: dict[str, list[Any]],
    where: str,
    alias_grants: Sequence[tuple[Any, list[str]]],
) -> list[dict[str, Any]]:
    resources = _as_list(statement.get("Resource", []))
    concrete: list[Any] = []
    for resource in resources:
        if isinstance(resource, str) and resource.startswith("{"):
            if resource not in placeholders:
                raise FrontMatterError(
                    f"{where}: unknown Resource placeholder {resource}; known: {', '.join(sorted(placeholders))}"
                )
            concrete += placeholders[resource]
        else:
            concrete.append(resource)
    concrete = [r for i, r in enumerate(concrete) if r not in concrete[:i]]  # "any" twice is once
    statements = []
    if concrete:
        statements.append({**statement, "Resource": concrete if len(concrete) != 1 else concrete[0]})
    if KMS_KEYS_PLACEHOLDER in resources:
        statements += _alias_statements(statement, alias_grants, where)
    return statements


def _alias_statements(
    statement: dict[str, Any], alias_grants: Sequence[tuple[Any, list[str]]], where: str
) -> list[dict[str, Any]]:
    """The statement again for each alias grant: the account's keys, on condition that an alias matches."""
    condition = statement.get("Condition", {})
    if "kms:ResourceAliases" in condition.get("ForAnyValue:StringEquals", {}):
        raise FrontMatterError(
            f"{where}: a statement with Resource {KMS_KEYS_PLACEHOLDER} may not set "
            "ForAnyValue:StringEquals kms:ResourceAliases itself: the toolkit sets it from "
            "KMS_KEYS"
        )
    statements = []
    for number, (resource, names) in enumerate(alias_grants, start=1):
        merged = {
            **condition,
            "ForAnyValue:StringEquals": {**condition.get("ForAnyValue:StringEquals", {}), "kms:ResourceAliases": names},
        }
        alias_statement = {**statement, "Resource": resource, "Condition": merged}
        if "Sid" in statement:  # a Sid names one statement of a policy
            alias_statement["Sid"] = f"{statement['Sid']}Aliases{number}"
        statements.append(alias_statement)
    return statements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


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


def build_template(
    config: Config, functions: Iterable[FunctionSpec], state_machines: Iterable[StateMachineSpec], package: Package
) -> dict[str, Any]:
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
    for machine in state_machines:
        resources[logical_id(machine.name, "StateMachineRole")] = _state_machine_role(config, machine, known)
        outputs[role_output(machine.name)] = {
            "Description": f"Role the {machine.name} state machines run as",
            "Value": {"Fn::GetAtt": [logical_id(machine.name, "StateMachineRole"), "Arn"]},
        }
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": SAM_TRANSFORM,
        "Description": f"{config.app_name}: one-way S3 bucket synchronisation with Step Functions and Lambda",
        "Resources": resources,
        "Outputs": outputs,
    }
    check_limits(config, template, state_machines)
    return template


def check_limits(config: Config, template: Mapping[str, Any], state_machines: Iterable[StateMachineSpec]) -> None:
    """Refuse, with LimitError, a template that IAM, Lambda, Step Functions or CloudFormation would refuse."""
    names = {
        logical_id: resource["Properties"]["FunctionName"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    limits.check_template(
        template,
        render_template(template),
        limits.Resolver(config.partition, config.region, names),
        {spec.name: state_machine_prefix(config, spec.name) for spec in state_machines},
        TIMESTAMP_CHARACTERS,
    )


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
    environment = properties.setdefault("Environment", {})
    where = f"lambda_functions/{spec.name}.py"
    environment["Variables"] = {
        **expand_environment(environment.get("Variables", {}), config, where),
        **toolkit_environment(config),
    }
    properties["Policies"] = expand_placeholders(
        properties.get("Policies"),
        resource_placeholders(config, f"{config.app_name}-"),
        where,
        kms_alias_grants(config),
    )
    return {"Type": "AWS::Serverless::Function", "Properties": properties}


def _state_machine_role(config: Config, spec: StateMachineSpec, known_functions: set[str]) -> dict[str, Any]:
    referenced = sorted({name for _, name in lambda_names_in(spec.definition)})
    for state, name in lambda_names_in(spec.definition):
        if name not in known_functions:
            raise StateMachineDefinitionError(
                f"state_machines/{spec.name}.yaml: state '{state}' names Lambda '{name}', but there is no "
                f"lambda_functions/{name}.py with front matter"
            )
    statements: list[dict[str, Any]] = []
    if referenced:
        arns: list[dict[str, Any]] = [{"Fn::GetAtt": [logical_id(name, "Function"), "Arn"]} for name in referenced]
        # "<arn>:*" covers versions and aliases of the same functions, nothing else.
        arns += [{"Fn::Sub": f"${{{logical_id(name, 'Function')}.Arn}}:*"} for name in referenced]
        statements.append({"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": arns})
    if uses_distributed_map(spec.definition):
        prefix = state_machine_prefix(config, spec.name)
        states = f"arn:{config.partition}:states:${{AWS::Region}}:${{AWS::AccountId}}"
        statements.append(
            {
                "Effect": "Allow",
                "Action": "states:StartExecution",
                "Resource": {"Fn::Sub": f"{states}:stateMachine:{prefix}*"},
            }
        )
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["states:DescribeExecution", "states:StopExecution"],
                "Resource": {"Fn::Sub": f"{states}:execution:{prefix}*"},
            }
        )
        # The Distributed Maps read their items (plan batches) from the deployment bucket, and nothing else.
        statements.append(
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": s3_arn(config, config.deployment_bucket)}
        )
        statements.append(
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": s3_arn(config, f"{config.deployment_bucket}/{RESULT_WRITER_FOLDER}*"),
            }
        )
    if check_result_writers(config, spec):
        statements.append(
            {
                "Effect": "Allow",
                "Action": RESULT_WRITER_ACTIONS,
                "Resource": s3_arn(config, f"{config.deployment_bucket}/{RESULT_WRITER_FOLDER}*"),
            }
        )
    role: dict[str, Any] = {
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        },
    }
    if statements:
        role["Policies"] = [
            {"PolicyName": f"{spec.name}-states", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}
        ]
    return {"Type": "AWS::IAM::Role", "Properties": role}


def result_writers(definition: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    """(state name, ResultWriter) of every Map state with one, nested Parallel and Map states included."""
    for name, state in definition.get("States", {}).items():
        if isinstance(state.get("ResultWriter"), dict):
            yield name, state["ResultWriter"]
        for branch in state.get("Branches", []):
            yield from result_writers(branch)
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                yield from result_writers(state[key])


def check_result_writers(config: Config, spec: StateMachineSpec) -> bool:
    """True when the definition has a ResultWriter; each must write under runs/ of the deployment bucket.

    The role grants a ResultWriter that folder and nothing else, so a literal Bucket or Prefix elsewhere is refused
    here rather than failing the run with States.ResultWriterFailed. A path (``Bucket.$``) is decided at run time:
    the sync's definition takes the bucket from ``$.run.workBucket``, the deployment bucket.
    """
    found = False
    for state, writer in result_writers(spec.definition):
        found = True
        where = f"state_machines/{spec.name}.yaml: state '{state}'"
        if not RESULT_WRITER_RESOURCE.match(str(writer.get("Resource", ""))):
            raise StateMachineDefinitionError(
                f"{where} has a ResultWriter whose Resource is not arn:aws:states:::s3:putObject"
            )
        arguments = writer.get("Parameters", writer.get("Arguments", {}))
        bucket, folder = arguments.get("Bucket"), arguments.get("Prefix")
        if bucket is not None and bucket != config.deployment_bucket:
            raise StateMachineDefinitionError(
                f"{where} writes its results to bucket {bucket!r}; a ResultWriter "
                f"may write only to the deployment bucket (Bucket.$: $.run.workBucket)"
            )
        if folder is not None and not str(folder).startswith(RESULT_WRITER_FOLDER):
            raise StateMachineDefinitionError(
                f"{where} writes its results under {folder!r}; a ResultWriter may "
                f"write only under {RESULT_WRITER_FOLDER} of the deployment bucket"
            )
    return found


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


def resolve_definition(
    definition: Mapping[str, Any], function_arns: Mapping[str, str], partition: str = "aws"
) -> dict[str, Any]:
    """A copy of ``definition`` with every Lambda file name in a Task replaced by that function's ARN, and every
    service integration (``arn:aws:states:::s3:listObjectsV2``, ``...:lambda:invoke``) in ``partition``."""
    resolved = copy.deepcopy(dict(definition))

    def in_partition(holder: dict[str, Any]) -> None:
        resource = holder.get("Resource")
        if isinstance(resource, str):
            holder["Resource"] = STATES_SERVICE_INTEGRATION.sub(f"arn:{partition}:states:::", resource)

    def walk(machine: dict[str, Any]) -> None:
        for state in machine.get("States", {}).values():
            for holder in (state, state.get("ItemReader"), state.get("ResultWriter")):
                if isinstance(holder, dict):
                    in_partition(holder)
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
