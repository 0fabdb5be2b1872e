"""Template: resources, resolved references, determinism, cfn-lint clean, SAM-translatable."""

import json
import re
from dataclasses import replace
from pathlib import Path

import cfnlint.api
import pytest

from deploy import limits
from deploy.config import Config
from deploy.discover import DEFAULT_PROPERTIES, discover_functions, discover_state_machines, lambda_names_in
from deploy.errors import FrontMatterError, LimitError, StateMachineDefinitionError
from deploy.package import build_package
from deploy.specs import FunctionSpec, Package, StateMachineSpec
from deploy.template import (
    build_template,
    deployed_settings,
    expand_environment,
    logical_id,
    render_template,
    resolve_definition,
)
from local_endpoint.moto_gaps import translate_sam

CONFIG = Config(app_name="demo-app", user_email="dev@example.com", region="eu-west-1")
REPOSITORY = Path(__file__).resolve().parents[2]
"""The repository itself: its real functions and state machine."""


@pytest.fixture
def specs(fixture_project, tmp_path):
    functions = discover_functions(fixture_project / "lambda_functions")
    machines = discover_state_machines(fixture_project / "state_machines")
    package = build_package(fixture_project / "lambda_functions", tmp_path / "build")
    return functions, machines, package


def test_one_serverless_function_per_lambda_file(specs):
    functions, machines, package = specs
    resources = build_template(CONFIG, functions, machines, package)["Resources"]
    assert sorted(k for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function") == [
        "FailAlwaysFunction",
        "WriteMarkerFunction",
    ]
    write_marker = resources["WriteMarkerFunction"]["Properties"]
    assert write_marker["Handler"] == "write_marker.handler"
    assert write_marker["FunctionName"] == "demo-app-write_marker"
    assert write_marker["CodeUri"] == {"Bucket": CONFIG.deployment_bucket, "Key": f"packages/{package.sha256}.zip"}
    assert write_marker["MemorySize"] == 256 and write_marker["Timeout"] == 20
    assert write_marker["Environment"] == {
        "Variables": {
            "MARKER_PREFIX": "markers/",
            "DEPLOYMENT_BUCKET": CONFIG.deployment_bucket,
            "SOURCE_BUCKETS": "",
            "DESTINATION_BUCKETS": "",
            "MAX_DELETES": "",
        }
    }
    assert resources["FailAlwaysFunction"]["Properties"]["MemorySize"] == 128  # the default
    # A function without settings in its front matter gets only what deploy gives every function.
    assert resources["FailAlwaysFunction"]["Properties"]["Environment"] == {
        "Variables": {"DEPLOYMENT_BUCKET": CONFIG.deployment_bucket}
    }


def test_state_machine_role_may_invoke_only_the_functions_its_definition_names(specs):
    functions, machines, package = specs
    role = build_template(CONFIG, functions, machines, package)["Resources"]["DemoStateMachineRole"]
    assert role["Type"] == "AWS::IAM::Role"
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    [statement] = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "lambda:InvokeFunction"
    assert statement["Resource"] == [
        {"Fn::GetAtt": ["FailAlwaysFunction", "Arn"]},
        {"Fn::GetAtt": ["WriteMarkerFunction", "Arn"]},
        {"Fn::Sub": "${FailAlwaysFunction.Arn}:*"},
        {"Fn::Sub": "${WriteMarkerFunction.Arn}:*"},
    ]
    assert "ManagedPolicyArns" not in role["Properties"]  # no AWSLambdaRole wildcard


def test_outputs_give_every_function_arn_and_the_role_arn(specs):
    functions, machines, package = specs
    outputs = build_template(CONFIG, functions, machines, package)["Outputs"]
    assert outputs == {
        "FailAlwaysFunctionArn": {
            "Description": "ARN of demo-app-fail_always",
            "Value": {"Fn::GetAtt": ["FailAlwaysFunction", "Arn"]},
        },
        "WriteMarkerFunctionArn": {
            "Description": "ARN of demo-app-write_marker",
            "Value": {"Fn::GetAtt": ["WriteMarkerFunction", "Arn"]},
        },
        "DemoStateMachineRoleArn": {
            "Description": "Role the demo state machines run as",
            "Value": {"Fn::GetAtt": ["DemoStateMachineRole", "Arn"]},
        },
        "SlowStateMachineRoleArn": {
            "Description": "Role the slow state machines run as",
            "Value": {"Fn::GetAtt": ["SlowStateMachineRole", "Arn"]},
        },
    }


