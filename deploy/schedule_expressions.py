"""EventBridge Scheduler's schedule expressions: checked as SCHEDULES is read, and their next run computed for
``fab schedules``. Pure: no AWS calls, no clock (the caller says what "now" is).

The three forms, as the Scheduler API reference (CreateSchedule, ``ScheduleExpression``) and its user guide
("Schedule types") define them:

- ``rate(value unit)``: a positive whole number and ``minute(s)``, ``hour(s)`` or ``day(s)``. This toolkit also
  asks the unit to agree in number with the value (``rate(1 day)``, ``rate(2 days)``), as EventBridge's rate
  expressions require: what every AWS example writes, so it is accepted everywhere. A rate schedule runs at its
  start (its ``StartDate``, else when it was created) and then every interval.
- ``cron(minutes hours day-of-month month day-of-week year)``: six fields; minutes 0-59, hours 0-23, day-of-month
  1-31 (``L`` the last day, ``nW`` the weekday nearest day n), month 1-12 or JAN-DEC, day-of-week 1-7 or SUN-SAT
  (1 is Sunday; ``nL`` the last such day of the month, ``n#k`` the k-th), year 1970-2099 (AWS allows up to 2199;
  croniter, which computes the times, stops at 2099); ``,`` lists, ``-`` ranges, ``*`` all, ``/`` steps (not in
  day-of-week); one of day-of-month and day-of-week must be ``?`` and the other not.
- ``at(yyyy-mm-ddThh:mm:ss)``: once.

Times are in the schedule's time zone (``ScheduleExpressionTimezone``; UTC unless it says otherwise); results are
in UTC. croniter, a small and well-kept library, does the calendar arithmetic of cron expressions; this module
parses AWS's dialect, refuses what AWS refuses with a sentence naming the field, and translates the rest into
croniter's form (its day-of-week counts from 0 = Sunday, and its year is a seventh field after seconds).
"""

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

MAX_EXPRESSION_CHARACTERS = 256
"""CreateSchedule's ``ScheduleExpression``: 1 to 256 characters."""
UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
MIN_YEAR, MAX_YEAR = 1970, 2099
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
FIELD_NAMES = ("minutes", "hours", "day-of-month", "month", "day-of-week", "year")
EXAMPLES = "rate(1 day), rate(6 hours), cron(0 3 * * ? *) (03:00 UTC daily) or at(2027-01-31T12:00:00)"

_RATE = re.compile(r"rate\((?P<value>\d+) (?P<unit>minute|minutes|hour|hours|day|days)\)")
_AT = re.compile(r"at\((?P<when>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")
_CRON = re.compile(r"cron\((?P<fields>[^()]*)\)")


class ExpressionError(ValueError):
    """A schedule expression EventBridge Scheduler would refuse; the message says what is wrong and what it takes."""


@dataclass(frozen=True)
class Rate:
    seconds: int


@dataclass(frozen=True)
class Cron:
    croniter_form: str
    """The expression in croniter's seven fields: minute hour day month weekday(0-6) second year."""


@dataclass(frozen=True)
class At:
    when: datetime
    """Naive: a wall-clock time in the schedule's time zone."""


Expression = Rate | Cron | At


def parse_expression(text: object) -> Expression:
    """The expression, or ExpressionError saying why Scheduler would refuse it."""
    if not isinstance(text, str) or not text:
        raise ExpressionError(f"must be a string such as {EXAMPLES}")
    if len(text) > MAX_EXPRESSION_CHARACTERS:
        raise ExpressionError(f"is {len(text)} characters long; Scheduler takes at most {MAX_EXPRESSION_CHARACTERS}")
    if text.startswith("rate("):
        return _rate(text)
    if text.startswith("cron("):
        return _cron(text)
    if text.startswith("at("):
        return _at(text)
    raise ExpressionError(f"{text!r} is none of rate(value unit), cron(six fields) or at(time): e.g. {EXAMPLES}")


def _rate(text: str) -> Rate:
    matched = _RATE.fullmatch(text)
    if not matched:
        raise ExpressionError(
            f"{text!r} is not rate(value unit): a whole number, one space, and minute(s), hour(s) or day(s), "
            "e.g. rate(1 day) or rate(15 minutes)"
        )
    value, unit = int(matched["value"]), matched["unit"]
    if value < 1:
        raise ExpressionError(f"{text!r}: the value of a rate must be a positive whole number")
    singular = unit.removesuffix("s")
    if (value == 1) != (unit == singular):
        agreeing = singular if value == 1 else f"{singular}s"
        raise ExpressionError(f"{text!r}: write rate({value} {agreeing}) (the unit agrees with the value in number)")
    return Rate(value * UNIT_SECONDS[singular])


def _at(text: str) -> At:
    matched = _AT.fullmatch(text)
    if not matched:
        raise ExpressionError(f"{text!r} is not at(yyyy-mm-ddThh:mm:ss), e.g. at(2027-01-31T12:00:00)")
    try:
        return At(datetime.fromisoformat(matched["when"]))
    except ValueError:
        raise ExpressionError(f"{text!r} names no real date and time") from None


