"""fab deploy's pipeline against the embedded endpoint: a real stack, real handler code, a real execution."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from deploy import pipeline
from deploy.aws import make_clients
from deploy.config import Config
from deploy.errors import DeployError, LimitError

from .conftest import wait_for_execution


def deploy_once(project, config, events, now=None):
    return pipeline.deploy(pipeline.Project(project), config, make_clients(config), events.append, now=now)


@pytest.fixture
def deployed(aws, fixture_project, request):
    """The fixture project deployed under an app name of its own, so tests share one endpoint safely."""
    config = Config(
        app_name=f"t-{abs(hash(request.node.name)) % 10**8}",
        user_email="dev@example.com",
        region="us-east-1",
        keep_state_machines=2,
    )
    events = []
    result = deploy_once(fixture_project, config, events)
    return config, result, events


def machine(result, name):
    return next(m for m in result.state_machines if f"-{name}-" in m.name)


def test_first_deploy_creates_the_stack_with_the_configured_functions(aws, deployed):
    config, result, events = deployed
    assert result.stack_status == "created" and result.bucket_created and result.package_uploaded
    function = aws("lambda").get_function(FunctionName=f"{config.app_name}-write_marker")["Configuration"]
    assert (function["MemorySize"], function["Timeout"], function["Handler"]) == (256, 20, "write_marker.handler")
    assert function["Environment"]["Variables"]["MARKER_PREFIX"] == "markers/"
    assert function["Environment"]["Variables"]["DEPLOYMENT_BUCKET"] == config.deployment_bucket
    assert (
        aws("lambda").get_function(FunctionName=f"{config.app_name}-fail_always")["Configuration"]["MemorySize"] == 128
    )
    assert any(event["ResourceStatus"] == "CREATE_COMPLETE" for event in events)


def test_deployed_definition_holds_the_real_function_arns(aws, deployed):
    config, result, _ = deployed
    demo = machine(result, "demo")
    described = aws("stepfunctions").describe_state_machine(stateMachineArn=demo.arn)
    states = json.loads(described["definition"])["States"]
    lam = aws("lambda")
    assert (
        states["WriteMarker"]["Resource"]
        == lam.get_function(FunctionName=f"{config.app_name}-write_marker")["Configuration"]["FunctionArn"]
    )
    assert (
        states["FailAlways"]["Resource"]
        == lam.get_function(FunctionName=f"{config.app_name}-fail_always")["Configuration"]["FunctionArn"]
    )
    outputs = pipeline.deployed_outputs(config, make_clients(config))
    assert described["roleArn"] == outputs["DemoStateMachineRoleArn"]
    role = aws("iam").get_role(RoleName=described["roleArn"].rsplit("/", 1)[1])["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "states.amazonaws.com"}


def test_an_execution_runs_the_real_handler_and_a_catch_matches_its_error(aws, deployed):
    _, result, _ = deployed
    s3, sfn = aws("s3"), aws("stepfunctions")
    s3.create_bucket(Bucket="e2e-data")
    started = sfn.start_execution(
        stateMachineArn=machine(result, "demo").arn,
        input=json.dumps({"bucket": "e2e-data", "key": "hello.txt", "body": "hi there"}),
    )
    execution = wait_for_execution(sfn, started["executionArn"])
    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    stored = s3.get_object(Bucket="e2e-data", Key="markers/hello.txt")
    assert stored["Body"].read() == b"hi there"
    assert output["written"]["key"] == "markers/hello.txt"
    assert output["written"]["etag"] == stored["ETag"]
    assert output["written"]["function"].endswith("-write_marker")
    assert output["caught"]["Error"] == "MarkerError"
    assert "refusing 'hello.txt'" in output["caught"]["Cause"]


def test_redeploying_unchanged_code_uploads_nothing_and_keeps_the_state_machines(
    aws, deployed, fixture_project, endpoint
):
    config, first, _ = deployed
    before = len(endpoint.requests())
    second = deploy_once(fixture_project, config, [])
    during = endpoint.requests()[before:]
    assert not second.package_uploaded and second.package_key == first.package_key
    assert second.stack_status == "unchanged"
    assert not [r for r in during if r[7] == "PutObject" and "/packages/" in r[3]]
    # Nothing changed: no new machine, so none is pushed out of KEEP_STATE_MACHINES with its executions.
    assert [(m.name, m.arn, m.created) for m in second.state_machines] == [
        (m.name, m.arn, False) for m in first.state_machines
    ]
    assert not [r for r in during if r[7] == "CreateStateMachine"]
    assert second.removed_state_machines == []
    newest = pipeline.newest_state_machine(pipeline.Project(fixture_project), config, make_clients(config), "demo")
    assert newest == machine(first, "demo")


def test_a_changed_definition_alone_gets_a_new_state_machine(aws, deployed, fixture_project):
    config, first, _ = deployed
    definition = fixture_project / "state_machines" / "demo.yaml"
    definition.write_text(definition.read_text().replace("Test fixture:", "Test fixture, changed:", 1))
    second = deploy_once(fixture_project, config, [])
    assert second.stack_status == "unchanged"
    assert machine(second, "demo").created and machine(second, "demo").name > machine(first, "demo").name
    assert machine(second, "slow") == replace(machine(first, "slow"), created=False)


def test_changed_code_is_uploaded_and_updates_the_stack(aws, deployed, fixture_project):
    config, first, _ = deployed
    handler = fixture_project / "lambda_functions" / "write_marker.py"
    handler.write_text(handler.read_text().replace("# Timeout: 20", "# Timeout: 25"))
    second = deploy_once(fixture_project, config, [])
    assert second.package_uploaded and second.package_key != first.package_key
    assert second.stack_status == "updated"
    function = aws("lambda").get_function(FunctionName=f"{config.app_name}-write_marker")["Configuration"]
    assert function["Timeout"] == 25


def test_old_state_machines_beyond_the_newest_few_are_removed_unless_running(aws, deployed, fixture_project):
    config, first, _ = deployed
    sfn = aws("stepfunctions")
    running = sfn.start_execution(stateMachineArn=machine(first, "slow").arn)["executionArn"]
    later = datetime.now(UTC)
    for step in (1, 2, 3):  # each deploy changes both definitions, so each makes two new machines
        for name in ("demo", "slow"):
            definition = fixture_project / "state_machines" / f"{name}.yaml"
            definition.write_text(definition.read_text().replace("Test fixture", f"Test fixture {step}", 1))
        result = deploy_once(fixture_project, config, [], now=later + timedelta(seconds=step))
    names = {m["name"] for m in sfn.list_state_machines()["stateMachines"] if m["name"].startswith(config.app_name)}
    demo = sorted(n for n in names if "-demo-" in n)
    assert len(demo) == 2 and demo[-1] == machine(result, "demo").name
    slow = sorted(n for n in names if "-slow-" in n)
    assert slow == [machine(first, "slow").name] + slow[-2:]  # the busy one is left alone, beyond the newest two
    assert result.busy_state_machines == [machine(first, "slow").name]
    sfn.stop_execution(executionArn=running)


def test_delete_refuses_while_an_execution_runs_and_changes_nothing(aws, deployed, fixture_project):
    config, result, _ = deployed
    sfn = aws("stepfunctions")
    running = sfn.start_execution(stateMachineArn=machine(result, "slow").arn)["executionArn"]
    with pytest.raises(DeployError, match="executions are running.*Nothing was deleted"):
        pipeline.delete(pipeline.Project(fixture_project), config, make_clients(config), [].append)
    assert sfn.describe_state_machine(stateMachineArn=machine(result, "slow").arn)["status"] == "ACTIVE"
    sfn.stop_execution(executionArn=running)


def test_delete_removes_everything_it_deployed_and_no_data(aws, deployed, fixture_project):
    config, result, _ = deployed
    s3 = aws("s3")
    s3.create_bucket(Bucket="e2e-keep-me")
    s3.put_object(Bucket="e2e-keep-me", Key="data", Body=b"precious")
    project, clients = pipeline.Project(fixture_project), make_clients(config)
    removed = pipeline.delete(project, config, clients, [].append)
    assert removed.stack_deleted
    assert sorted(removed.state_machines) == sorted(m.name for m in result.state_machines)
    stacks = aws("cloudformation").list_stacks()["StackSummaries"]
    assert {s["StackStatus"] for s in stacks if s["StackName"] == config.stack_name} == {"DELETE_COMPLETE"}
    functions = [f["FunctionName"] for f in aws("lambda").list_functions()["Functions"]]
    assert not [name for name in functions if name.startswith(config.app_name + "-")]
    machines = [m["name"] for m in aws("stepfunctions").list_state_machines()["stateMachines"]]
    assert not [name for name in machines if name.startswith(config.app_name + "-")]
    assert config.deployment_bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert s3.get_object(Bucket="e2e-keep-me", Key="data")["Body"].read() == b"precious"
    again = pipeline.delete(project, config, clients, [].append)
    assert (again.stack_deleted, again.state_machines, again.package_objects) == (False, [], 0)


def test_the_deployment_bucket_is_private_encrypted_and_tls_only(aws, deployed):
    config, _, _ = deployed
    s3 = aws("s3")
    block = s3.get_public_access_block(Bucket=config.deployment_bucket)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    rules = s3.get_bucket_encryption(Bucket=config.deployment_bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    [statement] = json.loads(s3.get_bucket_policy(Bucket=config.deployment_bucket)["Policy"])["Statement"]
    assert (statement["Effect"], statement["Action"], statement["Condition"]) == (
        "Deny",
        "s3:*",
        {"Bool": {"aws:SecureTransport": "false"}},
    )


def test_a_deploy_aws_would_refuse_for_its_size_changes_nothing(aws, fixture_project, endpoint):
    # write_marker's front matter names SOURCE_BUCKETS and DESTINATION_BUCKETS: 70 names of 63 characters are over 4 KB.
    names = [f"bucket-{number:03d}".ljust(63, "x") for number in range(70)]
    config = Config(
        app_name="t-too-big",
        user_email="dev@example.com",
        region="us-east-1",
        source_buckets=tuple(names[:40]),
        destination_buckets=tuple(names[40:]),
    )
    before = len(endpoint.requests())
    with pytest.raises(
        LimitError,
        match=r"Function t-too-big-write_marker has [\d,]+ bytes of environment "
        r"variables .*over Lambda's 4,096",
    ):
        deploy_once(fixture_project, config, [])
    assert endpoint.requests()[before:] == []  # no bucket, no upload, no change set: not one request
    stacks = aws("cloudformation").list_stacks()["StackSummaries"]
    assert not [s for s in stacks if s["StackName"] == config.stack_name]
    assert config.deployment_bucket not in [b["Name"] for b in aws("s3").list_buckets()["Buckets"]]
