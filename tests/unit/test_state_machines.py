"""Every state machine definition is valid ASL on its own: cfn-lint does not look inside a definition string, so
each one is checked by moto's ASL parser and by cfn-lint's E36xx rules as a definition object."""

import json
from pathlib import Path

import boto3
import cfnlint.api
import pytest
from moto import mock_aws
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from deploy import state_machines as machines
from deploy.discover import discover_functions, discover_state_machines, lambda_names_in
from deploy.template import resolve_definition

ROOT = Path(__file__).resolve().parents[2]
PROJECTS = [ROOT, ROOT / "tests" / "fixtures" / "project"]
DEFINITIONS = [(project, spec) for project in PROJECTS for spec in discover_state_machines(project / "state_machines")]


def resolved(project, spec):
    arns = {
        f.name: f"arn:aws:lambda:us-east-1:123456789012:function:app-{f.name}"
        for f in discover_functions(project / "lambda_functions")
    }
    return resolve_definition(spec.definition, arns)


@pytest.mark.parametrize(("project", "spec"), DEFINITIONS, ids=[s.name for _, s in DEFINITIONS])
def test_definition_parses_as_asl(project, spec):
    AmazonStateLanguageParser.parse(json.dumps(resolved(project, spec)))


@pytest.mark.parametrize(("project", "spec"), DEFINITIONS, ids=[s.name for _, s in DEFINITIONS])
def test_definition_passes_cfn_lint_state_machine_rules(project, spec):
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"RoleArn": "arn:aws:iam::123456789012:role/r", "Definition": resolved(project, spec)},
            }
        },
    }
    assert [str(match) for match in cfnlint.api.lint(json.dumps(template), regions=["us-east-1"])] == []


def test_the_sync_machine_names_the_2015_samples_functions():
    [sync] = [spec for project, spec in DEFINITIONS if spec.name == "sync_buckets"]
    names = {name for _, name in lambda_names_in(sync.definition)}
    assert {"validate_input", "get_bucket_location", "list_bucket", "copy_keys", "delete_orphaned_keys"} <= names
    assert {"ValidateInput", "CopySourceKeys", "DeleteOrphanedKeys"} <= set(sync.definition["States"])


def _tasks(states):
    """Every Task state, those of Map item processors included."""
    for name, state in states.items():
        if state["Type"] == "Task":
            yield name, state
        yield from _tasks(state.get("ItemProcessor", {}).get("States", {}))


def _named_error_classes():
    """Every error class the Lambda code raises on purpose, by the name Lambda reports."""
    import inspect

    import bucket_sync.concurrency
    import bucket_sync.decide
    import bucket_sync.errors

    classes = set()
    for module in (bucket_sync.errors, bucket_sync.concurrency, bucket_sync.decide):
        classes |= {
            name
            for name, value in inspect.getmembers(module, inspect.isclass)
            if issubclass(value, Exception) and value.__module__ == module.__name__
        }
    return classes - {"SyncError"}


SYNC = next(spec for project, spec in DEFINITIONS if spec.name == "sync_buckets")


TASKS = dict(_tasks(SYNC.definition["States"]))


@pytest.mark.parametrize("name", TASKS)
def test_every_task_retries_what_dies_and_never_what_the_sync_names(name):
    never, transient = TASKS[name]["Retry"]
    assert never["MaxAttempts"] == 0
    assert set(never["ErrorEquals"]) == _named_error_classes()
    # AWS's names for a Lambda that timed out, ran out of memory or crashed, and the wildcard for the rest.
    assert {
        "Lambda.Unknown",
        "Lambda.ClientExecutionTimeoutException",
        "Runtime.OutOfMemory",
        "Runtime.ExitError",
        "Sandbox.Timedout",
        "States.Timeout",
        "States.TaskFailed",
    } <= set(transient["ErrorEquals"])
    assert transient["MaxAttempts"] >= 3


