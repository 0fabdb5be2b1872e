"""The endpoint's fault injection (``local_endpoint/faults.py``): the plan, the admin route, S3 errors as botocore
sees them, and the Lambda runtime's crash, timeout and delay hook.

The middleware is tested in front of a stand-in for moto, so no moto patch leaks into this test process.
"""

import json
import threading
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.retries.standard import ExponentialBackoff
from werkzeug.serving import make_server
from werkzeug.test import Client

from local_endpoint import faults as faults_module
from local_endpoint.faults import ADMIN_PATH, FaultInjection, FaultPlan, FaultPlanError
from local_endpoint.lambda_runtime import WORKER_ACCESS_KEY_ID, InvocationFault, LambdaRuntime

from .test_lambda_runtime import make_function, payload_of

LIST_RESULT = (
    b'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><KeyCount>0</KeyCount>'
    b"<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>"
)


class StandInForMoto:
    """Answers every request with an empty listing and remembers what reached it."""

    def __init__(self):
        self.seen = []

    def __call__(self, environ, start_response):
        self.seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
        start_response("200 OK", [("Content-Type", "application/xml"), ("Content-Length", str(len(LIST_RESULT)))])
        return [LIST_RESULT]


@pytest.fixture
def moto():
    return StandInForMoto()


@pytest.fixture
def plan():
    return FaultPlan()


@pytest.fixture
def admin(moto, plan):
    return Client(FaultInjection(moto, plan))


@pytest.fixture
def served(moto, plan):
    """The middleware on a real loopback port, so botocore's own retry logic meets the injected errors."""
    server = make_server("127.0.0.1", 0, FaultInjection(moto, plan), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


def s3_client(url, access_key_id, attempts=10):
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=access_key_id,
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}),
    )


@pytest.mark.parametrize(
    "plan_document, message",
    [
        ({"s3": {"rate": 1.5}}, "s3.rate must be a number from 0 to 1"),
        ({"s3": {"delaySeconds": "1"}}, "s3.delaySeconds must be a number from 0 to 60"),
        ({"s3": {"rate": 0.1, "errors": ["NoSuchKey"]}}, "s3.errors must be a non-empty list"),
        ({"s3": {"rate": 0.1, "operation": ["CopyObject"]}}, "s3: unknown field 'operation'"),
        ({"lambda": [{"function": "-copy_keys", "fault": "explode"}]}, "lambda[0].fault must be one of"),
        ({"lambda": [{"function": "", "fault": "crash"}]}, "lambda[0].function must be the end of a function name"),
        ({"lambda": [{"function": "-x", "fault": "crash", "count": 0}]}, "lambda[0].count must be a whole number"),
        ({"lambda": [{"function": "-x", "fault": "crash", "skip": -1}]}, "lambda[0].skip must be a whole number"),
        ({"lambdas": []}, "unknown field 'lambdas'"),
    ],
    ids=[
        "rate-over-1",
        "delay-not-a-number",
        "unknown-error",
        "unknown-s3-field",
        "unknown-fault",
        "empty-function",
        "zero-count",
        "negative-skip",
        "unknown-top-field",
    ],
)
def test_a_malformed_plan_is_refused_with_the_field_named_and_the_old_plan_kept(plan, plan_document, message):
    plan.set({"lambda": [{"function": "-copy_keys", "fault": "crash"}]})
    with pytest.raises(FaultPlanError, match=message.replace("[", r"\[").replace("]", r"\]")):
        plan.set(plan_document)
    assert plan.describe()["lambda"][0]["fault"] == "crash"


