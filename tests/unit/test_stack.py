"""The stack stage's decisions, against CloudFormation responses AWS gives that moto does not (botocore Stubber)."""

import json
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from deploy import stack
from deploy.errors import StackError

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/app/1"
CHANGE_SET_ID = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/deploy-1/1"
NOW = datetime(2026, 11, 25, tzinfo=UTC)


@pytest.fixture
def cfn(monkeypatch):
    monkeypatch.setattr(stack, "WAITER_CONFIG", {"Delay": 0, "MaxAttempts": 1})
    client = boto3.client("cloudformation", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def a_stack(status):
    return {"Stacks": [{"StackName": "app", "StackId": STACK_ID, "StackStatus": status, "CreationTime": NOW}]}


def event(event_id, logical_id, status, reason=None, resource_type="AWS::Lambda::Function"):
    item = {
        "StackId": STACK_ID,
        "EventId": event_id,
        "StackName": "app",
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "Timestamp": NOW,
        "ResourceStatus": status,
    }
    if reason:
        item["ResourceStatusReason"] = reason
    return item


def expect_change_set(stubber, change_set_type, status, reason=""):
    stubber.add_response(
        "create_change_set",
        {"Id": CHANGE_SET_ID, "StackId": STACK_ID},
        {
            "StackName": "app",
            "ChangeSetName": "deploy-1",
            "ChangeSetType": change_set_type,
            "TemplateURL": "https://b.s3.us-east-1.amazonaws.com/t.json",
            "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        },
    )
    described = {"ChangeSetId": CHANGE_SET_ID, "StackId": STACK_ID, "Status": status, "StatusReason": reason}
    stubber.add_response("describe_change_set", described, {"ChangeSetName": CHANGE_SET_ID, "StackName": "app"})
    return described


def test_a_change_set_without_changes_is_reported_unchanged_not_an_error(cfn):
    client, stubber = cfn
    stubber.add_response("describe_stacks", a_stack("UPDATE_COMPLETE"), {"StackName": "app"})
    stubber.add_response(
        "describe_stack_events", {"StackEvents": [event("e1", "app", "UPDATE_COMPLETE")]}, {"StackName": "app"}
    )
    described = expect_change_set(
        stubber, "UPDATE", "FAILED", "The submitted information didn't contain changes. Submit different information."
    )
    stubber.add_response("describe_change_set", described, {"ChangeSetName": CHANGE_SET_ID, "StackName": "app"})
    stubber.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID, "StackName": "app"})
    stubber.add_response("describe_stacks", a_stack("UPDATE_COMPLETE"), {"StackName": "app"})
    result = stack.deploy_stack(client, "app", "https://b.s3.us-east-1.amazonaws.com/t.json", "deploy-1", print)
    assert result.status == "unchanged"


def test_a_failed_change_set_says_why(cfn):
    client, stubber = cfn
    stubber.add_response("describe_stacks", a_stack("UPDATE_COMPLETE"), {"StackName": "app"})
    stubber.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": "app"})
    described = expect_change_set(stubber, "UPDATE", "FAILED", "Template format error: bad resource")
    stubber.add_response("describe_change_set", described, {"ChangeSetName": CHANGE_SET_ID, "StackName": "app"})
    with pytest.raises(StackError, match="change set deploy-1 failed: Template format error: bad resource"):
        stack.deploy_stack(client, "app", "https://b.s3.us-east-1.amazonaws.com/t.json", "deploy-1", print)


def test_a_failed_update_names_the_failing_resource_and_its_reason(cfn):
    client, stubber = cfn
    stubber.add_response("describe_stacks", a_stack("UPDATE_COMPLETE"), {"StackName": "app"})
    stubber.add_response(
        "describe_stack_events", {"StackEvents": [event("e1", "app", "UPDATE_COMPLETE")]}, {"StackName": "app"}
    )
    expect_change_set(stubber, "UPDATE", "CREATE_COMPLETE")
    stubber.add_response("execute_change_set", {}, {"ChangeSetName": CHANGE_SET_ID, "StackName": "app"})
    stubber.add_response("describe_stacks", a_stack("UPDATE_ROLLBACK_COMPLETE"), {"StackName": "app"})
    failed = event("e2", "CopyKeysFunction", "UPDATE_FAILED", "MemorySize value failed to satisfy constraint")
    stubber.add_response("describe_stack_events", {"StackEvents": [failed]}, {"StackName": "app"})
    stubber.add_response(
        "describe_stack_events", {"StackEvents": [failed, event("e1", "app", "UPDATE_COMPLETE")]}, {"StackName": "app"}
    )
    shown = []
    with pytest.raises(StackError) as raised:
        stack.deploy_stack(client, "app", "https://b.s3.us-east-1.amazonaws.com/t.json", "deploy-1", shown.append)
    assert str(raised.value) == (
        "stack app ended UPDATE_ROLLBACK_COMPLETE: CopyKeysFunction (AWS::Lambda::Function): "
        "MemorySize value failed to satisfy constraint"
    )
    assert [e["EventId"] for e in shown] == ["e2"]  # the failure was shown as it happened, history was not


