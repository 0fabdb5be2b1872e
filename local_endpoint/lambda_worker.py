"""Child process that runs one Lambda function's handler, one invocation at a time, as the Lambda Python runtime does.

``lambda_runtime.LambdaRuntime`` starts it as ``python -I -S lambda_worker.py --handler ... --code-dir ...`` so that
nothing outside the standard library is importable until this module puts the function's code and the runtime
libraries (boto3 and friends) on ``sys.path``. The protocol, one JSON object per line:

- requests arrive on stdin: ``{"requestId", "event" (JSON text), "deadlineMs", "invokedFunctionArn"}``;
- replies leave on the file descriptor given by ``--reply-fd``: first ``{"ready": true}`` or
  ``{"ready": false, "initError": {...}}`` once the handler module is imported, then one
  ``{"payload": <JSON text>, "errored": bool}`` per request;
- stdout and stderr belong to the handler: the parent points both at a log file and reads it per invocation.

It must not import anything outside the standard library (it runs before ``sys.path`` holds more), write protocol
messages to stdout or stderr, or outlive its parent: it exits when stdin closes.
"""

import argparse
import decimal
import importlib
import io
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

LOG_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s"
"""Lambda's text log format, so local logs read like CloudWatch's."""
LOG_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
THIS_FILE = os.path.abspath(__file__)

Handler = Callable[[Any, "LambdaContext"], Any]


