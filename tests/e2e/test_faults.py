"""Faults survived: the deployed sync on the embedded endpoint while the endpoint injects what AWS does now and then
(S3 SlowDown and 500s, Lambda crashes and timeouts, an execution stopped half-way), each run checked object by
object afterwards. The faults come from the endpoint's admin route (``local_endpoint/faults.py``); the sync's
code and its deployment do not know about them.
"""

import time
from collections import Counter

import pytest

from client import executions

from .conftest import assert_mirrored, contents, put_multipart, report_lines, run, wait_for_execution

WORKER_ACCESS_KEY_ID = "lambda-worker"
"""What the endpoint's Lambda workers sign with: the S3 faults target the sync's own requests only."""


def fill(client, source, destination, objects, orphans, stale=0):
    """``objects`` small source objects, one multipart object, ``orphans`` destination-only objects and the first
    ``stale`` source keys in an older version in the destination."""
    for number in range(objects):
        client.put_object(Bucket=source, Key=f"obj/{number:03d}", Body=f"object {number}".encode() * (number + 1))
    put_multipart(client, source, "obj/big.bin")
    for number in range(stale):
        client.put_object(Bucket=destination, Key=f"obj/{number:03d}", Body=b"stale")
    for number in range(orphans):
        client.put_object(Bucket=destination, Key=f"orphan/{number:02d}", Body=b"gone from the source")
    return objects + 1


def keys_reported(client, summary):
    return Counter((line["key"], line["action"]) for line in report_lines(client, summary))


def test_a_tenth_of_the_syncs_s3_requests_failing_with_slowdown_or_500_are_retried_to_an_exact_mirror(
    aws, machine, s3, buckets, faults
):
    source, destination = buckets()
    client = s3()
    copies = fill(client, source, destination, objects=30, orphans=6, stale=4)
    settings = {"pageSize": 10, "copyBatchKeys": 8, "deleteBatchKeys": 4}
    faults(
        {"s3": {"rate": 0.1, "errors": ["SlowDown", "InternalError"], "accessKeyId": WORKER_ACCESS_KEY_ID, "seed": 11}}
    )

    result = run(aws, machine, source=source, destination=destination, settings=settings)

    injected = faults()["injected"]
    assert result.succeeded, (result.error, result.cause)
    assert_mirrored(client, source, destination)
    summary = result.output
    assert (summary["copied"], summary["deleted"], summary["failed"]) == (copies, 6, 0)
    assert summary["s3Retries"], summary
    retried = Counter()
    for name, times in injected.items():
        retried[name.split(":")[1]] += times
    assert {error.rsplit(":", 1)[1] for error in injected} == {"SlowDown", "InternalError"}
    # Every injected error was retried and the summary says so, operation by operation. Not counted: the HeadBucket
    # of FindSourceRegion and FindDestinationRegion, and each worker's last PutObject (its result file, whose own
    # retries happen after it took the snapshot of its counts): the summary may show fewer of those.
    for operation, times in retried.items():
        if operation in ("HeadBucket", "PutObject"):
            assert summary["s3Retries"].get(operation, 0) <= times, operation
        else:
            assert summary["s3Retries"].get(operation, 0) == times, operation


def test_a_copy_batch_that_crashes_half_way_and_one_that_times_out_are_run_again_and_counted_once(
    aws, machine, s3, buckets, faults, endpoint
):
    source, destination = buckets()
    client = s3()
    copies = fill(client, source, destination, objects=23, orphans=2)
    # Copies take 50 ms each, one at a time: a batch of 6 takes over 0.3 s, so the crash at 0.2 s comes before
    # its result is written. The timed-out invocation finishes its batch and only its answer is lost.
    faults(
        {
            "s3": {"delaySeconds": 0.05, "operations": ["CopyObject", "UploadPartCopy"]},
            "lambda": [
                {"function": "-copy_keys", "fault": "crash", "afterSeconds": 0.2, "count": 1},
                {"function": "-copy_keys", "fault": "timeout", "afterSeconds": 5, "count": 1},
            ],
        }
    )
    logged = len(endpoint.requests())

    result = run(aws, machine, source=source, destination=destination, settings={"copyBatchKeys": 6, "copyThreads": 1})

    assert faults()["injected"] == {"lambda:crash:-copy_keys": 1, "lambda:timeout:-copy_keys": 1}
    result_files = [
        line
        for line in endpoint.requests()[logged:]
        if line[7] == "PutObject" and "/results/copy/" in line[3] and line[5] == "200"
    ]
    assert len(result_files) == 4 + 1  # each of the 4 batches once, and once more by the attempt that timed out
    assert result.succeeded, (result.error, result.cause)
    assert_mirrored(client, source, destination)
    summary = result.output
    assert (summary["copied"], summary["deleted"], summary["failed"]) == (copies, 2, 0)
    assert summary["bytesCopied"] == sum(size for size, _ in contents(client, source).values())
    reported = keys_reported(client, summary)
    assert set(reported.values()) == {1}  # each key once, though two batches ran twice
    assert sum(1 for _, action in reported if action == "copy") == copies


