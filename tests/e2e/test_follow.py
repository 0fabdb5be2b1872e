"""Following and stopping a sync with the fab tasks, as processes: ``fab watch`` re-attaches to a running sync and
moves within its one copy step; ``fab stop`` stops one half-way, makes no deletion and leaves the destination to
the next sync. The syncs are slowed by the endpoint's fault plan (``delaySeconds`` on CopyObject)."""

import json
import re
import shutil
import subprocess
import time

import pytest

from client import executions

from .conftest import ROOT, contents, wait_for_execution
from .test_fab_tasks import CONFIG, FAB, endpoint_faults, fab, fab_env

SLOW_COPIES = {"s3": {"delaySeconds": 0.1, "operations": ["CopyObject"]}}
"""Each of the sync's copies waits a tenth of a second: with one copy thread, 60 copies take six seconds."""


@pytest.fixture
def project(tmp_path, machine):
    """A fab project whose config names the deployment the ``machine`` fixture made (the same app and email)."""
    for name in ("deploy", "client", "local_endpoint", "lambda_functions", "state_machines"):
        (tmp_path / name).symlink_to(ROOT / name)
    shutil.copy(ROOT / "fabfile.py", tmp_path / "fabfile.py")
    (tmp_path / "fabfile_config.py").write_text(CONFIG.format(app="e2e-sync"))
    return tmp_path


@pytest.fixture
def slow_copies(endpoint):
    endpoint_faults(endpoint, SLOW_COPIES)
    yield
    endpoint_faults(endpoint, None)


def start_slow_sync(aws, machine, source, destination):
    sfn = aws("stepfunctions")
    arn = executions.start(
        sfn, machine[0].arn, {"source": source, "destination": destination, "settings": {"copyThreads": 1}}
    )
    return sfn, arn, arn.rsplit(":", 1)[1]


def test_watch_re_attaches_to_a_running_sync_and_counts_copies_within_its_one_copy_step(
    aws, machine, s3, buckets, project, endpoint, slow_copies
):
    source, destination = buckets()
    client = s3()
    for number in range(60):
        client.put_object(Bucket=source, Key=f"obj/{number:02d}", Body=b"12345")
    sfn, arn, name = start_slow_sync(aws, machine, source, destination)

    watched = fab(project, "watch", "-e", name, endpoint_url=endpoint.url)

    assert watched.returncode == 0, watched.stderr
    assert watched.stdout.startswith(f"Watching execution {arn}\n")
    assert "CopyInline" in watched.stdout and "Sync succeeded:" in watched.stdout
    # Within the one CopyInline step, the count moved before the step ended (its progress objects).
    within = [int(n) for n in re.findall(r"CopyInline · .* copies done (\d+) of 60", watched.stdout)]
    assert any(0 < n < 60 for n in within), watched.stdout
    assert sum(1 for key in contents(client, destination) if key.startswith("obj/")) == 60

    again = fab(project, "watch", "-e", name, endpoint_url=endpoint.url)  # a finished one: its summary at once

    assert again.returncode == 0 and "Sync succeeded:" in again.stdout and "copied       60" in again.stdout


