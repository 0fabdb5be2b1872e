"""Gap 16 (moto_gaps): EventBridge Scheduler as AWS runs it. moto stores schedules and never runs them, and takes
requests AWS refuses; here schedules fire, as their role, and requests are checked as the API reference checks them.

It patches moto's ``EventBridgeSchedulerBackend`` in the endpoint process only, and knows nothing of the deploy
toolkit: its reading of schedule expressions is its own (the toolkit's, ``deploy/schedule_expressions.py``, is
what it checks against, so the two must not share code).

**Real time** (what AWS does, on the wall clock): a thread in the endpoint process looks at every ENABLED schedule
of every account and region once a second (``POLL_SECONDS``; Scheduler's own precision is 60 seconds) and, when
one has come due since it last looked, invokes its target once, for the latest due time:

- ``rate(n unit)`` is due at its StartDate, else when it was created or last updated, and every interval after
  ("If you don't provide a StartDate for a rate-based schedule, your schedule starts invoking the target
  immediately", Schedule types); ``cron(...)`` at each matching minute after it was created or updated, and
  ``at(...)`` once, in the schedule's ``ScheduleExpressionTimezone``; never before StartDate or after EndDate.
  So a ``rate(1 day)`` schedule fires once when created, and a ``rate(1 minute)`` one every minute.
- **Targets**: a state machine ARN (the templated target: StartExecution of it, with the target's Input, the
  execution named by Step Functions) and the universal target ``arn:aws:scheduler:::aws-sdk:sfn:startExecution``
  (its Input is the StartExecution request: StateMachineArn, Name, Input, TraceHeader). Both get Scheduler's
  context attributes replaced in their Input: ``<aws.scheduler.schedule-arn>``, ``<aws.scheduler.scheduled-time>``
  (``2022-03-22T18:59:43Z``), ``<aws.scheduler.execution-id>`` (16 lower-case letters and digits, as AWS's
  ``d32c5kddcf5bb8c3``) and ``<aws.scheduler.attempt-number>`` (1). Any other target is recorded as a failure.
- **As the role**: the invocation assumes the target's RoleArn for ``scheduler.amazonaws.com``, its trust policy
  evaluated with ``aws:SourceAccount`` (the schedule's account) and ``aws:SourceArn`` (its group's ARN, which AWS
  documents as Scheduler's source), and calls StartExecution over HTTP on the endpoint signed with the role's
  credentials, so ``iam_enforcement`` authorises ``states:StartExecution`` on the machine against the role's
  policies. A role that does not exist or does not trust Scheduler, a StartExecution the role may not make, or any
  other refusal is recorded as a failed invocation (and logged as a failed execution is, one line on ``fab
  server``'s stderr); nothing is started.

**Test only**: ``POST /_endpoint/schedules/fire`` with ``{"name", "group"?, "region"?, "account"?}`` invokes a
schedule now, whatever its expression and state, exactly as a due time would (and answers the invocation);
``GET /_endpoint/schedules`` lists every invocation so far, due or fired. They serve the test process only (a key
the endpoint issued to Lambda code is refused, as for the bulk fill), and nothing in the deploy path uses them.

**Requests, as the Scheduler API reference checks them** (ValidationException naming the field, unless said):
schedule and group names 1 to 64 of ``0-9 a-z A-Z - _ .``; ScheduleExpression ``rate(value unit)`` with a positive
value and minute(s), hour(s) or day(s), ``cron(...)`` of six fields with exactly one of day-of-month and
day-of-week ``?``, or ``at(yyyy-mm-ddThh:mm:ss)``; a time zone IANA knows; State ENABLED or DISABLED; a
FlexibleTimeWindow of Mode OFF, or FLEXIBLE with MaximumWindowInMinutes 1 to 1440; a Target RoleArn that is an
IAM role ARN; ActionAfterCompletion NONE or DELETE. A schedule in a group that does not exist is
ResourceNotFoundException (moto: a KeyError, 500). UpdateSchedule without State enables the schedule ("if you do
not set an optional field in your request, that field will be set to its system-default value"; moto sets None).
CreateScheduleGroup of a name in use is ConflictException (moto replaced the group and lost its schedules);
DeleteScheduleGroup of a group that does not exist is ResourceNotFoundException (moto: a KeyError).

Not bridged: retries (AWS retries a failed invocation per the RetryPolicy, up to 185 times over 24 hours; this
invokes once), dead-letter queues, FlexibleTimeWindow (invoked at the start of the window), ActionAfterCompletion
(an ``at`` schedule is kept after it fires), KMS keys, and every target but StartExecution.
"""