def test_same_inputs_give_the_same_bytes(fixture_project, tmp_path):
    def render(build_dir):
        functions = discover_functions(fixture_project / "lambda_functions")
        machines = discover_state_machines(fixture_project / "state_machines")
        package = build_package(fixture_project / "lambda_functions", build_dir)
        return render_template(build_template(CONFIG, functions, machines, package))

    assert render(tmp_path / "one") == render(tmp_path / "two")


def test_template_passes_cfn_lint_with_no_errors(specs):
    functions, machines, package = specs
    matches = cfnlint.api.lint(
        render_template(build_template(CONFIG, functions, machines, package)), regions=["eu-west-1"]
    )
    assert [str(match) for match in matches] == []


def test_sam_translator_turns_it_into_plain_cloudformation(specs):
    functions, machines, package = specs
    translated = translate_sam(build_template(CONFIG, functions, machines, package))
    types = {name: resource["Type"] for name, resource in translated["Resources"].items()}
    assert types["WriteMarkerFunction"] == "AWS::Lambda::Function"
    assert types["WriteMarkerFunctionRole"] == "AWS::IAM::Role"
    assert translated["Resources"]["WriteMarkerFunction"]["Properties"]["Code"] == {
        "S3Bucket": CONFIG.deployment_bucket,
        "S3Key": package.key,
    }
    role = translated["Resources"]["WriteMarkerFunctionRole"]["Properties"]
    assert role["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]


def test_definition_references_are_resolved_to_arns_without_touching_the_spec(specs):
    _, [machine, _slow], _ = specs
    arns = {
        "write_marker": "arn:aws:lambda:eu-west-1:123456789012:function:demo-app-write_marker",
        "fail_always": "arn:aws:lambda:eu-west-1:123456789012:function:demo-app-fail_always",
    }
    resolved = resolve_definition(machine.definition, arns)
    assert resolved["States"]["WriteMarker"]["Resource"] == arns["write_marker"]
    assert resolved["States"]["FailAlways"]["Resource"] == arns["fail_always"]
    assert machine.definition["States"]["WriteMarker"]["Resource"] == "write_marker"


def test_nested_and_lambda_invoke_references_are_resolved():
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {
                        "StartAt": "M",
                        "States": {
                            "M": {
                                "Type": "Map",
                                "End": True,
                                "ItemProcessor": {
                                    "StartAt": "T",
                                    "States": {
                                        "T": {
                                            "Type": "Task",
                                            "Resource": "arn:aws:states:::lambda:invoke",
                                            "Parameters": {"FunctionName": "copy_keys", "Payload.$": "$"},
                                            "End": True,
                                        }
                                    },
                                },
                            }
                        },
                    }
                ],
            }
        },
    }
    resolved = resolve_definition(definition, {"copy_keys": "arn:copy"})
    task = resolved["States"]["P"]["Branches"][0]["States"]["M"]["ItemProcessor"]["States"]["T"]
    assert task["Parameters"]["FunctionName"] == "arn:copy"
    assert task["Resource"] == "arn:aws:states:::lambda:invoke"


def test_a_definition_naming_a_missing_lambda_is_refused_with_the_state_and_file(specs):
    functions, _, package = specs
    broken = StateMachineSpec(
        "demo", {"StartAt": "Go", "States": {"Go": {"Type": "Task", "Resource": "nope", "End": True}}}
    )
    with pytest.raises(StateMachineDefinitionError, match=r"state 'Go' names Lambda 'nope'.*lambda_functions/nope"):
        build_template(CONFIG, functions, [broken], package)


def test_logical_ids_come_from_one_naming_function():
    assert logical_id("copy_keys", "Function") == "CopyKeysFunction"
    assert logical_id("sync_buckets", "StateMachineRole") == "SyncBucketsStateMachineRole"


def test_rendered_template_is_json_that_round_trips(specs):
    functions, machines, package = specs
    template = build_template(CONFIG, functions, machines, package)
    assert json.loads(render_template(template)) == template


