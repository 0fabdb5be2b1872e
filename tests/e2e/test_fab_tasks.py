"""The fab tasks as a user runs them: real ``fab`` processes on a copy of the fixture project."""

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from .conftest import ROOT

FAB = Path(sys.executable).parent / "fab"
CONFIG = (
    'USER_EMAIL = "dev@example.com"\nAPP_NAME = "{app}"\nAWS_DEFAULT_PROFILE = None\nAWS_DEFAULT_REGION = "us-east-1"\n'
)


@pytest.fixture
def fab_project(fixture_project):
    """The fixture project with this repository's fabfile and packages beside it."""
    for name in ("fabfile.py", "fabfile_config_template.py"):
        shutil.copy(ROOT / name, fixture_project / name)
    for name in ("deploy", "client", "local_endpoint"):
        (fixture_project / name).symlink_to(ROOT / name)
    return fixture_project


def fab_env(endpoint_url: str | None = None) -> dict[str, str]:
    env = {**os.environ}
    env.pop("AWS_ENDPOINT_URL", None)
    if endpoint_url:
        env["AWS_ENDPOINT_URL"] = endpoint_url
    return env


def fab(project: Path, *args: str, endpoint_url: str | None = None, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(FAB), *args],
        cwd=project,
        env=fab_env(endpoint_url),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def fab_into_closed_pipe(project: Path, *args: str, endpoint_url: str | None = None) -> subprocess.CompletedProcess:
    """fab with its stdout a pipe whose reader has gone, as in ``fab report | head -2`` once head has its lines."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return subprocess.run(
            [str(FAB), *args],
            cwd=project,
            env=fab_env(endpoint_url),
            stdin=subprocess.DEVNULL,
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(writer)


def test_every_task_is_listed_with_its_help(fab_project):
    listed = fab(fab_project, "--list").stdout
    for task in ("deploy", "template", "delete", "server"):
        assert task in listed
    assert "Default task: deploy" in listed


def test_a_missing_config_file_is_a_sentence_not_a_traceback(fab_project):
    ran = fab(fab_project, "template")
    assert ran.returncode == 1
    assert "fabfile_config.py not found. Create it with: cp fabfile_config_template.py" in ran.stderr
    assert "Traceback" not in ran.stderr + ran.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ("status", "--limit", "abc"), "Error: --limit takes a whole number of at least 1, not 'abc'", id="limit-abc"
        ),
        pytest.param(
            ("status", "--limit", "0"), "Error: --limit takes a whole number of at least 1, not '0'", id="limit-0"
        ),
        pytest.param(
            ("status", "--limit", "-1"),
            "Error: --limit takes a whole number of at least 1, not '-1'",
            id="limit-negative",
        ),
        pytest.param(
            ("server", "--port", "abc"), "Error: --port takes a whole number from 0 to 65535, not 'abc'", id="port-abc"
        ),
        pytest.param(
            ("server", "--port", "80000"),
            "Error: --port takes a whole number from 0 to 65535, not '80000'",
            id="port-too-big",
        ),
    ],
)
def test_a_wrong_number_is_a_sentence_not_a_traceback(fab_project, args, message):
    ran = fab(fab_project, *args)
    assert (ran.returncode, ran.stderr, ran.stdout) == (1, message + "\n", "")


def test_template_into_a_closed_pipe_ends_quietly(fab_project):
    (fab_project / "fabfile_config.py").write_text(CONFIG.format(app="cli-template"))
    ran = fab_into_closed_pipe(fab_project, "template")
    assert (ran.returncode, ran.stderr) == (1, "")


def test_template_prints_the_sam_template(fab_project):
    (fab_project / "fabfile_config.py").write_text(CONFIG.format(app="cli-template"))
    ran = fab(fab_project, "template")
    assert ran.returncode == 0, ran.stderr
    template = json.loads(ran.stdout)
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert template["Resources"]["WriteMarkerFunction"]["Properties"]["FunctionName"] == "cli-template-write_marker"


def test_deploy_then_delete_with_typed_confirmation(fab_project, endpoint):
    (fab_project / "fabfile_config.py").write_text(CONFIG.format(app="cli-deploy"))
    deployed = fab(fab_project, endpoint_url=endpoint.url)  # the default task
    assert deployed.returncode == 0, deployed.stderr
    assert "Stack cli-deploy: created" in deployed.stdout
    assert "State machine cli-deploy-demo-" in deployed.stdout
    assert "arn:aws:states:us-east-1:" in deployed.stdout
    assert "Warning: SOURCE_BUCKETS is not set: the functions may read any bucket" in deployed.stdout

    refused = fab(fab_project, "delete", endpoint_url=endpoint.url, stdin="yes\n")
    assert refused.returncode == 1 and "Not deleted" in refused.stderr

    deleted = fab(fab_project, "delete", endpoint_url=endpoint.url, stdin="delete\n")
    assert deleted.returncode == 0, deleted.stderr
    assert "Deleted stack cli-deploy" in deleted.stdout
    assert "Deleted state machine cli-deploy-demo-" in deleted.stdout

    nothing = fab(fab_project, "delete", "--yes", endpoint_url=endpoint.url)
    assert nothing.returncode == 0 and "Nothing to delete" in nothing.stdout


def deployment_bucket(project: Path) -> str:
    from deploy.config import load_config

    return load_config(project / "fabfile_config.py").deployment_bucket


def test_delete_refuses_running_executions_before_it_asks_and_deletes_nothing(fab_project, aws, endpoint):
    (fab_project / "fabfile_config.py").write_text(CONFIG.format(app="cli-busy"))
    assert fab(fab_project, "deploy", endpoint_url=endpoint.url).returncode == 0
    sfn = aws("stepfunctions")
    slow = next(m for m in sfn.list_state_machines()["stateMachines"] if m["name"].startswith("cli-busy-slow-"))
    running = sfn.start_execution(stateMachineArn=slow["stateMachineArn"])["executionArn"]
    try:
        refused = fab(fab_project, "delete", endpoint_url=endpoint.url, stdin="delete\n")
        assert refused.returncode == 1
        assert "executions are running on cli-busy-slow-" in refused.stderr
        assert "Nothing was deleted." in refused.stderr
        assert "Type 'delete'" not in refused.stdout  # refused before the question, not after the answer
        assert sfn.describe_state_machine(stateMachineArn=slow["stateMachineArn"])["status"] == "ACTIVE"
    finally:
        sfn.stop_execution(executionArn=running)
    assert fab(fab_project, "delete", "--yes", "--purge", endpoint_url=endpoint.url).returncode == 0


def test_delete_keeps_the_deployment_bucket_with_the_syncs_reports_and_purge_removes_it(fab_project, aws, endpoint):
    (fab_project / "fabfile_config.py").write_text(CONFIG.format(app="cli-purge"))
    assert fab(fab_project, "deploy", endpoint_url=endpoint.url).returncode == 0
    s3, bucket = aws("s3"), deployment_bucket(fab_project)
    s3.put_object(Bucket=bucket, Key="runs/an-earlier-sync/report.jsonl", Body=b'{"key": "a"}\n')

    kept = fab(fab_project, "delete", endpoint_url=endpoint.url, stdin="delete\n")
    assert kept.returncode == 0, kept.stderr
    assert "Deleted stack cli-purge" in kept.stdout
    assert (
        f"Kept deployment bucket {bucket}: its 1 objects are the syncs' reports, run records and locks. "
        "'fab delete --purge' deletes it too." in kept.stdout
    )
    assert [item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [
        "runs/an-earlier-sync/report.jsonl"
    ]

    refused = fab(fab_project, "delete", "--purge", endpoint_url=endpoint.url, stdin="delete\n")
    assert refused.returncode == 1 and "Not deleted: the confirmation was not 'purge'." in refused.stderr
    assert "and deployment bucket " + bucket + " with every sync's reports and records." in refused.stdout
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 1

    purged = fab(fab_project, "delete", "--purge", endpoint_url=endpoint.url, stdin="purge\n")
    assert purged.returncode == 0, purged.stderr
    assert f"Deleted deployment bucket {bucket}" in purged.stdout
    assert bucket not in [listed["Name"] for listed in s3.list_buckets()["Buckets"]]


def test_server_stops_cleanly_on_ctrl_c(fab_project, tmp_path):
    log = tmp_path / "access.log"
    own_log = tmp_path / "endpoint.log"
    process = subprocess.Popen(
        [str(FAB), "server", "--port", "0", "--access-log", str(log), "--log", str(own_log)],
        cwd=fab_project,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    assert line.startswith("AWS_ENDPOINT_URL=http://127.0.0.1:")
    import boto3

    s3 = boto3.client("s3", endpoint_url=line.strip().split("=", 1)[1], region_name="us-east-1")
    s3.create_bucket(Bucket="ctrl-c")
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0
    banner_and_end = process.stdout.read()
    assert "endpoint stopped" in banner_and_end
    assert str(own_log) in banner_and_end and own_log.exists()  # --log keeps the endpoint's own log there
    [request] = [line.split("\t") for line in log.read_text().splitlines()]
    assert request[1:3] == ["PUT", request[2]] and request[3] == "/ctrl-c" and request[5] == "200"
    assert request[6:] == ["s3", "CreateBucket"]


@pytest.fixture
def repo_project(tmp_path):
    """This repository's own functions and state machine, with a config of its own, outside the repository."""
    project = tmp_path / "repo"
    project.mkdir()
    shutil.copy(ROOT / "fabfile.py", project / "fabfile.py")
    for name in ("deploy", "client", "local_endpoint", "lambda_functions", "state_machines"):
        (project / name).symlink_to(ROOT / name)
    (project / "fabfile_config.py").write_text(CONFIG.format(app="cli-sync"))
    return project


