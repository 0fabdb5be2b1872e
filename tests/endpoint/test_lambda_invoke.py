"""Lambda's Invoke API on the endpoint (gap 12 of moto_gaps): the response limit is Lambda's exact 6,291,556 bytes
of payload, decided by the runtime, not moto's rougher check, which refused payloads from 6,000,000 bytes."""

import io
import json
import textwrap
import uuid
import zipfile

import pytest

from .test_iam import make_role

LIMIT_BYTES = 6_291_556
CODE = """
def handler(event, context):
    return "x" * event["characters"]
"""


@pytest.fixture
def function(admin):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("big.py", textwrap.dedent(CODE))
    name = f"big-{uuid.uuid4().hex[:8]}"
    admin("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=make_role(admin, []),
        Handler="big.handler",
        Code={"ZipFile": buffer.getvalue()},
        Timeout=30,
        MemorySize=512,
    )
    return name


@pytest.mark.parametrize(
    "payload_bytes, refused",
    [
        pytest.param(6_100_000, False, id="between-moto's-check-and-lambda's-limit"),
        pytest.param(LIMIT_BYTES, False, id="exactly-the-limit"),
        pytest.param(LIMIT_BYTES + 1, True, id="one-byte-over"),
    ],
)
def test_invoke_returns_every_response_lambda_would_and_refuses_the_rest(
    admin,
    function,
    payload_bytes,
    refused,
):
    answer = admin("lambda").invoke(
        FunctionName=function, Payload=json.dumps({"characters": payload_bytes - 2}).encode()
    )  # 2: the quotes
    payload = answer["Payload"].read()
    if refused:
        assert answer.get("FunctionError")
        assert json.loads(payload)["errorType"] == "Function.ResponseSizeTooLarge"
    else:
        assert "FunctionError" not in answer
        assert len(payload) == payload_bytes
