"""Gap 16: EventBridge Scheduler on the endpoint, with plain AWS calls. Requests are checked as the Scheduler API
reference checks them; schedules fire on the wall clock (a rate schedule as it is created) or through the test
hook, starting their Step Functions target as their role: a role that may not start the machine, or whose trust
does not admit this schedule's group, starts nothing and the invocation says why. And, in process, when a schedule
is due."""

import json
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from local_endpoint import scheduler_bridge
from local_endpoint.scheduler_bridge import due_time

from .conftest import admin_client

ACCOUNT = "123456789012"
UNIVERSAL = "arn:aws:scheduler:::aws-sdk:sfn:startExecution"
PASS = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}


def trust(service, condition=None):
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [{**statement, **({"Condition": condition} or {})}]})


@pytest.fixture(scope="module")
def world(endpoint_url):
    """Two state machines, and execution roles: one that may start the first machine only, one trusted only for
    another group, one that trusts Step Functions rather than Scheduler."""
    iam, sfn = admin_client(endpoint_url, "iam"), admin_client(endpoint_url, "stepfunctions")
    admin_client(endpoint_url, "scheduler").create_schedule_group(Name="ours")
    runner = iam.create_role(RoleName="runner", AssumeRolePolicyDocument=trust("states.amazonaws.com"))["Role"]
    machines = [
        sfn.create_state_machine(name=name, definition=json.dumps(PASS), roleArn=runner["Arn"])["stateMachineArn"]
        for name in ("first", "second")
    ]
    ours = {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnEquals": {"aws:SourceArn": f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule-group/ours"},
    }
    roles = {}
    for name, document in (
        ("starts-first", trust("scheduler.amazonaws.com", ours)),
        (
            "other-group",
            trust(
                "scheduler.amazonaws.com",
                {"ArnEquals": {"aws:SourceArn": "arn:aws:scheduler:*:*:schedule-group/theirs"}},
            ),
        ),
        ("not-scheduler", trust("states.amazonaws.com")),
    ):
        roles[name] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=document)["Role"]["Arn"]
        iam.put_role_policy(
            RoleName=name,
            PolicyName="start",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "states:StartExecution", "Resource": machines[0]}],
                }
            ),
        )
    return SimpleNamespace(machines=machines, roles=roles)


def schedule(scheduler, name, expression, target, group="ours", **extra):
    scheduler.create_schedule(
        Name=name,
        GroupName=group,
        ScheduleExpression=expression,
        FlexibleTimeWindow={"Mode": "OFF"},
        Target=target,
        **extra,
    )


def invocations_of(endpoint_url, name, count=1, timeout_seconds=15):
    deadline = time.monotonic() + timeout_seconds
    while True:
        found = [i for i in scheduler_bridge.invocations(endpoint_url) if i["name"] == name]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def executions(sfn, machine):
    return sfn.list_executions(stateMachineArn=machine)["executions"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"Name": "two words"}, "Name 'two words' must be 1 to 64", id="name-space"),
        pytest.param({"Name": "x" * 65}, "must be 1 to 64", id="name-too-long"),
        pytest.param({"GroupName": "nowhere"}, "Schedule group nowhere does not exist", id="missing-group"),
        pytest.param({"ScheduleExpression": "every day"}, "Invalid Schedule Expression", id="expression"),
        pytest.param({"ScheduleExpression": "rate(0 hours)"}, "positive integer", id="rate-zero"),
        pytest.param({"ScheduleExpression": "cron(0 3 * * * *)"}, "Invalid Schedule Expression", id="cron-both-days"),
        pytest.param({"ScheduleExpression": "cron(0 3 * * ?)"}, "Invalid Schedule Expression", id="cron-five"),
        pytest.param({"ScheduleExpression": "at(2027-02-30T00:00:00)"}, "no such date", id="at-february-30"),
        pytest.param({"ScheduleExpressionTimezone": "Mars/Olympus"}, "ScheduleExpressionTimezone", id="zone"),
        pytest.param({"State": "PAUSED"}, "State 'PAUSED' must be ENABLED or DISABLED", id="state"),
        pytest.param({"FlexibleTimeWindow": {"Mode": "SOMETIMES"}}, "Mode 'SOMETIMES'", id="window-mode"),
        pytest.param({"FlexibleTimeWindow": {"Mode": "FLEXIBLE"}}, "MaximumWindowInMinutes", id="window-size"),
        pytest.param({"Target": {"Arn": "x", "RoleArn": "runner"}}, "RoleArn 'runner' is not", id="role-name"),
        pytest.param({"ActionAfterCompletion": "ARCHIVE"}, "ActionAfterCompletion", id="after-completion"),
    ],
)
def test_what_scheduler_refuses_is_refused(admin, world, change, message):
    request = {
        "Name": "refused",
        "GroupName": "ours",
        "ScheduleExpression": "rate(1 day)",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {"Arn": world.machines[0], "RoleArn": world.roles["starts-first"]},
        **change,
    }
    with pytest.raises(ClientError, match=message) as refused:
        admin("scheduler").create_schedule(**request)
    expected = "ResourceNotFoundException" if "GroupName" in change else "ValidationException"
    assert refused.value.response["Error"]["Code"] == expected
    with pytest.raises(ClientError, match="does not exist"):
        admin("scheduler").get_schedule(Name="refused", GroupName="ours")