def test_sync_prints_progress_and_summary_and_json_on_the_last_line(repo_project, endpoint):
    import boto3

    assert fab(repo_project, "deploy", endpoint_url=endpoint.url).returncode == 0
    s3 = boto3.client("s3", endpoint_url=endpoint.url, region_name="us-east-1")
    s3.create_bucket(Bucket="cli-source")
    s3.create_bucket(Bucket="cli-destination")
    s3.put_object(Bucket="cli-source", Key="a b+c.txt", Body=b"abc")

    shown = fab(
        repo_project, "sync", "--source", "cli-source", "--destination", "cli-destination", endpoint_url=endpoint.url
    )
    assert shown.returncode == 0, shown.stderr
    assert all(line.strip() for line in shown.stdout.splitlines()), shown.stdout  # no empty line, first or later
    # Off a terminal, a line per change; the last one has the plan and the copies done (bytes included).
    assert (
        "  WriteReport · 1 keys compared in 1 round(s): 1 to copy, 0 to delete · copies done 1 of 1 "
        "(3 B of 3 B), deletions done 0 of 0\n"
    ) in shown.stdout
    assert "Sync succeeded:" in shown.stdout
    assert "copied       1" in shown.stdout

    machine = fab(
        repo_project,
        "sync",
        "--source",
        "cli-source",
        "--destination",
        "cli-destination",
        "--json",
        endpoint_url=endpoint.url,
    )
    assert machine.returncode == 0, machine.stderr
    summary = json.loads(machine.stdout.strip().splitlines()[-1])
    assert (summary["copied"], summary["unchanged"]) == (0, 1)
    assert s3.get_object(Bucket="cli-destination", Key="a b+c.txt")["Body"].read() == b"abc"