def test_the_admin_route_sets_shows_and_clears_the_plan_and_never_reaches_moto(admin, moto):
    assert admin.get(ADMIN_PATH).json == {"s3": None, "lambda": [], "left": [], "injected": {}}

    posted = admin.post(
        ADMIN_PATH,
        json={
            "s3": {"rate": 0.25, "operations": ["CopyObject"], "seed": 3},
            "lambda": [{"function": "-copy_keys", "fault": "timeout", "afterSeconds": 0.5}],
        },
    )

    assert posted.status_code == 200
    assert posted.json == {
        "s3": {
            "rate": 0.25,
            "errors": ["InternalError", "SlowDown"],
            "delaySeconds": 0.0,
            "accessKeyId": WORKER_ACCESS_KEY_ID,
            "operations": ["CopyObject"],
            "seed": 3,
        },
        "lambda": [{"function": "-copy_keys", "fault": "timeout", "afterSeconds": 0.5, "count": 1, "skip": 0}],
        "left": [1],
        "injected": {},
    }
    refused = admin.post(ADMIN_PATH, data="{not json", content_type="application/json")
    assert refused.status_code == 400 and refused.json["error"].startswith("not JSON")
    assert admin.delete(ADMIN_PATH).json == {"cleared": True, "injected": {}}
    assert admin.get(ADMIN_PATH).json["s3"] is None
    assert moto.seen == []


def test_the_default_target_is_every_key_issued_to_lambda_code_and_no_other(plan, monkeypatch):
    """Each function signs with its own role's key; the default plan still means "the requests of Lambda code"."""
    monkeypatch.setattr(faults_module, "is_lambda_worker_key", lambda key: key == "ASIAFUNCTIONROLE")
    plan.set({"s3": {"rate": 1}})

    assert plan.s3_fault_for("ASIAFUNCTIONROLE", "CopyObject")[1] is not None
    assert plan.s3_fault_for(WORKER_ACCESS_KEY_ID, "CopyObject")[1] is not None  # a runtime without roles
    assert plan.s3_fault_for("ASIASTATEMACHINEROLE", "ListObjectsV2")[1] is None  # Step Functions' own reads
    assert plan.s3_fault_for("testing", "CopyObject")[1] is None
    plan.set({"s3": {"rate": 1, "accessKeyId": "ASIASTATEMACHINEROLE"}})
    assert plan.s3_fault_for("ASIASTATEMACHINEROLE", "ListObjectsV2")[1] is not None
    assert plan.s3_fault_for("ASIAFUNCTIONROLE", "CopyObject")[1] is None


def test_s3_errors_hit_only_the_planned_access_key_and_botocore_retries_them(served, plan, moto, monkeypatch):
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)  # count retries, skip waits
    plan.set({"s3": {"rate": 0.5, "seed": 1}})
    worker = s3_client(served, WORKER_ACCESS_KEY_ID)
    test_client = s3_client(served, "testing", attempts=1)

    for _ in range(6):
        worker.list_objects_v2(Bucket="b")
        test_client.list_objects_v2(Bucket="b")  # never faulted: one attempt only, and it must succeed

    injected = plan.describe()["injected"]
    assert sum(injected.values()) > 0
    assert set(injected) <= {"s3:ListObjectsV2:SlowDown", "s3:ListObjectsV2:InternalError"}
    assert len(moto.seen) == 12  # every call got through in the end; the injected answers never reached moto


def test_an_injected_error_is_s3s_own_error_document(served, plan):
    plan.set({"s3": {"rate": 1, "errors": ["SlowDown"], "operations": ["ListObjectsV2"]}})
    with pytest.raises(ClientError) as raised:
        s3_client(served, WORKER_ACCESS_KEY_ID, attempts=1).list_objects_v2(Bucket="b")
    error = raised.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("SlowDown", 503)
    assert error["Error"]["Message"] == "Please reduce your request rate."
    s3_client(served, WORKER_ACCESS_KEY_ID, attempts=1).head_bucket(Bucket="b")  # another operation: let through


def test_matching_s3_requests_are_held_back_by_the_delay(served, plan):
    plan.set({"s3": {"delaySeconds": 0.3, "operations": ["ListObjectsV2"]}})
    worker = s3_client(served, WORKER_ACCESS_KEY_ID, attempts=1)

    started = time.monotonic()
    worker.head_bucket(Bucket="b")
    assert time.monotonic() - started < 0.3
    worker.list_objects_v2(Bucket="b")
    assert time.monotonic() - started >= 0.3
    assert plan.describe()["injected"] == {}  # a delay alone is no error


