"""Redeploys keep the sync history: a deploy that changes nothing keeps its state machine, and ``fab status`` and
``fab report`` read the run records in the deployment bucket, which outlive the machines a changed deploy
removes (issue 10: "five no-change deploys in a row leave fab status and fab report -e NAME showing the earlier
syncs"). The fab tasks run as processes, as a user runs them; KEEP_STATE_MACHINES = 1, so removal really happens.
"""

import json
import re
import shutil
import time

import boto3
import pytest

from client import executions

from .conftest import READ, ROOT, wait_for_execution
from .test_fab_tasks import fab

CONFIG = (
    'USER_EMAIL = "dev@example.com"\nAPP_NAME = "e2e-history"\nAWS_DEFAULT_PROFILE = None\n'
    'AWS_DEFAULT_REGION = "us-east-1"\nKEEP_STATE_MACHINES = 1\n'
)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """This repository's functions and state machine with a config of its own, outside the repository."""
    root = tmp_path_factory.mktemp("history") / "repo"
    root.mkdir()
    shutil.copy(ROOT / "fabfile.py", root / "fabfile.py")
    for name in ("deploy", "client", "local_endpoint", "lambda_functions", "state_machines"):
        (root / name).symlink_to(ROOT / name)
    (root / "fabfile_config.py").write_text(CONFIG)
    return root


def machine_names(sfn):
    return sorted(
        m["name"] for m in sfn.list_state_machines()["stateMachines"] if m["name"].startswith("e2e-history-sync")
    )


def sync(aws, sfn, arn, **fields):
    started = executions.start(sfn, arn, fields)
    return executions.follow(sfn, started, lambda progress: None, sleep=lambda seconds: None)


def status_rows(project, endpoint):
    shown = fab(project, "status", endpoint_url=endpoint.url)
    assert shown.returncode == 0, shown.stderr
    return shown.stdout.splitlines()[1:]  # under the header