def test_sync_refuses_bad_input_before_starting_anything(repo_project, endpoint):
    ran = fab(
        repo_project, "sync", "--source", "Not_A_Bucket", "--destination", "cli-destination", endpoint_url=endpoint.url
    )
    assert ran.returncode == 1
    assert "'source' is 'Not_A_Bucket', which is not a valid bucket name" in ran.stderr
    assert "Nothing was started" in ran.stderr and "Traceback" not in ran.stderr

    same = fab(repo_project, "sync", "--source", "cli-same", "--destination", "cli-same", endpoint_url=endpoint.url)
    assert same.returncode == 1
    assert same.stderr.endswith("Name two different buckets. Nothing was started.\n"), same.stderr


def test_a_missing_bucket_is_named_before_anything_starts(repo_project, endpoint):
    assert fab(repo_project, "deploy", endpoint_url=endpoint.url).returncode == 0
    ran = fab(
        repo_project,
        "sync",
        "--source",
        "no-such-bucket-anywhere",
        "--destination",
        "cli-destination",
        endpoint_url=endpoint.url,
    )
    assert ran.returncode == 1
    assert "source: bucket 'no-such-bucket-anywhere' does not exist; check the name. Nothing was started." in ran.stderr


def test_status_and_report_show_what_the_syncs_did(repo_project, endpoint):
    import boto3

    assert fab(repo_project, "deploy", endpoint_url=endpoint.url).returncode == 0
    s3 = boto3.client("s3", endpoint_url=endpoint.url, region_name="us-east-1")
    s3.create_bucket(Bucket="cli-report-src")
    s3.create_bucket(Bucket="cli-report-dst")
    s3.put_object(Bucket="cli-report-src", Key="new file", Body=b"n")
    s3.put_object(Bucket="cli-report-dst", Key="orphan", Body=b"o")
    assert (
        fab(repo_project, "sync", "-s", "cli-report-src", "-d", "cli-report-dst", endpoint_url=endpoint.url).returncode
        == 0
    )

    listed = fab(repo_project, "status", endpoint_url=endpoint.url)
    assert listed.returncode == 0, listed.stderr
    [newest] = [line for line in listed.stdout.splitlines() if "cli-report-src -> cli-report-dst" in line]
    assert "SUCCEEDED" in newest and newest.split()[4:7] == ["1", "1", "0"]

    everything = fab(repo_project, "report", endpoint_url=endpoint.url)
    assert everything.returncode == 0, everything.stderr
    assert any(line.startswith("copy    copied") and "new file" in line for line in everything.stdout.splitlines())
    only_deleted = fab(repo_project, "report", "--deleted", "--json", endpoint_url=endpoint.url)
    assert [json.loads(line)["key"] for line in only_deleted.stdout.splitlines()] == ["orphan"]
    unknown = fab(repo_project, "report", "--execution", "no-such-execution", endpoint_url=endpoint.url)
    assert unknown.returncode == 1 and "no sync execution named 'no-such-execution'" in unknown.stderr