def test_a_stack_that_never_got_created_is_deleted_then_created_again(cfn):
    client, stubber = cfn
    stubber.add_response("describe_stacks", a_stack("ROLLBACK_COMPLETE"), {"StackName": "app"})
    stubber.add_response("describe_stacks", a_stack("ROLLBACK_COMPLETE"), {"StackName": "app"})
    stubber.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": "app"})
    stubber.add_response("delete_stack", {}, {"StackName": STACK_ID})
    stubber.add_response("describe_stacks", a_stack("DELETE_COMPLETE"), {"StackName": STACK_ID})
    stubber.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": STACK_ID})
    expect_change_set(stubber, "CREATE", "CREATE_COMPLETE")
    stubber.add_response("execute_change_set", {}, {"ChangeSetName": CHANGE_SET_ID, "StackName": "app"})
    stubber.add_response("describe_stacks", a_stack("CREATE_COMPLETE"), {"StackName": "app"})
    stubber.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": "app"})
    stubber.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    **a_stack("CREATE_COMPLETE")["Stacks"][0],
                    "Outputs": [
                        {
                            "OutputKey": "CopyKeysFunctionArn",
                            "OutputValue": "arn:aws:lambda:us-east-1:1:function:app-copy_keys",
                        }
                    ],
                }
            ]
        },
        {"StackName": "app"},
    )
    shown = []
    result = stack.deploy_stack(client, "app", "https://b.s3.us-east-1.amazonaws.com/t.json", "deploy-1", shown.append)
    assert result.status == "created"
    assert result.outputs == {"CopyKeysFunctionArn": "arn:aws:lambda:us-east-1:1:function:app-copy_keys"}
    assert shown[0]["ResourceStatus"] == "ROLLBACK_COMPLETE" and "deleting it" in shown[0]["ResourceStatusReason"]


@pytest.mark.parametrize(
    ("region", "url"),
    [
        ("eu-west-1", "https://b.s3.eu-west-1.amazonaws.com/templates/k.json"),
        ("cn-north-1", "https://b.s3.cn-north-1.amazonaws.com.cn/templates/k.json"),
        ("us-gov-west-1", "https://b.s3.us-gov-west-1.amazonaws.com/templates/k.json"),
    ],
)
def test_the_template_url_is_in_its_region_domain(region, url):
    assert stack.template_url("b", region, "templates/k.json") == url


def test_a_new_deployment_bucket_in_china_is_tls_only_by_an_aws_cn_policy():
    client = boto3.client("s3", region_name="cn-north-1")
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "head_bucket", service_error_code="404", http_status_code=404, expected_params={"Bucket": "b"}
        )
        stubber.add_response(
            "create_bucket", {}, {"Bucket": "b", "CreateBucketConfiguration": {"LocationConstraint": "cn-north-1"}}
        )
        stubber.add_response("put_public_access_block", {}, None)
        stubber.add_response("put_bucket_encryption", {}, None)
        policies = []
        stubber.add_response("put_bucket_policy", {}, None)
        client.meta.events.register(
            "provide-client-params.s3.PutBucketPolicy",
            lambda params, **_: policies.append(json.loads(params["Policy"])),
        )
        assert stack.ensure_deployment_bucket(client, "b", "cn-north-1")
        stubber.assert_no_pending_responses()
    [statement] = policies[0]["Statement"]
    assert statement["Resource"] == ["arn:aws-cn:s3:::b", "arn:aws-cn:s3:::b/*"]
