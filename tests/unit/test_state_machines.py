"""Every state machine definition is valid ASL on its own: cfn-lint does not look inside a definition string, so
each one is checked by moto's ASL parser and by cfn-lint's E36xx rules as a definition object."""
import json
from pathlib import Path

import cfnlint.api
import pytest
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from deploy.discover import discover_functions, discover_state_machines, lambda_names_in
from deploy.template import resolve_definition

ROOT = Path(__file__).resolve().parents[2]
PROJECTS = [ROOT, ROOT / "tests" / "fixtures" / "project"]
DEFINITIONS = [(project, spec) for project in PROJECTS for spec in discover_state_machines(project / "state_machines")]


def resolved(project, spec):
    arns = {f.name: f"arn:aws:lambda:us-east-1:123456789012:function:app-{f.name}"
            for f in discover_functions(project / "lambda_functions")}
    return resolve_definition(spec.definition, arns)


@pytest.mark.parametrize(("project", "spec"), DEFINITIONS, ids=[s.name for _, s in DEFINITIONS])
def test_definition_parses_as_asl(project, spec):
    AmazonStateLanguageParser.parse(json.dumps(resolved(project, spec)))


@pytest.mark.parametrize(("project", "spec"), DEFINITIONS, ids=[s.name for _, s in DEFINITIONS])
def test_definition_passes_cfn_lint_state_machine_rules(project, spec):
    template = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"Machine": {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {"RoleArn": "arn:aws:iam::123456789012:role/r", "Definition": resolved(project, spec)}}}}
    assert [str(match) for match in cfnlint.api.lint(json.dumps(template), regions=["us-east-1"])] == []


def test_the_sync_machine_names_the_2015_samples_functions():
    [sync] = [spec for project, spec in DEFINITIONS if spec.name == "sync_buckets"]
    names = {name for _, name in lambda_names_in(sync.definition)}
    assert {"validate_input", "get_bucket_location", "list_bucket", "copy_keys", "delete_orphaned_keys"} <= names
    assert {"ValidateInput", "CopySourceKeys", "DeleteOrphanedKeys"} <= set(sync.definition["States"])