class RuntimeFault(Exception):
    """A failure the Lambda runtime itself reports, with a ``Runtime.*`` error type instead of a class name."""

    def __init__(self, error_type: str, message: str, stack_trace: list[str] | None = None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack_trace = stack_trace or []

    def as_error(self, request_id: str) -> dict[str, Any]:
        return make_error(self.message, self.error_type, self.stack_trace, request_id)


class LambdaContext:
    """The ``context`` argument: the fields of the Lambda Python runtime's LambdaContext that handlers use."""

    def __init__(self, request_id: str, invoked_function_arn: str, deadline_ms: int):
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        # A string, not an int: the real runtime copies it from the environment unconverted.
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def __repr__(self) -> str:
        return f"LambdaContext(aws_request_id={self.aws_request_id!r}, function_name={self.function_name!r})"


class RequestIdFilter(logging.Filter):
    """Stamps every log record with the request being served, which Lambda's log format prints."""

    def __init__(self) -> None:
        super().__init__()
        self.request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


def make_error(message: str, error_type: str, stack_trace: list[str], request_id: str) -> dict[str, Any]:
    """Lambda's error document; Step Functions' Retry and Catch match on ``errorType``."""
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": stack_trace}


def error_from_exception(exc: BaseException, request_id: str) -> dict[str, Any]:
    """The error document for an exception raised by user code: class name as type, frames below this file only."""
    frames = traceback.extract_tb(exc.__traceback__)
    while frames and os.path.abspath(frames[0].filename) == THIS_FILE:
        frames.pop(0)
    return make_error(str(exc), type(exc).__name__, traceback.format_list(frames), request_id)


def install_unbuffered_stdio() -> io.TextIOWrapper:
    """Make stdout and stderr unbuffered, as Lambda's runtime does, so output survives a crash or a kill.

    Returns the stdout stream, which the log handler keeps even if the handler later replaces ``sys.stdout``.
    """

    def unbuffered(fd: int) -> io.TextIOWrapper:
        # A raw FileIO under write_through is exactly what ``python -u`` builds: every write reaches the fd.
        raw = io.FileIO(fd, "w", closefd=False)
        return io.TextIOWrapper(raw, encoding="utf-8", errors="backslashreplace", write_through=True)

    sys.stdout = unbuffered(1)
    sys.stderr = unbuffered(2)
    return sys.stdout


def install_logging(stream: io.TextIOWrapper) -> RequestIdFilter:
    """A root handler in Lambda's format; the root level stays WARNING unless AWS_LAMBDA_LOG_LEVEL says otherwise."""
    formatter = logging.Formatter(LOG_FORMAT, LOG_DATE_FORMAT)
    formatter.converter = time.gmtime  # the trailing "Z" in the format promises UTC
    request_filter = RequestIdFilter()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(request_filter)
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in logging.getLevelNamesMapping():
        root.setLevel(level)
    return request_filter


def detach_stdin() -> io.BufferedReader:
    """Keep the request pipe for ourselves and give the handler an empty stdin, so it cannot eat a request."""
    requests = os.fdopen(os.dup(0), "rb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    return requests


def load_handler(handler_name: str) -> Handler:
    """Import the handler's module and find the function, raising the faults Lambda's runtime raises."""
    try:
        module_name, function_name = handler_name.rsplit(".", 1)
    except ValueError as exc:
        raise RuntimeFault("Runtime.MalformedHandlerName", f"Bad handler '{handler_name}': {exc}") from exc
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise RuntimeFault("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from exc
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise RuntimeFault(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}", trace
        ) from exc
    try:
        return getattr(module, function_name)
    except AttributeError as exc:
        raise RuntimeFault(
            "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'"
        ) from exc


def encode_decimal(value: Any) -> Any:
    """Lambda's marshaller writes Decimals (as DynamoDB returns them) as JSON numbers; mirror it."""
    if isinstance(value, decimal.Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return int(value)
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def marshal_response(result: Any) -> str:
    if isinstance(result, bytes):
        # Lambda passes bytes through untouched; the parent speaks text, so decode rather than refuse.
        return result.decode("utf-8", errors="replace")
    try:
        # ensure_ascii=False: the python3.12 runtime returns non-ASCII characters as they are.
        return json.dumps(result, default=encode_decimal, ensure_ascii=False)
    except Exception as exc:  # TypeError, ValueError (circular reference), or anything a __str__ raises
        raise RuntimeFault("Runtime.MarshalError", f"Unable to marshal response: {exc}") from exc


def log_error(error: dict[str, Any], stream: io.TextIOWrapper) -> None:
    """Log an error document the way Lambda's runtime does, so the traceback shows up in the logs."""
    lines = [f"[ERROR] {error['errorType']}: {error['errorMessage']}"]
    if error["stackTrace"]:
        lines.append("Traceback (most recent call last):")
        lines.extend(line for element in error["stackTrace"] for line in element.splitlines())
    stream.write("\n".join(lines) + "\n")


def handle_request(
    handler: Handler, request: dict[str, Any], request_filter: RequestIdFilter, stream: io.TextIOWrapper
) -> dict[str, Any]:
    """Run the handler for one request and build the reply; never raises for anything user code does."""
    request_id = request["requestId"]
    request_filter.request_id = request_id
    context = LambdaContext(request_id, request["invokedFunctionArn"], request["deadlineMs"])
    try:
        try:
            event = json.loads(request["event"])
        except ValueError as exc:
            raise RuntimeFault("Runtime.UnmarshalError", f"Unable to unmarshal input: {exc}") from exc
        payload = marshal_response(handler(event, context))
    except RuntimeFault as fault:
        error = fault.as_error(request_id)
    except Exception as exc:  # user code failed: report it, keep serving (Lambda reuses the environment)
        error = error_from_exception(exc, request_id)
    else:
        return {"payload": payload, "errored": False}
    log_error(error, stream)
    return {"payload": json.dumps(error, ensure_ascii=False), "errored": True}


def send(reply_fd: int, message: dict[str, Any]) -> None:
    data = (json.dumps(message, ensure_ascii=False) + "\n").encode("utf-8")
    while data:
        data = data[os.write(reply_fd, data) :]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run one Lambda function's handler for requests read from stdin.")
    parser.add_argument("--handler", required=True, help='"module.function", module possibly dotted')
    parser.add_argument("--code-dir", required=True, help="the extracted deployment package (LAMBDA_TASK_ROOT)")
    parser.add_argument("--libs-dir", required=True, help="what the Lambda runtime provides: boto3 and friends")
    parser.add_argument("--reply-fd", required=True, type=int, help="file descriptor for replies")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    # No memory limit here: the parent measures resident memory against MemorySize, as Lambda's sandbox counts it.
    # An address-space cap would count what threads only reserve (stacks, malloc arenas) and fail handlers early.
    # A process the handler starts (os.system, ...) must not hold the reply pipe: the parent would never see this
    # worker's death as end-of-file.
    os.set_inheritable(args.reply_fd, False)
    # The function's own code wins over the runtime's copies, as /var/task precedes /var/runtime on Lambda.
    sys.path[0:0] = [args.code_dir, args.libs_dir]
    requests = detach_stdin()
    stream = install_unbuffered_stdio()
    request_filter = install_logging(stream)

    init_error: dict[str, Any] | None
    try:
        handler = load_handler(args.handler)
    except RuntimeFault as fault:
        init_error = fault.as_error("")
    except Exception as exc:  # the module raised while importing: reported under its own class name
        init_error = error_from_exception(exc, "")
    else:
        init_error = None
    if init_error is not None:
        # Lambda tears down an environment whose init failed; exiting makes sure this one is never reused.
        log_error(init_error, stream)
        send(args.reply_fd, {"ready": False, "initError": init_error})
        return 1
    send(args.reply_fd, {"ready": True})

    for line in requests:
        reply = handle_request(handler, json.loads(line), request_filter, stream)
        send(args.reply_fd, reply)
    return 0  # stdin closed: the parent is gone or has let this worker go


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