def test_the_same_seed_gives_the_same_errors(plan):
    def decisions():
        plan.set({"s3": {"rate": 0.3, "seed": 42}})
        return [plan.s3_fault_for(WORKER_ACCESS_KEY_ID, "CopyObject")[1] for _ in range(50)]

    first = decisions()
    assert first == decisions()
    assert {None, "SlowDown", "InternalError"} == set(first)


def test_lambda_rules_match_by_name_suffix_skip_and_run_out_after_their_count(plan):
    plan.set(
        {
            "lambda": [
                {"function": "-copy_keys", "fault": "crash", "afterSeconds": 1, "count": 2, "skip": 1},
                {"function": "-copy_keys", "fault": "delay", "afterSeconds": 0.1, "count": None},
            ]
        }
    )

    faults = [plan.next_fault("app-copy_keys") for _ in range(5)]

    assert faults == [None] + [InvocationFault("crash", 1.0)] * 2 + [InvocationFault("delay", 0.1)] * 2
    assert plan.next_fault("app-list_bucket") is None
    assert plan.describe()["injected"] == {"lambda:crash:-copy_keys": 2, "lambda:delay:-copy_keys": 2}


class OneFault:
    """The runtime's side of a fault plan: one fault for the next invocation, then none."""

    def __init__(self, fault):
        self.fault = fault

    def next_fault(self, function_name):
        fault, self.fault = self.fault, None
        return fault


SLOW_HANDLER = """
    import os, time

    def handler(event, context):
        time.sleep(event.get("sleep", 0))
        return os.getpid()
"""


def faulted_runtime(tmp_path: Path, fault):
    return LambdaRuntime(tmp_path / "work", faults=OneFault(fault))


@pytest.mark.parametrize(
    "kind, error_type, message",
    [
        ("crash", "Runtime.ExitError", "Runtime exited with error: signal: killed"),
        ("timeout", "Sandbox.Timedout", "Task timed out after 0.30 seconds"),
    ],
)
def test_an_injected_crash_or_timeout_ends_the_invocation_early_and_the_next_one_runs_normally(
    tmp_path, kind, error_type, message
):
    runtime = faulted_runtime(tmp_path, InvocationFault(kind, 0.3))
    function = make_function(SLOW_HANDLER)
    try:
        started = time.monotonic()
        result = runtime.invoke(function, json.dumps({"sleep": 5}))
        assert time.monotonic() - started < 3
        assert result.errored
        assert payload_of(result)["errorType"] == error_type
        assert message in payload_of(result)["errorMessage"]

        again = runtime.invoke(function, "{}")
        assert again.errored is False and isinstance(payload_of(again), int)
    finally:
        runtime.close()


def test_an_injected_crash_loses_the_answer_of_a_handler_that_finished_sooner(tmp_path):
    runtime = faulted_runtime(tmp_path, InvocationFault("crash", 2))
    try:
        started = time.monotonic()
        result = runtime.invoke(make_function(SLOW_HANDLER), "{}")
        assert time.monotonic() - started < 2
        assert payload_of(result)["errorType"] == "Runtime.ExitError"
    finally:
        runtime.close()


def test_an_injected_delay_holds_the_invocation_back_then_runs_it(tmp_path):
    runtime = faulted_runtime(tmp_path, InvocationFault("delay", 0.5))
    try:
        started = time.monotonic()
        result = runtime.invoke(make_function(SLOW_HANDLER), "{}")
        assert time.monotonic() - started >= 0.5
        assert result.errored is False
    finally:
        runtime.close()


def test_workers_sign_with_the_access_key_the_runtime_is_given(tmp_path):
    runtime = LambdaRuntime(tmp_path / "work", access_key_id=WORKER_ACCESS_KEY_ID)
    try:
        result = runtime.invoke(
            make_function("""
            import os

            def handler(event, context):
                return [os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]]
        """),
            "{}",
        )
        assert payload_of(result) == [WORKER_ACCESS_KEY_ID, "testing"]
    finally:
        runtime.close()
