"""The embedded endpoint, started once per test session as its own process, exactly as ``fab server`` runs it;
and, for the sync tests (test_sync, test_faults), the repository's project deployed on it and bucket helpers."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config as BotoConfig

from client import executions
from deploy import pipeline
from deploy.aws import make_clients
from deploy.config import Config

ROOT = Path(__file__).resolve().parents[2]
MIN_PART_BYTES = 1024
READ = BotoConfig(response_checksum_validation="when_required")


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
    process = subprocess.Popen(
        [sys.executable, "-m", "local_endpoint", "--port", "0", "--access-log", str(access_log)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
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


def deploy_sync(endpoint, app: str, **limits):
    """The repository's own project deployed to the endpoint under ``app``: (sync state machine, config)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", endpoint.url)
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            patch.setenv(name, "testing")  # module scope: the per-test credentials fixture is not active yet
        config = Config(app_name=app, user_email="dev@example.com", region="us-east-1", **limits)
        result = pipeline.deploy(pipeline.Project(ROOT), config, make_clients(config), lambda event: None)
        return next(m for m in result.state_machines if "-sync_buckets-" in m.name), config


@pytest.fixture(scope="module")
def machine(endpoint):
    """The repository's own project, deployed once for this module."""
    return deploy_sync(endpoint, "e2e-sync")


@pytest.fixture
def s3(aws):
    def client(region="us-east-1"):
        return boto3.client("s3", region_name=region, config=READ)

    return client


@pytest.fixture
def buckets(s3):
    """A fresh source and destination pair for one test."""

    def make(source_region="us-east-1", destination_region="us-east-1"):
        tag = uuid.uuid4().hex[:8]
        pair = []
        for side, region in (("src", source_region), ("dst", destination_region)):
            name = f"{side}-{tag}"
            extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            s3(region).create_bucket(Bucket=name, **extra)
            pair.append(name)
        return pair

    return make


def run(aws, machine, **fields):
    """Start an execution of the deployed sync with ``fields`` as its input and wait for its result."""
    sfn = aws("stepfunctions")
    arn = executions.start(sfn, machine[0].arn, fields)
    return executions.follow(sfn, arn, lambda state: None, sleep=lambda seconds: time.sleep(0.1))


def contents(s3_client, bucket):
    """Every object's key, size and ETag."""
    found = {}
    for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            found[item["Key"]] = (item["Size"], item["ETag"])
    return found


def put_multipart(client, bucket, key, parts=3, part_bytes=MIN_PART_BYTES, **extra):
    upload = client.create_multipart_upload(Bucket=bucket, Key=key, **extra)
    done = []
    for number in range(1, parts + 1):
        body = bytes([number]) * (part_bytes if number < parts else part_bytes // 2)
        etag = client.upload_part(Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=number, Body=body)[
            "ETag"
        ]
        done.append({"PartNumber": number, "ETag": etag})
    client.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": done}
    )


def report_lines(s3_client, summary):
    """The run's report, one dict per line."""
    bucket, key = summary["report"][len("s3://") :].split("/", 1)
    return [json.loads(line) for line in s3_client.get_object(Bucket=bucket, Key=key)["Body"].read().splitlines()]


@pytest.fixture
def faults(endpoint):
    """``faults(plan)`` sets the endpoint's fault plan and returns it as the endpoint shows it; ``faults()`` shows
    the plan and what has been injected. Cleared after the test, whatever happened."""
    url = f"{endpoint.url}/_endpoint/faults"

    def call(method, document=None):
        data = json.dumps(document).encode() if document is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def plan(document=None):
        return call("GET") if document is None else call("POST", document)

    yield plan
    call("DELETE")


def assert_mirrored(client, source, destination):
    """Destination == source, object by object: the same keys, sizes and ETags."""
    expected, found = contents(client, source), contents(client, destination)
    assert sorted(found) == sorted(expected)
    for key, (size, etag) in expected.items():
        assert found[key] == (size, etag), key
