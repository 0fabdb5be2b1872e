"""Schedules on the embedded endpoint, as a user runs them (the fab tasks as processes): ``fab deploy`` puts SCHEDULES
in place; a ``rate(1 day)`` schedule fires by itself as it is created (the endpoint's real-time bridge) and its
execution mirrors the source into the destination; a schedule whose input names a missing bucket, fired through the
endpoint's test hook, fails and ``fab status`` shows it; ``fab schedules`` lists both with their next run and last
execution; a deploy that makes a new machine points the kept schedule at it, keeps its phase and deletes the one no
longer listed; ``fab delete`` removes the rest.
"""

import json
import re
import shutil
import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from croniter import croniter

from local_endpoint import scheduler_bridge

from .conftest import READ, ROOT, assert_mirrored, wait_for_execution
from .test_fab_tasks import fab

APP = "e2e-schedules"
SOURCE, DESTINATION, MISSING = "e2e-schedules-src", "e2e-schedules-dst", "e2e-schedules-no-such-bucket"
CONFIG = (
    f'USER_EMAIL = "dev@example.com"\nAPP_NAME = "{APP}"\nAWS_DEFAULT_PROFILE = None\n'
    'AWS_DEFAULT_REGION = "us-east-1"\nKEEP_STATE_MACHINES = 1\n'
)
MIRROR = {"name": "mirror", "expression": "rate(1 day)", "input": {"source": SOURCE, "destination": DESTINATION}}
BROKEN = {"name": "broken", "expression": "cron(0 3 * * ? *)", "input": {"source": SOURCE, "destination": MISSING}}
KEYS = {"plain.txt": b"a", "café/ü.txt": b"bb", "a b+c%2F?.txt": b"ccc", "dir//x": b"", "emoji \U0001f600": b"dddd"}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """This repository's functions and state machine with a config of its own, outside the repository."""
    root = tmp_path_factory.mktemp("schedules") / "repo"
    root.mkdir()
    shutil.copy(ROOT / "fabfile.py", root / "fabfile.py")
    for name in ("deploy", "client", "local_endpoint", "lambda_functions", "state_machines"):
        (root / name).symlink_to(ROOT / name)
    return root


def configure(project, *schedules, extra=""):
    (project / "fabfile_config.py").write_text(CONFIG + extra + f"SCHEDULES = {list(schedules)!r}\n")