def test_groups_conflict_and_a_missing_one_is_not_found(admin):
    scheduler = admin("scheduler")
    scheduler.create_schedule_group(Name="twice")
    with pytest.raises(ClientError) as conflict:
        scheduler.create_schedule_group(Name="twice")
    assert (
        conflict.value.response["Error"]["Code"],
        conflict.value.response["ResponseMetadata"]["HTTPStatusCode"],
    ) == (
        "ConflictException",
        409,
    )
    scheduler.delete_schedule_group(Name="twice")
    with pytest.raises(ClientError) as missing:
        scheduler.delete_schedule_group(Name="twice")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_an_update_without_state_enables_the_schedule(admin, world):
    scheduler = admin("scheduler")
    target = {"Arn": world.machines[0], "RoleArn": world.roles["starts-first"]}
    schedule(scheduler, "paused", "cron(0 3 * * ? *)", target, State="DISABLED")
    scheduler.update_schedule(
        Name="paused",
        GroupName="ours",
        ScheduleExpression="cron(0 4 * * ? *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target=target,
    )
    assert scheduler.get_schedule(Name="paused", GroupName="ours")["State"] == "ENABLED"


def test_a_rate_schedule_fires_as_it_is_created_with_context_attributes_as_its_role(admin, world, endpoint_url):
    sfn = admin("stepfunctions")
    request = {
        "StateMachineArn": world.machines[0],
        "Name": "nightly-<aws.scheduler.execution-id>",
        "Input": json.dumps({"at": "<aws.scheduler.scheduled-time>", "by": "<aws.scheduler.schedule-arn>"}),
    }
    target = {"Arn": UNIVERSAL, "RoleArn": world.roles["starts-first"], "Input": json.dumps(request)}
    schedule(admin("scheduler"), "nightly", "rate(1 day)", target)
    [fired] = invocations_of(endpoint_url, "nightly")
    assert (fired["trigger"], fired["error"], fired["group"]) == ("due", None, "ours")
    execution = sfn.describe_execution(executionArn=fired["execution_arn"])
    assert execution["stateMachineArn"] == world.machines[0]
    name = execution["name"]
    assert name.startswith("nightly-") and len(name) == len("nightly-") + 16 and name[8:].isalnum()
    document = json.loads(execution["input"])
    assert document["by"] == f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule/ours/nightly"
    fired_at = datetime.strptime(document["at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(fired_at - datetime.now(UTC)) < timedelta(minutes=1)
    time.sleep(2.5)  # a daily schedule fired once does not fire again
    assert len(invocations_of(endpoint_url, "nightly")) == 1


def test_disabled_and_not_yet_due_schedules_do_not_fire_but_the_hook_fires_them_now(admin, world, endpoint_url):
    sfn, scheduler = admin("stepfunctions"), admin("scheduler")
    target = {"Arn": world.machines[0], "RoleArn": world.roles["starts-first"], "Input": '{"templated": true}'}
    schedule(scheduler, "off", "rate(1 minute)", target, State="DISABLED")
    schedule(scheduler, "later", "cron(0 3 1 1 ? 2099)", target)
    time.sleep(2.5)
    assert invocations_of(endpoint_url, "off", timeout_seconds=0) == []
    assert invocations_of(endpoint_url, "later", timeout_seconds=0) == []
    fired = scheduler_bridge.fire(endpoint_url, "later", group="ours")
    assert (fired["trigger"], fired["error"]) == ("test", None)
    execution = sfn.describe_execution(executionArn=fired["execution_arn"])
    assert json.loads(execution["input"]) == {"templated": True}  # the templated target: the Input as it is
    with pytest.raises(LookupError, match="Schedule nothing does not exist"):
        scheduler_bridge.fire(endpoint_url, "nothing", group="ours")


@pytest.mark.parametrize(
    ("name", "role", "machine", "error", "message"),
    [
        pytest.param(
            "other-machine",
            "starts-first",
            1,
            "AccessDeniedException",
            "is not authorized to perform: states:StartExecution on resource",
            id="policy-names-another-machine",
        ),
        pytest.param(
            "other-group", "other-group", 0, "AccessDeniedException", "cannot be assumed by scheduler", id="trust-group"
        ),
        pytest.param(
            "not-scheduler", "not-scheduler", 0, "AccessDeniedException", "cannot be assumed by scheduler", id="trust"
        ),
    ],
)
def test_a_start_the_role_may_not_make_starts_nothing_and_is_recorded(
    admin, world, endpoint_url, name, role, machine, error, message
):
    sfn = admin("stepfunctions")
    before = len(executions(sfn, world.machines[machine]))
    target = {"Arn": world.machines[machine], "RoleArn": world.roles[role]}
    schedule(admin("scheduler"), name, "cron(0 3 1 1 ? 2099)", target)
    fired = scheduler_bridge.fire(endpoint_url, name, group="ours")
    assert (fired["execution_arn"], fired["error"]) == (None, error)
    assert message in fired["message"]
    assert len(executions(sfn, world.machines[machine])) == before


def test_a_target_that_is_not_bridged_is_a_recorded_failure(admin, world, endpoint_url):
    target = {"Arn": "arn:aws:sqs:us-east-1:123456789012:queue", "RoleArn": world.roles["starts-first"], "Input": "{}"}
    schedule(admin("scheduler"), "queue", "cron(0 3 1 1 ? 2099)", target)
    fired = scheduler_bridge.fire(endpoint_url, "queue", group="ours")
    assert (fired["error"], fired["execution_arn"]) == ("InvalidTarget", None)
    assert "not bridged" in fired["message"]


def moto_schedule(expression, modified, start=None, end=None, zone="UTC"):
    return SimpleNamespace(
        schedule_expression=expression,
        last_modified_date=modified.timestamp(),
        start_date=start.timestamp() if start else None,
        end_date=end.timestamp() if end else None,
        schedule_expression_timezone=zone,
    )


T0 = datetime(2026, 12, 2, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "after", "until", "expected", "extra"),
    [
        pytest.param("rate(1 hour)", T0 - timedelta(seconds=1), T0, T0, {}, id="rate-at-creation"),
        pytest.param("rate(1 hour)", T0, T0 + timedelta(minutes=59), None, {}, id="rate-not-yet"),
        pytest.param("rate(1 hour)", T0, T0 + timedelta(hours=3, minutes=5), T0 + timedelta(hours=3), {}, id="latest"),
        pytest.param(
            "rate(1 hour)",
            T0,
            T0 + timedelta(hours=2),
            None,
            {"start": T0 + timedelta(hours=5)},
            id="rate-before-its-start",
        ),
        pytest.param(
            "rate(1 hour)",
            T0,
            T0 + timedelta(hours=3),
            T0 + timedelta(hours=2),
            {"end": T0 + timedelta(hours=2)},
            id="end",
        ),
        pytest.param("cron(30 10 * * ? *)", T0, T0 + timedelta(hours=1), T0 + timedelta(minutes=30), {}, id="cron"),
        pytest.param(
            "cron(30 10 * * ? *)", T0 + timedelta(minutes=30), T0 + timedelta(hours=1), None, {}, id="cron-once"
        ),
        pytest.param(
            "cron(0 12 ? * 1 *)", T0, T0 + timedelta(days=7), datetime(2026, 12, 6, 12, tzinfo=UTC), {}, id="sun"
        ),
        pytest.param(
            "cron(0 5 * * ? *)",
            T0,
            T0 + timedelta(days=1),
            datetime(2026, 12, 3, 10, tzinfo=UTC),
            {"zone": "America/New_York"},
            id="zone",
        ),
        pytest.param("at(2026-12-02T10:15:00)", T0, T0 + timedelta(hours=1), T0 + timedelta(minutes=15), {}, id="at"),
        pytest.param("at(2026-12-02T09:15:00)", T0, T0 + timedelta(hours=1), None, {}, id="at-past"),
    ],
)
def test_when_a_schedule_is_due(expression, after, until, expected, extra):
    assert due_time(moto_schedule(expression, T0, **extra), after, until) == expected