def _cron(text: str) -> Cron:
    matched = _CRON.fullmatch(text)
    fields = matched["fields"].split(" ") if matched else []
    if len(fields) != len(FIELD_NAMES) or not all(fields):
        raise ExpressionError(
            f"{text!r} is not cron() of six fields separated by one space: minutes hours day-of-month month "
            "day-of-week year, e.g. cron(0 3 * * ? *)"
        )
    minutes, hours, day, month, weekday, year = fields
    if (day == "?") == (weekday == "?"):
        raise ExpressionError(
            f"{text!r}: exactly one of day-of-month (field 3) and day-of-week (field 5) must be '?', the other a "
            "value or '*' (Scheduler cannot take both), e.g. cron(0 3 * * ? *) or cron(0 3 ? * MON-FRI *)"
        )
    for position, (name, value) in enumerate(zip(FIELD_NAMES, fields, strict=True), start=1):
        problem = _field_problem(name, value)
        if problem:
            raise ExpressionError(f"{text!r}: field {position} ({name}) is {value!r}: {problem}")
    translated = " ".join(
        [minutes, hours, "*" if day == "?" else day, month, "*" if weekday == "?" else _weekday(weekday), "0", year]
    )
    if not croniter.is_valid(translated):  # the fields passed; this is croniter's own reading of them
        raise ExpressionError(f"{text!r} cannot be evaluated (croniter refuses {translated!r})")
    return Cron(translated)


def _number_in(low: int, high: int, names: tuple[str, ...] = ()) -> str:
    """A regex of one value: a number from low to high, or (case-insensitive) one of ``names``."""
    numbers = "|".join(str(n) for n in range(high, low - 1, -1))  # longest first: "12" before "1"
    return f"(?:{numbers}{''.join('|' + name for name in names)})"


def _list_of(value: str, item: str, step: bool) -> bool:
    """Is ``value`` a comma list of items: ``*``, ``v``, ``a-b``, and with ``step`` also ``*/n``, ``a/n``, ``a-b/n``?"""
    single = f"(?:\\*|{item}(?:-{item})?)" + (r"(?:/[1-9]\d*)?" if step else "")
    return re.fullmatch(f"{single}(?:,{single})*", value, re.IGNORECASE) is not None


def _field_problem(name: str, value: str) -> str | None:
    if value == "?":
        return None if name in ("day-of-month", "day-of-week") else "'?' is for day-of-month or day-of-week only"
    if name == "minutes":
        return None if _list_of(value, _number_in(0, 59), step=True) else "takes 0-59 with , - * /"
    if name == "hours":
        return None if _list_of(value, _number_in(0, 23), step=True) else "takes 0-23 with , - * /"
    if name == "day-of-month":
        if re.fullmatch(r"L|[1-9]W|[12]\dW|3[01]W", value, re.IGNORECASE):
            return None
        return None if _list_of(value, _number_in(1, 31), step=True) else "takes 1-31 with , - * ? / L W"
    if name == "month":
        return None if _list_of(value, _number_in(1, 12, MONTHS), step=True) else "takes 1-12 or JAN-DEC with , - * /"
    if name == "day-of-week":
        if re.fullmatch(r"L|[1-7]L|(?:[1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)#[1-5]", value, re.IGNORECASE):
            return None
        if "#" in value:
            return "'#' makes the whole field, one expression such as 3#2 (the second Tuesday)"
        if _list_of(value, _number_in(1, 7, DAYS), step=False):
            return None
        return "takes 1-7 (1 is Sunday) or SUN-SAT with , - * ? L #"
    years = _number_in(MIN_YEAR, MAX_YEAR)
    if _list_of(value, years, step=True):
        return None
    return f"takes {MIN_YEAR}-{MAX_YEAR} with , - * /"


def _weekday(field: str) -> str:
    """AWS's day-of-week (1 = Sunday) in croniter's (0 = Sunday); names and ``#`` counts stay as they are."""
    if field.upper() == "L":
        return "6"  # the last day of the week: Saturday
    last = re.fullmatch(r"([1-7])L", field, re.IGNORECASE)
    if last:
        return f"L{int(last[1]) - 1}"  # croniter: L5 is the last Friday of the month
    day, hash_sign, nth = field.partition("#")
    shifted = re.sub(r"\d+", lambda number: str(int(number[0]) - 1), day)
    return shifted + hash_sign + nth


def zone(name: str | None) -> ZoneInfo:
    """A schedule's time zone (``ScheduleExpressionTimezone``); UTC when it names none."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ExpressionError(f"the time zone {name!r} is no IANA time zone name") from None


def next_run(
    expression: Expression,
    now: datetime,
    anchor: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    timezone: str | None = None,
) -> datetime | None:
    """When the schedule next runs after ``now`` (UTC), or None if it never will again.

    ``anchor``: when its rate counts from, its creation or last change, unless ``start`` (its StartDate) says
    otherwise; ``end``: its EndDate."""
    begin = start or anchor
    if isinstance(expression, Rate):
        interval = timedelta(seconds=expression.seconds)
        steps = max(0, math.ceil((now - begin) / interval))
        found: datetime | None = begin + steps * interval
    elif isinstance(expression, At):
        when = expression.when.replace(tzinfo=zone(timezone)).astimezone(UTC)
        found = when if when > now and (start is None or when >= start) else None
    else:
        found = _cron_after(expression, max(now, start) if start else now, timezone)
    if found is not None and end is not None and found > end:
        return None
    return found


def _cron_after(expression: Cron, after: datetime, timezone: str | None) -> datetime | None:
    try:
        local = croniter(expression.croniter_form, after.astimezone(zone(timezone))).get_next(datetime)
    except CroniterBadDateError:  # no date matches (cron(0 0 30 2 ? *)) within croniter's search
        return None
    return local.astimezone(UTC)
