"""The embedded endpoint's Lambda runtime: real handler code from a zip, run in worker processes like Lambda's.

Every test builds a small deployment package in tmp_path, invokes it and checks what a caller of Lambda's Invoke
would see (payload, function error, logs) or what the worker processes did (pids alive or gone). Lambda's limits
(MemorySize, the response size, the runtime's own SDK) are checked the same way, at their edges.
"""

import base64
import hashlib
import io
import json
import os
import re
import textwrap
import threading
import zipfile
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import botocore
import pytest

from local_endpoint import runtime_sdk
from local_endpoint.lambda_runtime import (
    MAX_RESPONSE_BYTES,
    FunctionConfig,
    InvokeResult,
    LambdaRuntime,
    RuntimeClosedError,
)

ENDPOINT_URL = "http://127.0.0.1:5123"
REGION = "eu-west-1"


def build_zip(files: Mapping[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, source in files.items():
            archive.writestr(path, textwrap.dedent(source))
    return buffer.getvalue()


def make_function(
    source: str,
    *,
    name: str = "probe",
    handler: str = "handler.handler",
    extra_files: Mapping[str, str] = {},
    timeout_seconds: float = 5.0,
    memory_mb: int = 256,
    environment: Mapping[str, str] = {},
) -> FunctionConfig:
    code_zip = build_zip({"handler.py": source, **extra_files})
    return FunctionConfig(
        name=name,
        arn=f"arn:aws:lambda:{REGION}:123456789012:function:{name}",
        handler=handler,
        code_sha256=base64.b64encode(hashlib.sha256(code_zip).digest()).decode(),  # as Lambda reports it
        code_zip=code_zip,
        timeout_seconds=timeout_seconds,
        memory_mb=memory_mb,
        region=REGION,
        environment=environment,
        endpoint_url=ENDPOINT_URL,
    )


def payload_of(result: InvokeResult):
    return json.loads(result.payload)


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LambdaRuntime]:
    lambda_runtime = LambdaRuntime(tmp_path / "work")
    yield lambda_runtime
    lambda_runtime.close()


RETURN_PID = """
    import os

    def handler(event, context):
        return os.getpid()
"""


def test_returns_the_handler_result(runtime):
    function = make_function("""
        def handler(event, context):
            return {"copied": 3, "keys": ["a", "b/c"]}
    """)

    result = runtime.invoke(function, "{}")

    assert result.errored is False
    assert payload_of(result) == {"copied": 3, "keys": ["a", "b/c"]}


def test_handler_returning_none_gives_null(runtime):
    function = make_function("""
        def handler(event, context):
            pass
    """)

    assert runtime.invoke(function, "{}").payload == "null"


def test_handler_sees_the_event(runtime):
    function = make_function("""
        def handler(event, context):
            return {"seen": event}
    """)
    event = {"Bucket": "src", "Keys": ["ünïcode key", "a?b", "a%2Fb", "with space", "a+b"]}

    assert payload_of(runtime.invoke(function, json.dumps(event))) == {"seen": event}


def test_empty_event_reaches_the_handler_as_an_empty_object(runtime):
    function = make_function("""
        def handler(event, context):
            return {"seen": event}
    """)

    assert payload_of(runtime.invoke(function, "")) == {"seen": {}}


def test_handler_sees_the_context(runtime):
    function = make_function(
        """
        def handler(event, context):
            return {
                "function_name": context.function_name,
                "function_version": context.function_version,
                "invoked_function_arn": context.invoked_function_arn,
                "memory_limit_in_mb": context.memory_limit_in_mb,
                "aws_request_id": context.aws_request_id,
                "log_group_name": context.log_group_name,
                "log_stream_name": context.log_stream_name,
                "remaining_ms": context.get_remaining_time_in_millis(),
            }
        """,
        name="copy_keys",
        memory_mb=256,
        timeout_seconds=3,
    )

    seen = payload_of(runtime.invoke(function, "{}"))

    assert seen["function_name"] == "copy_keys"
    assert seen["function_version"] == "$LATEST"
    assert seen["invoked_function_arn"] == function.arn
    assert seen["memory_limit_in_mb"] == "256"  # a string, as the real runtime hands it over
    assert len(seen["aws_request_id"]) == 36
    assert seen["log_group_name"] == "/aws/lambda/copy_keys"
    assert "[$LATEST]" in seen["log_stream_name"]
    assert 0 < seen["remaining_ms"] <= 3000


def test_each_invocation_gets_its_own_request_id(runtime):
    function = make_function("""
        def handler(event, context):
            return context.aws_request_id
    """)

    first, second = (payload_of(runtime.invoke(function, "{}")) for _ in range(2))

    assert first != second


def test_remaining_time_counts_down(runtime):
    function = make_function(
        """
        import time

        def handler(event, context):
            before = context.get_remaining_time_in_millis()
            time.sleep(0.2)
            return [before, context.get_remaining_time_in_millis()]
        """,
        timeout_seconds=2,
    )

    before, after = payload_of(runtime.invoke(function, "{}"))

    assert before - after >= 150


def test_worker_gets_lambda_environment_and_function_variables(runtime):
    function = make_function(
        """
        import os

        def handler(event, context):
            return {"environ": dict(os.environ), "cwd": os.getcwd()}
        """,
        name="copy_keys",
        memory_mb=512,
        timeout_seconds=30,
        environment={"DESTINATION_BUCKET": "dst"},
    )

    seen = payload_of(runtime.invoke(function, "{}"))
    environ = seen["environ"]

    assert environ["AWS_ENDPOINT_URL"] == ENDPOINT_URL
    assert environ["AWS_REGION"] == environ["AWS_DEFAULT_REGION"] == REGION
    assert environ["AWS_ACCESS_KEY_ID"] == environ["AWS_SECRET_ACCESS_KEY"] == environ["AWS_SESSION_TOKEN"] == "testing"
    assert environ["AWS_LAMBDA_FUNCTION_NAME"] == "copy_keys"
    assert environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert environ["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "30"
    assert environ["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert environ["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert environ["_HANDLER"] == "handler.handler"
    assert environ["TZ"] == ":UTC"
    assert environ["LAMBDA_TASK_ROOT"] == seen["cwd"]
    assert environ["DESTINATION_BUCKET"] == "dst"


def test_function_variables_override_runtime_variables(runtime):
    function = make_function(
        """
        import os

        def handler(event, context):
            return os.environ["TZ"]
        """,
        environment={"TZ": "Europe/Paris"},
    )

    assert payload_of(runtime.invoke(function, "{}")) == "Europe/Paris"


def test_parent_credentials_and_profile_do_not_leak_into_the_worker(runtime, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-secret-from-the-developer-shell")
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("PYTHONPATH", "/somewhere/with/yaml")
    function = make_function("""
        import os

        def handler(event, context):
            return dict(os.environ)
    """)

    environ = payload_of(runtime.invoke(function, "{}"))

    assert environ["AWS_SECRET_ACCESS_KEY"] == "testing"
    assert "AWS_PROFILE" not in environ
    assert "PYTHONPATH" not in environ


def test_handler_exception_is_a_function_error_named_after_its_class(runtime):
    function = make_function("""
        class FooError(Exception):
            pass

        def handler(event, context):
            raise FooError("listing token expired")
    """)

    result = runtime.invoke(function, "{}")
    error = payload_of(result)

    assert result.errored is True
    assert error["errorType"] == "FooError"
    assert error["errorMessage"] == "listing token expired"
    assert len(error["requestId"]) == 36
    assert "handler.py" in error["stackTrace"][0]  # the runtime's own frames are left out
    assert "[ERROR] FooError: listing token expired" in result.logs


def test_worker_is_reused_after_a_handler_exception(runtime):
    function = make_function("""
        import os

        def handler(event, context):
            if event.get("fail"):
                raise ValueError(os.getpid())
            return os.getpid()
    """)

    failed = payload_of(runtime.invoke(function, '{"fail": true}'))
    succeeded = payload_of(runtime.invoke(function, "{}"))

    assert failed["errorMessage"] == str(succeeded)


@pytest.mark.parametrize(
    "module",
    [
        pytest.param("yaml", id="yaml-installed-for-the-endpoint-only"),
        pytest.param("moto", id="moto-the-endpoint-itself"),
        pytest.param("pytest", id="pytest"),
    ],
)
def test_import_of_a_module_lambda_does_not_provide_fails(runtime, module):
    function = make_function(f"""
        import {module}

        def handler(event, context):
            return "imported"
    """)

    result = runtime.invoke(function, "{}")
    error = payload_of(result)

    assert result.errored is True
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert error["errorMessage"] == f"Unable to import module 'handler': No module named '{module}'"


def test_boto3_is_importable_and_talks_to_the_endpoint(runtime):
    function = make_function("""
        import boto3

        def handler(event, context):
            client = boto3.client("s3")
            credentials = boto3.Session().get_credentials()
            return {
                "endpoint": client.meta.endpoint_url,
                "region": client.meta.region_name,
                "access_key": credentials.access_key,
            }
    """)

    result = runtime.invoke(function, "{}")

    assert result.errored is False, result.payload
    assert payload_of(result) == {"endpoint": ENDPOINT_URL, "region": REGION, "access_key": "testing"}


def test_dotted_handler_module_is_imported_from_its_package(runtime):
    function = make_function(
        "",
        handler="sync.copy_keys.handler",
        extra_files={
            "sync/__init__.py": "",
            "sync/copy_keys.py": """
                def handler(event, context):
                    return "copied"
            """,
        },
    )

    assert payload_of(runtime.invoke(function, "{}")) == "copied"


def test_missing_handler_function_is_handler_not_found(runtime):
    function = make_function("""
        def other(event, context):
            return None
    """)

    result = runtime.invoke(function, "{}")

    assert result.errored is True
    assert payload_of(result)["errorType"] == "Runtime.HandlerNotFound"
    assert payload_of(result)["errorMessage"] == "Handler 'handler' missing on module 'handler'"


def test_result_that_is_not_json_is_a_marshal_error(runtime):
    function = make_function("""
        def handler(event, context):
            return {"keys": {"a", "b"}}
    """)

    result = runtime.invoke(function, "{}")

    assert result.errored is True
    assert payload_of(result)["errorType"] == "Runtime.MarshalError"
    assert "set is not JSON serializable" in payload_of(result)["errorMessage"]


def test_timeout_kills_the_worker_and_the_next_invocation_gets_a_fresh_one(runtime):
    function = make_function(
        """
        import os, time

        def handler(event, context):
            print("worker", os.getpid())
            time.sleep(event["sleep"])
            return os.getpid()
        """,
        timeout_seconds=0.5,
    )

    timed_out = runtime.invoke(function, '{"sleep": 30}')
    stuck_pid = int(re.search(r"^worker (\d+)$", timed_out.logs, re.MULTILINE).group(1))  # logs survive the kill
    next_result = runtime.invoke(function, '{"sleep": 0}')

    assert timed_out.errored is True
    assert payload_of(timed_out) == {
        "errorMessage": "Task timed out after 0.50 seconds",
        "errorType": "Sandbox.Timedout",
    }
    assert not is_running(stuck_pid)
    assert next_result.errored is False
    assert payload_of(next_result) != stuck_pid


def test_worker_exit_mid_invocation_is_a_runtime_exit_error(runtime):
    function = make_function("""
        import os

        def handler(event, context):
            os._exit(3)
    """)

    result = runtime.invoke(function, "{}")
    error = payload_of(result)

    assert result.errored is True
    assert error["errorType"] == "Runtime.ExitError"
    assert error["errorMessage"].startswith("RequestId: ")
    assert error["errorMessage"].endswith(" Error: Runtime exited with error: exit status 3")


def test_worker_killed_by_a_signal_is_a_runtime_exit_error(runtime):
    function = make_function("""
        import os, signal

        def handler(event, context):
            os.kill(os.getpid(), signal.SIGKILL)
    """)

    error = payload_of(runtime.invoke(function, "{}"))

    assert error["errorType"] == "Runtime.ExitError"
    assert error["errorMessage"].endswith("Runtime exited with error: signal: killed")


def test_crashed_worker_is_not_reused(runtime):
    function = make_function("""
        import os

        def handler(event, context):
            if event.get("crash"):
                os._exit(1)
            return os.getpid()
    """)
    before = payload_of(runtime.invoke(function, "{}"))

    runtime.invoke(function, '{"crash": true}')
    after = payload_of(runtime.invoke(function, "{}"))

    assert after != before
    assert not is_running(before)


def test_warm_worker_serves_the_next_invocation(runtime):
    function = make_function(RETURN_PID)

    first = payload_of(runtime.invoke(function, "{}"))
    second = payload_of(runtime.invoke(function, "{}"))

    assert first == second


def test_concurrent_invocations_run_in_separate_workers(runtime, tmp_path):
    # Each handler announces itself, then waits until all four are running at once: concurrency is proved by the
    # handlers meeting, not by wall-clock time.
    function = make_function(
        """
        import os, time

        def handler(event, context):
            meeting = event["meeting"]
            open(os.path.join(meeting, str(os.getpid())), "w").close()
            while len(os.listdir(meeting)) < event["expected"]:
                time.sleep(0.01)
            return os.getpid()
        """,
        timeout_seconds=10,
    )
    meeting = tmp_path / "meeting"
    meeting.mkdir()
    event = json.dumps({"meeting": str(meeting), "expected": 4})
    results: list[InvokeResult] = []
    threads = [threading.Thread(target=lambda: results.append(runtime.invoke(function, event))) for _ in range(4)]

    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [result.errored for result in results] == [False] * 4
    assert len({payload_of(result) for result in results}) == 4


def test_idle_workers_beyond_the_limit_are_killed(tmp_path):
    runtime = LambdaRuntime(tmp_path / "work", max_idle_workers_per_function=1)
    function = make_function(
        """
        import os, time

        def handler(event, context):
            meeting = event["meeting"]
            open(os.path.join(meeting, str(os.getpid())), "w").close()
            while len(os.listdir(meeting)) < 2:
                time.sleep(0.01)
            return os.getpid()
        """,
        timeout_seconds=10,
    )
    meeting = tmp_path / "meeting"
    meeting.mkdir()
    event = json.dumps({"meeting": str(meeting)})
    results: list[InvokeResult] = []
    threads = [threading.Thread(target=lambda: results.append(runtime.invoke(function, event))) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        pids = [payload_of(result) for result in results]
        assert sorted(is_running(pid) for pid in pids) == [False, True]
    finally:
        runtime.close()


def test_prints_and_logging_are_returned_as_logs(runtime):
    function = make_function("""
        import logging, sys

        logger = logging.getLogger(__name__)
        logger.setLevel(logging.INFO)

        def handler(event, context):
            print("printed to stdout")
            print("printed to stderr", file=sys.stderr)
            logger.info("copied %d keys", 3)
            logging.getLogger("other").warning("root handler catches this too")
            return None
    """)

    first = runtime.invoke(function, "{}")
    second = runtime.invoke(function, "{}")

    assert "printed to stdout\n" in first.logs
    assert "printed to stderr\n" in first.logs
    assert "[INFO]" in first.logs and "copied 3 keys" in first.logs
    assert "[WARNING]" in first.logs and "root handler catches this too" in first.logs
    assert second.logs.count("printed to stdout") == 1  # each invocation gets only its own output


def test_log_lines_carry_the_request_id(runtime):
    function = make_function("""
        import logging

        def handler(event, context):
            logging.getLogger().warning("hello")
            return context.aws_request_id
    """)

    result = runtime.invoke(function, "{}")

    assert f"\t{payload_of(result)}\thello" in result.logs


def test_new_code_gets_a_new_worker_and_the_old_one_is_retired(runtime):
    old = make_function(RETURN_PID)
    new = make_function(RETURN_PID + "\n# changed\n")
    assert old.arn == new.arn and old.code_sha256 != new.code_sha256

    old_pid = payload_of(runtime.invoke(old, "{}"))
    new_pid = payload_of(runtime.invoke(new, "{}"))

    assert new_pid != old_pid
    assert not is_running(old_pid)


def test_close_kills_every_worker_and_removes_the_code(tmp_path):
    runtime = LambdaRuntime(tmp_path / "work")
    pids = [payload_of(runtime.invoke(make_function(RETURN_PID, name=name), "{}")) for name in ("one", "two")]
    assert all(is_running(pid) for pid in pids)

    runtime.close()

    assert not any(is_running(pid) for pid in pids)
    assert list((tmp_path / "work").iterdir()) == []


def test_invoke_after_close_is_refused(tmp_path):
    runtime = LambdaRuntime(tmp_path / "work")
    runtime.close()

    with pytest.raises(RuntimeClosedError):
        runtime.invoke(make_function(RETURN_PID), "{}")


# --- Lambda's limits ---------------------------------------------------------------------------------------------

REPORT_LINE = re.compile(
    r"^REPORT RequestId: (?P<request_id>\S+)\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms"
    r"\tMemory Size: (?P<memory_size>\d+) MB\tMax Memory Used: (?P<max_memory_used>\d+) MB"
    r"(?P<rest>.*)$",
    re.MULTILINE,
)
MIB = 1024 * 1024
ALLOCATE = """
    import os

    def handler(event, context):
        # Multiplying bytes writes every page, so all of it is resident (a bare bytearray(n) may not be).
        held = b"\\x01" * (event["mib"] * 1024 * 1024)
        return {"pid": os.getpid(), "held": len(held)}
"""
EMPTY_LISTING = (
    b'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/'
    b'2006-03-01/"><Name>data</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys>'
    b"<IsTruncated>false</IsTruncated></ListBucketResult>"
)


def report_of(result: InvokeResult) -> re.Match:
    report = REPORT_LINE.search(result.logs)
    assert report is not None, result.logs
    return report


class TinyS3(BaseHTTPRequestHandler):
    """Just enough of S3 for a handler's PutObject and ListObjectsV2 to succeed: an empty bucket that takes
    any object."""

    protocol_version = "HTTP/1.1"  # botocore sends Expect: 100-continue with a body, which needs HTTP/1.1

    def do_GET(self) -> None:
        self._answer(EMPTY_LISTING)

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer(b"", {"ETag": '"9a0364b9e99bb480dd25e1f0284c8555"'})

    def _answer(self, body: bytes, headers: Mapping[str, str] = {}) -> None:
        self.send_response(200)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def tiny_s3() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), TinyS3)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_handler_over_its_memory_size_fails_and_its_worker_is_not_reused(runtime):
    function = make_function(ALLOCATE, memory_mb=128)
    before = payload_of(runtime.invoke(function, '{"mib": 0}'))["pid"]

    result = runtime.invoke(function, '{"mib": 200}')
    after = payload_of(runtime.invoke(function, '{"mib": 0}'))["pid"]

    error = payload_of(result)
    assert result.errored is True
    assert error["errorType"] == "Runtime.OutOfMemory"
    assert (
        error["errorMessage"] == f"RequestId: {error['errorMessage'].split()[1]} Error: Runtime exited with "
        f"error: signal: killed"
    )
    assert report_of(result)["rest"] == "\tStatus: error\tError Type: Runtime.OutOfMemory"
    assert after != before
    assert not is_running(before)


def test_memory_of_processes_the_handler_started_counts(runtime):
    # The child holds 200 MB and then waits far longer than it takes to notice it: the handler only returns if
    # the child's memory went uncounted.
    function = make_function(
        """
        import subprocess, sys

        def handler(event, context):
            subprocess.run([sys.executable, "-I", "-S", "-c",
                            "import time; held = b'x' * (200 * 1024 * 1024); time.sleep(20)"])
            return "the child's memory went unnoticed"
        """,
        memory_mb=128,
        timeout_seconds=30,
    )

    result = runtime.invoke(function, "{}")

    assert result.errored is True, result.payload
    assert payload_of(result)["errorType"] == "Runtime.OutOfMemory"


def test_handler_importing_boto3_fits_in_128_mb(runtime, tiny_s3):
    function = make_function(
        """
        import boto3

        s3 = boto3.client("s3", endpoint_url=ENDPOINT)

        def handler(event, context):
            s3.put_object(Bucket="data", Key="report.json", Body=b"{}" * 5000)
            for _ in range(5):
                s3.list_objects_v2(Bucket="data", Prefix="runs/")
            return "ok"
        """.replace("ENDPOINT", repr(tiny_s3)),
        memory_mb=128,
    )

    results = [runtime.invoke(function, "{}") for _ in range(3)]

    assert [payload_of(result) for result in results] == ["ok"] * 3
    assert all(int(report_of(result)["max_memory_used"]) <= 128 for result in results)


def test_report_line_gives_the_peak_memory_of_the_invocation(runtime):
    function = make_function(ALLOCATE, memory_mb=256)

    baseline = runtime.invoke(function, '{"mib": 0}')
    allocated = runtime.invoke(function, '{"mib": 100}')

    first, second = report_of(baseline), report_of(allocated)
    assert first["request_id"] in baseline.logs.split("\n", 1)[0]  # START comes first, then END and REPORT
    assert f"END RequestId: {first['request_id']}\n" in baseline.logs
    assert first["memory_size"] == second["memory_size"] == "256"
    assert "Init Duration: " in first["rest"] and "Init Duration" not in second["rest"]  # a cold start, then warm
    assert 5 < int(first["max_memory_used"]) < 100
    assert int(second["max_memory_used"]) >= int(first["max_memory_used"]) + 100


@pytest.mark.parametrize(
    ("payload_bytes", "fails"),
    [
        pytest.param(MAX_RESPONSE_BYTES, False, id="exactly-the-limit"),
        pytest.param(MAX_RESPONSE_BYTES + 1, True, id="one-byte-over"),
    ],
)
def test_response_over_the_synchronous_limit_fails(runtime, payload_bytes, fails):
    function = make_function(
        """
        import os

        def handler(event, context):
            return "x" * event["characters"]
        """
    )
    characters = payload_bytes - len('""')  # the payload is the JSON string, quotes included

    result = runtime.invoke(function, json.dumps({"characters": characters}))

    assert result.errored is fails
    if fails:
        assert payload_of(result) == {
            "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
            "errorType": "Function.ResponseSizeTooLarge",
        }
    else:
        assert len(result.payload.encode("utf-8")) == MAX_RESPONSE_BYTES


def test_worker_gets_the_pinned_sdk_not_the_endpoints(runtime):
    function = make_function("""
        import boto3, botocore, s3transfer, urllib3

        def handler(event, context):
            return {"boto3": boto3.__version__, "botocore": botocore.__version__,
                    "s3transfer": s3transfer.__version__, "urllib3": urllib3.__version__}
    """)
    pinned = runtime_sdk.pinned_versions()

    versions = payload_of(runtime.invoke(function, "{}"))

    assert versions == {name: pinned[name] for name in ("boto3", "botocore", "s3transfer", "urllib3")}
    assert versions["botocore"] != botocore.__version__  # the endpoint's own is newer: this proves the source


def test_parameter_the_runtime_sdk_lacks_is_a_param_validation_error(runtime):
    # PutObject's IfNoneMatch came with S3's conditional writes, after the runtime's 1.34 SDK.
    function = make_function("""
        import boto3

        def handler(event, context):
            boto3.client("s3").put_object(Bucket="data", Key="lock", Body=b"", IfNoneMatch="*")
    """)

    error = payload_of(runtime.invoke(function, "{}"))

    assert error["errorType"] == "ParamValidationError"
    assert 'Unknown parameter in input: "IfNoneMatch"' in error["errorMessage"]


def test_installed_sdk_is_reused_without_running_pip(monkeypatch):
    installed = runtime_sdk.ensure_runtime_sdk()
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # a pip run would now fail: reuse must not need one

    assert runtime_sdk.ensure_runtime_sdk() == installed


def test_failed_sdk_install_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # pip finds nothing, without asking any index
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)

    with pytest.raises(runtime_sdk.RuntimeSdkError) as raised:
        runtime_sdk.ensure_runtime_sdk(cache_root=tmp_path / "cache")

    message = str(raised.value)
    assert "installing the Lambda runtime's SDK failed" in message
    assert str(runtime_sdk.REQUIREMENTS_FILE) in message and "reachable" in message
    assert [path.name for path in (tmp_path / "cache").iterdir()] == [".install.lock"]  # no half install left


def test_requirements_must_pin_exact_versions(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("boto3==1.34.145\nbotocore>=1.34\n")

    with pytest.raises(runtime_sdk.RuntimeSdkError, match=r"requirements.txt:2: expected an exact pin"):
        runtime_sdk.ensure_runtime_sdk(requirements, cache_root=tmp_path / "cache")