def test_a_planning_round_that_crashes_half_way_is_planned_again_and_each_key_is_reported_once(
    aws, machine, s3, buckets, faults, endpoint
):
    source, destination = buckets()
    client = s3()
    copies = fill(client, source, destination, objects=14, orphans=3)
    # The second round (keys 6 to 10 of 18) dies once, 0.12 s in, before its fifth plan batch (50 ms a write) is
    # written; its retry gets attempt 1, removes what the dead attempt wrote and plans the round again.
    faults(
        {
            "s3": {"delaySeconds": 0.05, "operations": ["PutObject"]},
            "lambda": [{"function": "-list_bucket", "fault": "crash", "afterSeconds": 0.12, "skip": 1}],
        }
    )
    logged = len(endpoint.requests())

    result = run(
        aws,
        machine,
        source=source,
        destination=destination,
        settings={"copyBatchKeys": 1, "deleteBatchKeys": 1, "maxKeysPerRound": 5},
    )

    assert faults()["injected"] == {"lambda:crash:-list_bucket": 1}
    plan_writes = [
        line[3]
        for line in endpoint.requests()[logged:]
        if line[7] == "PutObject" and "/plan/" in line[3] and line[5] == "200"
    ]
    # The retry numbers its batches from where the rounds before stopped, as the dead attempt did: each of the
    # dead attempt's few files is written again, and no batch is left over.
    assert 0 <= len(plan_writes) - len(set(plan_writes)) < 5
    assert result.succeeded, (result.error, result.cause)
    assert_mirrored(client, source, destination)
    summary = result.output
    assert (summary["copied"], summary["deleted"], summary["failed"]) == (copies, 3, 0)
    assert (summary["toCopy"], summary["toDelete"]) == (copies, 3)
    reported = keys_reported(client, summary)
    assert set(reported.values()) == {1}
    assert len(reported) == copies + 3


def test_an_execution_stopped_half_way_through_its_copies_deletes_nothing_and_the_next_run_completes_the_mirror(
    aws, machine, s3, buckets, faults
):
    source, destination = buckets()
    client = s3()
    fill(client, source, destination, objects=19, orphans=3)
    faults({"lambda": [{"function": "-copy_keys", "fault": "delay", "afterSeconds": 0.4, "count": None}]})
    sfn = aws("stepfunctions")
    arn = executions.start(
        sfn,
        machine[0].arn,
        {"source": source, "destination": destination, "settings": {"copyBatchKeys": 2, "maxConcurrency": 1}},
    )
    deadline = time.monotonic() + 30
    while not any(key.startswith("obj/") for key in contents(client, destination)):  # the copies have begun
        assert time.monotonic() < deadline, "no copy within 30 s"
        time.sleep(0.1)

    sfn.stop_execution(executionArn=arn, error="Test.Stopped", cause="stopped half-way by the test")

    assert wait_for_execution(sfn, arn, timeout_seconds=10)["status"] == "ABORTED"
    time.sleep(1)  # an invocation already running when the execution stopped runs to its end, as on AWS
    half_way = contents(client, destination)
    assert 0 < sum(1 for key in half_way if key.startswith("obj/")) < 20
    assert sum(1 for key in half_way if key.startswith("orphan/")) == 3  # deletions come after every copy
    faults({})

    again = run(aws, machine, source=source, destination=destination)

    assert again.succeeded, (again.error, again.cause)
    assert_mirrored(client, source, destination)
    assert (again.output["deleted"], again.output["failed"]) == (3, 0)
    assert again.output["copied"] + again.output["unchanged"] == 20