def deployed_with_buckets(repo_project, endpoint, *buckets):
    """``fab deploy`` of the repository's project, and the given buckets made: an S3 client of the endpoint."""
    import boto3

    assert fab(repo_project, "deploy", endpoint_url=endpoint.url).returncode == 0
    s3 = boto3.client("s3", endpoint_url=endpoint.url, region_name="us-east-1")
    for bucket in buckets:
        s3.create_bucket(Bucket=bucket)
    return s3


def test_sync_holds_the_input_to_the_deployed_allow_lists_not_to_the_edited_file(repo_project, endpoint):
    config = repo_project / "fabfile_config.py"
    config.write_text(CONFIG.format(app="cli-allow") + 'SOURCE_BUCKETS = ["cli-allow-src-*"]\n')
    s3 = deployed_with_buckets(repo_project, endpoint, "cli-allow-src-a", "cli-other-src", "cli-allow-dst")
    s3.put_object(Bucket="cli-allow-src-a", Key="a", Body=b"a")
    config.write_text(CONFIG.format(app="cli-allow") + 'SOURCE_BUCKETS = ["cli-other-*"]\n')  # edited, not deployed

    refused = fab(repo_project, "sync", "-s", "cli-other-src", "-d", "cli-allow-dst", endpoint_url=endpoint.url)
    assert refused.returncode == 1
    assert (
        "'source' is 'cli-other-src', which this deployment may not use: SOURCE_BUCKETS allows cli-allow-src-*"
        in refused.stderr
    )
    assert "Nothing was started." in refused.stderr
    allowed = fab(repo_project, "sync", "-s", "cli-allow-src-a", "-d", "cli-allow-dst", endpoint_url=endpoint.url)
    assert allowed.returncode == 0, allowed.stderr
    assert [item["Key"] for item in s3.list_objects_v2(Bucket="cli-allow-dst")["Contents"]] == ["a"]