def policy_statements(translated):
    """Every statement of every inline policy in a translated template (roles' Policies)."""
    for name, resource in translated["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            for policy in resource["Properties"].get("Policies", []):
                statements = policy["PolicyDocument"]["Statement"]
                for statement in statements if isinstance(statements, list) else [statements]:
                    yield name, statement


def as_list(value):
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize(
    "limits",
    [
        pytest.param({}, id="any-bucket"),
        pytest.param({"source_buckets": ("data-*",), "destination_buckets": ("copy-a", "copy-b")}, id="configured"),
    ],
)
def test_no_policy_grants_everything_on_s3(limits, tmp_path):
    config = Config(app_name="demo-app", user_email="dev@example.com", region="eu-west-1", **limits)
    root = REPOSITORY
    functions = discover_functions(root / "lambda_functions")
    machines = discover_state_machines(root / "state_machines")
    package = build_package(root / "lambda_functions", tmp_path / "build")
    translated = translate_sam(build_template(config, functions, machines, package))
    statements = list(policy_statements(translated))
    assert len(statements) > 10
    for role, statement in statements:
        actions = as_list(statement["Action"])
        assert "*" not in actions and "s3:*" not in actions, (role, statement)
        if any(action.startswith("s3:") for action in actions):
            assert "*" not in as_list(statement["Resource"]), (role, statement)


def test_configured_buckets_are_the_only_data_buckets_the_functions_may_touch(tmp_path):
    config = Config(
        app_name="demo-app",
        user_email="dev@example.com",
        region="eu-west-1",
        source_buckets=("data-*",),
        destination_buckets=("copy-a",),
    )
    functions = discover_functions(REPOSITORY / "lambda_functions")
    package = build_package(REPOSITORY / "lambda_functions", tmp_path / "build")
    template = build_template(config, functions, [], package)
    allowed = {
        "arn:aws:s3:::data-*",
        "arn:aws:s3:::data-*/*",
        "arn:aws:s3:::copy-a",
        "arn:aws:s3:::copy-a/*",
        f"arn:aws:s3:::{config.deployment_bucket}",
        f"arn:aws:s3:::{config.deployment_bucket}/runs/*",
        f"arn:aws:s3:::{config.deployment_bucket}/etag-pairs/*",
        f"arn:aws:s3:::{config.deployment_bucket}/locks/*",
        f"arn:aws:s3:::{config.deployment_bucket}/history/*",
    }
    by_function = {}
    for name, resource in template["Resources"].items():
        for policy in resource["Properties"].get("Policies", []):
            if isinstance(policy, dict):
                for statement in policy["Statement"]:
                    if any(action.startswith("s3:") for action in as_list(statement["Action"])):
                        by_function.setdefault(name, set()).update(as_list(statement["Resource"]))
    assert by_function and all(resources <= allowed for resources in by_function.values()), by_function
    assert by_function["DeleteOrphanedKeysFunction"] == {
        "arn:aws:s3:::copy-a",  # ListBucketMultipartUploads: a retried backup's multipart copy aborts its leftovers
        "arn:aws:s3:::copy-a/*",
        f"arn:aws:s3:::{config.deployment_bucket}/runs/*",
    }
    assert "arn:aws:s3:::data-*/*" not in by_function["DeleteOrphanedKeysFunction"]  # never deletes in a source
    # The run records: written by the first step and the two that end a run, and by no other function.
    history = f"arn:aws:s3:::{config.deployment_bucket}/history/*"
    assert {name for name, resources in by_function.items() if history in resources} == {
        "ValidateInputFunction",
        "WriteReportFunction",
        "ReleaseLockFunction",
    }


def repository_template(config, tmp_path, functions=None, machines=None):
    """The repository's own functions and state machines, templated for ``config``."""
    functions = discover_functions(REPOSITORY / "lambda_functions") if functions is None else functions
    machines = discover_state_machines(REPOSITORY / "state_machines") if machines is None else machines
    return build_template(
        config, functions, machines, build_package(REPOSITORY / "lambda_functions", tmp_path / "build")
    )


def bucket_names(count, length, tag):
    """``count`` distinct valid bucket names of exactly ``length`` characters."""
    return tuple(f"{tag}-{number:05d}".ljust(length, "x") for number in range(count))


# Partitions: every ARN and URL the toolkit builds follows the region's partition.


@pytest.mark.parametrize("region", ["cn-north-1", "us-gov-west-1"])
def test_a_template_outside_the_aws_partition_names_no_aws_partition_arn(region, tmp_path):
    config = Config(
        app_name="demo-app",
        user_email="dev@example.com",
        region=region,
        source_buckets=("data-*",),
        kms_keys=("alias/data",),
    )
    rendered = render_template(repository_template(config, tmp_path))
    assert "arn:aws:" not in rendered and "${AWS::Partition}" not in rendered
    assert f"arn:{config.partition}:s3:::data-*" in rendered
    assert [str(match) for match in cfnlint.api.lint(rendered, regions=[region])] == []


def test_a_deployed_definition_names_its_service_integrations_in_the_region_partition():
    [machine] = discover_state_machines(REPOSITORY / "state_machines")
    names = {name for _, name in lambda_names_in(machine.definition)}
    arns = {name: f"arn:aws-cn:lambda:cn-north-1:123456789012:function:app-{name}" for name in names}
    resolved = json.dumps(resolve_definition(machine.definition, arns, "aws-cn"))
    assert "arn:aws:" not in resolved
    assert "arn:aws-cn:states:::s3:listObjectsV2" in resolved and "arn:aws-cn:states:::s3:putObject" in resolved
    assert json.dumps(machine.definition).count("arn:aws:states:::") > 0  # the spec itself is left as written


def test_a_lambda_invoke_integration_in_another_partition_is_still_a_lambda_reference():
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws-cn:states:::lambda:invoke",
                "Parameters": {"FunctionName": "copy_keys"},
                "End": True,
            }
        },
    }
    resolved = resolve_definition(definition, {"copy_keys": "arn:copy"}, "aws-cn")
    assert resolved["States"]["T"]["Parameters"]["FunctionName"] == "arn:copy"