import datetime as dt
import json
import logging
import math
import re
import secrets
import string
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import boto3
from botocore.config import Config as BotocoreConfig
from botocore.exceptions import BotoCoreError, ClientError
from croniter import CroniterBadDateError, croniter
from moto.core.exceptions import JsonRESTError
from moto.scheduler.exceptions import ScheduleGroupNotFound, ScheduleNotFound, ValidationException
from moto.scheduler.models import EventBridgeSchedulerBackend, scheduler_backends

from . import iam_enforcement
from .bulk_fill import refusal_for
from .faults import _drain, _json, access_key_id_of

POLL_SECONDS = 1.0
ADMIN_PATH = "/_endpoint/schedules"
FIRE_PATH = f"{ADMIN_PATH}/fire"
NAME_PATTERN = re.compile(r"[0-9a-zA-Z_.-]{1,64}")
ROLE_ARN_PATTERN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+")
MAX_EXPRESSION_CHARACTERS = 256
MAX_DESCRIPTION_CHARACTERS = 512
MAX_FLEXIBLE_WINDOW_MINUTES = 1440
UNIVERSAL_START_EXECUTION = re.compile(r"arn:aws[a-z-]*:scheduler:::aws-sdk:sfn:startExecution")
STATE_MACHINE_ARN = re.compile(r"arn:aws[a-z-]*:states:(?P<region>[a-z0-9-]+):\d{12}:stateMachine:[^:]+")
START_EXECUTION_MEMBERS = {
    "StateMachineArn": "stateMachineArn",
    "Name": "name",
    "Input": "input",
    "TraceHeader": "traceHeader",
}
"""The universal target's Input (the API's members) and boto3's parameters for them."""
EXECUTION_ID_CHARACTERS = string.ascii_lowercase + string.digits
EXECUTION_ID_LENGTH = 16
UNITS = {"minute": 60, "hour": 3600, "day": 86400}
ONE_CALL = BotocoreConfig(retries={"mode": "standard", "total_max_attempts": 1})
"""An invocation is one attempt: a refusal is its outcome (AWS's retries are not bridged)."""
LOGGER = logging.getLogger("local_endpoint.executions.schedules")
"""A child of the failed executions' logger, so a failed invocation is a line on ``fab server``'s stderr too."""


class ConflictException(JsonRESTError):
    code = 409

    def __init__(self, message: str):
        super().__init__("ConflictException", message)


# ----------------------------------------------------------------------------------------------------------------
# Expressions: when a schedule is due


@dataclass(frozen=True)
class _Rate:
    seconds: int


@dataclass(frozen=True)
class _Cron:
    form: str
    """croniter's seven fields: minute hour day month weekday(0 = Sunday) second year."""


@dataclass(frozen=True)
class _At:
    when: dt.datetime
    """Naive, in the schedule's time zone."""


def _croniter_weekday(field: str) -> str:
    """Scheduler's day-of-week (1 = Sunday; ``nL``, ``n#k``, ``L``) as croniter writes it (0 = Sunday, ``Ln``)."""
    if field.upper() == "L":
        return "6"  # the last day of the week: Saturday
    last = re.fullmatch(r"([1-7])L", field, re.IGNORECASE)
    if last:
        return f"L{int(last[1]) - 1}"
    days, hash_sign, nth = field.partition("#")
    return re.sub(r"\d+", lambda number: str(int(number[0]) - 1), days) + hash_sign + nth


