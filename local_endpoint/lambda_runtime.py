"""Runs a Lambda function's real handler code from its deployment zip in a separate Python process.

This replaces moto's Docker-based invocation. Each function configuration gets a pool of warm worker processes
(``lambda_worker.py``) started with ``python -I -S``, so the handler sees only the standard library, the libraries
the Lambda Python runtime provides (boto3, botocore, s3transfer, jmespath, dateutil, urllib3, six, in the versions
the runtime ships: ``runtime_sdk.py``) and its own package: an import the real runtime would refuse fails here too.
Failures come back as the error documents Lambda returns (``errorType`` of ``Runtime.ImportModuleError``,
``Sandbox.Timedout``, the exception's class name, ...) so that Step Functions' Retry and Catch behave as on AWS.

Lambda's limits it enforces, each tested in tests/endpoint/test_lambda_runtime.py:

- Memory (``test_handler_over_its_memory_size_fails_and_its_worker_is_not_reused``). A function gets its
  ``MemorySize`` and no more: resident memory of the worker and of every process it started, counted while it runs
  (the worker's own peak from ``VmHWM``, so no spike between two samples escapes), above ``MemorySize`` kills the
  worker and fails the invocation with ``Runtime.OutOfMemory`` / "Runtime exited with error: signal: killed", as the
  python3.12 runtime reports it. An answer given after the limit was crossed is lost, as Lambda had killed the
  sandbox first. Step Functions sees the errorType; AWS's docs name such failures ``Lambda.Unknown`` when Lambda
  returns no error type. Virtual memory is not limited: threads reserve stacks and malloc arenas far beyond what
  they touch, and Lambda does not count them either.
- The REPORT line (``test_report_line_gives_the_peak_memory_of_the_invocation``): every invocation's logs end with
  ``END`` and Lambda's ``REPORT RequestId: ... Duration: ... ms Billed Duration: ... ms Memory Size: 128 MB Max Memory
  Used: 87 MB`` (``Init Duration`` on a cold start; ``Status`` and ``Error Type`` when the runtime failed), so
  benchmarks can read each function's peak memory from its log group. Max Memory Used is the environment's peak so
  far, as Lambda's (it never goes down while an environment is warm).
- Response size (``test_response_over_the_synchronous_limit_fails``): a payload over 6,291,556 bytes (the quotas'
  "6 MB each for request and response" for synchronous invocation) fails with ``Function.ResponseSizeTooLarge``;
  exactly that many bytes pass.
- The runtime's SDK (``test_worker_gets_the_pinned_sdk_not_the_endpoints``): boto3 and friends come from
  ``runtime_sdk.ensure_runtime_sdk()``, the pinned 1.34 set, not from the endpoint's site-packages, so a parameter
  that SDK lacks fails with botocore's ``ParamValidationError`` as on Lambda.

It must not talk HTTP, know moto's models, or share environment variables with the parent process: handlers get
fake credentials and reach AWS only through ``FunctionConfig.endpoint_url``. It does not know fault plans either:
an optional ``InvocationFaults`` object (``faults.FaultPlan`` in the endpoint) is asked once per invocation
whether to crash, time out or delay it; without one, or when it answers None, nothing changes. It reads process
memory from Linux's /proc, so it runs on Linux only.
"""

import hashlib
import io
import json
import math
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Optional, Protocol

from . import runtime_sdk

WORKER_SCRIPT = Path(__file__).with_name("lambda_worker.py")
RUNTIME_LIBRARIES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
"""What the Lambda Python runtime puts on sys.path besides the function's code; nothing else is importable."""
INIT_TIMEOUT_SECONDS = 10.0
"""Lambda's limit for the init phase (importing the handler module), which does not eat the function's timeout."""
MAX_RESPONSE_BYTES = 6_291_556
"""Lambda's limit for a synchronous invocation's response payload ("6 MB"), the figure its error message names."""
MEMORY_SAMPLE_INTERVAL_SECONDS = 0.05
"""How often a running worker's memory is read. The worker's own peak (VmHWM) misses nothing in between, so this
only sets how long a handler may run past its MemorySize before it is killed; an answer given then is lost."""
CHILD_SCAN_INTERVAL_SECONDS = 0.25
"""How often /proc is scanned for processes the handlers started: one scan serves every worker, ~1 ms each."""
PROC = Path("/proc")
KIB_PER_MIB = 1024
EXIT_GRACE_SECONDS = 5.0
"""How long a worker that closed its reply pipe gets to finish exiting before it is killed."""
FAKE_CREDENTIAL = "testing"
WORKER_ACCESS_KEY_ID = "lambda-worker"
"""The access key id the endpoint gives its workers (secret and token stay FAKE_CREDENTIAL), so that the S3
requests of Lambda code can be told from a test's own and from Step Functions' (``faults.py`` targets them)."""
CRASH, TIMEOUT, DELAY = "crash", "timeout", "delay"
FAULT_KINDS = (CRASH, TIMEOUT, DELAY)
CUTTING_FAULTS = (CRASH, TIMEOUT)
"""Faults that end an invocation early; a delay only makes it start late."""
READ_CHUNK_BYTES = 64 * 1024


