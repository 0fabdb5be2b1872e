"""Template: resources, resolved references, determinism, cfn-lint clean, SAM-translatable."""

import json
from dataclasses import replace
from pathlib import Path

import cfnlint.api
import pytest

from deploy.config import Config
from deploy.discover import discover_functions, discover_state_machines
from deploy.errors import FrontMatterError, StateMachineDefinitionError
from deploy.package import build_package
from deploy.specs import StateMachineSpec
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