def parse_expression(expression: Any) -> _Rate | _Cron | _At:
    """What Scheduler reads in a ScheduleExpression; ValidationException for what it refuses."""
    text = expression if isinstance(expression, str) else ""
    if not text or len(text) > MAX_EXPRESSION_CHARACTERS:
        raise ValidationException(f"Invalid Schedule Expression {expression!r}: 1 to 256 characters.")
    rate = re.fullmatch(r"rate\((\d+) (minutes?|hours?|days?)\)", text)
    if rate:
        if int(rate[1]) < 1:
            raise ValidationException(f"Invalid Schedule Expression {text}: the rate must be a positive integer.")
        return _Rate(int(rate[1]) * UNITS[rate[2].removesuffix("s")])
    at = re.fullmatch(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)", text)
    if at:
        try:
            return _At(dt.datetime.fromisoformat(at[1]))
        except ValueError:
            raise ValidationException(f"Invalid Schedule Expression {text}: no such date and time.") from None
    cron = re.fullmatch(r"cron\(([^()]*)\)", text)
    fields = cron[1].split(" ") if cron else []
    if len(fields) == 6 and all(fields) and (fields[2] == "?") != (fields[4] == "?"):
        minutes, hours, day, month, weekday, year = fields
        week = "*" if weekday == "?" else _croniter_weekday(weekday)
        form = " ".join([minutes, hours, "*" if day == "?" else day, month, week, "0", year])
        if "?" not in (minutes + hours + month + year) and croniter.is_valid(form):
            return _Cron(form)
    raise ValidationException(
        f"Invalid Schedule Expression {text}: rate(value unit), cron(minutes hours day-of-month month day-of-week "
        "year) with one of day-of-month and day-of-week '?', or at(yyyy-mm-ddThh:mm:ss)."
    )


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationException(f"Invalid ScheduleExpressionTimezone {name!r}.") from None


def _utc(epoch: float | None) -> dt.datetime | None:
    return None if epoch is None else dt.datetime.fromtimestamp(float(epoch), dt.UTC)


def due_time(schedule: Any, after: dt.datetime, until: dt.datetime) -> dt.datetime | None:
    """The latest time in (after, until] at which ``schedule`` (moto's) is due, or None."""
    expression = parse_expression(schedule.schedule_expression)
    start, end = _utc(schedule.start_date), _utc(schedule.end_date)
    if start is not None:
        after = max(after, start - dt.timedelta(microseconds=1))
    if end is not None:
        until = min(until, end)
    if until <= after:
        return None
    if isinstance(expression, _Rate):
        anchor = start or _utc(schedule.last_modified_date)
        assert anchor is not None
        steps = math.floor((until - anchor).total_seconds() / expression.seconds)
        found = anchor + dt.timedelta(seconds=steps * expression.seconds) if steps >= 0 else None
        return found if found is not None and found > after else None
    zone = _zone(schedule.schedule_expression_timezone)
    if isinstance(expression, _At):
        when = expression.when.replace(tzinfo=zone).astimezone(dt.UTC)
        return when if after < when <= until else None
    latest = None
    try:
        times = croniter(expression.form, after.astimezone(zone))
        while (upcoming := times.get_next(dt.datetime).astimezone(dt.UTC)) <= until:
            latest = upcoming
    except CroniterBadDateError:
        pass
    return latest


# ----------------------------------------------------------------------------------------------------------------
# Requests, checked as Scheduler checks them


def _check_name(value: Any, field: str) -> None:
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        shown = unquote(value) if isinstance(value, str) else value  # moto reads a schedule's name from the path
        raise ValidationException(f"{field} {shown!r} must be 1 to 64 characters of 0-9, a-z, A-Z, '-', '_' and '.'.")


