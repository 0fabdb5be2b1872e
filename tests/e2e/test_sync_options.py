"""What sync users reach for, end to end on the endpoint, buckets checked object by object: filters on both sides,
copy mode keeping orphans, a check proving (or disproving) equality, backups holding the old bodies, and an orphan
rewritten after it was listed surviving its delete."""

import json
import time
import uuid

import pytest

from client import executions

from .conftest import assert_mirrored, contents, deploy_sync, put_multipart, report_lines, run


@pytest.fixture(scope="module")
def machine(endpoint):
    return deploy_sync(endpoint, "e2e-options")


def put(client, bucket, objects):
    for key, body in objects.items():
        client.put_object(Bucket=bucket, Key=key, Body=body)


def bodies(client, bucket):
    return {key: client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in contents(client, bucket)}


def by_key(lines):
    return {line["key"]: line for line in lines}


AWKWARD_EXCLUDED = "a b+c%2F?.tmp"


def test_filters_keep_excluded_keys_out_of_scope_on_both_sides(aws, machine, s3, buckets):
    source, destination = buckets()
    client = s3()
    put(
        client,
        source,
        {
            "a.txt": b"new",
            "café/ü.txt": b"unicode",
            AWKWARD_EXCLUDED: b"awkward",
            "logs/c.tmp": b"deep",
            "keep/d.tmp": b"included again",
            "both.tmp": b"source side",
        },
    )
    put(client, destination, {"both.tmp": b"destination side", "orphan.tmp": b"excluded", "orphan.txt": b"gone"})
    before = contents(client, destination)

    result = run(
        aws, machine, source=source, destination=destination, filters=[{"exclude": "*.tmp"}, {"include": "keep/*"}]
    )

    assert result.succeeded, result.cause
    found = contents(client, destination)
    assert sorted(found) == ["a.txt", "both.tmp", "café/ü.txt", "keep/d.tmp", "orphan.tmp"]
    assert found["both.tmp"] == before["both.tmp"]  # excluded: not compared, not copied over
    assert found["orphan.tmp"] == before["orphan.tmp"]  # excluded: an orphan, and still not deleted
    assert bodies(client, destination)["keep/d.tmp"] == b"included again"
    summary = result.output
    assert (summary["copied"], summary["deleted"], summary["excluded"]) == (3, 1, 4)
    assert sorted(by_key(report_lines(client, summary))) == ["a.txt", "café/ü.txt", "keep/d.tmp", "orphan.txt"]


def test_copy_mode_keeps_orphans_and_reports_them_kept(aws, machine, s3, buckets):
    source, destination = buckets()
    client = s3()
    put(client, source, {"new": b"1", "changed": b"new body"})
    put(client, destination, {"changed": b"old", "orphan": b"kept", "orphan/": b""})

    result = run(aws, machine, source=source, destination=destination, mode="copy")

    assert result.succeeded, result.cause
    assert bodies(client, destination) == {"changed": b"new body", "new": b"1", "orphan": b"kept", "orphan/": b""}
    summary = result.output
    assert (summary["mode"], summary["copied"], summary["deleted"], summary["kept"]) == ("copy", 2, 0, 2)
    lines = by_key(report_lines(client, summary))
    assert {key: (line["action"], line["result"]) for key, line in lines.items() if key.startswith("orphan")} == {
        "orphan": ("delete", "kept"),
        "orphan/": ("delete", "kept"),
    }


def test_a_check_of_equal_buckets_proves_them_equal(aws, machine, s3, buckets):
    source, destination = buckets()
    client = s3()
    put(client, source, {"a": b"1", "b/c": b"22", "empty": b""})
    assert run(aws, machine, source=source, destination=destination).succeeded

    result = run(aws, machine, source=source, destination=destination, mode="check")

    assert result.succeeded, result.cause
    summary = result.output
    assert {name: summary[name] for name in ("matching", "differing", "missing", "extra", "unverifiable")} == {
        "matching": 3,
        "differing": 0,
        "missing": 0,
        "extra": 0,
        "unverifiable": 0,
    }
    assert {line["result"] for line in report_lines(client, summary)} == {"matching"}


def test_a_check_reports_a_same_size_rewrite_as_differing_changes_nothing_and_fails(aws, machine, s3, buckets):
    source, destination = buckets()
    client = s3()
    put(client, source, {"same": b"equal", "rewritten": b"hello", "missing": b"m"})
    put(client, destination, {"same": b"equal", "rewritten": b"jello", "extra": b"x"})
    before = contents(client, destination)

    result = run(aws, machine, source=source, destination=destination, mode="check")

    assert result.status == "FAILED" and result.error == "NotInSyncError", (result.error, result.cause)
    assert "1 differing, 1 missing, 1 extra, 1 matching" in result.cause
    assert contents(client, destination) == before  # a check changes nothing
    summary = json.loads(json.loads(result.cause)["errorMessage"].split(" Summary: ", 1)[1])
    lines = by_key(report_lines(client, summary))
    assert {key: line["result"] for key, line in lines.items()} == {
        "same": "matching",
        "rewritten": "differing",
        "missing": "missing",
        "extra": "extra",
    }
    # Same size, different ETags: only the whole-object checksums could tell, one HEAD per side.
    assert "CRC32" in lines["rewritten"]["reason"]
    assert (summary["verified"], summary["checksumHeads"]) == (1, 2)


