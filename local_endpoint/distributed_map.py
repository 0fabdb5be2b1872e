"""Gap 10 (moto_gaps): Distributed Map as AWS runs it: Map Run failure thresholds, aborted children, the
256 KiB limit on the Map's output, an S3 ItemReader that reads every page, and ResultWriter.

This module patches moto's vendored ASL interpreter (``moto.stepfunctions.parser``) inside the endpoint process
only. It must not touch the deploy toolkit or the Lambda code, and must not patch ``boto_client_for`` (the IAM
bridge owns the credentials Step Functions' own S3 calls carry): it only uses the interpreter's own S3 clients.

Rules bridged, each named and tested in tests/endpoint/test_distributed_map.py:

1. ``definition-forms``: every ``ToleratedFailurePercentage`` AWS accepts is accepted. moto's grammar takes only a
   decimal literal (``5.0``) and refuses ``0``, ``5`` or ``100`` at CreateStateMachine; the parser entry
   (``AmazonStateLanguageParser.parse``) now sees integers as floats. A static percentage outside 0..100 or a
   negative ``ToleratedFailureCount`` is refused as AWS refuses it (``InvalidDefinition``).
2. ``failure-threshold``: a Map Run fails when its failed or timed-out children exceed the threshold: with neither
   ``ToleratedFailureCount(Path)`` nor ``ToleratedFailurePercentage(Path)`` any failure fails it; with either, the
   run fails when the count is exceeded or when failures / all items * 100 exceeds the percentage. The Map state
   then fails with ``States.ExceedToleratedFailureThreshold`` ("The specified tolerated failure threshold was
   exceeded"), which Retry and Catch match like any error. moto reported such a run as SUCCEEDED
   (``DistributedItemProcessorWorker._eval_job``, ``DistributedIterationComponent._map_run``).
3. ``abort-children``: once the threshold is exceeded no further child starts, children still running are stopped
   and counted as aborted and their outputs are discarded; DescribeMapRun says FAILED with the counts (children
   never started stay ``pending``). An in-flight Lambda invocation finishes on its own, as on AWS.
4. ``map-output-limit``: the Map's collected output (the array of its children's outputs, in item order) is held
   to Step Functions' 256 KiB payload limit (262,144 UTF-8 bytes of its JSON) whatever its ``ResultPath``:
   over it, the state fails with ``States.DataLimitExceeded``. moto checked only the state's output, so
   ``ResultPath: null`` let any size through.
5. ``states-all``: ``States.ALL`` in a Retry or Catch does not match ``States.DataLimitExceeded`` or
   ``States.Runtime`` (moto's ``ErrorEqualsDecl`` matched everything); naming the error explicitly still does.
6. ``item-reader-pages``: the ``arn:aws:states:::s3:listObjectsV2`` ItemReader pages with ContinuationToken
   through every object (moto made one call: 1,000 keys), stops at ``ReaderConfig.MaxItems``, gives an empty
   item list for a prefix with no object (moto raised ``'Contents'``), yields per object the listing's
   ``Key``, ``Size``, ``ETag``, ``LastModified`` (ISO 8601 string; moto passed a datetime that broke
   DescribeExecution) and ``StorageClass``, and fails with ``States.ItemReaderFailed`` when S3 refuses the
   listing (moto: ``States.Runtime``). A ``ReaderConfig`` without ``InputType`` is accepted for a listing.
7. ``result-writer``: ``ResultWriter`` (``arn:aws:states:::s3:putObject`` with ``Bucket`` and ``Prefix``) writes
   ``<Prefix>/<map run id>/SUCCEEDED_0.json``, ``FAILED_0.json`` and ``PENDING_0.json`` (each only when it has
   an entry) and ``manifest.json`` (``DestinationBucket``, ``MapRunArn``, ``ResultFiles`` by status, each a list
   of ``{"Key", "Size"}``), and the Map's output is ``{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}``
   of that run (moto wrote an empty manifest and picked the execution's last map run). A failed write fails
   the state with ``States.ResultWriterFailed``. Paths in its ``Parameters`` (``Bucket.$``, ``Prefix.$``) are
   read from the Map state's input, as the ItemReader's are (moto read them from the collected outputs).

Still different from AWS: children are not separate executions (no ListExecutions with ``mapRunArn``, no child
history); a tolerated failed child's place in the output array is ``null``; ``WriterConfig`` and ``ItemBatcher``
are refused by moto's grammar; the legacy ``Iterator`` field in DISTRIBUTED mode keeps moto's behaviour.
"""