def check_schedule(backend: EventBridgeSchedulerBackend, request: dict[str, Any]) -> None:
    """Rule list above: what CreateSchedule and UpdateSchedule refuse."""
    _check_name(request.get("name"), "Name")
    group = request.get("group_name")
    if group is not None:
        _check_name(group, "GroupName")
    if (group or "default") not in backend.schedule_groups:
        raise ScheduleGroupNotFound(group or "default")
    parse_expression(request.get("schedule_expression"))
    _zone(request.get("schedule_expression_timezone"))
    if request.get("state") not in (None, "ENABLED", "DISABLED"):
        raise ValidationException(f"State {request['state']!r} must be ENABLED or DISABLED.")
    window = request.get("flexible_time_window") or {}
    mode, minutes = window.get("Mode"), window.get("MaximumWindowInMinutes")
    if mode not in ("OFF", "FLEXIBLE"):
        raise ValidationException(f"FlexibleTimeWindow Mode {mode!r} must be OFF or FLEXIBLE.")
    if mode == "FLEXIBLE" and not (isinstance(minutes, int) and 1 <= minutes <= MAX_FLEXIBLE_WINDOW_MINUTES):
        raise ValidationException("FlexibleTimeWindow MaximumWindowInMinutes must be 1 to 1440 with Mode FLEXIBLE.")
    target = request.get("target") or {}
    if not isinstance(target.get("Arn"), str) or not 1 <= len(target["Arn"]) <= 1600:
        raise ValidationException("Target Arn must be 1 to 1600 characters.")
    if not isinstance(target.get("RoleArn"), str) or not ROLE_ARN_PATTERN.fullmatch(target["RoleArn"]):
        raise ValidationException(f"Target RoleArn {target.get('RoleArn')!r} is not the ARN of an IAM role.")
    if len(request.get("description") or "") > MAX_DESCRIPTION_CHARACTERS:
        raise ValidationException("Description must be at most 512 characters.")
    if request.get("action_after_completion") not in (None, "NONE", "DELETE"):
        raise ValidationException("ActionAfterCompletion must be NONE or DELETE.")


def _patch_requests() -> None:
    backend = EventBridgeSchedulerBackend
    create, update = backend.create_schedule, backend.update_schedule
    create_group, delete_group = backend.create_schedule_group, backend.delete_schedule_group

    def create_schedule(self: EventBridgeSchedulerBackend, **request: Any) -> Any:
        check_schedule(self, request)
        return create(self, **request)

    def update_schedule(self: EventBridgeSchedulerBackend, **request: Any) -> Any:
        check_schedule(self, request)
        self.get_schedule(request.get("group_name"), request["name"])  # ResourceNotFoundException first, as AWS
        return update(self, **{**request, "state": request.get("state") or "ENABLED"})

    def create_schedule_group(self: EventBridgeSchedulerBackend, name: str, tags: Any) -> Any:
        _check_name(name, "Name")
        if name in self.schedule_groups:
            raise ConflictException(f"Schedule group {name} already exists.")
        return create_group(self, name=name, tags=tags)

    def delete_schedule_group(self: EventBridgeSchedulerBackend, name: str | None) -> None:
        self.get_schedule_group(name)  # ScheduleGroupNotFound for a group that does not exist
        delete_group(self, name)

    backend.create_schedule = create_schedule  # type: ignore[method-assign,assignment]
    backend.update_schedule = update_schedule  # type: ignore[method-assign,assignment]
    backend.create_schedule_group = create_schedule_group  # type: ignore[method-assign]
    backend.delete_schedule_group = delete_schedule_group  # type: ignore[method-assign]


def install() -> None:
    """Check Scheduler's requests as AWS does (the firing is ``SchedulerBridge``, started by the server)."""
    _patch_requests()


# ----------------------------------------------------------------------------------------------------------------
# Invocations


@dataclass(frozen=True)
class Invocation:
    """One invocation of a schedule's target: what started, or why nothing did."""

    schedule: str
    """The schedule's ARN."""
    name: str
    group: str
    trigger: str
    """``due`` (its time came) or ``test`` (the admin route fired it)."""
    scheduled_time: str
    execution_arn: str | None = None
    error: str | None = None
    message: str | None = None


def _context_attributes(schedule: Any, scheduled: dt.datetime) -> dict[str, str]:
    return {
        "<aws.scheduler.schedule-arn>": schedule.arn,
        "<aws.scheduler.scheduled-time>": scheduled.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "<aws.scheduler.execution-id>": "".join(
            secrets.choice(EXECUTION_ID_CHARACTERS) for _ in range(EXECUTION_ID_LENGTH)
        ),
        "<aws.scheduler.attempt-number>": "1",
    }


