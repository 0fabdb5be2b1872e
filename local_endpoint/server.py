"""The embedded local AWS endpoint: moto server on 127.0.0.1 with the gaps in ``moto_gaps`` bridged.

Serves S3, IAM, Lambda, Step Functions, EventBridge Scheduler, CloudFormation, STS and CloudWatch Logs on one port,
runs Lambda code for real, and fires schedules when they are due (``scheduler_bridge.py``). It never listens on
anything but the loopback interface. Tests may inject faults through its admin route (``faults.py``); without a
fault plan, which is how it starts, every request goes to moto untouched. Tests may also fill a bucket straight
into moto's backend through a second admin route (``bulk_fill.py``, a test aid), and fire a schedule now through a
third (``scheduler_bridge.py``).

Its terminal stays readable: moto's loggers (the ASL interpreter dumps every failed state's component tree) write to
a log file, and a failed execution is one line on stderr (its name, state machine, error and the first line of its
cause), also in that file.
"""

import ipaddress
import json
import logging
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.stepfunctions.parser.api import ExecutionStatus
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
from werkzeug.serving import BaseWSGIServer, make_server

from . import moto_gaps
from .access_log import AccessLog
from .bulk_fill import BulkFill
from .faults import FaultInjection, FaultPlan
from .lambda_runtime import WORKER_ACCESS_KEY_ID, LambdaRuntime
from .scheduler_bridge import SchedulerAdmin, SchedulerBridge

LOOPBACK = "127.0.0.1"
REGION = "us-east-1"
LOG_FILE_NAME = "endpoint.log"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
EXECUTIONS_LOGGER = logging.getLogger("local_endpoint.executions")
MAX_CAUSE_CHARACTERS = 300
"""A cause's first line is cut here on the terminal (a Lambda error's cause is one long JSON line)."""


class EndpointError(Exception):
    """The endpoint could not start (port in use, not a loopback address)."""


class Endpoint:
    """One endpoint process's server. ``start`` binds and returns the URL; ``stop`` ends it and its workers."""

    def __init__(
        self,
        port: int = 0,
        host: str = LOOPBACK,
        access_log: Path | None = None,
        log: Path | None = None,
        failures: TextIO | None = None,
    ):
        """``log``: where moto's and the endpoint's log records go (default: a file in the endpoint's temp dir,
        removed when it stops); ``failures``: a stream that gets one line per failed execution (default: none)."""
        if not ipaddress.ip_address(host).is_loopback:
            raise EndpointError(f"the endpoint listens on loopback only, not {host}")
        self._host = host
        self._port = port
        self._access_log = access_log
        self._log = log
        self._failures = failures
        self.log_path: Path | None = None
        self._resources = ExitStack()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://{self._host}:{self._server.server_port}"

    def start(self) -> str:
        workdir = Path(self._resources.enter_context(tempfile.TemporaryDirectory(prefix="sync-endpoint-")))
        try:
            self.log_path = self._log or workdir / LOG_FILE_NAME
            self._log_to(self.log_path)
        except OSError as error:
            self._resources.close()
            raise EndpointError(f"cannot write the log file {self._log}: {error.strerror}") from None
        faults = FaultPlan()
        runtime = LambdaRuntime(workdir, access_key_id=WORKER_ACCESS_KEY_ID, faults=faults)
        self._resources.callback(runtime.close)
        app: Callable[..., Iterable[bytes]] = DomainDispatcherApplication(create_backend_app)
        app = FaultInjection(app, faults)  # inside the access log, which so records the injected errors too
        app = BulkFill(app)  # never faulted or delayed: it stands in for a test's own setup
        schedules = SchedulerBridge()
        app = SchedulerAdmin(app, schedules)  # a test aid as well, never faulted
        if self._access_log is not None:
            stream: TextIO = self._resources.enter_context(open(self._access_log, "a", encoding="utf-8"))
            app = AccessLog(app, stream)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the access log, not werkzeug, records requests
        try:
            self._server = make_server(self._host, self._port, app, threaded=True, request_handler=MotoRequestHandler)
        except OSError as error:
            self._resources.close()
            raise EndpointError(f"cannot listen on {self._host}:{self._port}: {error.strerror}") from None
        moto_gaps.configure(runtime, self._server.server_port)
        schedules.start(self.url)
        self._resources.callback(schedules.stop)
        return self.url

    def _log_to(self, path: Path) -> None:
        """Every log record of the process to ``path`` (none to the terminal through logging's last resort), and
        failed executions also to ``failures``; undone on stop."""
        root = logging.getLogger()
        file_handler = logging.FileHandler(path, encoding="utf-8")
        file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(file_handler)
        self._resources.callback(root.removeHandler, file_handler)
        self._resources.callback(file_handler.close)
        if root.level > logging.WARNING:
            root.setLevel(logging.WARNING)
        _report_failed_executions()
        if self._failures is not None:
            terminal = logging.StreamHandler(self._failures)
            EXECUTIONS_LOGGER.addHandler(terminal)
            self._resources.callback(EXECUTIONS_LOGGER.removeHandler, terminal)

    def serve_forever(self) -> None:
        assert self._server is not None, "start() first"
        self._server.serve_forever()

    def start_in_thread(self) -> str:
        url = self.start()
        self._thread = threading.Thread(target=self.serve_forever, name="endpoint", daemon=True)
        self._thread.start()
        return url

    def stop(self) -> None:
        if self._server is not None:
            if self._thread is not None:
                self._server.shutdown()
                self._thread.join()
            self._server.server_close()
        self._resources.close()


