"""The embedded endpoint, started once per test session as its own process, exactly as ``fab server`` runs it."""
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
MIN_PART_BYTES = 1024


@dataclass
class RunningEndpoint:
    url: str
    access_log: Path
    process: subprocess.Popen

    def requests(self) -> list[list[str]]:
        """The access log so far, one list of columns per request."""
        return [line.split("\t") for line in self.access_log.read_text().splitlines()]


@pytest.fixture(scope="session")
def endpoint(tmp_path_factory):
    access_log = tmp_path_factory.mktemp("endpoint") / "access.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env["S3_UPLOAD_PART_MIN_SIZE"] = str(MIN_PART_BYTES)  # multipart objects small enough for fast tests
    process = subprocess.Popen([sys.executable, "-m", "local_endpoint", "--port", "0", "--access-log", str(access_log)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline().strip()
    assert line.startswith("AWS_ENDPOINT_URL=http://127.0.0.1:"), line
    yield RunningEndpoint(line.split("=", 1)[1], access_log, process)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0


@pytest.fixture
def aws(endpoint, monkeypatch):
    """Point boto3 at the endpoint for this test; returns a factory of clients."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint.url)

    def client(service: str, region: str = "us-east-1"):
        return boto3.client(service, region_name=region)

    return client


def wait_for_execution(sfn, arn: str, timeout_seconds: float = 60) -> dict:
    """Poll until the execution leaves RUNNING (a test helper: Step Functions has no waiter for executions)."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.2)