class LambdaRuntimeError(Exception):
    """Base class: the runtime itself (not the function's code) cannot do what was asked."""


class RuntimeClosedError(LambdaRuntimeError):
    """invoke() was called after close()."""


class RuntimeLibraryNotFoundError(LambdaRuntimeError):
    """A library the Lambda Python runtime provides (boto3, ...) is missing from the runtime's SDK directory."""


class CodePackageError(LambdaRuntimeError):
    """A function's deployment package is not a readable zip."""


class _WorkerExited(Exception):
    """The worker process ended (or closed its reply pipe) before answering."""


class _WorkerTimedOut(Exception):
    """The worker did not answer in time."""


class _WorkerOutOfMemory(Exception):
    """The worker (with what it started) has held more resident memory than its function's MemorySize."""


@dataclass(frozen=True)
class FunctionConfig:
    """Everything needed to run one version of one function."""

    name: str
    arn: str
    handler: str
    """``module.function``, e.g. ``copy_keys.handler``; the module may be dotted (``pkg.mod.handler``)."""
    code_sha256: str
    """Identifies the code version: one extraction per value."""
    code_zip: bytes
    timeout_seconds: float
    memory_mb: int
    region: str
    environment: Mapping[str, str]
    """The function's Environment.Variables; they override the runtime's own variables."""
    endpoint_url: str
    """Where the handler's boto3 sends every request (AWS_ENDPOINT_URL), e.g. ``http://127.0.0.1:5123``."""
    credentials: Optional["Credentials"] = None
    """The execution role's temporary credentials, as Lambda gives a function; None: the runtime's own fake
    ones (``access_key_id`` of the runtime, secret and token ``FAKE_CREDENTIAL``)."""


@dataclass(frozen=True)
class Credentials:
    """Temporary credentials for a function's execution role (what STS AssumeRole returns)."""

    access_key_id: str
    secret_access_key: str
    session_token: str


@dataclass(frozen=True)
class InvokeResult:
    """What one invocation returned, in the terms of Lambda's Invoke response."""

    payload: str
    """JSON text, exactly what Lambda's Invoke returns as Payload."""
    errored: bool
    """True for a function error (Invoke's X-Amz-Function-Error)."""
    logs: str
    """What the handler printed or logged during this invocation (for a fresh worker, its init phase too)."""


@dataclass(frozen=True)
class InvocationFault:
    """What to do to one invocation: ``crash`` kills the worker ``after_seconds`` into it (Runtime.ExitError),
    ``timeout`` kills it then and reports a timeout (Sandbox.Timedout); both kill it as it answers if it answers
    sooner, and the answer is lost. ``delay`` holds the event back ``after_seconds``, then runs it normally."""

    kind: str
    after_seconds: float


class InvocationFaults(Protocol):
    """Asked once per invocation; None (the usual answer) leaves the invocation alone."""

    def next_fault(self, function_name: str) -> InvocationFault | None: ...


class _FaultFired(Exception):
    """An injected crash or timeout is due: the worker must die now."""


def _worker_key(function: FunctionConfig) -> Hashable:
    """Workers are shared only between invocations of an identical configuration.

    Handler, region and endpoint are part of it too: a worker has its handler imported and its environment fixed.
    """
    return (
        function.arn,
        function.code_sha256,
        function.handler,
        tuple(sorted(function.environment.items())),
        function.timeout_seconds,
        function.memory_mb,
        function.region,
        function.endpoint_url,
        function.credentials,
    )