from __future__ import annotations

import datetime
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from botocore.exceptions import ClientError
from moto.stepfunctions.parser.api import (
    ExecutionFailedEventDetails,
    HistoryEventType,
    MapRunFailedEventDetails,
    MapRunStartedEventDetails,
    MapRunStatus,
)
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import EvalTimeoutError
from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval.resource_eval_s3 import (
    ResourceEvalS3 as ItemReaderS3,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.item_reader_decl import ItemReader
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (
    DistributedIterationComponent,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.distributed_item_processor_worker import (  # noqa: E501
    DistributedItemProcessorWorker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.map_run_record import (
    MapRunRecord,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.iteration_worker import IterationWorker
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.job import Job, JobPool
from moto.stepfunctions.parser.asl.component.state.exec.state_map.max_concurrency import (
    DEFAULT_MAX_CONCURRENCY_VALUE,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3 import (  # noqa: E501
    ResourceEvalS3 as ResultWriterS3,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.result_writer_decl import ResultWriter
from moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map import StateMap
from moto.stepfunctions.parser.asl.component.state.exec.state_map.tolerated_failure import (
    ToleratedFailureCountDecl,
    ToleratedFailurePercentageDecl,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import StateCredentials
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceRuntimePart
from moto.stepfunctions.parser.asl.component.state.state_props import StateProps
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
from moto.stepfunctions.parser.asl.eval.program_state import ProgramError, ProgramStopped, ProgramTimedOut
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser, ASLParserException

EXCEEDED_CAUSE = "The specified tolerated failure threshold was exceeded"
ABORTED_CAUSE = "The Map Run failed: its tolerated failure threshold was exceeded"
MAX_PAYLOAD_BYTES = 262_144  # Step Functions' 256 KiB quota on a state's input or output, as UTF-8 JSON
MAX_TOLERATED_PERCENTAGE = 100.0
RESULT_FILE_INDEX = 0  # one file per status: AWS starts a second only past 5 GB of results
RESULT_STATUSES = ("SUCCEEDED", "FAILED", "PENDING")
LIST_OBJECTS_V2_ACTION = "listobjectsv2"
MAX_ITEMS_DEFAULT = 100_000_000  # ReaderConfig.MaxItems' ceiling, and what a reader without MaxItems reads
UNCATCHABLE_BY_ALL = frozenset({StatesErrorNameType.StatesStatesDataLimitExceeded, StatesErrorNameType.StatesRuntime})

SUCCEEDED, FAILED, TIMED_OUT, ABORTED = "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"


# --- which Map state and which Map Run this thread is evaluating -----------------------------------------------
# moto evaluates a Map state's item reader, its Map Run and its ResultWriter on one thread (children run on
# others), so a thread-local stack tells each of them its own state and run, nested Maps included.

_current = threading.local()


def _stack(name: str) -> list[Any]:
    if not hasattr(_current, name):
        setattr(_current, name, [])
    return getattr(_current, name)


def _current_state() -> StateMap | None:
    states = _stack("states")
    return states[-1] if states else None


def _current_run() -> MapRun | None:
    runs = _stack("runs")
    return runs[-1] if runs else None


def _now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _event_details(**details: Any) -> EventDetails:
    """One event's details: moto declares EventDetails with every key required, yet an event carries one, as
    moto's own states build it."""
    return cast(EventDetails, details)


def _failure(env: Environment, error: StatesErrorNameType, cause: str) -> FailureEventException:
    """A state failure Retry and Catch see as ``error`` (event type as moto's own catchable state errors)."""
    return FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=error),
            event_type=HistoryEventType.TaskFailed,
            event_details=_event_details(
                executionFailedEventDetails=ExecutionFailedEventDetails(error=error.to_name(), cause=cause)
            ),
        )
    )


# --- rule 1: definition forms -------------------------------------------------------------------------------------


class InvalidToleranceError(ASLParserException):
    """A static failure threshold AWS refuses at CreateStateMachine."""


def _map_states(node: Any) -> Iterator[dict[str, Any]]:
    """Every Map state of a definition, nested ones included."""
    if isinstance(node, dict):
        if node.get("Type") == "Map":
            yield node
        for value in node.values():
            yield from _map_states(value)
    elif isinstance(node, list):
        for value in node:
            yield from _map_states(value)


def normalise_definition(definition: str) -> str:
    """The definition as moto's grammar can read it: integer percentages become floats. Raises
    InvalidToleranceError for a percentage outside 0..100 or a negative count, as AWS refuses them."""
    try:
        document = json.loads(definition)
    except ValueError:
        return definition  # not JSON: moto's own parser reports it
    changed = False
    for state in _map_states(document):
        percentage = state.get("ToleratedFailurePercentage")
        count = state.get("ToleratedFailureCount")
        if isinstance(percentage, (int, float)) and not isinstance(percentage, bool):
            if not 0 <= percentage <= MAX_TOLERATED_PERCENTAGE:
                raise InvalidToleranceError(["ToleratedFailurePercentage must be between 0 and 100"])
            if isinstance(percentage, int):
                state["ToleratedFailurePercentage"] = float(percentage)
                changed = True
        if isinstance(count, int) and not isinstance(count, bool) and count < 0:
            raise InvalidToleranceError(["ToleratedFailureCount must be a non-negative integer"])
        reader = state.get("ItemReader")
        config = reader.get("ReaderConfig") if isinstance(reader, dict) else None
        if (
            isinstance(reader, dict)
            and isinstance(config, dict)
            and "InputType" not in config
            and str(reader.get("Resource", "")).lower().endswith(":s3:listobjectsv2")
        ):
            # A listing has no InputType, but moto's grammar wants one; the listing reader below ignores it.
            config["InputType"] = "JSON"
            changed = True
    return json.dumps(document) if changed else definition


def _patch_definition_forms() -> None:
    original: Callable[[str], Any] = AmazonStateLanguageParser.parse

    def parse(definition: str) -> Any:
        return original(normalise_definition(definition))

    AmazonStateLanguageParser.parse = staticmethod(parse)  # type: ignore[method-assign]


# --- rules 2 and 3: the Map Run, its threshold and its aborted children -------------------------------------------


@dataclass
class ChildResult:
    """How one child execution ended, for the ResultWriter's files."""

    name: str
    input: Any
    status: str
    start_date: str
    stop_date: str = ""
    output: Any = None
    error: str | None = None
    cause: str | None = None


@dataclass
class MapRun:
    """One Map Run's children as they start and end, and its failure threshold."""

    record: MapRunRecord
    items: list[Any]
    count_declared: bool
    percentage_declared: bool
    pool: JobPool | None = None
    exceeded: bool = False
    results: dict[int, ChildResult] = field(default_factory=dict)
    running: dict[int, Environment] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, job: Job, frame: Environment) -> bool:
        """Register a starting child; False when the run has already failed (the child must not start)."""
        with self.lock:
            if self.exceeded:
                return False
            self.running[job.job_index] = frame
            for counter in (self.record.item_counter, self.record.execution_counter):
                counter.pending.offset(-1)
                counter.running.count()
            return True

    def finish(self, job: Job, result: ChildResult) -> None:
        """Record how a child ended; a failure past the threshold fails the run and aborts the others."""
        with self.lock:
            if self.running.pop(job.job_index, None) is None:
                return  # aborted when the run failed: already counted, its output discarded
            self.results[job.job_index] = result
            self._count(result.status)
            if result.status in (FAILED, TIMED_OUT) and self._is_over_threshold():
                self._fail()

    def _count(self, status: str) -> None:
        for counter in (self.record.item_counter, self.record.execution_counter):
            counter.running.offset(-1)
            {
                SUCCEEDED: counter.succeeded,
                FAILED: counter.failed,
                TIMED_OUT: counter.timed_out,
                ABORTED: counter.aborted,
            }[status].count()
            if status == SUCCEEDED:
                counter.results_written.count()

    def _is_over_threshold(self) -> bool:
        counts = self.record.item_counter
        failures = counts.failed.get() + counts.timed_out.get()
        if not self.count_declared and not self.percentage_declared:
            return failures > 0
        over_count = self.count_declared and failures > self.record.tolerated_failure_count
        over_percentage = (
            self.percentage_declared
            and bool(self.items)
            and (failures * 100.0 / len(self.items) > self.record.tolerated_failure_percentage)
        )
        return over_count or over_percentage

    def _fail(self) -> None:
        """No child starts from now on; running ones are stopped and counted as aborted; the Map Run ends."""
        self.exceeded = True
        stop_date = datetime.datetime.now(tz=datetime.UTC)
        for index, frame in list(self.running.items()):
            frame.set_stop(stop_date=stop_date, cause=ABORTED_CAUSE, error=None)
            self.results[index] = ChildResult(
                name=uuid.uuid4().hex, input=self.items[index], status=ABORTED, start_date=_now(), stop_date=_now()
            )
            self._count(ABORTED)
        self.running.clear()
        if self.pool is not None:
            self.pool._termination_event.set()  # the Map state fails now; stopped children end on their own


class GatedJobPool(JobPool):
    """moto's job pool, which hands out no job once its Map Run has failed and then counts as terminated."""

    def __init__(self, run: MapRun, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.run = run

    def next_job(self) -> Any:
        if self.run.exceeded:
            return None
        return super().next_job()

    def _is_terminated(self) -> bool:
        return self.run.exceeded or super()._is_terminated()


def _declared(state: StateMap | None, name: str) -> bool:
    return bool(state is not None and getattr(state, name, False))


def _patch_state_map() -> None:
    """Remember which failure thresholds a Map declares, and which Map this thread is evaluating."""
    original_props = StateMap.from_state_props
    original_eval = StateMap._eval_execution

    def from_state_props(self: StateMap, state_props: StateProps) -> None:
        original_props(self, state_props)
        # attr-defined: attributes of our own on moto's object, read back by name (_declared).
        self.tolerated_count_declared = state_props.get(ToleratedFailureCountDecl) is not None  # type: ignore[attr-defined]
        self.tolerated_percentage_declared = state_props.get(ToleratedFailurePercentageDecl) is not None  # type: ignore[attr-defined]

    def eval_execution(self: StateMap, env: Environment) -> None:
        states = _stack("states")
        states.append(self)
        try:
            original_eval(self, env)
        finally:
            states.pop()

    StateMap.from_state_props = from_state_props  # type: ignore[method-assign]
    StateMap._eval_execution = eval_execution  # type: ignore[method-assign]


def _map_run(self: DistributedIterationComponent, env: Environment, eval_input: Any) -> None:
    """moto's Map Run with a gated pool; fails with States.ExceedToleratedFailureThreshold past the threshold."""
    items: list[Any] = env.stack.pop()
    state = _current_state()
    run = MapRun(
        record=eval_input.map_run_record,
        items=items,
        count_declared=_declared(state, "tolerated_count_declared"),
        percentage_declared=_declared(state, "tolerated_percentage_declared"),
    )
    for counter in (run.record.item_counter, run.record.execution_counter):
        counter.total.count(len(items))
        counter.pending.count(len(items))
    pool = GatedJobPool(run, job_program=self._get_iteration_program(), job_inputs=items)
    run.pool = pool
    _stack("runs").append(run)  # popped by _eval_body, after the ResultWriter has read it

    max_concurrency = run.record.max_concurrency
    workers = len(items) if max_concurrency == DEFAULT_MAX_CONCURRENCY_VALUE else min(max_concurrency, len(items))
    for _ in range(workers):
        self._launch_worker(env=env, eval_input=eval_input, job_pool=pool)
    if items:
        pool.await_jobs()

    if run.exceeded:
        raise _failure(env, StatesErrorNameType.StatesExceedToleratedFailureThreshold, EXCEEDED_CAUSE)
    worker_exception = pool.get_worker_exception()
    if worker_exception is not None:
        raise worker_exception
    env.stack.append([closed.job_output for closed in pool.get_closed_jobs()])


def _eval_body(self: DistributedIterationComponent, env: Environment) -> None:
    """moto's Map Run evaluation (MapRunStarted, items, children, MapRunSucceeded or MapRunFailed), then rule 4:
    without a ResultWriter the collected output must fit the payload limit, whatever the ResultPath."""
    eval_input = env.stack.pop()
    record: MapRunRecord = eval_input.map_run_record
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.MapRunStarted,
        event_details=_event_details(mapRunStartedEventDetails=MapRunStartedEventDetails(mapRunArn=record.map_run_arn)),
    )
    parent_event_manager = env.event_manager
    runs = _stack("runs")
    depth = len(runs)
    try:
        if eval_input.item_reader:
            eval_input.item_reader.eval(env=env)
        else:
            env.stack.append(eval_input.input_items)
        env.event_manager = EventManager()
        self._map_run(env=env, eval_input=eval_input)
    except Exception as error:
        env.event_manager = parent_event_manager
        details = MapRunFailedEventDetails()
        pair = error.extract_error_cause_pair() if isinstance(error, FailureEventException) else None
        if pair:
            if pair[0]:
                details["error"] = pair[0]
            if pair[1]:
                details["cause"] = pair[1]
        env.event_manager.add_event(
            context=env.event_history_context,
            event_type=HistoryEventType.MapRunFailed,
            event_details=_event_details(mapRunFailedEventDetails=details),
        )
        record.set_stop(status=MapRunStatus.FAILED)
        del runs[depth:]
        raise
    finally:
        env.event_manager = parent_event_manager
    env.event_manager.add_event(context=env.event_history_context, event_type=HistoryEventType.MapRunSucceeded)
    record.set_stop(status=MapRunStatus.SUCCEEDED)
    state = _current_state()
    if state is None or state.result_writer is None:
        del runs[depth:]  # with a ResultWriter, the writer pops the run once it has written its files
        _check_payload_size(env, state.name if state else "Map", env.stack[-1])


def _child_result(env: Environment, child_input: Any, status: str, start_date: str, output: Any) -> ChildResult:
    error = cause = None
    program_state = env.program_state()
    if isinstance(program_state, ProgramError) and program_state.error:
        error, cause = program_state.error.get("error"), program_state.error.get("cause")
    return ChildResult(
        name=str(uuid.uuid4()),
        input=child_input,
        status=status,
        start_date=start_date,
        stop_date=_now(),
        output=output,
        error=error,
        cause=cause,
    )


def _eval_job(self: DistributedItemProcessorWorker, env: Environment, job: Job) -> None:
    """One child execution, counted in its Map Run: moto's worker, with its counts and outcome made right."""
    run = _run_of(self)
    if run is None or not run.start(job, env):
        job.job_output = None
        return
    start_date = _now()
    child_input: Any = job.job_input
    job_output = None
    status = FAILED
    try:
        env.states.context_object.context_object_data["Map"] = {
            "Item": {"Index": job.job_index, "Value": job.job_input}
        }
        env.states.reset(job.job_input)
        env.stack.append(env.states.get_input())
        self._eval_input(env_frame=env)
        child_input = env.states.get_input()
        job.job_program.eval(env)
        end = env.program_state()
        if isinstance(end, ProgramError):
            status = FAILED
        elif isinstance(end, ProgramStopped):
            status = ABORTED
        elif isinstance(end, ProgramTimedOut):
            status = TIMED_OUT
        else:
            status = SUCCEEDED
            job_output = env.states.get_input()
    except EvalTimeoutError:
        status = TIMED_OUT
    except Exception:  # noqa: BLE001 - a child's own error fails only that child, as in moto
        status = FAILED
    finally:
        run.finish(job, _child_result(env, child_input, status, start_date, job_output))
        job.job_output = job_output


def _run_of(worker: IterationWorker) -> MapRun | None:
    pool = worker._job_pool
    return pool.run if isinstance(pool, GatedJobPool) else None


def _patch_map_run() -> None:
    DistributedIterationComponent._map_run = _map_run  # type: ignore[method-assign]
    DistributedIterationComponent._eval_body = _eval_body  # type: ignore[method-assign]
    DistributedItemProcessorWorker._eval_job = _eval_job  # type: ignore[method-assign]


# --- rules 4 and 5: the payload limit, and what States.ALL does not catch ------------------------------------------


def payload_bytes(value: Any) -> int:
    """How Step Functions measures a payload: the UTF-8 bytes of its JSON."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8"))


def _check_payload_size(env: Environment, state_name: str, value: Any) -> None:
    if payload_bytes(value) > MAX_PAYLOAD_BYTES:
        raise _failure(
            env,
            StatesErrorNameType.StatesStatesDataLimitExceeded,
            f"The state/task '{state_name}' returned a result with a size exceeding the maximum number "
            "of bytes service limit.",
        )


def _patch_states_all() -> None:
    original = ErrorEqualsDecl._eval_body
    states_all = StatesErrorName(typ=StatesErrorNameType.StatesALL)

    def eval_body(self: ErrorEqualsDecl, env: Environment) -> None:
        error_name = env.stack[-1]
        is_terminal = isinstance(error_name, StatesErrorName) and error_name.typ in UNCATCHABLE_BY_ALL
        if is_terminal and states_all in self.error_names:
            env.stack.pop()
            env.stack.append(False)
            return
        original(self, env)

    ErrorEqualsDecl._eval_body = eval_body  # type: ignore[method-assign]


# --- rule 6: the S3 listObjectsV2 ItemReader -----------------------------------------------------------------------


def _listed_item(entry: dict[str, Any]) -> dict[str, Any]:
    """One ItemReader item: the fields of a ListObjectsV2 Contents entry, as JSON."""
    last_modified = entry["LastModified"]
    if isinstance(last_modified, datetime.datetime):
        last_modified = last_modified.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")
    return {
        "Key": entry["Key"],
        "Size": entry["Size"],
        "ETag": entry["ETag"],
        "LastModified": last_modified,
        "StorageClass": entry.get("StorageClass", "STANDARD"),
    }


def list_all_objects(client: Any, parameters: dict[str, Any], max_items: int) -> list[dict[str, Any]]:
    """Every object the listing names, page after page, up to max_items."""
    items: list[dict[str, Any]] = []
    request = dict(parameters)
    while len(items) < max_items:
        page = client.list_objects_v2(**request)
        items.extend(_listed_item(entry) for entry in page.get("Contents", []))
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            break
        request["ContinuationToken"] = token
    return items[:max_items]


def _is_list_objects(reader: ItemReader) -> bool:
    resource = reader.resource
    return (
        getattr(resource, "service_name", None) == "s3"
        and str(getattr(resource, "api_action", "")).lower() == LIST_OBJECTS_V2_ACTION
    )


def _patch_item_reader() -> None:
    original_eval = ItemReader._eval_body

    def eval_body(self: ItemReader, env: Environment) -> None:
        if not _is_list_objects(self):
            original_eval(self, env)
            return
        max_items = MAX_ITEMS_DEFAULT
        if self.reader_config:
            self.reader_config.max_items_decl.eval(env=env)
            max_items = env.stack.pop()
        if self.parargs:
            self.parargs.eval(env=env)
            parameters = env.stack.pop()
        else:
            parameters = {}
        self.resource.eval(env=env)
        runtime_part: ResourceRuntimePart = env.stack.pop()
        client = ItemReaderS3._get_s3_client(
            resource_runtime_part=runtime_part,
            state_credentials=StateCredentials(role_arn=env.aws_execution_details.role_arn),
        )
        try:
            env.stack.append(list_all_objects(client, parameters, max_items))
        except ClientError as error:  # moto let it become States.Runtime, which no Catch of States.ALL matches
            raise _failure(env, StatesErrorNameType.StatesItemReaderFailed, str(error)) from None

    ItemReader._eval_body = eval_body  # type: ignore[method-assign]


# --- rule 7: ResultWriter --------------------------------------------------------------------------------------------


def _result_entry(run: MapRun, result: ChildResult) -> dict[str, Any]:
    """One child in a result file, with the fields of DescribeExecution that AWS writes there."""
    execution_arn = f"{run.record.map_state_machine_arn.replace(':stateMachine:', ':execution:')}:{result.name}"
    entry: dict[str, Any] = {
        "ExecutionArn": execution_arn,
        "Input": json.dumps(result.input),
        "InputDetails": {"Included": True},
        "Name": result.name,
        "StartDate": result.start_date,
        "StateMachineArn": run.record.map_state_machine_arn,
        "Status": result.status,
        "StopDate": result.stop_date,
    }
    if result.status == SUCCEEDED:
        entry.update(Output=json.dumps(result.output), OutputDetails={"Included": True})
    else:
        entry.update({key: value for key, value in (("Error", result.error), ("Cause", result.cause)) if value})
    return entry


def result_files(run: MapRun) -> dict[str, list[dict[str, Any]]]:
    """The run's children by result file, in item order: succeeded, failed (timed out and aborted too), pending."""
    files: dict[str, list[dict[str, Any]]] = {status: [] for status in RESULT_STATUSES}
    for index, item in enumerate(run.items):
        result = run.results.get(index)
        if result is None:
            files["PENDING"].append(
                {"Input": json.dumps(item), "InputDetails": {"Included": True}, "Status": "PENDING"}
            )
        else:
            files[SUCCEEDED if result.status == SUCCEEDED else FAILED].append(_result_entry(run, result))
    return files


def _write_results(env: Environment, runtime_part: ResourceRuntimePart, credentials: StateCredentials) -> None:
    parameters = env.stack.pop()
    env.stack.pop()  # the collected outputs: the files below carry them instead
    run = _current_run()
    if run is None:
        raise RuntimeError("ResultWriter evaluated outside a Map Run")
    _stack("runs").pop()
    bucket = parameters["Bucket"]
    prefix = str(parameters.get("Prefix") or "")
    run_id = run.record.map_run_arn.split(":")[-1]
    folder = f"{prefix.rstrip('/')}/{run_id}/" if prefix else f"{run_id}/"
    client = ResultWriterS3._get_s3_client(resource_runtime_part=runtime_part, state_credentials=credentials)
    manifest: dict[str, Any] = {
        "DestinationBucket": bucket,
        "MapRunArn": run.record.map_run_arn,
        "ResultFiles": {status: [] for status in RESULT_STATUSES},
    }
    try:
        for status, entries in result_files(run).items():
            if not entries:
                continue
            key = f"{folder}{status}_{RESULT_FILE_INDEX}.json"
            body = json.dumps(entries).encode("utf-8")
            client.put_object(Bucket=bucket, Key=key, Body=body)
            manifest["ResultFiles"][status].append({"Key": key, "Size": len(body)})
        manifest_key = f"{folder}manifest.json"
        client.put_object(Bucket=bucket, Key=manifest_key, Body=json.dumps(manifest).encode("utf-8"))
    except ClientError as error:
        raise _failure(env, StatesErrorNameType.StatesResultWriterFailed, str(error)) from None
    env.stack.append(
        {"MapRunArn": run.record.map_run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}}
    )


def _eval_result_writer(self: ResultWriter, env: Environment) -> None:
    """Resolve the writer's Parameters against the state's input, then write with the collected outputs under
    them on the stack, where ``_write_results`` expects them."""
    outputs = env.stack.pop()
    env.stack.append(env.states.get_input())
    self.parargs.eval(env=env)
    parameters = env.stack.pop()
    env.stack.pop()
    env.stack.extend([outputs, parameters])
    self.resource_eval.eval_resource(env=env)


def _patch_result_writer() -> None:
    ResultWriterS3._handle_put_object = staticmethod(_write_results)  # type: ignore[method-assign,assignment]
    ResultWriter._eval_body = _eval_result_writer  # type: ignore[method-assign]


def install() -> None:
    """Patch moto's ASL interpreter in this (the endpoint's) process."""
    _patch_definition_forms()
    _patch_state_map()
    _patch_map_run()
    _patch_states_all()
    _patch_item_reader()
    _patch_result_writer()