# Deploy-time limits: what IAM, Lambda and CloudFormation would refuse is refused by the template stage.


def test_inline_policies_over_iam_role_limit_are_refused_naming_the_role_and_size(tmp_path):
    # Short names: the environment stays under 4 KB while each name costs ~40 policy characters per statement.
    config = Config(
        app_name="demo-app",
        user_email="dev@example.com",
        region="eu-west-1",
        source_buckets=bucket_names(150, 9, "s"),
        destination_buckets=bucket_names(150, 9, "d"),
    )
    with pytest.raises(LimitError) as raised:
        repository_template(config, tmp_path)
    message = str(raised.value)
    assert re.search(
        r"role of function demo-app-copy_keys \(CopyKeysFunctionRole\) has [\d,]+ characters of "
        r"inline policies .*over IAM's 10,240 per role: narrow SOURCE_BUCKETS",
        message,
    ), message
    assert "environment variables" not in message


def test_environment_over_lambda_limit_is_refused_naming_the_function_and_size(tmp_path, specs):
    functions, machines, package = specs  # the fixture project: no placeholder in its policies
    config = Config(
        app_name="demo-app",
        user_email="dev@example.com",
        region="eu-west-1",
        source_buckets=bucket_names(40, 63, "s"),
        destination_buckets=bucket_names(30, 63, "d"),
    )
    with pytest.raises(LimitError) as raised:
        build_template(config, functions, machines, package)
    sizes = re.findall(r"Function (demo-app-\w+) has ([\d,]+) bytes of environment variables", str(raised.value))
    assert {name for name, _ in sizes} == {"demo-app-write_marker"}  # the one whose front matter names the lists
    assert all(int(size.replace(",", "")) > 4096 for _, size in sizes)
    assert "over Lambda's 4,096 (4 KB)" in str(raised.value)


