"""Schedule expressions: AWS's three forms are read as Scheduler reads them, what it refuses is named with the field,
and the next run is computed from the expression (rate from its anchor, cron with AWS's day-of-week, at once)."""

from datetime import UTC, datetime, timedelta

import pytest

from deploy.schedule_expressions import At, Cron, ExpressionError, Rate, next_run, parse_expression

NOW = datetime(2026, 12, 2, 10, 30, 15, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("rate(1 minute)", Rate(60), id="one-minute"),
        pytest.param("rate(15 minutes)", Rate(900), id="minutes"),
        pytest.param("rate(1 hour)", Rate(3600), id="one-hour"),
        pytest.param("rate(6 hours)", Rate(21600), id="hours"),
        pytest.param("rate(1 day)", Rate(86400), id="one-day"),
        pytest.param("rate(7 days)", Rate(604800), id="days"),
        pytest.param("at(2027-01-31T12:00:00)", At(datetime(2027, 1, 31, 12)), id="at"),
        pytest.param("cron(0 3 * * ? *)", Cron("0 3 * * * 0 *"), id="daily"),
        pytest.param("cron(0/15 8-17 ? * MON-FRI *)", Cron("0/15 8-17 * * MON-FRI 0 *"), id="weekday-names"),
        pytest.param("cron(0 12 ? * 2-6 *)", Cron("0 12 * * 1-5 0 *"), id="weekday-numbers-shift"),
        pytest.param("cron(0 0 ? * 6L *)", Cron("0 0 * * L5 0 *"), id="last-friday"),
        pytest.param("cron(0 0 ? * 3#2 *)", Cron("0 0 * * 2#2 0 *"), id="second-tuesday"),
        pytest.param("cron(0 0 ? * L *)", Cron("0 0 * * 6 0 *"), id="last-day-of-week"),
        pytest.param("cron(0 0 L * ? *)", Cron("0 0 L * * 0 *"), id="last-day-of-month"),
        pytest.param("cron(0 9 15W * ? *)", Cron("0 9 15W * * 0 *"), id="nearest-weekday"),
        pytest.param("cron(30 2 1,15 JAN-MAR ? 2027)", Cron("30 2 1,15 JAN-MAR * 0 2027"), id="lists-months-year"),
    ],
)
def test_what_scheduler_takes_is_read(text, expected):
    assert parse_expression(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(None, "must be a string", id="none"),
        pytest.param("", "must be a string", id="empty"),
        pytest.param("every day", "none of rate", id="unknown-form"),
        pytest.param("rate(1 days)", r"write rate\(1 day\)", id="plural-for-one"),
        pytest.param("rate(5 minute)", r"write rate\(5 minutes\)", id="singular-for-many"),
        pytest.param("rate(0 minutes)", "positive whole number", id="zero"),
        pytest.param("rate(1 second)", "not rate", id="seconds"),
        pytest.param("rate(1.5 hours)", "not rate", id="fraction"),
        pytest.param("rate( 1 day)", "not rate", id="extra-space"),
        pytest.param("at(2027-02-30T12:00:00)", "no real date", id="february-30"),
        pytest.param("at(2027-01-31 12:00:00)", "not at", id="at-without-T"),
        pytest.param("cron(0 3 * * *)", "six fields", id="five-fields"),
        pytest.param("cron(0  3 * * ? *)", "six fields", id="two-spaces"),
        pytest.param("cron(0 3 * * * *)", "exactly one of day-of-month", id="both-days"),
        pytest.param("cron(0 3 ? * ? *)", "exactly one of day-of-month", id="neither-day"),
        pytest.param("cron(60 3 * * ? *)", r"field 1 \(minutes\) is '60'", id="minute-60"),
        pytest.param("cron(0 24 * * ? *)", r"field 2 \(hours\) is '24'", id="hour-24"),
        pytest.param("cron(0 3 32 * ? *)", r"field 3 \(day-of-month\)", id="day-32"),
        pytest.param("cron(0 3 * 13 ? *)", r"field 4 \(month\)", id="month-13"),
        pytest.param("cron(0 3 ? * 0 *)", r"field 5 \(day-of-week\) is '0'.*1 is Sunday", id="weekday-0"),
        pytest.param("cron(0 3 ? * MON/2 *)", r"field 5 \(day-of-week\)", id="weekday-step"),
        pytest.param("cron(0 3 ? * 2#1,3#2 *)", "'#' makes the whole field", id="two-hashes"),
        pytest.param("cron(0 3 * * ? 2100)", r"field 6 \(year\).*1970-2099", id="year-2100"),
        pytest.param("cron(? 3 * * ? *)", r"field 1 \(minutes\).*'\?' is for", id="question-in-minutes"),
        pytest.param("rate(" + "9" * 260 + " days)", "at most 256", id="too-long"),
    ],
)
def test_what_scheduler_refuses_is_named_with_what_it_takes(text, message):
    with pytest.raises(ExpressionError, match=message):
        parse_expression(text)