def _timeout_error(timeout_seconds: float) -> dict[str, str]:
    return {"errorMessage": f"Task timed out after {timeout_seconds:.2f} seconds", "errorType": "Sandbox.Timedout"}


def _exit_error(request_id: str, exit_status: str) -> dict[str, str]:
    return {
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: {exit_status}",
        "errorType": "Runtime.ExitError",
    }


def _out_of_memory_error(request_id: str) -> dict[str, str]:
    """What the python3.12 runtime reports when its sandbox is killed for memory: the exit, typed as OOM."""
    return {
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: signal: killed",
        "errorType": "Runtime.OutOfMemory",
    }


def _response_too_large_error() -> dict[str, str]:
    return {
        "errorMessage": f"Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }


def _report_line(
    request_id: str,
    duration_ms: float,
    memory_mb: int,
    peak_kb: int,
    init_duration_ms: float | None,
    status: str | None,
    error_type: str | None,
) -> str:
    """Lambda's REPORT line, tab-separated as in CloudWatch; billed time is rounded up to the millisecond."""
    fields = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {math.ceil(duration_ms)} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {math.ceil(peak_kb / KIB_PER_MIB)} MB",
    ]
    if init_duration_ms is not None:
        fields.append(f"Init Duration: {init_duration_ms:.2f} ms")
    if status is not None:
        fields.append(f"Status: {status}")
    if error_type is not None:
        fields.append(f"Error Type: {error_type}")
    return "\t".join(fields)