def first_line(cause: str | None) -> str:
    """The first line of an execution's cause, or a Lambda error's ``errorMessage`` when the cause is its JSON."""
    text = (cause or "").strip()
    try:
        lambda_error = json.loads(text)
    except ValueError:
        lambda_error = None
    if isinstance(lambda_error, dict) and isinstance(lambda_error.get("errorMessage"), str):
        text = lambda_error["errorMessage"].strip()
    line = text.splitlines()[0] if text else "(no cause)"
    return line if len(line) <= MAX_CAUSE_CHARACTERS else line[: MAX_CAUSE_CHARACTERS - 3] + "..."


def _report_failed_executions() -> None:
    """Log one line per failed execution. moto sets an execution's final status in
    ``BaseExecutionWorkerCommunication.terminated``; that method is wrapped, once per process."""
    original = BaseExecutionWorkerCommunication.terminated
    if getattr(original, "reports_failures", False):
        return

    def terminated(self: BaseExecutionWorkerCommunication) -> None:
        original(self)
        execution = self.execution
        if execution.exec_status == ExecutionStatus.FAILED:
            EXECUTIONS_LOGGER.warning(
                "Execution %s of %s failed: %s: %s",
                execution.name,
                execution.state_machine.name,
                execution.error or "(no error)",
                first_line(execution.cause),
            )

    terminated.reports_failures = True  # type: ignore[attr-defined]
    BaseExecutionWorkerCommunication.terminated = terminated  # type: ignore[method-assign]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the endpoint as cleanly as Ctrl-C does


def serve(
    port: int = 0,
    access_log: Path | None = None,
    log: Path | None = None,
    out: TextIO = sys.stdout,
    failures: TextIO = sys.stderr,
) -> None:
    """Run until interrupted (Ctrl-C or SIGTERM), printing the AWS_ENDPOINT_URL to use first, then the exports and
    the log file, and an empty line; then one line per failed execution on ``failures``; then stop cleanly."""
    endpoint = Endpoint(port=port, access_log=access_log, log=log, failures=failures)
    url = endpoint.start()
    kept = (
        "  (a temporary file, removed when the endpoint stops; fab server --log FILE keeps it)\n" if log is None else ""
    )
    try:  # from here on, Ctrl-C or SIGTERM stops cleanly, even while the banner is being printed
        signal.signal(signal.SIGTERM, _interrupt)
        print(
            f"AWS_ENDPOINT_URL={url}\n"
            "Point fab and the AWS CLI at it, from any shell:\n"
            f"  export AWS_ENDPOINT_URL={url} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing\n"
            f"Failed executions are listed here, one line each; details in {endpoint.log_path}\n{kept}",
            file=out,
            flush=True,
        )
        endpoint.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        endpoint.stop()
        print("endpoint stopped", file=out, flush=True)