def test_a_versioned_destination_keeps_every_earlier_version_and_orphans_get_delete_markers(aws, machine, s3, buckets):
    source, destination = buckets()
    client = s3()
    client.put_bucket_versioning(Bucket=destination, VersioningConfiguration={"Status": "Enabled"})
    client.put_object(Bucket=source, Key="kept", Body=b"new content")
    client.put_object(Bucket=source, Key="added", Body=b"added")
    before = {}
    for key, bodies in (("kept", [b"old content"]), ("orphan/a", [b"a1", b"a2"]), ("orphan/b", [b"b1"])):
        for body in bodies:
            before.setdefault(key, []).append(client.put_object(Bucket=destination, Key=key, Body=body)["VersionId"])

    result = run(aws, machine, source=source, destination=destination)

    assert result.succeeded, (result.error, result.cause)
    assert_mirrored(client, source, destination)
    assert (result.output["copied"], result.output["deleted"]) == (2, 2)
    listed = client.list_object_versions(Bucket=destination)
    versions = {}
    for version in listed.get("Versions", []):
        versions.setdefault(version["Key"], []).append(version)
    markers = {marker["Key"]: marker for marker in listed.get("DeleteMarkers", [])}
    assert set(markers) == {"orphan/a", "orphan/b"}
    assert all(marker["IsLatest"] for marker in markers.values())
    for key, version_ids in before.items():  # no version the destination had is gone
        assert set(version_ids) <= {version["VersionId"] for version in versions[key]}, key
    assert not any(version["IsLatest"] for key in markers for version in versions[key])
    [latest_kept] = [version for version in versions["kept"] if version["IsLatest"]]
    assert latest_kept["ETag"] == contents(client, source)["kept"][1]
    assert len(versions["kept"]) == 2


def test_a_copy_batch_that_crashes_on_every_retry_fails_the_run_and_holds_every_deletion_back(
    aws, machine, s3, buckets, faults
):
    source, destination = buckets()
    client = s3()
    for key in ("a", "b", "c"):
        client.put_object(Bucket=source, Key=key, Body=key.encode())
    for key in ("orphan/1", "orphan/2"):
        client.put_object(Bucket=destination, Key=key, Body=b"only here")
    before = contents(client, destination)
    faults({"lambda": [{"function": "-copy_keys", "fault": "crash", "afterSeconds": 0, "count": 4}]})  # 1 + 3 retries

    result = run(aws, machine, source=source, destination=destination)

    assert faults()["injected"] == {"lambda:crash:-copy_keys": 4}
    assert (result.status, result.error) == ("FAILED", "SyncFailedError")
    after = contents(client, destination)
    assert {key: after.get(key) for key in before} == before  # not one orphan deleted
    summary = executions.failure_summary(result)
    assert (summary["copied"], summary["failed"], summary["deleted"], summary["skipped"]) == (0, 3, 0, 2)
    assert sorted((line["key"], line["result"]) for line in report_lines(client, summary)) == [
        ("a", "failed"),
        ("b", "failed"),
        ("c", "failed"),
        ("orphan/1", "skipped"),
        ("orphan/2", "skipped"),
    ]


def test_a_copy_that_crashes_in_the_middle_of_a_multipart_copy_leaves_no_incomplete_upload_behind(
    aws, machine, s3, buckets, faults
):
    source, destination = buckets()
    client = s3()
    put_multipart(client, source, "big.bin")
    # Parts take 1 s each (copied in parallel), so the crash at 0.6 s comes after CreateMultipartUpload and
    # before any part is done.
    faults(
        {
            "s3": {"delaySeconds": 1, "operations": ["UploadPartCopy"]},
            "lambda": [{"function": "-copy_keys", "fault": "crash", "afterSeconds": 0.6}],
        }
    )

    result = run(aws, machine, source=source, destination=destination)

    assert faults()["injected"] == {"lambda:crash:-copy_keys": 1}
    assert result.succeeded, (result.error, result.cause)
    assert_mirrored(client, source, destination)
    assert result.output["copied"] == 1
    assert client.list_multipart_uploads(Bucket=destination).get("Uploads", []) == []  # no parts left to pay for


