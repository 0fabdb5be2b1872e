"""The endpoint's terminal (``local_endpoint/server.py``, what ``fab server`` and ``python -m local_endpoint`` run):
the banner gives the three exports and the log file; a failed execution is one line there, and moto's own dumps
go to the log file, not the terminal.

Each test runs the endpoint as its own process, reads what it printed on stdout and stderr after it stopped, and
asks it with plain boto3.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from local_endpoint.server import first_line
from tests.e2e.conftest import wait_for_execution

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})
STATES_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
FAIL = {
    "StartAt": "Boom",
    "States": {"Boom": {"Type": "Fail", "Error": "BoomError", "Cause": "the first line of the cause\nthe second line"}},
}
FAILING_MAP = {
    "StartAt": "Map",
    "States": {
        "Map": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ToleratedFailurePercentage": 0,
            "End": True,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Fail",
                "States": {"Fail": {"Type": "Fail", "Error": "ChildError", "Cause": "a child failed"}},
            },
        }
    },
}
PASS = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
MOTO_DUMPS = (
    "Exception=FailureEventException",
    "State Task encountered an unhandled exception",
    "ToleratedFailurePercentage declarations currently have no effect",
    "Traceback",
)


class EndpointProcess:
    def __init__(self, *options: str):
        env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local_endpoint", "--port", "0", *options],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        first = self.process.stdout.readline().strip()
        assert first.startswith("AWS_ENDPOINT_URL=http://127.0.0.1:"), first
        self.url = first.split("=", 1)[1]
        self.banner = [first]
        while self.banner[-1]:  # the banner ends with an empty line
            self.banner.append(self.process.stdout.readline().rstrip("\n"))

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=NO_RETRIES,
        )

    def run(self, name: str, document: dict, machine_input: dict | None = None) -> dict:
        role = self.client("iam").create_role(
            RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(STATES_TRUST)
        )["Role"]["Arn"]
        sfn = self.client("stepfunctions")
        machine = sfn.create_state_machine(name=f"{name}-machine", definition=json.dumps(document), roleArn=role)
        started = sfn.start_execution(
            stateMachineArn=machine["stateMachineArn"], name=name, input=json.dumps(machine_input or {})
        )
        return wait_for_execution(sfn, started["executionArn"])

    def stop(self) -> tuple[str, str]:
        """What the process printed after its banner, on stdout and on stderr."""
        self.process.send_signal(signal.SIGINT)
        out, err = self.process.communicate(timeout=30)
        assert self.process.returncode == 0, err
        return out, err


@pytest.fixture
def endpoint_with_log(tmp_path):
    log = tmp_path / "endpoint.log"
    endpoint = EndpointProcess("--log", str(log))
    yield endpoint, log
    if endpoint.process.poll() is None:
        endpoint.stop()


def test_the_banner_gives_the_three_exports_and_the_log_file(endpoint_with_log):
    endpoint, log = endpoint_with_log
    assert (
        f"  export AWS_ENDPOINT_URL={endpoint.url} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing"
        in endpoint.banner
    )
    assert any(line.endswith(f"details in {log}") for line in endpoint.banner), endpoint.banner


def test_ctrl_c_right_after_the_first_line_stops_cleanly():
    """A script that reads the URL and stops the endpoint at once: no traceback, exit 0."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "local_endpoint", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().startswith("AWS_ENDPOINT_URL=")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0 and "Traceback" not in err, err
    assert out.splitlines()[-1] == "endpoint stopped"


def test_a_failed_execution_is_one_line_and_moto_dumps_go_to_the_log(endpoint_with_log):
    endpoint, log = endpoint_with_log
    assert endpoint.run("fails", FAIL)["status"] == "FAILED"
    assert endpoint.run("map-fails", FAILING_MAP, {"items": [1, 2]})["status"] == "FAILED"
    assert endpoint.run("succeeds", PASS)["status"] == "SUCCEEDED"
    out, err = endpoint.stop()

    assert err.splitlines() == [  # the map's children, which failed, are not executions of their own
        "Execution fails of fails-machine failed: BoomError: the first line of the cause",
        "Execution map-fails of map-fails-machine failed: States.ExceedToleratedFailureThreshold: "
        "The specified tolerated failure threshold was exceeded",
    ]
    assert out.splitlines() == ["endpoint stopped"]
    for dump in MOTO_DUMPS:
        assert dump not in out + err
    details = log.read_text()
    assert "Exception=FailureEventException" in details and "the second line" in details
    assert "Execution fails of fails-machine failed: BoomError: the first line of the cause" in details


def test_without_log_option_the_log_is_a_file_in_the_endpoints_temp_dir():
    endpoint = EndpointProcess()
    [named] = [line for line in endpoint.banner if "details in " in line]
    log = Path(named.rsplit("details in ", 1)[1])
    assert log.name == "endpoint.log" and log.parent.name.startswith("sync-endpoint-")
    assert endpoint.run("fails", FAIL)["status"] == "FAILED"
    assert "Exception=FailureEventException" in log.read_text()
    out, err = endpoint.stop()
    assert "Execution fails of fails-machine failed: BoomError: the first line of the cause" in err
    for dump in MOTO_DUMPS:
        assert dump not in out + err


@pytest.mark.parametrize(
    "cause, shown",
    [
        ("one line", "one line"),
        ("first\nsecond", "first"),
        (
            '{"errorMessage": "source: not a bucket name\\nmore", "errorType": "InvalidInputError", "stackTrace": []}',
            "source: not a bucket name",
        ),
        (None, "(no cause)"),
        ("x" * 400, "x" * 297 + "..."),
    ],
    ids=["line", "lines", "lambda-error", "none", "long"],
)
def test_a_cause_is_shown_by_its_first_line(cause, shown):
    assert first_line(cause) == shown