def test_backups_hold_every_old_body_before_it_is_deleted_or_overwritten(aws, machine, s3, buckets):
    source, destination = buckets()
    backups = f"bak-{uuid.uuid4().hex[:8]}"
    client = s3()
    client.create_bucket(Bucket=backups)
    put(client, source, {"over": b"new body", "same": b"s"})
    put(client, destination, {"over": b"old body", "same": b"s", "orphan": b"orphan body"})
    put_multipart(client, destination, "big-orphan", Metadata={"colour": "blue"})
    client.put_object_tagging(
        Bucket=destination, Key="big-orphan", Tagging={"TagSet": [{"Key": "team", "Value": "data"}]}
    )
    old = contents(client, destination)
    old_bodies = bodies(client, destination)

    result = run(aws, machine, source=source, destination=destination, backup=f"s3://{backups}/kept/")

    assert result.succeeded, result.cause
    assert_mirrored(client, source, destination)
    run_id = result.output["runId"]
    folder = f"kept/{run_id}/"
    kept = contents(client, backups)
    assert sorted(kept) == [f"kept/{run_id}.json", f"{folder}big-orphan", f"{folder}orphan", f"{folder}over"]
    for key in ("big-orphan", "orphan", "over"):
        assert kept[folder + key] == old[key], key  # same size and ETag: the multipart layout kept too
        assert client.get_object(Bucket=backups, Key=folder + key)["Body"].read() == old_bodies[key]
    assert client.head_object(Bucket=backups, Key=f"{folder}big-orphan")["Metadata"] == {"colour": "blue"}
    assert client.get_object_tagging(Bucket=backups, Key=f"{folder}big-orphan")["TagSet"] == [
        {"Key": "team", "Value": "data"}
    ]
    summary = result.output
    assert (summary["backedUp"], summary["backup"]) == (3, f"s3://{backups}/{folder}")
    assert {line["key"]: line.get("backup") for line in report_lines(client, summary)} == {
        "over": f"s3://{backups}/{folder}over",
        "orphan": f"s3://{backups}/{folder}orphan",
        "big-orphan": f"s3://{backups}/{folder}big-orphan",
    }


def test_a_backup_location_that_does_not_exist_stops_the_run_before_anything_changes(aws, machine, s3, buckets):
    source, destination = buckets()
    client = s3()
    put(client, source, {"new": b"1"})
    put(client, destination, {"orphan": b"2"})
    before = contents(client, destination)

    result = run(aws, machine, source=source, destination=destination, backup="s3://no-such-backup-bucket/x/")

    assert (result.status, result.error) == ("FAILED", "BucketNotFoundError"), result.cause
    assert "no-such-backup-bucket" in result.cause
    assert contents(client, destination) == before


def state_entered(sfn, arn, name, timeout_seconds=30):
    """Wait until the execution has entered the state ``name``."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        for event in sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]:
            if event.get("stateEnteredEventDetails", {}).get("name") == name:
                return
        time.sleep(0.1)
    raise AssertionError(f"{arn} never entered {name}")


def test_an_orphan_rewritten_after_it_was_listed_survives_its_delete(aws, machine, s3, buckets, faults):
    source, destination = buckets()
    client = s3()
    put(client, source, {"a": b"1"})
    put(client, destination, {"orphan": b"listed", "other-orphan": b"deleted"})
    faults({"lambda": [{"function": "-delete_orphaned_keys", "fault": "delay", "afterSeconds": 3}]})
    sfn = aws("stepfunctions")
    arn = executions.start(sfn, machine[0].arn, {"source": source, "destination": destination})

    state_entered(sfn, arn, "DeleteInline")  # listed and decided; the delete waits 3 s before it starts
    rewritten = client.put_object(Bucket=destination, Key="orphan", Body=b"written after the listing")["ETag"]
    result = executions.follow(sfn, arn, lambda state: None, sleep=lambda seconds: time.sleep(0.1))

    assert result.succeeded, result.cause
    assert contents(client, destination) == {"a": (1, contents(client, source)["a"][1]), "orphan": (25, rewritten)}
    summary = result.output
    assert (summary["deleted"], summary["skipped"], summary["failed"]) == (1, 1, 0)
    line = by_key(report_lines(client, summary))["orphan"]
    assert (line["result"], line["error"].split(":")[0]) == ("skipped", "DestinationChangedError")


def test_every_summary_carries_a_plausible_cost_and_a_dry_run_the_real_runs(aws, machine, s3, buckets):
    source, destination = buckets()
    client = s3()
    put(client, source, {f"k{number}": b"x" * number for number in range(30)})

    dry = run(aws, machine, source=source, destination=destination, dryRun=True)
    real = run(aws, machine, source=source, destination=destination)

    assert dry.succeeded and real.succeeded, (dry.cause, real.cause)
    cost = real.output["estimatedCostUSD"]
    free = {"DeleteObject", "DeleteObjects", "AbortMultipartUpload"}
    counted = sum(n for op, n in real.output["s3Requests"].items() if op not in free)
    assert sum(cost["s3RequestsByTier"].values()) == counted
    assert cost["s3RequestsByTier"]["putCopyPostList"] >= 30  # a CopyObject per object, at least
    # ValidateInput, 2 region look-ups, ListBucket, CopyInline, WriteReport; each ran and took some time.
    assert cost["lambdaInvocations"] >= 6 and cost["lambdaGBSeconds"] > 0
    assert 0 < cost["total"] < 0.01 and cost["pricedAs"] == "us-east-1"
    planned = dry.output["estimatedRealRunCostUSD"]
    assert planned["s3RequestsByTier"]["putCopyPostList"] >= 30
    assert dry.output["estimatedCostUSD"]["total"] < planned["total"]
