"""Fault injection for the embedded endpoint: S3 error responses and Lambda crashes, timeouts and delays, so the
end-to-end tests can show that a sync survives what AWS does to it now and then.

Off by default. A plan is set and cleared at run time through an admin route on the endpoint itself (which
listens on 127.0.0.1 only); the Lambda code and the deploy toolkit know nothing of it: faults happen where AWS's
would, at the endpoint. It must never change a request it lets through, and the admin route never reaches moto
(no bucket name can start with ``_``, so the path cannot be an S3 request either).

The admin route, JSON in and out:

- ``POST /_endpoint/faults`` with a plan replaces the plan (and its counters); answers 200 with the plan as
  ``GET`` shows it, or 400 with ``{"error": "<what is wrong>"}`` and the old plan left in force.
- ``GET /_endpoint/faults``: the plan, and what has been injected so far.
- ``DELETE /_endpoint/faults``: no faults from now on; answers 200 with what had been injected.

A plan, every part optional::

    {"s3": {"rate": 0.1, "errors": ["SlowDown", "InternalError"], "delaySeconds": 0.05,
            "accessKeyId": "lambda-worker", "operations": ["CopyObject", "UploadPartCopy"], "seed": 7},
     "lambda": [{"function": "-copy_keys", "fault": "crash", "afterSeconds": 0.5, "count": 1, "skip": 0},
                {"function": "-list_bucket", "fault": "timeout", "afterSeconds": 0.2, "count": 1},
                {"function": "-copy_keys", "fault": "delay", "afterSeconds": 1}]}

Faults:

1. **S3 error responses and slow S3** (``"s3"``), for the S3 requests signed with the access key id
   ``accessKeyId``, limited to ``operations`` when given (S3 operation names as ``access_log.operation_of`` gives
   them). The default, ``lambda-worker``, means the requests of Lambda code: every key the endpoint issued to a
   Lambda worker (each function's execution role has its own, ``iam_enforcement.is_lambda_worker_key``), and the
   key a runtime without role credentials gives its workers; neither the test's clients nor Step Functions'
   interpreter (which signs as the state machine's role and never retries).
   - A fraction ``rate`` (0 to 1, default 0) of them is answered, without reaching moto, with one of ``errors``
     picked at random: ``SlowDown`` (503) or ``InternalError`` (500, both by default), as S3's XML error
     document (no body for HEAD), which botocore's retry modes retry.
   - Each of them waits ``delaySeconds`` (default 0) before it is answered or let through: slow S3, so that an
     injected Lambda crash lands in the middle of a batch rather than after it.
   ``seed`` (default 0) seeds the one random generator the decisions draw from in the order requests arrive, so
   a run with the same requests in the same order gets the same errors.
2. **Lambda invocation faults** (``"lambda"``), each rule for the invocations of functions whose name ends with
   ``function`` (``-copy_keys`` matches ``app-copy_keys``); the first rule that matches and has invocations
   left decides about an invocation. It lets the first ``skip`` of them through untouched (default 0), later
   rules included, then takes ``count`` of them (default 1; ``null``: all from then on).
   - ``crash``: the worker process is killed ``afterSeconds`` into the invocation (or as it answers, if it
     answers sooner: its work is done but its answer is lost) and the invocation fails with
     ``Runtime.ExitError``, as when a handler dies of an out-of-memory kill. A function whose own Timeout is
     shorter times out first, as it would anyway.
   - ``timeout``: the same, but the invocation fails with ``Sandbox.Timedout``: a Lambda timeout made short,
     since a deployed function's own timeout (900 s) is too long to wait for in a test.
   - ``delay``: the invocation waits ``afterSeconds`` before the handler gets its event, then runs normally; a
     slow invocation, to catch an execution half-way.
"""

import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .access_log import operation_of
from .iam_enforcement import is_lambda_worker_key
from .lambda_runtime import FAULT_KINDS, WORKER_ACCESS_KEY_ID, InvocationFault

