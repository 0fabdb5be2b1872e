"""The embedded local AWS endpoint: moto server on 127.0.0.1 with the gaps in ``moto_gaps`` bridged.

Serves S3, IAM, Lambda, Step Functions, CloudFormation, STS and CloudWatch Logs on one port, and runs Lambda code
for real. It never listens on anything but the loopback interface. Tests may inject faults through its admin route
(``faults.py``); without a fault plan, which is how it starts, every request goes to moto untouched.
"""
import ipaddress
import logging
import signal
import sys
import tempfile
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from . import moto_gaps
from .access_log import AccessLog
from .faults import FaultInjection, FaultPlan
from .lambda_runtime import WORKER_ACCESS_KEY_ID, LambdaRuntime

LOOPBACK = "127.0.0.1"
REGION = "us-east-1"


class EndpointError(Exception):
    """The endpoint could not start (port in use, not a loopback address)."""


class Endpoint:
    """One endpoint process's server. ``start`` binds and returns the URL; ``stop`` ends it and its workers."""

    def __init__(self, port: int = 0, host: str = LOOPBACK, access_log: Path | None = None):
        if not ipaddress.ip_address(host).is_loopback:
            raise EndpointError(f"the endpoint listens on loopback only, not {host}")
        self._host = host
        self._port = port
        self._access_log = access_log
        self._resources = ExitStack()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://{self._host}:{self._server.server_port}"

    def start(self) -> str:
        workdir = Path(self._resources.enter_context(tempfile.TemporaryDirectory(prefix="sync-endpoint-")))
        faults = FaultPlan()
        runtime = LambdaRuntime(workdir, access_key_id=WORKER_ACCESS_KEY_ID, faults=faults)
        self._resources.callback(runtime.close)
        app = DomainDispatcherApplication(create_backend_app)
        app = FaultInjection(app, faults)  # inside the access log, which so records the injected errors too
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
        return self.url

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


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the endpoint as cleanly as Ctrl-C does


def serve(port: int = 0, access_log: Path | None = None, out: TextIO = sys.stdout) -> None:
    """Run until interrupted (Ctrl-C or SIGTERM), printing the AWS_ENDPOINT_URL to use, then stop cleanly."""
    endpoint = Endpoint(port=port, access_log=access_log)
    url = endpoint.start()
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"AWS_ENDPOINT_URL={url}", file=out, flush=True)
    try:
        endpoint.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        endpoint.stop()
        print("endpoint stopped", file=out, flush=True)
