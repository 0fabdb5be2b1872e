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

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})
"""A refusal is the answer under test: no retry may hide it."""


def admin_client(endpoint_url: str, service: str):
    """A client signed with the documented ``testing`` keys: the account's administrator."""
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
