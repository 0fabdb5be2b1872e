"""The deploy's schedule stage against moto in process: SCHEDULES become schedules in the deployment's group that
start the newest sync machine as a role allowed to start only that machine; a deploy with a new machine retargets
them (keeping a rate's phase), one no longer listed is deleted, an unchanged one is left alone; ``fab delete``
removes them with their group and role. And what ``fab schedules`` makes of it."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from client import schedules as overview
from deploy import pipeline, schedules
from deploy.aws import Clients
from deploy.config import config_from_values

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
VALUES = {"USER_EMAIL": "dev@example.com", "APP_NAME": "sync-buckets", "AWS_DEFAULT_REGION": "us-east-1"}
INPUT = {"source": "my-data", "destination": "my-copy"}
NIGHTLY = {"name": "nightly", "expression": "cron(0 3 * * ? *)", "input": INPUT}
HOURLY = {"name": "hourly", "expression": "rate(1 hour)", "input": {**INPUT, "prefix": "logs/"}}
STATES_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def config_with(*entries):
    return config_from_values({**VALUES, "SCHEDULES": list(entries)}, environ={})


class Recorder:
    """A client that records the calls the test asks about, in one list shared with another recorder."""

    def __init__(self, client, calls, recorded):
        self._client, self._calls, self._recorded = client, calls, recorded

    def __getattr__(self, name):
        method = getattr(self._client, name)
        if name not in self._recorded:
            return method

        def record(**kwargs):
            self._calls.append((name, kwargs))
            return method(**kwargs)

        return record


@pytest.fixture
def aws():
    with mock_aws():
        services = ("s3", "cloudformation", "stepfunctions", "lambda", "scheduler", "iam")
        clients = Clients(*(boto3.client(service, region_name="us-east-1") for service in services))
        role = clients.iam.create_role(RoleName="states", AssumeRolePolicyDocument=json.dumps(STATES_TRUST))["Role"]

        def machine(timestamp):
            return clients.stepfunctions.create_state_machine(
                name=f"sync-buckets-sync_buckets-{timestamp}",
                definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
                roleArn=role["Arn"],
            )["stateMachineArn"]

        yield clients, machine


def target_of(clients, name):
    described = clients.scheduler.get_schedule(Name=name, GroupName="sync-buckets")
    return described, json.loads(described["Target"]["Input"])


def allowed(clients):
    document = clients.iam.get_role_policy(RoleName="sync-buckets-schedule-us-east-1", PolicyName="start-sync")
    [statement] = document["PolicyDocument"]["Statement"]
    return statement["Action"], statement["Resource"]


def test_schedules_are_created_in_the_group_starting_the_machine_as_a_role_that_may_start_only_it(aws):
    clients, machine = aws
    first = machine("20261201T000000000")
    events = []
    changes = schedules.reconcile(clients.scheduler, clients.iam, config_with(NIGHTLY, HOURLY), first, events.append)
    assert (changes.created, changes.updated, changes.deleted) == (["nightly", "hourly"], [], [])
    assert [(e["LogicalResourceId"], e["ResourceStatus"]) for e in events] == [
        ("Schedule nightly", "CREATED"),
        ("Schedule hourly", "CREATED"),
    ]
    assert events[0]["ResourceStatusReason"] == "cron(0 3 * * ? *), starts sync-buckets-sync_buckets-20261201T000000000"
    described, payload = target_of(clients, "nightly")
    assert described["Target"]["Arn"] == "arn:aws:scheduler:::aws-sdk:sfn:startExecution"
    assert payload == {
        "StateMachineArn": first,
        "Name": "scheduled-nightly-<aws.scheduler.execution-id>",
        "Input": json.dumps(INPUT, separators=(",", ":")),
    }
    assert (described["ScheduleExpression"], described["State"], described["FlexibleTimeWindow"]) == (
        "cron(0 3 * * ? *)",
        "ENABLED",
        {"Mode": "OFF"},
    )
    assert "StartDate" not in described  # created: a rate runs at once, as Scheduler runs it
    role = clients.iam.get_role(RoleName="sync-buckets-schedule-us-east-1")["Role"]
    assert described["Target"]["RoleArn"] == role["Arn"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
                "ArnEquals": {"aws:SourceArn": f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule-group/sync-buckets"},
            },
        }
    ]
    assert allowed(clients) == ("states:StartExecution", [first])
    assert clients.iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"] == ["start-sync"]


def test_a_deploy_that_changes_nothing_calls_no_create_or_update(aws):
    clients, machine = aws
    first = machine("20261201T000000000")
    config = config_with(NIGHTLY, HOURLY)
    schedules.reconcile(clients.scheduler, clients.iam, config, first, lambda event: None)
    before = clients.scheduler.get_schedule(Name="hourly", GroupName="sync-buckets")["LastModificationDate"]
    calls = []
    scheduler = Recorder(clients.scheduler, calls, {"create_schedule", "update_schedule", "delete_schedule"})
    iam = Recorder(clients.iam, calls, {"create_role", "put_role_policy", "update_assume_role_policy"})
    changes = schedules.reconcile(scheduler, iam, config, first, lambda event: None)
    assert (changes.unchanged, calls) == (["nightly", "hourly"], [])
    assert clients.scheduler.get_schedule(Name="hourly", GroupName="sync-buckets")["LastModificationDate"] == before


def test_a_new_machine_gets_every_schedule_a_rate_keeps_its_phase_and_one_no_longer_listed_goes(aws):
    clients, machine = aws
    first, second = machine("20261201T000000000"), machine("20261202T000000000")
    schedules.reconcile(clients.scheduler, clients.iam, config_with(NIGHTLY, HOURLY), first, lambda event: None)
    created = clients.scheduler.get_schedule(Name="hourly", GroupName="sync-buckets")["CreationDate"]
    calls, events = [], []
    scheduler = Recorder(clients.scheduler, calls, {"create_schedule", "update_schedule", "delete_schedule"})
    iam = Recorder(clients.iam, calls, {"put_role_policy"})
    changes = schedules.reconcile(scheduler, iam, config_with(HOURLY), second, events.append)
    assert (changes.updated, changes.deleted, changes.created) == (["hourly"], ["nightly"], [])
    described, payload = target_of(clients, "hourly")
    assert payload["StateMachineArn"] == second
    assert json.loads(payload["Input"]) == HOURLY["input"]
    assert described["StartDate"] == created + timedelta(hours=1)  # its next run in the phase it had
    assert [s["Name"] for s in clients.scheduler.list_schedules(GroupName="sync-buckets")["Schedules"]] == ["hourly"]
    # The role may start both while the schedules move, and only the new machine once they have.
    assert [(name, json.loads(kwargs.get("PolicyDocument", "{}")).get("Statement")) for name, kwargs in calls] == [
        ("put_role_policy", [{"Effect": "Allow", "Action": "states:StartExecution", "Resource": [first, second]}]),
        ("update_schedule", None),
        ("delete_schedule", None),
        ("put_role_policy", [{"Effect": "Allow", "Action": "states:StartExecution", "Resource": [second]}]),
    ]
    assert allowed(clients) == ("states:StartExecution", [second])
    assert [(e["LogicalResourceId"], e["ResourceStatus"]) for e in events] == [
        ("Schedule hourly", "UPDATED"),
        ("Schedule nightly", "DELETED"),
    ]


def test_a_changed_expression_or_input_or_pause_is_an_update(aws):
    clients, machine = aws
    first = machine("20261201T000000000")
    schedules.reconcile(clients.scheduler, clients.iam, config_with(NIGHTLY, HOURLY), first, lambda event: None)
    paused = {**NIGHTLY, "expression": "cron(30 4 * * ? *)", "enabled": False}
    moved = {**HOURLY, "input": {**INPUT, "prefix": "other/"}}
    changes = schedules.reconcile(clients.scheduler, clients.iam, config_with(paused, moved), first, lambda e: None)
    assert changes.updated == ["nightly", "hourly"]
    nightly, _ = target_of(clients, "nightly")
    assert (nightly["ScheduleExpression"], nightly["State"], "StartDate" in nightly) == (
        "cron(30 4 * * ? *)",
        "DISABLED",
        False,
    )
    assert json.loads(target_of(clients, "hourly")[1]["Input"])["prefix"] == "other/"


def test_no_schedules_left_removes_the_schedules_their_group_and_their_role(aws):
    clients, machine = aws
    first = machine("20261201T000000000")
    schedules.reconcile(clients.scheduler, clients.iam, config_with(NIGHTLY), first, lambda event: None)
    changes = schedules.reconcile(clients.scheduler, clients.iam, config_with(), first, lambda event: None)
    assert changes.deleted == ["nightly"]
    assert [g["Name"] for g in clients.scheduler.list_schedule_groups()["ScheduleGroups"]] == ["default"]
    assert "sync-buckets-schedule-us-east-1" not in [r["RoleName"] for r in clients.iam.list_roles()["Roles"]]
    again = schedules.reconcile(clients.scheduler, clients.iam, config_with(), first, lambda event: None)
    assert again.deleted == []  # nothing there: no error


def test_delete_removes_the_schedules_with_the_machines(aws):
    clients, machine = aws
    first = machine("20261201T000000000")
    config = config_with(NIGHTLY, HOURLY)
    schedules.reconcile(clients.scheduler, clients.iam, config, first, lambda event: None)
    events = []
    result = pipeline.delete(pipeline.Project(ROOT), config, clients, events.append)
    assert (sorted(result.schedules), result.state_machines) == (
        ["hourly", "nightly"],
        ["sync-buckets-sync_buckets-20261201T000000000"],
    )
    assert [e["LogicalResourceId"] for e in events[:2]] == ["Schedule hourly", "Schedule nightly"]
    assert [g["Name"] for g in clients.scheduler.list_schedule_groups()["ScheduleGroups"]] == ["default"]
    assert "sync-buckets-schedule-us-east-1" not in [r["RoleName"] for r in clients.iam.list_roles()["Roles"]]


def test_fab_schedules_says_what_disagrees_with_the_config_and_the_deployment(aws):
    clients, machine = aws
    first, second = machine("20261201T000000000"), machine("20261202T000000000")
    schedules.reconcile(clients.scheduler, clients.iam, config_with(NIGHTLY, HOURLY), first, lambda event: None)
    edited = config_with({**NIGHTLY, "expression": "cron(0 4 * * ? *)"}, {**HOURLY, "name": "weekly"})
    now = datetime.now(UTC)

    def refused(document):
        return "'prefix' is not allowed here" if document.get("prefix") else None

    rows = overview.overview(
        clients.scheduler, clients.s3, clients.stepfunctions, edited, [first, second], now, refused
    )
    assert [(row.name, row.state, row.machine) for row in rows] == [
        ("nightly", "ENABLED", "sync-buckets-sync_buckets-20261201T000000000"),
        ("weekly", "NOT DEPLOYED", "-"),
        ("hourly", "ENABLED", "sync-buckets-sync_buckets-20261201T000000000"),
    ]
    assert rows[0].notes == [
        "differs from SCHEDULES: the next 'fab deploy' updates it",
        "starts an older state machine: run 'fab deploy' to point it at the newest",
    ]
    assert rows[1].notes == ["not deployed: run 'fab deploy'"]
    assert rows[2].notes == [
        "not in SCHEDULES: the next 'fab deploy' deletes it",
        "starts an older state machine: run 'fab deploy' to point it at the newest",
        "its input would be refused: 'prefix' is not allowed here",
    ]
    tomorrow_3am = (now + timedelta(days=1)).replace(hour=3, minute=0, second=0, microsecond=0)
    assert rows[0].next_run in (tomorrow_3am, tomorrow_3am - timedelta(days=1))
    created = clients.scheduler.get_schedule(Name="hourly", GroupName="sync-buckets")["CreationDate"]
    assert rows[2].next_run == created + timedelta(hours=1)
    lines = overview.table(rows)
    assert lines[0].split()[:3] == ["schedule", "state", "expression"]
    assert lines[1].startswith("nightly ") and "never" in lines[1]  # no execution yet
    assert lines[2:4] == [
        "  differs from SCHEDULES: the next 'fab deploy' updates it",
        "  starts an older state machine: run 'fab deploy' to point it at the newest",
    ]
    assert [row["name"] for row in json.loads(overview.as_json(rows))] == ["nightly", "weekly", "hourly"]
    assert overview.table([]) == ["No schedules: SCHEDULES in fabfile_config.py lists none, and none is deployed."]
