"""Step Functions' StartExecution input on the embedded endpoint (gap 13 of ``local_endpoint/moto_gaps.py``): input
that is not JSON is refused with AWS's error code and message, and starts nothing.

One endpoint for the module, started as its own process exactly as ``fab server`` runs it, asked with plain boto3.
"""

import json

import pytest
from botocore.exceptions import ClientError

from tests.e2e.conftest import wait_for_execution

from .conftest import admin_client

STATES_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
PASS_DEFINITION = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}
INVALID_INPUT_MESSAGE = "The provided JSON input data is not valid."
"""The Step Functions API reference's description of InvalidExecutionInput."""


@pytest.fixture(scope="module")
def state_machine(endpoint_url):
    """(Step Functions client, ARN of a one-Pass-state machine)."""

    role = admin_client(endpoint_url, "iam").create_role(
        RoleName="input-check", AssumeRolePolicyDocument=json.dumps(STATES_TRUST)
    )
    sfn = admin_client(endpoint_url, "stepfunctions")
    arn = sfn.create_state_machine(
        name="input-check", definition=json.dumps(PASS_DEFINITION), roleArn=role["Role"]["Arn"]
    )["stateMachineArn"]
    return sfn, arn


@pytest.mark.parametrize(
    "execution_input",
    ["not json", '{"source": ', "{'source': 'a'}", ""],
    ids=["word", "truncated", "single-quotes", "empty"],
)
def test_input_that_is_not_json_is_invalid_execution_input(state_machine, execution_input):
    sfn, arn = state_machine
    with pytest.raises(ClientError) as refused:
        sfn.start_execution(stateMachineArn=arn, name="refused", input=execution_input)
    error = refused.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("InvalidExecutionInput", INVALID_INPUT_MESSAGE)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert isinstance(refused.value, sfn.exceptions.InvalidExecutionInput)
    assert sfn.list_executions(stateMachineArn=arn)["executions"] == []


def test_json_input_still_starts_the_execution(state_machine):
    sfn, arn = state_machine
    started = sfn.start_execution(stateMachineArn=arn, name="accepted", input='{"source": "a"}')
    finished = wait_for_execution(sfn, started["executionArn"])
    assert finished["status"] == "SUCCEEDED"
    assert json.loads(finished["output"]) == {"source": "a"}