def start_request(target: dict[str, Any], attributes: dict[str, str]) -> dict[str, str]:
    """StartExecution's parameters for a Step Functions target (templated or universal); ValueError otherwise."""
    text = target.get("Input")
    for attribute, value in attributes.items():
        text = text.replace(attribute, value) if text else text
    arn = target.get("Arn", "")
    if STATE_MACHINE_ARN.fullmatch(arn):
        return {"stateMachineArn": arn, "input": text or "{}"}
    if not UNIVERSAL_START_EXECUTION.fullmatch(arn):
        raise ValueError(f"the target {arn} is not bridged (only Step Functions' StartExecution is)")
    try:
        payload = json.loads(text or "")
    except ValueError:
        raise ValueError("the universal target's Input is not JSON") from None
    if not isinstance(payload, dict) or "StateMachineArn" not in payload or set(payload) - set(START_EXECUTION_MEMBERS):
        raise ValueError(f"the Input is no StartExecution request ({', '.join(START_EXECUTION_MEMBERS)})")
    return {START_EXECUTION_MEMBERS[member]: value for member, value in payload.items()}


class SchedulerBridge:
    """The thread that fires due schedules, and the invocations it and the admin route made."""

    def __init__(self, clock: Callable[[], dt.datetime] | None = None):
        self._url = ""
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._seen: dict[str, tuple[float, dt.datetime]] = {}
        """schedule ARN -> (its last change, the time up to which it has been looked at)."""
        self._invocations: list[Invocation] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, endpoint_url: str) -> None:
        """Fire from now on; invocations call StartExecution on ``endpoint_url`` (the endpoint's own)."""
        self._url = endpoint_url
        self._thread = threading.Thread(target=self._run, name="scheduler-bridge", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    @property
    def invocations(self) -> list[Invocation]:
        with self._lock:
            return list(self._invocations)

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                self.fire_due(self._clock())
            except Exception:  # a bug here must not stop the schedules for the endpoint's life: log and go on
                LOGGER.exception("the scheduler bridge failed to look at the schedules")

    def fire_due(self, now: dt.datetime) -> list[Invocation]:
        """Invoke every enabled schedule that has come due since it was last looked at."""
        fired = []
        for account, region, schedule in _schedules():
            changed = float(schedule.last_modified_date)
            seen = self._seen.get(schedule.arn)
            if seen is None or seen[0] != changed:  # new or updated: due times count from its change
                seen = (changed, (_utc(changed) or now) - dt.timedelta(microseconds=1))
            self._seen[schedule.arn] = (changed, now)
            if schedule.state != "ENABLED":
                continue
            try:
                due = due_time(schedule, seen[1], now)
            except JsonRESTError:  # an expression stored before this bridge checked them: never due
                continue
            if due is not None:
                fired.append(self.invoke(account, region, schedule, due, "due"))
        return fired

    def fire(self, name: str, group: str = "default", region: str = "us-east-1", account: str = "") -> Invocation:
        """The admin route: invoke a schedule now (ScheduleNotFound / ScheduleGroupNotFound when there is none)."""
        accounts = [account] if account else list(scheduler_backends.keys()) or ["123456789012"]
        for candidate in accounts:
            backend = scheduler_backends[candidate][region]
            if group in backend.schedule_groups and name in backend.schedule_groups[group].schedules:
                return self.invoke(candidate, region, backend.get_schedule(group, name), self._clock(), "test")
        raise ScheduleNotFound(name)

    def invoke(self, account: str, region: str, schedule: Any, scheduled: dt.datetime, trigger: str) -> Invocation:
        """Start the schedule's target as its role; the outcome is recorded either way."""
        base = {
            "schedule": schedule.arn,
            "name": schedule.name,
            "group": schedule.group_name,
            "trigger": trigger,
            "scheduled_time": scheduled.isoformat(),
        }
        target = dict(schedule.target or {})
        group_arn = schedule.arn.replace(":schedule/", ":schedule-group/", 1).rsplit("/", 1)[0]
        try:
            request = start_request(target, _context_attributes(schedule, scheduled))
            credentials = iam_enforcement.scheduler_credentials(target.get("RoleArn", ""), account, group_arn)
            machine_region = STATE_MACHINE_ARN.fullmatch(request["stateMachineArn"])
            client = boto3.client(
                "stepfunctions",
                endpoint_url=self._url,
                region_name=machine_region["region"] if machine_region else region,
                aws_access_key_id=credentials.access_key_id,
                aws_secret_access_key=credentials.secret_access_key,
                aws_session_token=credentials.session_token,
                config=ONE_CALL,
            )
            invocation = Invocation(**base, execution_arn=client.start_execution(**request)["executionArn"])
        except ClientError as error:
            failure = error.response.get("Error", {})
            invocation = Invocation(**base, error=failure.get("Code", "Error"), message=failure.get("Message", ""))
        except iam_enforcement.RoleNotAssumableError as error:
            invocation = Invocation(**base, error="AccessDeniedException", message=str(error))
        except (ValueError, KeyError, BotoCoreError) as error:
            invocation = Invocation(**base, error="InvalidTarget", message=str(error))
        if invocation.error:
            LOGGER.warning(
                "Schedule %s of group %s could not start its target: %s: %s",
                schedule.name,
                schedule.group_name,
                invocation.error,
                invocation.message,
            )
        with self._lock:
            self._invocations.append(invocation)
        return invocation


def _schedules() -> Iterable[tuple[str, str, Any]]:
    """(account, region, schedule) of every schedule moto holds."""
    for account, regions in list(scheduler_backends.items()):
        for region, backend in list(regions.items()):
            for group in list(backend.schedule_groups.values()):
                for schedule in list(group.schedules.values()):
                    yield account, region, schedule


# ----------------------------------------------------------------------------------------------------------------
# The admin route (test only)


class SchedulerAdmin:
    """WSGI middleware serving ``GET /_endpoint/schedules`` and ``POST /_endpoint/schedules/fire`` to the test
    process (a key the endpoint issued to Lambda code is refused, 403)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], bridge: SchedulerBridge):
        self._app = app
        self._bridge = bridge

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path not in (ADMIN_PATH, FIRE_PATH):
            return self._app(environ, start_response)
        refusal = refusal_for(access_key_id_of(environ))
        if refusal is not None:
            _drain(environ)
            return _json(start_response, "403 Forbidden", {"error": refusal.replace("bulk fill", "scheduler hook")})
        if path == ADMIN_PATH and method == "GET":
            return _json(start_response, "200 OK", {"invocations": [asdict(i) for i in self._bridge.invocations]})
        if path != FIRE_PATH or method != "POST":
            _drain(environ)
            return _json(start_response, "405 Method Not Allowed", {"error": f"GET {ADMIN_PATH} or POST {FIRE_PATH}"})
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            document = json.loads(environ["wsgi.input"].read(length) or b"null")
            if not isinstance(document, dict) or not isinstance(document.get("name"), str):
                raise ValueError('the body must be {"name": SCHEDULE, "group"?: GROUP, "region"?: REGION}')
            invocation = self._bridge.fire(
                document["name"],
                str(document.get("group") or "default"),
                str(document.get("region") or "us-east-1"),
                str(document.get("account") or ""),
            )
        except ValueError as error:
            return _json(start_response, "400 Bad Request", {"error": str(error)})
        except JsonRESTError as error:  # no such schedule or group
            return _json(start_response, "404 Not Found", {"error": error.message})
        return _json(start_response, "200 OK", {"invocation": asdict(invocation)})


def _admin(endpoint_url: str, path: str, document: dict[str, Any] | None, access_key_id: str) -> dict[str, Any]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        endpoint_url.rstrip("/") + path,
        data=None if document is None else json.dumps(document).encode("utf-8"),
        headers={"Content-Type": "application/json", "Authorization": f"AWS4-HMAC-SHA256 Credential={access_key_id}/"},
        method="GET" if document is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (the endpoint, on loopback)
            return dict(json.load(response))
    except urllib.error.HTTPError as error:
        raise LookupError(json.load(error).get("error", str(error))) from None


def fire(endpoint_url: str, name: str, group: str = "default", region: str = "us-east-1") -> dict[str, Any]:
    """Invoke a schedule of a running endpoint now (test aid); returns the invocation. LookupError: no such schedule."""
    return _admin(endpoint_url, FIRE_PATH, {"name": name, "group": group, "region": region}, "testing")["invocation"]


def invocations(endpoint_url: str) -> list[dict[str, Any]]:
    """Every invocation a running endpoint has made so far (test aid)."""
    return list(_admin(endpoint_url, ADMIN_PATH, None, "testing")["invocations"])