def test_stop_half_way_through_the_copies_makes_no_deletion_and_the_next_sync_goes_on(
    aws, machine, s3, buckets, project, endpoint, slow_copies
):
    source, destination = buckets()
    client = s3()
    for number in range(40):
        client.put_object(Bucket=source, Key=f"obj/{number:02d}", Body=b"12345")
    for number in range(3):
        client.put_object(Bucket=destination, Key=f"orphan/{number}", Body=b"gone from the source")
    sfn, arn, name = start_slow_sync(aws, machine, source, destination)
    watcher = subprocess.Popen(
        [str(FAB), "watch", "-e", name],
        cwd=project,
        env=fab_env(endpoint.url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not any(key.startswith("obj/") for key in contents(client, destination)):  # the copies have begun
        assert time.monotonic() < deadline, "no copy within 30 s"
        time.sleep(0.1)

    stopped = fab(project, "stop", name, endpoint_url=endpoint.url)

    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.startswith(f"Stopped execution {name} in CopyInline.\n"), stopped.stdout
    assert "No deletion was made" in stopped.stdout
    assert "the next sync can go on" in stopped.stdout or "taken over by the next sync" in stopped.stdout
    assert wait_for_execution(sfn, arn, timeout_seconds=10)["status"] == "ABORTED"
    work = machine[1].deployment_bucket
    (record_key,) = [
        key for key in contents(client, work) if key.startswith("history/") and key.endswith(f"-{name}.json")
    ]
    record = json.loads(client.get_object(Bucket=work, Key=record_key)["Body"].read())
    assert (record["status"], record["error"]) == ("ABORTED", "StoppedByFab")  # its end, once the machine is gone too
    assert record["stopTime"]
    assert sorted(key for key in contents(client, destination) if key.startswith("orphan/")) == [
        "orphan/0",
        "orphan/1",
        "orphan/2",
    ]
    out, err = watcher.communicate(timeout=30)
    assert watcher.returncode == 1 and "Sync aborted: " in err and "Traceback" not in err, (out, err)

    twice = fab(project, "stop", name, endpoint_url=endpoint.url)
    unknown = fab(project, "stop", "no-such-execution", endpoint_url=endpoint.url)

    assert twice.returncode == 1 and f"execution {name} is not running (ABORTED): nothing to stop" in twice.stderr
    assert unknown.returncode == 1 and "no sync execution named 'no-such-execution'" in unknown.stderr
    assert "Traceback" not in twice.stderr + unknown.stderr

    endpoint_faults(endpoint, None)
    again = fab(project, "sync", "-s", source, "-d", destination, endpoint_url=endpoint.url)

    assert again.returncode == 0, again.stderr
    assert sorted(contents(client, destination)) == [f"obj/{number:02d}" for number in range(40)]


def test_a_dry_run_says_what_it_would_do_and_its_first_actions(s3, buckets, project, endpoint):
    source, destination = buckets()
    client = s3()
    for number in range(12):
        client.put_object(Bucket=source, Key=f"obj/{number:02d}", Body=b"12345")
    client.put_object(Bucket=destination, Key="orphan", Body=b"gone from the source")

    shown = fab(project, "sync", "-s", source, "-d", destination, "--dry-run", endpoint_url=endpoint.url)

    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    start = lines.index(
        "Dry run, nothing changed: it would copy 12 object(s) (60 B) and delete 1; 0 unchanged, 0 skipped."
    )
    assert lines[start + 1].startswith("The real run would cost about $")
    assert "S3 requests $" in lines[start + 1] and lines[start + 1].endswith("list prices of us-east-1).")
    assert lines[start + 2 : start + 4] == [
        "First 10 planned action(s):",
        "  copy    obj/00  (missing from destination)",
    ]
    assert lines[start + 13].startswith("All 13: fab report --planned --execution ")
    assert sorted(contents(client, destination)) == ["orphan"]  # nothing changed

    command = lines[start + 13].removeprefix("All 13: ").split()  # the command it names, run as named
    assert command[:3] == ["fab", "report", "--planned"]
    planned = fab(project, *command[1:], "--json", endpoint_url=endpoint.url)
    assert planned.returncode == 0, planned.stderr
    every = [json.loads(line) for line in planned.stdout.splitlines()]
    assert [(line["action"], line["key"]) for line in every] == [
        *(("copy", f"obj/{number:02d}") for number in range(12)),
        ("delete", "orphan"),
    ]

    listed = fab(project, "status", "--limit", "1", "--json", endpoint_url=endpoint.url)
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert (row["name"], row["status"], row["source"], row["destination"]) == (
        command[-1],
        "SUCCEEDED",
        source,
        destination,
    )
    assert row["dryRun"] is True