ADMIN_PATH = "/_endpoint/faults"
ACCESS_KEY_ID = re.compile(r"Credential=([^/,\s]+)/")
MAX_ADMIN_BODY_BYTES = 64 * 1024
DRAIN_CHUNK_BYTES = 64 * 1024

S3_ERRORS = {
    "SlowDown": ("503 Slow Down", "Please reduce your request rate."),
    "InternalError": ("500 Internal Server Error", "We encountered an internal error. Please try again."),
}
"""The S3 errors that can be injected: status line and S3's own message."""


class FaultPlanError(Exception):
    """A plan posted to the admin route is malformed; the message says which field and why."""


@dataclass(frozen=True)
class S3Faults:
    rate: float
    errors: tuple[str, ...]
    delay_seconds: float
    access_key_id: str
    operations: frozenset[str] | None
    """None: every operation."""
    seed: int

    def to_json(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "errors": list(self.errors),
            "delaySeconds": self.delay_seconds,
            "accessKeyId": self.access_key_id,
            "operations": sorted(self.operations) if self.operations is not None else None,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class LambdaFaultRule:
    function_suffix: str
    fault: InvocationFault
    count: int | None
    """How many invocations it takes; None: all."""
    skip: int
    """How many matching invocations it lets through before it takes any."""

    def to_json(self) -> dict[str, Any]:
        return {
            "function": self.function_suffix,
            "fault": self.fault.kind,
            "afterSeconds": self.fault.after_seconds,
            "count": self.count,
            "skip": self.skip,
        }


def _number(value: Any, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise FaultPlanError(f"{where} must be a number from {low:g} to {high:g}, not {value!r}")
    return float(value)


def _fields(document: Any, where: str, known: set[str]) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise FaultPlanError(f"{where} must be an object")
    unknown = sorted(set(document) - known)
    if unknown:
        raise FaultPlanError(f"{where}: unknown field {unknown[0]!r}")
    return document


def parse_s3_faults(document: Any) -> S3Faults:
    fields = _fields(document, "s3", {"rate", "errors", "delaySeconds", "accessKeyId", "operations", "seed"})
    errors = fields.get("errors", sorted(S3_ERRORS))
    if not isinstance(errors, list) or not errors or any(error not in S3_ERRORS for error in errors):
        raise FaultPlanError(f"s3.errors must be a non-empty list of {sorted(S3_ERRORS)}, not {errors!r}")
    access_key_id = fields.get("accessKeyId", WORKER_ACCESS_KEY_ID)
    if not isinstance(access_key_id, str) or not access_key_id:
        raise FaultPlanError(f"s3.accessKeyId must be an access key id, not {access_key_id!r}")
    operations = fields.get("operations")
    if operations is not None and (
        not isinstance(operations, list) or not all(isinstance(o, str) and o for o in operations)
    ):
        raise FaultPlanError(f"s3.operations must be a list of S3 operation names, not {operations!r}")
    seed = fields.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise FaultPlanError(f"s3.seed must be a whole number, not {seed!r}")
    return S3Faults(
        rate=_number(fields.get("rate", 0), "s3.rate", 0, 1),
        errors=tuple(errors),
        delay_seconds=_number(fields.get("delaySeconds", 0), "s3.delaySeconds", 0, 60),
        access_key_id=access_key_id,
        operations=frozenset(operations) if operations is not None else None,
        seed=seed,
    )


def parse_lambda_rule(document: Any, where: str) -> LambdaFaultRule:
    fields = _fields(document, where, {"function", "fault", "afterSeconds", "count", "skip"})
    suffix = fields.get("function")
    if not isinstance(suffix, str) or not suffix:
        raise FaultPlanError(f"{where}.function must be the end of a function name, such as '-copy_keys'")
    kind = fields.get("fault")
    if kind not in FAULT_KINDS:
        raise FaultPlanError(f"{where}.fault must be one of {list(FAULT_KINDS)}, not {kind!r}")
    after_seconds = _number(fields.get("afterSeconds", 0), f"{where}.afterSeconds", 0, 900)
    count = fields.get("count", 1)
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise FaultPlanError(f"{where}.count must be a whole number from 1, or null for every invocation")
    skip = fields.get("skip", 0)
    if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
        raise FaultPlanError(f"{where}.skip must be a whole number from 0, not {skip!r}")
    return LambdaFaultRule(suffix, InvocationFault(kind, after_seconds), count, skip)


class FaultPlan:
    """The endpoint's one plan, shared by the S3 middleware and the Lambda runtime's threads; empty at first.

    The Lambda runtime asks it ``next_fault(function_name)`` once per invocation (``lambda_runtime.InvocationFaults``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._s3: S3Faults | None = None
        self._random = random.Random(0)
        self._rules: list[LambdaFaultRule] = []
        self._left: list[int | None] = []
        self._to_skip: list[int] = []
        self._injected: dict[str, int] = {}

    def set(self, document: Any) -> None:
        """Replace the plan with ``document`` (see the module docstring); raises FaultPlanError, changing nothing."""
        fields = _fields(document, "the plan", {"s3", "lambda"})
        s3 = parse_s3_faults(fields["s3"]) if fields.get("s3") is not None else None
        rules = fields.get("lambda") or []
        if not isinstance(rules, list):
            raise FaultPlanError("lambda must be a list of rules")
        parsed = [parse_lambda_rule(rule, f"lambda[{index}]") for index, rule in enumerate(rules)]
        with self._lock:
            self._s3 = s3
            self._random = random.Random(s3.seed if s3 else 0)
            self._rules = parsed
            self._left = [rule.count for rule in parsed]
            self._to_skip = [rule.skip for rule in parsed]
            self._injected = {}

    def clear(self) -> None:
        self.set({})

    def describe(self) -> dict[str, Any]:
        """The plan in the admin route's JSON, with ``injected``: how often each fault was injected so far
        (``s3:CopyObject:SlowDown``, ``lambda:crash:-copy_keys``, ...) and ``left``: invocations each rule may
        still take."""
        with self._lock:
            return {
                "s3": self._s3.to_json() if self._s3 else None,
                "lambda": [rule.to_json() for rule in self._rules],
                "left": list(self._left),
                "injected": dict(sorted(self._injected.items())),
            }

    def s3_fault_for(self, access_key_id: str, operation: str) -> tuple[float, str | None]:
        """(seconds to hold the request back, the S3 error to answer it with or None to let it through)."""
        with self._lock:
            faults = self._s3
            if faults is None or not _targets(faults.access_key_id, access_key_id):
                return 0, None
            if faults.operations is not None and operation not in faults.operations:
                return 0, None
            # Two draws per matching request, always: the sequence does not depend on which requests failed.
            hit, pick = self._random.random(), self._random.choice(faults.errors)
            if hit >= faults.rate:
                return faults.delay_seconds, None
            self._count(f"s3:{operation}:{pick}")
            return faults.delay_seconds, pick

    def next_fault(self, function_name: str) -> InvocationFault | None:
        with self._lock:
            for index, rule in enumerate(self._rules):
                left = self._left[index]
                if function_name.endswith(rule.function_suffix) and left != 0:
                    if self._to_skip[index]:
                        self._to_skip[index] -= 1
                        return None  # let through untouched, and by every later rule too
                    if left is not None:
                        self._left[index] = left - 1
                    self._count(f"lambda:{rule.fault.kind}:{rule.function_suffix}")
                    return rule.fault
        return None

    def _count(self, name: str) -> None:
        self._injected[name] = self._injected.get(name, 0) + 1


def _targets(planned: str, access_key_id: str) -> bool:
    """Whether a plan for ``planned`` covers a request signed with ``access_key_id``."""
    if planned == WORKER_ACCESS_KEY_ID:  # "Lambda code", whatever role each function runs as
        return access_key_id == WORKER_ACCESS_KEY_ID or is_lambda_worker_key(access_key_id)
    return access_key_id == planned


def access_key_id_of(environ: dict[str, Any]) -> str:
    """The access key id a SigV4 request was signed with (``Credential=<key>/<date>/...``), or "" if unsigned."""
    match = ACCESS_KEY_ID.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(1) if match else ""


def s3_error_document(code: str, resource: str, request_id: str) -> bytes:
    message = S3_ERRORS[code][1]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message><Resource>{_xml_escape(resource)}</Resource>"
        f"<RequestId>{request_id}</RequestId><HostId>fault-injection</HostId></Error>"
    ).encode()


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class FaultInjection:
    """WSGI middleware in front of moto: serves the admin route and answers the planned S3 errors itself."""

    def __init__(self, app: Callable[..., Iterable[bytes]], plan: FaultPlan):
        self._app = app
        self._plan = plan

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") == ADMIN_PATH:
            return self._admin(environ, start_response)
        service, operation = operation_of(environ, b"")  # S3 names its operation without the body
        if service == "s3":
            delay_seconds, error = self._plan.s3_fault_for(access_key_id_of(environ), operation)
            if delay_seconds:
                time.sleep(delay_seconds)  # this request's server thread only
            if error is not None:
                return self._s3_error(environ, start_response, error)
        return self._app(environ, start_response)

    def _s3_error(self, environ: dict[str, Any], start_response: Callable[..., Any], code: str) -> Iterable[bytes]:
        _drain(environ)  # the client may still be sending its body; let it finish before the answer
        request_id = uuid.uuid4().hex[:16].upper()
        body = s3_error_document(code, environ.get("PATH_INFO", ""), request_id)
        if environ.get("REQUEST_METHOD") == "HEAD":
            body = b""  # S3 answers HEAD errors without a body; botocore goes by the status
        start_response(
            S3_ERRORS[code][0],
            [("Content-Type", "application/xml"), ("x-amz-request-id", request_id), ("Content-Length", str(len(body)))],
        )
        return [body]

    def _admin(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        if method == "GET":
            return _json(start_response, "200 OK", self._plan.describe())
        if method == "DELETE":
            injected = self._plan.describe()["injected"]
            self._plan.clear()
            return _json(start_response, "200 OK", {"cleared": True, "injected": injected})
        if method != "POST":
            return _json(start_response, "405 Method Not Allowed", {"error": "use GET, POST or DELETE"})
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_ADMIN_BODY_BYTES:
            _drain(environ)
            return _json(start_response, "400 Bad Request", {"error": "the plan is too long"})
        try:
            self._plan.set(json.loads(environ["wsgi.input"].read(length) or b"{}"))
        except ValueError as error:  # FaultPlanError is not one; json's error is
            return _json(start_response, "400 Bad Request", {"error": f"not JSON: {error}"})
        except FaultPlanError as error:
            return _json(start_response, "400 Bad Request", {"error": str(error)})
        return _json(start_response, "200 OK", self._plan.describe())


def _json(start_response: Callable[..., Any], status: str, document: dict[str, Any]) -> Iterable[bytes]:
    body = json.dumps(document).encode("utf-8")
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _drain(environ: dict[str, Any]) -> None:
    stream = environ.get("wsgi.input")
    if stream is None:
        return
    left = int(environ.get("CONTENT_LENGTH") or 0)
    if environ.get("wsgi.input_terminated"):  # chunked: read to its end
        while stream.read(DRAIN_CHUNK_BYTES):
            pass
        return
    while left > 0:
        chunk = stream.read(min(left, DRAIN_CHUNK_BYTES))
        if not chunk:
            return
        left -= len(chunk)