def test_objects_changed_between_listing_and_copy_are_reported_not_copied_and_the_next_run_converges(
    aws, machine, s3, buckets, faults
):
    source, destination = buckets()
    client = s3()
    for key in ("rewritten", "deleted", "steady-1", "steady-2"):
        client.put_object(Bucket=source, Key=key, Body=f"{key} v1".encode())
    client.put_object(Bucket=destination, Key="orphan", Body=b"o")
    faults({"lambda": [{"function": "-copy_keys", "fault": "delay", "afterSeconds": 2}]})
    sfn = aws("stepfunctions")
    arn = executions.start(sfn, machine[0].arn, {"source": source, "destination": destination})
    deadline = time.monotonic() + 30
    while not any(
        e.get("stateEnteredEventDetails", {}).get("name") in ("CopySourceKeys", "CopyInline")
        for e in sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    ):
        assert time.monotonic() < deadline, "the sync never reached CopySourceKeys"
        time.sleep(0.1)
    client.put_object(Bucket=source, Key="rewritten", Body=b"rewritten v2, after the listing")
    client.delete_object(Bucket=source, Key="deleted")

    first = executions.follow(sfn, arn, lambda state: None, sleep=lambda s: time.sleep(0.1))

    assert (first.status, first.error) == ("FAILED", "SyncFailedError")
    summary = executions.failure_summary(first)
    assert (summary["copied"], summary["failed"], summary["deleted"]) == (2, 2, 0)  # deletes held back
    errors = {line["key"]: line.get("error", "") for line in report_lines(client, summary)}
    assert "SourceChangedError" in errors["rewritten"] and "SourceMissingError" in errors["deleted"]
    assert sorted(contents(client, destination)) == ["orphan", "steady-1", "steady-2"]  # nothing stale copied
    faults({})

    second = run(aws, machine, source=source, destination=destination)

    assert second.succeeded, second.cause
    assert_mirrored(client, source, destination)


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({"inlinePlanBytes": 0, "copyBatchKeys": 3}, id="batches"),
        pytest.param({}, id="inline"),
    ],
)
def test_objects_s3_keeps_refusing_fail_alone_named_and_counted_and_the_others_are_copied(
    aws, machine, s3, buckets, faults, settings
):
    """Every CopyObject answered 500, every retry: each object fails with its own named error and its requests
    counted, the multipart object (no CopyObject) is copied, and no child execution fails."""
    source, destination = buckets()
    client = s3()
    for key in ("a", "b", "c", "d"):
        client.put_object(Bucket=source, Key=key, Body=key.encode())
    put_multipart(client, source, "big.bin")
    client.put_object(Bucket=destination, Key="orphan", Body=b"only here")
    faults(
        {
            "s3": {
                "rate": 1.0,
                "errors": ["InternalError"],
                "operations": ["CopyObject"],
                "accessKeyId": WORKER_ACCESS_KEY_ID,
            }
        }
    )

    result = run(aws, machine, source=source, destination=destination, settings={**settings, "s3MaxAttempts": 2})

    assert (result.status, result.error) == ("FAILED", "SyncFailedError")
    summary = executions.failure_summary(result)
    assert (summary["copied"], summary["failed"], summary["skipped"], summary["deleted"]) == (1, 4, 1, 0)
    assert (summary["s3Requests"]["CopyObject"], summary["s3Retries"]["CopyObject"]) == (8, 4)
    lines = {line["key"]: line for line in report_lines(client, summary)}
    for key in ("a", "b", "c", "d"):
        assert lines[key]["result"] == "failed"
        assert lines[key]["error"].startswith(f"TransientS3Error: CopyObject of s3://{source}/{key}: InternalError")
    assert lines["big.bin"]["result"] == "copied" and lines["orphan"]["result"] == "skipped"
    assert sorted(contents(client, destination)) == ["big.bin", "orphan"]
