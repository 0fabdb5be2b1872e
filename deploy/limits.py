"""Deploy-time limits: what IAM, Lambda, Step Functions and CloudFormation would refuse, found in the template.

Pure, like the template stage that calls it: it measures the template dict as AWS will measure what the template
becomes, and raises LimitError naming the role or function, its size, the limit and what to do. It runs before
the package upload and the change set, so a deploy that AWS would refuse half-way changes nothing. It must not
call AWS or guess: each limit below is AWS's documented one, measured the way AWS says it measures it.

Intrinsic functions are resolved to what CloudFormation will put in their place (the partition and region are
known, an account ID is 12 digits, a function's ARN follows from its name), so a size is the deployed size.
"""

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import LimitError

ROLE_INLINE_POLICY_CHARACTERS = 10_240
"""IAM quotas: "Role policy size cannot exceed 10,240 characters", the sum of all inline policies of one role;
"IAM doesn't count white space when calculating the size of a policy against these quotas"."""
FUNCTION_ENVIRONMENT_BYTES = 4 * 1024
"""Lambda quotas: 4 KB "for all environment variables associated with the function, in aggregate"; Lambda measures
the variables as one JSON object (its error quotes the "String measured"), so keys, values and quoting count."""
TEMPLATE_URL_BODY_BYTES = 1_000_000
"""CloudFormation quotas: a template passed by TemplateURL (as the stack stage passes it) may be 1 MB; the
51,200-byte limit is for TemplateBody in the request, which the toolkit never uses."""
TEMPLATE_RESOURCES = 500
"""CloudFormation quotas: resources declared in one template, counted after the SAM transform."""
TEMPLATE_OUTPUTS = 200
"""CloudFormation quotas: outputs declared in one template."""
FUNCTION_NAME_CHARACTERS = 64
"""Lambda CreateFunction: a function name (not its ARN) is at most 64 characters."""
STATE_MACHINE_NAME_CHARACTERS = 80
"""Step Functions CreateStateMachine: a name is 1 to 80 characters."""
ACCOUNT_ID_CHARACTERS = 12
SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
"""``${Name}`` in an Fn::Sub string; ``${!Literal}`` is an escaped, literal ``${Literal}``."""


@dataclass(frozen=True)
class Resolver:
    """What CloudFormation puts in place of the intrinsics the toolkit writes, to the character."""

    partition: str
    region: str
    function_names: Mapping[str, str]
    """Logical ID of each function to its FunctionName, so ``Fn::GetAtt [X, Arn]`` has its real length."""
    account: str = "0" * ACCOUNT_ID_CHARACTERS

    def function_arn(self, logical_id: str) -> str | None:
        name = self.function_names.get(logical_id)
        return None if name is None else f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{name}"

    def resolve(self, value: Any) -> Any:
        """``value`` with Fn::Sub, Fn::GetAtt (function ARNs) and Ref (pseudo parameters) replaced by their result;
        any other intrinsic is left as it is, so it is measured as written (never smaller than it is)."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            return SUB_VARIABLE.sub(lambda match: self._variable(match.group(1)) or match.group(0), value["Fn::Sub"])
        attribute = value.get("Fn::GetAtt")
        if set(value) == {"Fn::GetAtt"} and isinstance(attribute, list) and attribute[1:] == ["Arn"]:
            return self.function_arn(attribute[0]) or value
        if set(value) == {"Ref"} and isinstance(value["Ref"], str):
            return self._variable(value["Ref"]) or value
        return {key: self.resolve(item) for key, item in value.items()}

    def _variable(self, name: str) -> str | None:
        pseudo = {"AWS::Partition": self.partition, "AWS::Region": self.region, "AWS::AccountId": self.account}
        if name in pseudo:
            return pseudo[name]
        if name.endswith(".Arn"):
            return self.function_arn(name[: -len(".Arn")])
        return None


def policy_characters(document: Any) -> int:
    """A policy's size as IAM counts it: its characters, white space not counted."""
    return len(re.sub(r"\s", "", json.dumps(document, separators=(",", ":"), ensure_ascii=False)))


def environment_bytes(variables: Mapping[str, Any]) -> int:
    """A function's environment as Lambda measures it: the variables as one compact JSON object, in bytes."""
    return len(json.dumps(variables, separators=(",", ":"), ensure_ascii=False).encode())