def test_a_rate_runs_at_its_anchor_then_every_interval():
    every_hour = parse_expression("rate(1 hour)")
    anchor = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    assert next_run(every_hour, NOW, anchor) == datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
    assert next_run(every_hour, anchor, anchor) == anchor  # created now: it runs now
    assert next_run(every_hour, anchor - timedelta(minutes=5), anchor) == anchor
    later = datetime(2026, 12, 3, 0, 20, tzinfo=UTC)
    assert next_run(every_hour, NOW, anchor, start=later) == later  # a StartDate ahead: the first run is then
    assert next_run(every_hour, NOW, anchor, end=datetime(2026, 12, 2, 10, 59, tzinfo=UTC)) is None


def test_a_daily_rate_keeps_its_time_of_day():
    daily = parse_expression("rate(1 day)")
    anchor = datetime(2026, 11, 20, 18, 43, 21, tzinfo=UTC)
    assert next_run(daily, NOW, anchor) == datetime(2026, 12, 2, 18, 43, 21, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("cron(0 3 * * ? *)", datetime(2026, 12, 3, 3, 0), id="daily-tomorrow"),
        pytest.param("cron(45 10 * * ? *)", datetime(2026, 12, 2, 10, 45), id="daily-later-today"),
        pytest.param("cron(0 12 ? * 1 *)", datetime(2026, 12, 6, 12, 0), id="sunday-is-1"),
        pytest.param("cron(0 12 ? * 7 *)", datetime(2026, 12, 5, 12, 0), id="saturday-is-7"),
        pytest.param("cron(0 12 ? * SUN *)", datetime(2026, 12, 6, 12, 0), id="sunday-by-name"),
        pytest.param("cron(0 8 ? * MON-FRI *)", datetime(2026, 12, 3, 8, 0), id="weekdays"),
        pytest.param("cron(0 0 ? * 6L *)", datetime(2026, 12, 25, 0, 0), id="last-friday"),
        pytest.param("cron(0 0 ? * 2#1 *)", datetime(2026, 12, 7, 0, 0), id="first-monday"),
        pytest.param("cron(0 0 L * ? *)", datetime(2026, 12, 31, 0, 0), id="last-day"),
        pytest.param("cron(0 9 6W * ? *)", datetime(2026, 12, 7, 9, 0), id="sunday-6th-to-monday"),
        pytest.param("cron(0 0 1 1 ? 2028)", datetime(2028, 1, 1, 0, 0), id="a-year"),
        pytest.param("cron(0/20 * * * ? *)", datetime(2026, 12, 2, 10, 40), id="every-20-minutes"),
    ],
)
def test_a_cron_runs_at_its_next_matching_minute_in_utc(text, expected):
    assert next_run(parse_expression(text), NOW, NOW) == expected.replace(tzinfo=UTC)


def test_a_cron_that_matches_no_date_never_runs():
    assert next_run(parse_expression("cron(0 0 30 2 ? *)"), NOW, NOW) is None


def test_a_cron_in_a_time_zone_runs_at_that_zones_wall_clock():
    # 03:00 in New York is 08:00 UTC in winter.
    found = next_run(parse_expression("cron(0 3 * * ? *)"), NOW, NOW, timezone="America/New_York")
    assert found == datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def test_at_runs_once_if_it_is_still_to_come():
    once = parse_expression("at(2026-12-24T18:00:00)")
    assert next_run(once, NOW, NOW) == datetime(2026, 12, 24, 18, 0, tzinfo=UTC)
    assert next_run(once, datetime(2026, 12, 25, tzinfo=UTC), NOW) is None
