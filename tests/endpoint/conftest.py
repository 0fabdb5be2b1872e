"""An endpoint process per test module, started exactly as ``fab server`` starts it, for the modules that test a rule
with plain AWS calls."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


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
