"""An endpoint process per test module, started exactly as ``fab server`` starts it, for the modules that test a rule
with plain AWS calls."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})
"""A refusal is the answer under test: no retry may hide it."""


def admin_client(endpoint_url: str | None, service: str):
    """A client signed with the documented ``testing`` keys: the account's administrator (``endpoint_url`` None:
    moto in this process, inside ``mock_aws``)."""
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=NO_RETRIES,
    )


@pytest.fixture(scope="module")
def endpoint_url():
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "local_endpoint", "--port", "0"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    line = process.stdout.readline().strip()
    assert line.startswith("AWS_ENDPOINT_URL=http://127.0.0.1:"), line
    yield line.split("=", 1)[1]
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0


@pytest.fixture
def admin(endpoint_url):
    """A factory of administrator clients of this module's endpoint: ``admin("s3")``."""
    return lambda service: admin_client(endpoint_url, service)


def listing_pages(s3, version: int, request: dict, limit: int) -> list:
    """Every page of one listing (ListObjectsV2 for ``version`` 2, else ListObjects), followed to the end, without
    ResponseMetadata, at most ``limit`` pages; an error ends it (a raw control character is not XML, so botocore
    calls moto's answer a 500, and the error is kept as the last answer)."""
    answers: list = []
    for _ in range(limit):
        try:
            page = s3.list_objects_v2(**request) if version == 2 else s3.list_objects(**request)
        except ClientError as error:
            answers.append(error.response["Error"])
            break
        page.pop("ResponseMetadata")
        answers.append(page)
        if not page.get("IsTruncated"):
            break
        if version == 2:
            request = {**request, "ContinuationToken": page["NextContinuationToken"]}
        else:
            request = {**request, "Marker": page.get("NextMarker") or page["Contents"][-1]["Key"]}
    return answers