def test_guard_messages_name_the_fab_flags(repo_project, endpoint):
    s3 = deployed_with_buckets(repo_project, endpoint, "cli-guard-src", "cli-guard-dst")
    s3.put_object(Bucket="cli-guard-dst", Key="orphan", Body=b"o")

    everything = fab(repo_project, "sync", "-s", "cli-guard-src", "-d", "cli-guard-dst", endpoint_url=endpoint.url)
    assert everything.returncode == 1
    assert "DeleteAllRefusedError" in everything.stderr
    assert "start again with --allow-delete-all." in everything.stderr
    assert "allowDeleteAll" not in everything.stderr
    listed = fab(repo_project, "status", "--limit", "1", endpoint_url=endpoint.url)
    [refused] = listed.stdout.splitlines()[1:]
    assert "FAILED" in refused and "cli-guard-src -> cli-guard-dst" in refused  # from the input: no summary
    assert refused.endswith(
        "DeleteAllRefusedError: Nothing was changed: the source has no object in scope, so this "
        "sync would delete all 1 objects in scope in the destination. Check the source bucket "
        "and prefix; if emptying the destination is what you want, start again with "
        '"allowDeleteAll": true.'
    ), refused

    s3.put_object(Bucket="cli-guard-src", Key="kept", Body=b"k")
    too_many = fab(
        repo_project,
        "sync",
        "-s",
        "cli-guard-src",
        "-d",
        "cli-guard-dst",
        "--max-deletes",
        "0",
        endpoint_url=endpoint.url,
    )
    assert too_many.returncode == 1
    assert (
        "more than --max-deletes (0). Run it with --dry-run to see them; if they are right, start again with a "
        "higher --max-deletes N."
    ) in too_many.stderr
    assert "maxDeletes" not in too_many.stderr and "dryRun" not in too_many.stderr
    assert [item["Key"] for item in s3.list_objects_v2(Bucket="cli-guard-dst")["Contents"]] == ["orphan"]


def test_sync_and_report_into_a_closed_pipe_end_quietly(repo_project, endpoint):
    import boto3

    assert fab(repo_project, "deploy", endpoint_url=endpoint.url).returncode == 0
    s3 = boto3.client("s3", endpoint_url=endpoint.url, region_name="us-east-1")
    for bucket in ("cli-pipe-src", "cli-pipe-dst"):
        s3.create_bucket(Bucket=bucket)
    for number in range(3):
        s3.put_object(Bucket="cli-pipe-src", Key=f"key-{number}", Body=b"p")

    synced = fab_into_closed_pipe(
        repo_project, "sync", "-s", "cli-pipe-src", "-d", "cli-pipe-dst", endpoint_url=endpoint.url
    )
    assert (synced.returncode, synced.stderr) == (1, "")
    reported = fab_into_closed_pipe(repo_project, "report", endpoint_url=endpoint.url)
    assert reported.returncode == 1
    assert "Traceback" not in reported.stderr and "Error" not in reported.stderr
    listed = fab_into_closed_pipe(repo_project, "status", endpoint_url=endpoint.url)
    assert (listed.returncode, listed.stderr) == (1, "")


def endpoint_faults(endpoint, plan: dict | None) -> None:
    """Set the endpoint's fault plan (local_endpoint/faults.py), or clear it with None."""
    url = f"{endpoint.url}/_endpoint/faults"
    request = (
        urllib.request.Request(url, method="DELETE")
        if plan is None
        else urllib.request.Request(
            url, data=json.dumps(plan).encode(), method="POST", headers={"Content-Type": "application/json"}
        )
    )
    urllib.request.urlopen(request).read()