def test_an_environment_just_under_4_kb_is_deployed(specs):
    functions, machines, package = specs
    # 4,096 bytes exactly: {"MARKER_PREFIX":...,"SOURCE_BUCKETS":"...",...} as Lambda measures it.
    base = Config(app_name="demo-app", user_email="dev@example.com", region="eu-west-1")
    template = build_template(base, functions, machines, package)
    room = 4096 - limits.environment_bytes(
        template["Resources"]["WriteMarkerFunction"]["Properties"]["Environment"]["Variables"]
    )
    config = Config(
        app_name="demo-app",
        user_email="dev@example.com",
        region="eu-west-1",
        source_buckets=("a" * (room - 63 - 1), "b" * 63),
    )
    write_marker = build_template(config, functions, machines, package)["Resources"]["WriteMarkerFunction"]
    assert limits.environment_bytes(write_marker["Properties"]["Environment"]["Variables"]) == 4096
    longer = Config(**{**config.__dict__, "source_buckets": ("a" * (room - 63), "b" * 63)})
    with pytest.raises(LimitError, match="demo-app-write_marker has 4,097 bytes"):
        build_template(longer, functions, machines, package)


def test_the_policy_size_measured_is_the_size_of_what_sam_makes_the_role(tmp_path):
    config = Config(
        app_name="demo-app",
        user_email="dev@example.com",
        region="eu-west-1",
        source_buckets=bucket_names(20, 20, "s"),
        kms_keys=("alias/data",),
    )
    template = repository_template(config, tmp_path)
    resolver = limits.Resolver(
        config.partition,
        config.region,
        {
            name: resource["Properties"]["FunctionName"]
            for name, resource in template["Resources"].items()
            if resource["Type"] == "AWS::Serverless::Function"
        },
    )
    translated = translate_sam(template)["Resources"]["CopyKeysFunctionRole"]["Properties"]["Policies"]
    from_sam = sum(limits.policy_characters(resolver.resolve(p["PolicyDocument"])) for p in translated)
    documents = [p for p in template["Resources"]["CopyKeysFunction"]["Properties"]["Policies"] if isinstance(p, dict)]
    assert sum(limits.policy_characters(resolver.resolve(d)) for d in documents) == from_sam > 1500


def test_policy_size_counts_no_white_space_and_resolves_intrinsics():
    resolver = limits.Resolver("aws-cn", "cn-north-1", {"CopyKeysFunction": "app-copy_keys"})
    document = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "a b",
                "Resource": [
                    {"Fn::GetAtt": ["CopyKeysFunction", "Arn"]},
                    {"Fn::Sub": "${CopyKeysFunction.Arn}:*"},
                    {"Fn::Sub": "arn:${AWS::Partition}:kms:*:${AWS::AccountId}:key/*"},
                ],
            }
        ]
    }
    resolved = resolver.resolve(document)
    assert resolved["Statement"][0]["Resource"] == [
        "arn:aws-cn:lambda:cn-north-1:000000000000:function:app-copy_keys",
        "arn:aws-cn:lambda:cn-north-1:000000000000:function:app-copy_keys:*",
        "arn:aws-cn:kms:*:000000000000:key/*",
    ]
    assert limits.policy_characters(resolved) == len(json.dumps(resolved, separators=(",", ":"))) - 1


def test_a_template_with_more_resources_than_cloudformation_allows_is_refused(tmp_path):
    config = Config(app_name="demo-app", user_email="dev@example.com", region="eu-west-1")
    functions = [FunctionSpec(f"f{number:03d}", {"Policies": []}) for number in range(251)]
    with pytest.raises(
        LimitError,
        match=r"declares 502 resources once SAM has added each function's role, over "
        r"CloudFormation's 500.*declares 251 outputs.*over CloudFormation's 200",
    ):
        repository_template(config, tmp_path, functions=functions, machines=[])


def test_a_template_over_cloudformation_size_for_s3_is_refused():
    with pytest.raises(LimitError, match=r"The template is 1,000,0\d\d bytes, over CloudFormation's 1,000,000"):
        limits.check_template({"Resources": {}}, "x" * 1_000_010, limits.Resolver("aws", "eu-west-1", {}), {}, 18)


def test_names_lambda_or_step_functions_would_refuse_are_refused(tmp_path):
    config = Config(app_name="a" * 40, user_email="dev@example.com", region="eu-west-1")
    functions = [FunctionSpec("f" * 24, {"Policies": []})]
    machines = [StateMachineSpec("m" * 30, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})]
    with pytest.raises(LimitError) as raised:
        repository_template(config, tmp_path, functions=functions, machines=machines)
    assert f"Function name {'a' * 40}-{'f' * 24} has 65 characters, over Lambda's 64" in str(raised.value)
    assert f"would be named {'a' * 40}-{'m' * 30}-<timestamp>, 90 characters, over Step Functions' 80" in str(
        raised.value
    )