def test_every_path_after_the_lock_is_taken_ends_through_a_release():
    states = SYNC.definition["States"]
    ends = {name for name, state in states.items() if state["Type"] in ("Fail", "Succeed") or state.get("End")}
    assert ends == {"ReportWritten", "FailRun"}
    # WriteReport releases the lock itself, in the invocation that does not hand over: the one that leads to the end.
    assert states["WriteReport"]["Next"] == "EvaluateReport"
    assert states["EvaluateReport"]["Choices"] == [
        {"Variable": "$.reportWriting.handover", "IsPresent": True, "Next": "WriteReport"}
    ]
    assert states["EvaluateReport"]["Default"] == "ReportWritten"
    assert states["ReportWritten"] == {**states["ReportWritten"], "Type": "Pass", "OutputPath": "$.reportWriting"}
    for name, state in states.items():
        if state["Type"] == "Task" and name not in ("ValidateInput", "ReleaseLockAfterFailure"):
            assert state.get("Catch"), f"{name} has no Catch: a failure there would end the run holding the lock"
    for refusal in ("RefuseDeleteAll", "RefuseTooManyDeletes", "RefuseIncompletePlan"):
        assert states[refusal]["Next"] == "AfterRefusal"
    # A refusal before any copy ends through the release; one after copies made while planning, through the report.
    assert {choice["Next"] for choice in states["AfterRefusal"]["Choices"]} == {"CopySourceKeys"}
    assert states["RefusedBeforeAnyChange"]["Next"] == "ReleaseLockAfterFailure"
    assert states["AfterRefusal"]["Default"] == "RefusedBeforeAnyChange"
    assert states["ReleaseLockAfterFailure"]["Next"] == "FailRun"


MAPS = {
    name: state
    for name, state in SYNC.definition["States"].items()
    if state.get("ItemProcessor", {}).get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED"
}


@pytest.mark.parametrize("name", MAPS)
def test_a_distributed_maps_output_stays_small_and_one_dead_batch_aborts_no_other(name):
    state = MAPS[name]
    # Children's results go to S3 instead of the state: the output is a pointer whatever the batch count.
    assert state["ResultWriter"]["Resource"] == "arn:aws:states:::s3:putObject"
    assert state["ResultWriter"]["Parameters"]["Bucket.$"] == "$.run.workBucket"
    assert state["ResultWriter"]["Parameters"]["Prefix.$"].startswith("States.Format('runs/{}/")
    # and each child answers {} all the same, so even its collected output could not grow far.
    children = state["ItemProcessor"]["States"]
    ends = [child for child in children.values() if child.get("End") or child["Type"] == "Succeed"]
    assert ends and all("OutputPath" in child and child["OutputPath"] is None for child in ends)
    assert state["ToleratedFailurePercentage"] == 100


# A deploy that changes nothing keeps the newest machine (deploy/state_machines.py).

ROLE = "arn:aws:iam::123456789012:role/app-SyncBucketsRole"
DEFINITION = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}


@pytest.mark.parametrize(
    ("described", "unchanged"),
    [
        pytest.param({"definition": json.dumps(DEFINITION), "roleArn": ROLE}, True, id="same"),
        pytest.param({"definition": json.dumps(DEFINITION, indent=2), "roleArn": ROLE}, True, id="same-reformatted"),
        pytest.param(
            {"definition": json.dumps({**DEFINITION, "Comment": "new"}), "roleArn": ROLE}, False, id="definition"
        ),
        pytest.param({"definition": json.dumps(DEFINITION), "roleArn": ROLE + "2"}, False, id="role"),
        pytest.param({"definition": "not json", "roleArn": ROLE}, False, id="unreadable-definition"),
    ],
)
def test_a_machine_is_unchanged_only_with_the_same_definition_and_role(described, unchanged):
    assert machines.is_unchanged(described, DEFINITION, ROLE) is unchanged


def test_the_newest_machine_is_kept_only_when_it_runs_the_same_definition_and_role():
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        assert machines.unchanged(sfn, "app-sync_buckets-", DEFINITION, ROLE) is None  # none deployed yet
        older = machines.create(sfn, "app-sync_buckets-20261201T000000000", {**DEFINITION, "Comment": "old"}, ROLE)
        newest = machines.create(sfn, "app-sync_buckets-20261202T000000000", DEFINITION, ROLE)
        kept = machines.unchanged(sfn, "app-sync_buckets-", DEFINITION, ROLE)
        assert (kept.name, kept.arn, kept.created) == (newest.name, newest.arn, False)
        # Only the newest counts: an older machine with this definition does not make a changed one unchanged.
        assert machines.unchanged(sfn, "app-sync_buckets-", {**DEFINITION, "Comment": "old"}, ROLE) is None
        assert machines.unchanged(sfn, "app-sync_buckets-", DEFINITION, ROLE + "2") is None
        assert older.created and newest.created