def check_template(
    template: Mapping[str, Any],
    rendered: str,
    resolver: Resolver,
    state_machine_prefixes: Mapping[str, str],
    timestamp_characters: int,
) -> None:
    """Raise LimitError listing every limit the template would exceed; return quietly when it fits them all."""
    problems = [
        *_function_problems(template, resolver),
        *_state_machine_role_problems(template, resolver),
        *_state_machine_name_problems(state_machine_prefixes, timestamp_characters),
        *_template_problems(template, rendered),
    ]
    if problems:
        raise LimitError("AWS would refuse this deployment; nothing was changed. " + " ".join(problems))


def _function_problems(template: Mapping[str, Any], resolver: Resolver) -> Iterable[str]:
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.get("Properties", {})
        name = properties.get("FunctionName", logical_id)
        if isinstance(name, str) and len(name) > FUNCTION_NAME_CHARACTERS:
            yield (
                f"Function name {name} has {len(name)} characters, over Lambda's {FUNCTION_NAME_CHARACTERS}: "
                f"shorten APP_NAME or the Lambda file's name."
            )
        variables = resolver.resolve(properties.get("Environment", {}).get("Variables", {}))
        size = environment_bytes(variables)
        if size > FUNCTION_ENVIRONMENT_BYTES:
            yield (
                f"Function {name} has {size:,} bytes of environment variables (keys and values, measured as "
                f"Lambda does), over Lambda's {FUNCTION_ENVIRONMENT_BYTES:,} (4 KB): every function carries "
                f"SOURCE_BUCKETS and DESTINATION_BUCKETS, so name fewer buckets (a pattern such as 'logs-*' "
                f"covers many), or trim the Environment in its front matter."
            )
        if "Role" not in properties:  # SAM makes the role, with these documents as its inline policies
            documents = [p for p in _as_list(properties.get("Policies")) if isinstance(p, dict) and "Statement" in p]
            size = sum(policy_characters(resolver.resolve(document)) for document in documents)
            if size > ROLE_INLINE_POLICY_CHARACTERS:
                yield (
                    f"The role of function {name} ({logical_id}Role) has {size:,} characters of inline "
                    f"policies (white space not counted), over IAM's {ROLE_INLINE_POLICY_CHARACTERS:,} per "
                    f"role: narrow SOURCE_BUCKETS, DESTINATION_BUCKETS and KMS_KEYS to fewer entries (a pattern "
                    f"such as 'logs-*' is one entry for many buckets), or shorten its front matter's Policies."
                )


def _state_machine_role_problems(template: Mapping[str, Any], resolver: Resolver) -> Iterable[str]:
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::IAM::Role":
            continue
        policies = resource.get("Properties", {}).get("Policies", [])
        size = sum(policy_characters(resolver.resolve(policy.get("PolicyDocument", {}))) for policy in policies)
        if size > ROLE_INLINE_POLICY_CHARACTERS:
            yield (
                f"Role {logical_id} has {size:,} characters of inline policies (white space not counted), over "
                f"IAM's {ROLE_INLINE_POLICY_CHARACTERS:,} per role: its definition names too many Lambda "
                f"functions; split it into several state machine files."
            )


def _state_machine_name_problems(prefixes: Mapping[str, str], timestamp_characters: int) -> Iterable[str]:
    for definition, prefix in prefixes.items():
        length = len(prefix) + timestamp_characters
        if length > STATE_MACHINE_NAME_CHARACTERS:
            yield (
                f"State machines of state_machines/{definition}.yaml would be named {prefix}<timestamp>, "
                f"{length} characters, over Step Functions' {STATE_MACHINE_NAME_CHARACTERS}: shorten APP_NAME "
                f"or the file's name."
            )


def _template_problems(template: Mapping[str, Any], rendered: str) -> Iterable[str]:
    size = len(rendered.encode())
    if size > TEMPLATE_URL_BODY_BYTES:
        yield (
            f"The template is {size:,} bytes, over CloudFormation's {TEMPLATE_URL_BODY_BYTES:,} for a template "
            f"in S3: name fewer buckets and keys in the config, or split the Lambda files into two projects."
        )
    resources = template.get("Resources", {})
    sam_roles = sum(
        1
        for r in resources.values()
        if r.get("Type") == "AWS::Serverless::Function" and "Role" not in r.get("Properties", {})
    )
    count = len(resources) + sam_roles
    if count > TEMPLATE_RESOURCES:
        yield (
            f"The template declares {count} resources once SAM has added each function's role, over "
            f"CloudFormation's {TEMPLATE_RESOURCES}: split the Lambda files and state machines into two projects."
        )
    outputs = len(template.get("Outputs", {}))
    if outputs > TEMPLATE_OUTPUTS:
        yield (
            f"The template declares {outputs} outputs (one per function and per state machine), over "
            f"CloudFormation's {TEMPLATE_OUTPUTS}: split the project in two."
        )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