# KMS_KEYS and the {kms_keys} placeholder.

KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
VIA_S3 = {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}}


def kms_function(*statements):
    return FunctionSpec(
        "use_keys", {**DEFAULT_PROPERTIES, "Policies": ["AWSLambdaBasicExecutionRole", {"Statement": list(statements)}]}
    )


def kms_policies(kms_keys, *statements, region="eu-west-1"):
    config = Config(app_name="demo-app", user_email="dev@example.com", region=region, kms_keys=kms_keys)
    package = Package(path="unused.zip", sha256="0" * 64)
    template = build_template(config, [kms_function(*statements)], [], package)
    return template, template["Resources"]["UseKeysFunction"]["Properties"]["Policies"]


def decrypt(resource, **extra):
    return {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": resource, **extra}


def test_kms_key_arns_expand_to_themselves():
    _, policies = kms_policies((KEY_ARN,), decrypt(["{kms_keys}"], Condition=VIA_S3))
    assert policies[1]["Statement"] == [decrypt(KEY_ARN, Condition=VIA_S3)]


def test_kms_aliases_become_the_account_keys_on_condition_of_their_aliases_merged_with_the_statement_own():
    alias_arn = "arn:aws:kms:us-west-2:444455556666:alias/their-key"
    _, policies = kms_policies(
        ("alias/data", KEY_ARN, "alias/logs", alias_arn), decrypt(["{kms_keys}"], Sid="UseKeys", Condition=VIA_S3)
    )
    assert policies[1]["Statement"] == [
        decrypt(KEY_ARN, Sid="UseKeys", Condition=VIA_S3),
        decrypt(
            {"Fn::Sub": "arn:aws:kms:*:${AWS::AccountId}:key/*"},
            Sid="UseKeysAliases1",
            Condition={**VIA_S3, "ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/data", "alias/logs"]}},
        ),
        decrypt(
            "arn:aws:kms:us-west-2:444455556666:key/*",
            Sid="UseKeysAliases2",
            Condition={**VIA_S3, "ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/their-key"]}},
        ),
    ]


def test_kms_aliases_in_china_are_granted_in_its_partition():
    _, policies = kms_policies(("alias/data",), decrypt(["{kms_keys}"]), region="cn-north-1")
    assert policies[1]["Statement"][0]["Resource"] == {"Fn::Sub": "arn:aws-cn:kms:*:${AWS::AccountId}:key/*"}


def test_without_kms_keys_a_statement_only_for_them_is_dropped_and_other_resources_are_kept():
    other = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["{deployment_runs}"]}
    _, policies = kms_policies((), decrypt(["{kms_keys}"]), other)
    assert policies[1]["Statement"] == [{**other, "Resource": policies[1]["Statement"][0]["Resource"]}]
    _, policies = kms_policies((), decrypt(["{kms_keys}"]))
    assert policies == ["AWSLambdaBasicExecutionRole"]  # an empty policy would be refused by IAM
    _, policies = kms_policies((), decrypt(["{kms_keys}", "arn:aws:kms:eu-west-1:111122223333:key/*"]))
    assert policies[1]["Statement"] == [decrypt("arn:aws:kms:eu-west-1:111122223333:key/*")]


def test_a_statement_setting_resource_aliases_itself_is_refused():
    condition = {"ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/mine"]}}
    with pytest.raises(FrontMatterError, match="may not set ForAnyValue:StringEquals kms:ResourceAliases"):
        kms_policies(("alias/data",), decrypt(["{kms_keys}"], Condition=condition))


def test_a_kms_template_is_cfn_lint_clean_and_sam_translatable():
    template, _ = kms_policies(("alias/data", KEY_ARN), decrypt(["{kms_keys}"], Condition=VIA_S3))
    assert [str(match) for match in cfnlint.api.lint(render_template(template), regions=["eu-west-1"])] == []
    role = translate_sam(template)["Resources"]["UseKeysFunctionRole"]["Properties"]
    assert len(role["Policies"][0]["PolicyDocument"]["Statement"]) == 2