def record_written(s3, bucket, name, timeout_seconds=60):
    """Poll until the run's record exists (ValidateInput has run): a test helper, not a timed assertion."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix="history/").get("Contents", [])
        if any(item["Key"].endswith(f"-{name}.json") for item in listed):
            return True
        time.sleep(0.1)
    return False


def test_no_change_deploys_keep_the_machine_and_changed_ones_keep_the_history(
    project,
    endpoint,
    aws,
    buckets,
    faults,
):
    sfn, s3 = aws("stepfunctions"), boto3.client("s3", region_name="us-east-1", config=READ)
    first = fab(project, "deploy", endpoint_url=endpoint.url)
    assert first.returncode == 0, first.stderr
    [machine] = machine_names(sfn)
    source, destination = buckets()
    s3.put_object(Bucket=source, Key="a", Body=b"abc")
    s3.put_object(Bucket=source, Key="b/c", Body=b"de")
    arn = next(m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"] if m["name"] == machine)
    synced = sync(aws, sfn, arn, source=source, destination=destination)
    assert synced.succeeded, synced.cause
    refused = sync(aws, sfn, arn, source=source, destination=source)
    assert refused.error == "InvalidInputError"
    synced_name, refused_name = synced.arn.rsplit(":", 1)[1], refused.arn.rsplit(":", 1)[1]
    bucket = synced.output["report"].removeprefix("s3://").split("/", 1)[0]
    # A run stopped after it wrote its record: no end step runs, so the record keeps saying RUNNING.
    faults({"lambda": [{"function": "e2e-history-get_bucket_location", "fault": "delay", "afterSeconds": 5}]})
    stopped = executions.start(sfn, arn, {"source": source, "destination": destination})
    stopped_name = stopped.rsplit(":", 1)[1]
    assert record_written(s3, bucket, stopped_name)
    sfn.stop_execution(executionArn=stopped)
    # The endpoint's execution says ABORTED once its step in flight (the delayed invocation) has returned.
    assert wait_for_execution(sfn, stopped)["status"] == "ABORTED"

    for _ in range(5):
        again = fab(project, "deploy", endpoint_url=endpoint.url)
        assert again.returncode == 0, again.stderr
        assert f"State machine {machine}: unchanged, kept\n" in again.stdout
        assert "Removed old state machine" not in again.stdout
    assert machine_names(sfn) == [machine]
    rows = status_rows(project, endpoint)
    assert [row.split()[2] for row in rows] == ["ABORTED", "FAILED", "SUCCEEDED"]  # newest first
    assert stopped_name in rows[0]  # its machine exists: Step Functions says how it ended
    assert refused_name in rows[1] and "InvalidInputError: " in rows[1] and f"{source} -> {source}" in rows[1]
    assert synced_name in rows[2] and f"{source} -> {destination}" in rows[2]

    # A changed deploy (the functions' environment) makes a new machine and, keeping one, removes the old one
    # with its executions: the records still tell.
    (project / "fabfile_config.py").write_text(CONFIG + "MAX_DELETES = 5\nREPORT_RETENTION_DAYS = 30\n")
    changed = fab(project, "deploy", endpoint_url=endpoint.url)
    assert changed.returncode == 0, changed.stderr
    assert f"Removed old state machine {machine}\n" in changed.stdout
    [newer] = machine_names(sfn)
    assert newer != machine
    after = status_rows(project, endpoint)
    assert after[1:] == rows[1:]
    assert stopped_name in after[0] and after[0].split()[2] == "UNKNOWN"
    assert "the run ended without writing its record (stopped or timed out?)" in after[0]

    report = fab(project, "report", "--execution", synced_name, "--json", endpoint_url=endpoint.url)
    assert report.returncode == 0, report.stderr
    assert sorted(json.loads(line)["key"] for line in report.stdout.splitlines()) == ["a", "b/c"]
    assert f"Report of {synced_name} (SUCCEEDED)" in report.stderr
    by_arn = fab(project, "report", "-e", synced.arn, "--copied", endpoint_url=endpoint.url)
    assert by_arn.returncode == 0, by_arn.stderr
    assert [line.split()[:2] for line in by_arn.stdout.splitlines()] == [["copy", "copied"]] * 2
    no_report = fab(project, "report", "-e", refused_name, endpoint_url=endpoint.url)
    assert (no_report.returncode, no_report.stdout) == (
        0,
        f"Execution {refused_name} (FAILED) has no report: it ended before writing one.\n",
    )

    # A run on the new machine is listed first; the default report is its report.
    newer_arn = next(m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"] if m["name"] == newer)
    s3.put_object(Bucket=source, Key="d", Body=b"fgh")
    latest = sync(aws, sfn, newer_arn, source=source, destination=destination)
    assert latest.succeeded, latest.cause
    newest_report = fab(project, "report", endpoint_url=endpoint.url)
    assert newest_report.returncode == 0, newest_report.stderr
    assert [line.split()[:4] for line in newest_report.stdout.splitlines()] == [["copy", "copied", "3", "d"]]
    missing = sync(aws, sfn, newer_arn, source="e2e-history-no-such-bucket", destination=destination)
    assert missing.error == "BucketNotFoundError"  # ends through ReleaseLockAfterFailure, which finishes the record
    rows = status_rows(project, endpoint)
    assert [row.split()[2] for row in rows] == ["FAILED", "SUCCEEDED", "UNKNOWN", "FAILED", "SUCCEEDED"]
    assert "BucketNotFoundError: " in rows[0] and "e2e-history-no-such-bucket -> " in rows[0]
    assert latest.arn.rsplit(":", 1)[1] in rows[1]
    assert re.search(r"SUCCEEDED +\d+\.\d +1 +0 +0 ", rows[1]), rows[1]
    limited = fab(project, "status", "--limit", "2", endpoint_url=endpoint.url)
    assert limited.stdout.splitlines()[1:] == status_rows(project, endpoint)[:2]

    # The records themselves, and the lifecycle rule the changed deploy set (REPORT_RETENTION_DAYS = 30).
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix="history/")["Contents"]]
    names = (synced_name, refused_name, stopped_name, latest.arn.rsplit(":", 1)[1], missing.arn.rsplit(":", 1)[1])
    assert [key.rsplit("-", 1)[-1] for key in keys] == [name.rsplit("-", 1)[-1] + ".json" for name in names]
    record = json.loads(s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read())
    assert (record["status"], record["stateMachine"], record["summary"], record["report"]) == (
        "SUCCEEDED",
        machine,
        synced.output,
        synced.output["report"],
    )
    assert synced.output["s3Requests"]["PutObject"] == 1 + 1 + 2  # the lock, the report, the record twice
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    expiring = [rule for rule in rules if "Expiration" in rule]
    assert sorted((rule["Filter"]["Prefix"], rule["Expiration"]["Days"], rule["Status"]) for rule in expiring) == [
        ("history/", 30, "Enabled"),
        ("runs/", 30, "Enabled"),
    ]
    # A report upload left by a WriteReport that failed every retry after a hand-over is aborted by S3.
    (aborting,) = [rule for rule in rules if "Expiration" not in rule]
    assert (aborting["Filter"]["Prefix"], aborting["AbortIncompleteMultipartUpload"], aborting["Status"]) == (
        "",
        {"DaysAfterInitiation": 7},
        "Enabled",
    )