def test_ctrl_c_while_following_says_the_sync_goes_on_and_how_to_stop_it(repo_project, endpoint):
    from .conftest import wait_for_execution

    s3 = deployed_with_buckets(repo_project, endpoint, "cli-ctrl-c-src", "cli-ctrl-c-dst")
    s3.put_object(Bucket="cli-ctrl-c-src", Key="k", Body=b"k")
    # Its first step is held back a few seconds, so that Ctrl-C lands while the execution runs.
    endpoint_faults(
        endpoint, {"lambda": [{"function": "cli-sync-validate_input", "fault": "delay", "afterSeconds": 3}]}
    )
    try:
        process = subprocess.Popen(
            [str(FAB), "sync", "-s", "cli-ctrl-c-src", "-d", "cli-ctrl-c-dst"],
            cwd=repo_project,
            env={**fab_env(endpoint.url), "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        first = process.stdout.readline()
        assert first.startswith("Execution arn:aws:states:"), first
        process.send_signal(signal.SIGINT)
        code, stderr = process.wait(timeout=30), process.stderr.read()
    finally:
        endpoint_faults(endpoint, None)
    arn = first.split()[1]
    assert code == 130, stderr
    assert f"Stopped following: execution {arn.rsplit(':', 1)[1]} goes on" in stderr
    assert f"aws stepfunctions stop-execution --execution-arn {arn} --region us-east-1" in stderr
    assert "Traceback" not in stderr
    import boto3

    sfn = boto3.client("stepfunctions", endpoint_url=endpoint.url, region_name="us-east-1")
    assert wait_for_execution(sfn, arn)["status"] == "SUCCEEDED"  # it went on without fab


def test_delete_into_a_closed_pipe_ends_quietly_at_its_question(fab_project, endpoint):
    (fab_project / "fabfile_config.py").write_text(CONFIG.format(app="cli-delete-pipe"))
    ran = fab_into_closed_pipe(fab_project, "delete", endpoint_url=endpoint.url)
    assert (ran.returncode, ran.stderr) == (1, "")


def test_sync_filters_in_the_order_given_copy_only_and_check_exit_codes(repo_project, endpoint):
    import boto3

    assert fab(repo_project, "deploy", endpoint_url=endpoint.url).returncode == 0
    s3 = boto3.client("s3", endpoint_url=endpoint.url, region_name="us-east-1")
    source, destination = "cli-filter-source", "cli-filter-destination"
    for bucket in (source, destination):
        s3.create_bucket(Bucket=bucket)
    for key in ("a.csv", "tmp/b.csv", "c.log"):
        s3.put_object(Bucket=source, Key=key, Body=key.encode())
    s3.put_object(Bucket=destination, Key="orphan.csv", Body=b"kept")
    both = ("--source", source, "--destination", destination)
    filters = ("--exclude", "*", "--include", "*.csv", "--exclude=tmp/*")

    synced = fab(repo_project, "sync", *both, *filters, "--copy-only", "--json", endpoint_url=endpoint.url)

    assert synced.returncode == 0, synced.stderr
    listed = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=destination)["Contents"])
    assert listed == ["a.csv", "orphan.csv"]  # tmp/ excluded again after the include; the orphan kept
    summary = json.loads(synced.stdout.strip().splitlines()[-1])
    assert (summary["copied"], summary["kept"], summary["excluded"]) == (1, 1, 2)

    checked = fab(repo_project, "check", *both, *filters, "--json", endpoint_url=endpoint.url)
    assert checked.returncode == 3, checked.stderr  # not in sync: the orphan is extra
    assert "NotInSyncError" in checked.stderr and "1 extra, 1 matching" in checked.stderr

    s3.delete_object(Bucket=destination, Key="orphan.csv")
    assert fab(repo_project, "check", *both, *filters, endpoint_url=endpoint.url).returncode == 0