# The state machine role and a Distributed Map's ResultWriter.


def distributed_map(result_writer=None):
    state = {
        "Type": "Map",
        "End": True,
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:listObjectsV2",
            "Parameters": {"Bucket.$": "$.run.workBucket", "Prefix": "runs/x/plan/"},
        },
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "End": True}},
        },
    }
    if result_writer is not None:
        state["ResultWriter"] = {"Resource": "arn:aws:states:::s3:putObject", "Parameters": result_writer}
    return StateMachineSpec("fan_out", {"StartAt": "Fan", "States": {"Fan": state}})


def role_statements(config, machine):
    template = build_template(config, [], [machine], Package(path="unused.zip", sha256="0" * 64))
    return template["Resources"]["FanOutStateMachineRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]


RESULT_WRITER = {"Bucket.$": "$.run.workBucket", "Prefix.$": "States.Format('runs/{}/map-runs/copy', $.run.runId)"}


def test_a_result_writer_gets_put_and_multipart_writes_on_the_deployment_bucket_runs_folder():
    statements = role_statements(CONFIG, distributed_map(RESULT_WRITER))
    writes = [s for s in statements if "s3:PutObject" in as_list(s["Action"])]
    assert writes == [
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"],
            "Resource": f"arn:aws:s3:::{CONFIG.deployment_bucket}/runs/*",
        }
    ]
    reads = [s for s in statements if s["Action"] == "s3:GetObject"]
    assert reads == [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{CONFIG.deployment_bucket}/runs/*"}
    ]


def test_without_a_result_writer_the_role_may_write_nothing():
    statements = role_statements(CONFIG, distributed_map())
    assert not [
        s
        for s in statements
        for action in as_list(s["Action"])
        if action in ("s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload")
    ]


def test_the_sync_definition_role_may_write_its_map_results(tmp_path):
    template = repository_template(CONFIG, tmp_path)
    document = template["Resources"]["SyncBucketsStateMachineRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    assert {
        "Effect": "Allow",
        "Action": ["s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"],
        "Resource": f"arn:aws:s3:::{CONFIG.deployment_bucket}/runs/*",
    } in document["Statement"]


@pytest.mark.parametrize(
    ("writer", "expected"),
    [
        pytest.param(
            {"Bucket": "someone-elses", "Prefix": "runs/x"},
            "writes its results to bucket 'someone-elses'",
            id="other-bucket",
        ),
        pytest.param(
            {"Bucket.$": "$.run.workBucket", "Prefix": "reports/"},
            "writes its results under 'reports/'",
            id="outside-runs",
        ),
    ],
)
def test_a_result_writer_outside_the_deployment_bucket_runs_folder_is_refused(writer, expected):
    with pytest.raises(StateMachineDefinitionError, match=f"state_machines/fan_out.yaml: state 'Fan' {expected}"):
        role_statements(CONFIG, distributed_map(writer))


@pytest.mark.parametrize(
    "limits",
    [
        {"source_buckets": (), "destination_buckets": (), "max_deletes": None},
        {"source_buckets": ("logs-*", "b"), "destination_buckets": ("copy",), "max_deletes": 0},
        {"source_buckets": ("a",), "destination_buckets": (), "max_deletes": 25},
    ],
)
def test_the_settings_a_front_matter_names_are_written_into_the_environment_and_read_back(limits):
    declared = {"A": "{source_buckets}", "B": "{destination_buckets}", "C": "{max_deletes}", "D": "literal"}
    written = expand_environment(declared, replace(CONFIG, **limits), "lambda_functions/f.py")
    assert written["D"] == "literal"
    assert written["A"] == ",".join(limits["source_buckets"])
    assert written["C"] == ("" if limits["max_deletes"] is None else str(limits["max_deletes"]))
    assert deployed_settings(declared, written) == limits


def test_a_front_matter_value_in_braces_that_is_no_setting_is_refused():
    with pytest.raises(FrontMatterError, match=r"lambda_functions/f.py: Environment variable A is \{max_delete\}"):
        expand_environment({"A": "{max_delete}"}, CONFIG, "lambda_functions/f.py")