def _read_peak_rss_kb(pid: int) -> int:
    """The process's peak resident set so far (VmHWM); 0 once it is gone (its end shows up on the reply pipe)."""
    try:
        with open(PROC / str(pid) / "status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])  # "VmHWM:   81234 kB"
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


class _MemoryMeter:
    """Resident memory per worker: its own peak plus what the processes it started hold now.

    Lambda counts every process of the sandbox. A worker leads its own process group and its children inherit
    it, so one scan of /proc, shared by all workers and refreshed at most every CHILD_SCAN_INTERVAL_SECONDS,
    sums the children's resident memory by process group.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
        self._children_kb: dict[int, int] = {}
        self._scanned_at = -math.inf

    def used_kb(self, pid: int) -> int:
        return _read_peak_rss_kb(pid) + self._children_of(pid)

    def _children_of(self, leader: int) -> int:
        with self._lock:
            if time.monotonic() - self._scanned_at >= CHILD_SCAN_INTERVAL_SECONDS:
                self._children_kb = self._scan()
                self._scanned_at = time.monotonic()
            return self._children_kb.get(leader, 0)

    def _scan(self) -> dict[int, int]:
        children: dict[int, int] = {}
        for entry in os.scandir(PROC):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"{entry.path}/stat", "rb") as stat:
                    data = stat.read()
            except OSError:  # ended while scanning
                continue
            # The command name may hold spaces and parentheses: the fields start after its last ")".
            fields = data[data.rindex(b")") + 2 :].split()
            process_group, resident_pages = int(fields[2]), int(fields[21])
            if process_group != int(entry.name):  # the leader is the worker, measured by its peak
                children[process_group] = children.get(process_group, 0) + resident_pages * self._page_kb
        return children


def _describe_exit(returncode: int) -> str:
    """Word an exit the way Lambda does (Go's ProcessState): "exit status 3", "signal: killed"."""
    if returncode >= 0:
        return f"exit status {returncode}"
    description = signal.strsignal(-returncode) or f"signal {-returncode}"
    return f"signal: {description.lower()}"


class _Worker:
    """One worker process, the pipes to talk to it and the file that collects its output.

    Used by one invocation at a time; only ``kill`` may be called from another thread (by ``close``).
    """

    def __init__(self, process: subprocess.Popen[bytes], reply_fd: int, log_fd: int):
        if process.stdin is None:
            raise ValueError("a worker is started with stdin=PIPE: requests go through it")
        self._process = process
        self._stdin = process.stdin
        self._reply_fd = reply_fd
        self._log_fd = log_fd
        self._buffer = bytearray()
        self._lock = threading.Lock()
        self._killed = False
        self._released = False
        self.ready = False
        self.started_at = time.monotonic()
        self.ready_at: float | None = None
        self.init_logs = ""
        """Output of the init phase, which Lambda logs before the first invocation's START line."""
        self.peak_kb = 0
        """The highest resident memory measured so far: the REPORT line's Max Memory Used."""

    @property
    def pid(self) -> int:
        return self._process.pid

    def is_alive(self) -> bool:
        return self._process.poll() is None

    def send(self, message: Mapping[str, Any]) -> None:
        try:
            self._stdin.write((json.dumps(message) + "\n").encode("utf-8"))
            self._stdin.flush()
        except (BrokenPipeError, ValueError) as exc:  # ValueError: stdin already closed by kill()
            raise _WorkerExited() from exc

    def receive(self, timeout_seconds: float, check: Callable[[], None] = lambda: None) -> dict[str, Any]:
        """The next reply line; ``check`` runs every MEMORY_SAMPLE_INTERVAL_SECONDS while waiting and once more
        when the line is complete, and may raise to abandon the wait.

        poll(), not select(), because a busy endpoint can hold fds above 1024.
        """
        deadline = time.monotonic() + timeout_seconds
        next_check = time.monotonic()
        poller = select.poll()
        poller.register(self._reply_fd, select.POLLIN)
        while b"\n" not in self._buffer:
            now = time.monotonic()
            if now >= deadline:
                raise _WorkerTimedOut()
            if now >= next_check:
                check()
                next_check = now + MEMORY_SAMPLE_INTERVAL_SECONDS
            wait_seconds = min(deadline, next_check) - now
            if not poller.poll(math.ceil(wait_seconds * 1000)):
                continue
            chunk = os.read(self._reply_fd, READ_CHUNK_BYTES)
            if not chunk:
                raise _WorkerExited()
            self._buffer += chunk
        check()  # the answer may have come after the limit was crossed: then Lambda would have killed it first
        line, _, rest = bytes(self._buffer).partition(b"\n")
        self._buffer = bytearray(rest)
        return json.loads(line)

    def take_logs(self) -> str:
        """Everything written to stdout/stderr since the last call.

        Output goes to a file rather than through the reply pipe so that it survives a crash or a timeout kill.
        """
        data = os.pread(self._log_fd, os.fstat(self._log_fd).st_size, 0)
        os.ftruncate(self._log_fd, 0)
        return data.decode("utf-8", errors="replace")

    def exit_status(self) -> str:
        """How the process ended; kills it if it closed its reply pipe but lingers."""
        try:
            returncode = self._process.wait(EXIT_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()
            returncode = self._process.wait()
        return _describe_exit(returncode)

    def kill(self) -> None:
        """Kill the worker and anything its handler started (it leads its own process group). Idempotent."""
        with self._lock:
            if self._killed:
                return
            self._killed = True
            if self._process.poll() is None:
                try:
                    os.killpg(self._process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self._process.wait()
            try:
                self._stdin.close()
            except OSError:  # a request left half-written in the buffer cannot be flushed to a dead process
                pass

    def release(self) -> None:
        """Kill the worker and free its descriptors; call once its logs have been taken. Idempotent."""
        self.kill()
        with self._lock:
            # Closing twice could close a descriptor number another thread has been given since.
            if self._released:
                return
            self._released = True
            os.close(self._reply_fd)
            os.close(self._log_fd)


@dataclass(frozen=True)
class _Outcome:
    """How one invocation ended, before the platform's log lines are added."""

    payload: str
    errored: bool
    reusable: bool = False
    """Whether the worker may serve again: only after an answer (a result or the handler's own error)."""
    platform_log: str = ""
    """Lines the Lambda platform logs itself, e.g. the exit error of a runtime that died."""
    status: str | None = None
    """The REPORT line's Status: None for an answer, "error" or "timeout" when the runtime failed."""
    error_type: str | None = None


class LambdaRuntime:
    """Invokes functions in warm worker processes, one pool per function configuration."""

    def __init__(
        self,
        workdir: Path,
        max_idle_workers_per_function: int = 4,
        *,
        access_key_id: str = FAKE_CREDENTIAL,
        faults: InvocationFaults | None = None,
        sdk_dir: Path | None = None,
    ):
        """``sdk_dir`` holds the runtime's boto3 and friends; by default the pinned set, installed on first use."""
        if not (PROC / "self" / "status").is_file():
            raise LambdaRuntimeError("the Lambda runtime reads workers' memory from /proc, which only Linux has")
        workdir.mkdir(parents=True, exist_ok=True)
        sdk_dir = sdk_dir if sdk_dir is not None else runtime_sdk.ensure_runtime_sdk()
        # A private directory, so close() removes exactly what this runtime created.
        self._root = Path(tempfile.mkdtemp(prefix="lambda-runtime-", dir=workdir))
        self._code_root = self._root / "code"
        self._log_root = self._root / "logs"
        self._code_root.mkdir()
        self._log_root.mkdir()
        self._libs_dir = self._build_runtime_libs(self._root / "runtime-libs", sdk_dir)
        self._max_idle = max_idle_workers_per_function
        self._access_key_id = access_key_id
        self._faults = faults
        self._memory = _MemoryMeter()
        # Shared by the server's threads, hence the lock: live workers, idle ones per configuration, and the
        # configuration last invoked per function ARN (idle workers of an older one are retired).
        self._lock = threading.Lock()
        self._closed = False
        self._workers: set[_Worker] = set()
        self._idle: dict[Hashable, list[_Worker]] = {}
        self._current_key: dict[str, Hashable] = {}

    def invoke(self, function: FunctionConfig, event: str) -> InvokeResult:
        """Run the handler once with ``event`` (JSON text) and return what Lambda's Invoke would. Thread-safe."""
        if not isinstance(event, str):
            raise TypeError(f"event must be JSON text (str), not {type(event).__name__}")
        request_id = str(uuid.uuid4())
        fault = self._faults.next_fault(function.name) if self._faults is not None else None
        if fault is not None and fault.kind == DELAY:
            time.sleep(fault.after_seconds)
        key = _worker_key(function)
        begun_at = time.monotonic()
        worker = self._take_idle(function.arn, key) or self._start_worker(function)
        cold = not worker.ready
        try:
            outcome = self._run(worker, function, request_id, event, fault)
        except BaseException:
            self._retire(worker)  # e.g. a malformed reply: an invariant broke, so never reuse this worker
            raise
        # A cold start's init phase is reported apart, as Init Duration, and is not part of Duration.
        duration_ms = (time.monotonic() - max(begun_at, worker.ready_at or begun_at)) * 1000
        init_ms = (worker.ready_at - worker.started_at) * 1000 if cold and worker.ready_at is not None else None
        report = _report_line(
            request_id, duration_ms, function.memory_mb, worker.peak_kb, init_ms, outcome.status, outcome.error_type
        )
        logs = (
            f"{worker.init_logs}START RequestId: {request_id} Version: $LATEST\n{worker.take_logs()}"
            f"{outcome.platform_log}END RequestId: {request_id}\n{report}\n"
        )
        worker.init_logs = ""
        result = InvokeResult(payload=outcome.payload, errored=outcome.errored, logs=logs)
        if outcome.reusable:
            self._put_back(function.arn, key, worker)
        else:
            self._retire(worker)
        return result

    def close(self) -> None:
        """Kill every worker, busy or idle, and remove the extracted code. Invocations in flight end in errors."""
        with self._lock:
            self._closed = True
            idle = [worker for pool in self._idle.values() for worker in pool]
            busy = self._workers.difference(idle)
            self._idle.clear()
        for worker in idle:
            self._retire(worker)
        for worker in busy:
            worker.kill()  # its invocation sees the worker die, reports an error and retires it
        shutil.rmtree(self._root, ignore_errors=True)

    def _run(
        self, worker: _Worker, function: FunctionConfig, request_id: str, event: str, fault: InvocationFault | None
    ) -> _Outcome:
        """One invocation on ``worker``: what it answered, or how it broke."""
        cut_after = fault.after_seconds if fault is not None and fault.kind in CUTTING_FAULTS else None

        def check_memory() -> None:
            worker.peak_kb = max(worker.peak_kb, self._memory.used_kb(worker.pid))
            if worker.peak_kb > function.memory_mb * KIB_PER_MIB:
                raise _WorkerOutOfMemory()

        try:
            if not worker.ready:
                reply = worker.receive(INIT_TIMEOUT_SECONDS, check_memory)
                worker.init_logs = worker.take_logs()
                if not reply["ready"]:
                    init_error = reply["initError"]
                    return _Outcome(
                        json.dumps(init_error, ensure_ascii=False),
                        errored=True,
                        status="error",
                        error_type=init_error["errorType"],
                    )
                worker.ready = True
                worker.ready_at = time.monotonic()
            worker.send(
                {
                    "requestId": request_id,
                    # Invoke without a payload hands the handler an empty object.
                    "event": event if event.strip() else "{}",
                    "deadlineMs": int((time.time() + function.timeout_seconds) * 1000),
                    "invokedFunctionArn": function.arn,
                }
            )
            if cut_after is not None and cut_after < function.timeout_seconds:
                try:
                    worker.receive(cut_after, check_memory)
                except _WorkerTimedOut:
                    pass
                raise _FaultFired()  # whether it answered in time or not, the answer is lost
            reply = worker.receive(function.timeout_seconds, check_memory)
        except _FaultFired:
            assert fault is not None
            return self._faulted(worker, request_id, fault)
        except _WorkerTimedOut:
            worker.kill()
            error = _timeout_error(function.timeout_seconds if worker.ready else INIT_TIMEOUT_SECONDS)
            return _Outcome(
                json.dumps(error),
                errored=True,
                platform_log=f"{request_id} {error['errorMessage']}\n",
                status="timeout",
            )
        except _WorkerOutOfMemory:
            worker.kill()
            return self._broken(_out_of_memory_error(request_id))
        except _WorkerExited:
            return self._broken(_exit_error(request_id, worker.exit_status()))
        if len(reply["payload"].encode("utf-8")) > MAX_RESPONSE_BYTES:
            # The runtime cannot hand the response over and exits (Lambda's REPORT then says Runtime.ExitError),
            # so the environment is not reused either.
            worker.kill()
            return _Outcome(
                json.dumps(_response_too_large_error()), errored=True, status="error", error_type="Runtime.ExitError"
            )
        return _Outcome(reply["payload"], errored=reply["errored"], reusable=True)

    def _faulted(self, worker: _Worker, request_id: str, fault: InvocationFault) -> _Outcome:
        """An injected crash or timeout: the worker killed, and the error Lambda would report for either."""
        worker.kill()
        if fault.kind == TIMEOUT:
            error = _timeout_error(fault.after_seconds)
            return _Outcome(
                json.dumps(error),
                errored=True,
                platform_log=f"{request_id} {error['errorMessage']}\n",
                status="timeout",
            )
        return self._broken(_exit_error(request_id, worker.exit_status()))

    @staticmethod
    def _broken(error: dict[str, str]) -> _Outcome:
        """The runtime died: Lambda logs the error's message and type, and the REPORT line names the type."""
        return _Outcome(
            json.dumps(error),
            errored=True,
            platform_log=f"{error['errorMessage']}\n{error['errorType']}\n",
            status="error",
            error_type=error["errorType"],
        )

    def _take_idle(self, arn: str, key: Hashable) -> _Worker | None:
        stale: list[_Worker] = []
        worker = None
        with self._lock:
            if self._closed:
                raise RuntimeClosedError("the Lambda runtime has been closed")
            previous = self._current_key.get(arn)
            if previous != key:
                # New code or configuration for this function: warm workers of the old one will never be used.
                self._current_key[arn] = key
                if previous is not None:
                    stale.extend(self._idle.pop(previous, []))
            idle = self._idle.get(key, [])
            while idle and worker is None:
                candidate = idle.pop()  # the most recently used worker is the warmest
                if candidate.is_alive():
                    worker = candidate
                else:
                    stale.append(candidate)  # e.g. a background thread of the handler called os._exit
        for candidate in stale:
            self._retire(candidate)
        return worker

    def _put_back(self, arn: str, key: Hashable, worker: _Worker) -> None:
        with self._lock:
            pool = self._idle.setdefault(key, [])
            keep = not self._closed and self._current_key.get(arn) == key and len(pool) < self._max_idle
            if keep:
                pool.append(worker)
        if not keep:
            self._retire(worker)

    def _retire(self, worker: _Worker) -> None:
        worker.release()
        with self._lock:
            self._workers.discard(worker)

    def _start_worker(self, function: FunctionConfig) -> _Worker:
        code_dir = self._extract_code(function)
        log_fd = self._open_log_file()
        reply_read_fd, reply_write_fd = os.pipe()
        # -I -S: no site-packages, no PYTHON* variables, no script directory on sys.path; the worker adds the
        # function's code and the runtime libraries itself.
        argv = [sys.executable, "-I", "-S", str(WORKER_SCRIPT)]
        argv += ["--handler", function.handler, "--code-dir", str(code_dir), "--libs-dir", str(self._libs_dir)]
        argv += ["--reply-fd", str(reply_write_fd)]
        try:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=log_fd,
                stderr=log_fd,
                pass_fds=(reply_write_fd,),
                env=self._worker_environment(function, code_dir),
                cwd=code_dir,
                # Its own process group: close() can kill whatever the handler started, and Ctrl-C on the
                # endpoint reaches only the endpoint, which then closes the runtime.
                start_new_session=True,
            )
        except BaseException:
            os.close(reply_read_fd)
            os.close(log_fd)
            raise
        finally:
            # Only the worker may hold the write end, or its death would never show up as end-of-file.
            os.close(reply_write_fd)
        worker = _Worker(process, reply_read_fd, log_fd)
        with self._lock:
            closed = self._closed
            if not closed:
                self._workers.add(worker)
        if closed:
            worker.release()
            raise RuntimeClosedError("the Lambda runtime has been closed")
        return worker

    def _worker_environment(self, function: FunctionConfig, code_dir: Path) -> dict[str, str]:
        """Lambda's variables plus the function's own; of the parent's, only PATH, so no real credentials leak."""
        log_stream = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        credentials = function.credentials or Credentials(self._access_key_id, FAKE_CREDENTIAL, FAKE_CREDENTIAL)
        environment = {
            "PATH": os.environ.get("PATH", os.defpath),
            "TZ": ":UTC",
            "AWS_ENDPOINT_URL": function.endpoint_url,
            "AWS_REGION": function.region,
            "AWS_DEFAULT_REGION": function.region,
            "AWS_ACCESS_KEY_ID": credentials.access_key_id,
            "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
            "AWS_SESSION_TOKEN": credentials.session_token,
            # Without a HOME botocore still finds the user's ~/.aws files through the password database.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": f"{function.timeout_seconds:g}",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
            "LAMBDA_TASK_ROOT": str(code_dir),
            "LAMBDA_RUNTIME_DIR": str(self._libs_dir),
            "_HANDLER": function.handler,
        }
        environment.update(function.environment)
        return environment

    def _extract_code(self, function: FunctionConfig) -> Path:
        """The function's package extracted once per code version; concurrent first calls race safely."""
        # Lambda's CodeSha256 is base64 and may hold "/": hash it again for a safe directory name.
        target = self._code_root / hashlib.sha256(function.code_sha256.encode("utf-8")).hexdigest()[:32]
        if target.is_dir():
            return target
        staging = Path(tempfile.mkdtemp(prefix=".extracting-", dir=self._code_root))
        try:
            with zipfile.ZipFile(io.BytesIO(function.code_zip)) as archive:
                archive.extractall(staging)  # extractall drops absolute paths and "..", so nothing lands outside
        except zipfile.BadZipFile as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise CodePackageError(f"function {function.name}: the deployment package is not a zip file") from exc
        try:
            staging.rename(target)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)  # another invocation extracted the same code first
            if not target.is_dir():
                raise
        return target

    def _open_log_file(self) -> int:
        """An anonymous append-only file for one worker's stdout and stderr."""
        path = self._log_root / f"worker-{uuid.uuid4().hex}.log"
        # O_APPEND is shared with the worker's descriptors: after take_logs() truncates, writes restart at 0.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        os.unlink(path)  # the file disappears with its last descriptor, even if nobody calls close()
        return fd

    @staticmethod
    def _build_runtime_libs(libs_dir: Path, sdk_dir: Path) -> Path:
        """A directory of symlinks to the libraries the Lambda Python runtime provides, and nothing else.

        They come from ``sdk_dir``, never from the endpoint's own site-packages, whose boto3 is newer.
        """
        libs_dir.mkdir()
        for name in RUNTIME_LIBRARIES:
            # A package links its directory, a single-module library (six) its file.
            candidates = [sdk_dir / name, sdk_dir / f"{name}.py"]
            location = next((path for path in candidates if path.exists()), None)
            if location is None:
                raise RuntimeLibraryNotFoundError(
                    f"{name} is missing from the Lambda runtime's SDK in {sdk_dir}; handlers expect it from the "
                    f"runtime. Delete that directory so that the next endpoint start installs it again."
                )
            (libs_dir / location.name).symlink_to(location)
        return libs_dir