def invocation_of(endpoint, name, timeout_seconds=30):
    """The bridge's first invocation of a schedule, waited for (a test helper: it fires within a second)."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        found = [i for i in scheduler_bridge.invocations(endpoint.url) if i["name"] == name and i["group"] == APP]
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"schedule {name} never fired")


def test_schedules_fire_sync_show_in_status_follow_the_newest_machine_and_go_with_delete(project, endpoint, aws):
    s3, sfn = boto3.client("s3", region_name="us-east-1", config=READ), aws("stepfunctions")
    scheduler, iam = aws("scheduler"), aws("iam")
    for bucket in (SOURCE, DESTINATION):
        s3.create_bucket(Bucket=bucket)
    for key, body in KEYS.items():
        s3.put_object(Bucket=SOURCE, Key=key, Body=body)
    s3.put_object(Bucket=DESTINATION, Key="orphan", Body=b"only here")

    configure(project, MIRROR, BROKEN)
    deployed = fab(project, "deploy", endpoint_url=endpoint.url)
    assert deployed.returncode == 0, deployed.stderr
    [machine] = [m for m in sfn.list_state_machines()["stateMachines"] if m["name"].startswith(f"{APP}-sync_buckets-")]
    for name, expression in (("mirror", "rate(1 day)"), ("broken", "cron(0 3 * * ? *)")):
        event = rf"Schedule {name} +CREATED +{re.escape(expression)}, starts {machine['name']}\n"
        assert re.search(event, deployed.stdout), deployed.stdout

    # The rate schedule runs as it is created: a real scheduled execution, which mirrors the buckets.
    [fired] = invocation_of(endpoint, "mirror")
    assert (fired["trigger"], fired["error"]) == ("due", None)
    execution = wait_for_execution(sfn, fired["execution_arn"])
    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    assert execution["stateMachineArn"] == machine["stateMachineArn"]
    assert execution["name"].startswith("scheduled-mirror-")
    assert json.loads(execution["input"]) == MIRROR["input"]
    assert_mirrored(s3, SOURCE, DESTINATION)
    assert "orphan" not in {item["Key"] for item in s3.list_objects_v2(Bucket=DESTINATION).get("Contents", [])}

    # The cron schedule is not due for hours; the endpoint's test hook fires it now. Its destination is missing.
    broken = scheduler_bridge.fire(endpoint.url, "broken", group=APP)
    failed = wait_for_execution(sfn, broken["execution_arn"])
    assert (failed["status"], failed["error"]) == ("FAILED", "BucketNotFoundError")
    failed_name, mirror_name = failed["name"], execution["name"]

    # fab status reads the run records: the scheduled runs are there, named after their schedule.
    status = fab(project, "status", endpoint_url=endpoint.url)
    assert status.returncode == 0, status.stderr
    failed_row, mirror_row = status.stdout.splitlines()[1:3]  # newest first
    assert failed_name in failed_row and failed_row.split()[2] == "FAILED"
    assert "BucketNotFoundError: " in failed_row and f"{SOURCE} -> {MISSING}" in failed_row
    assert mirror_name in mirror_row and mirror_row.split()[2] == "SUCCEEDED"
    assert f"{SOURCE} -> {DESTINATION}" in mirror_row

    listed = fab(project, "schedules", endpoint_url=endpoint.url)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert re.fullmatch(
        r"schedule +state +expression +next run \(UTC\) +last run \(UTC\) +last execution +starts", lines[0]
    )
    created = scheduler.get_schedule(Name="mirror", GroupName=APP)["CreationDate"].astimezone(UTC)
    next_mirror = f"{created + timedelta(days=1):%Y-%m-%d %H:%M:%S}"
    next_broken = f"{croniter('0 3 * * *', datetime.now(UTC)).get_next(datetime):%Y-%m-%d %H:%M:%S}"
    mirror_line, broken_line = lines[1], lines[2]  # in SCHEDULES' order, and no note under either
    assert mirror_line.split()[:3] == ["mirror", "ENABLED", "rate(1"] and next_mirror in mirror_line
    assert f"SUCCEEDED  {mirror_name}  {machine['name']}" in mirror_line
    assert broken_line.split()[:2] == ["broken", "ENABLED"] and "cron(0 3 * * ? *)" in broken_line
    assert next_broken in broken_line and f"FAILED     {failed_name}  {machine['name']}" in broken_line
    as_json = json.loads(fab(project, "schedules", "--json", endpoint_url=endpoint.url).stdout)
    assert [(row["name"], row["lastExecution"]["status"], row["notes"]) for row in as_json] == [
        ("mirror", "SUCCEEDED", []),
        ("broken", "FAILED", []),
    ]

    # A changed deploy (the functions' environment) makes a new machine: the kept schedule follows it, without a
    # run of its own (its phase is kept), the removed one is deleted, and the role may start the new machine only.
    configure(project, MIRROR, extra="MAX_DELETES = 5\n")
    redeployed = fab(project, "deploy", endpoint_url=endpoint.url)
    assert redeployed.returncode == 0, redeployed.stderr
    [newer] = [m for m in sfn.list_state_machines()["stateMachines"] if m["name"].startswith(f"{APP}-sync_buckets-")]
    assert newer["name"] != machine["name"]
    assert "Schedule mirror" in redeployed.stdout and "Schedule broken" in redeployed.stdout
    described = scheduler.get_schedule(Name="mirror", GroupName=APP)
    assert json.loads(described["Target"]["Input"])["StateMachineArn"] == newer["stateMachineArn"]
    assert described["StartDate"].astimezone(UTC) == created + timedelta(days=1)
    names = [s["Name"] for s in scheduler.list_schedules(GroupName=APP)["Schedules"]]
    assert names == ["mirror"]
    role = described["Target"]["RoleArn"].rsplit("/", 1)[1]
    policy = iam.get_role_policy(RoleName=role, PolicyName="start-sync")["PolicyDocument"]
    assert policy["Statement"] == [
        {"Effect": "Allow", "Action": "states:StartExecution", "Resource": [newer["stateMachineArn"]]}
    ]
    time.sleep(2 * scheduler_bridge.POLL_SECONDS + 0.5)  # the bridge has looked at the updated schedule since
    assert len(invocation_of(endpoint, "mirror")) == 1

    deleted = fab(project, "delete", "--yes", endpoint_url=endpoint.url)
    assert deleted.returncode == 0, deleted.stderr
    assert "Schedule mirror" in deleted.stdout
    groups = [g["Name"] for g in scheduler.list_schedule_groups()["ScheduleGroups"]]
    assert APP not in groups
    assert role not in [r["RoleName"] for r in iam.list_roles()["Roles"]]
