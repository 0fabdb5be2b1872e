"""The deployed sync state machine on the embedded endpoint: real handlers, real executions, bucket state checked
object by object afterwards."""

import time

import pytest

from client import executions

from .conftest import MIN_PART_BYTES, contents, put_multipart, report_lines, run

AWKWARD_KEYS = [
    "caf\u00e9/\u00fc.txt",
    "cafe\u0301/u\u0308.txt",
    "a b+c%2F?.txt",
    "dir//x",
    "./../y",
    "folder/",
    "emoji \U0001f600",
    "=eq=",
    "k" * 1024,
]


def test_full_sync_copies_awkward_keys_and_multipart_layouts_and_deletes_orphans(aws, machine, s3, buckets):
    source, destination = buckets()
    client = s3()
    for key in AWKWARD_KEYS:
        client.put_object(Bucket=source, Key=key, Body=key.encode())
    client.put_object(Bucket=source, Key="empty", Body=b"")
    client.put_object(
        Bucket=source,
        Key="page.html",
        Body=b"<p>",
        ContentType="text/html",
        Metadata={"owner": "web"},
        Tagging="team=web",
        StorageClass="STANDARD_IA",
    )
    put_multipart(client, source, "big.bin", ContentType="application/x-big", Metadata={"m": "1"})
    client.put_object(Bucket=destination, Key="orphan", Body=b"x")
    client.put_object(Bucket=destination, Key="empty", Body=b"different")

    result = run(aws, machine, source=source, destination=destination)

    assert result.succeeded, (result.error, result.cause)
    assert contents(client, destination) == contents(client, source)
    assert contents(client, destination)["big.bin"][1].endswith('-3"')  # same part layout, same ETag
    page = client.head_object(Bucket=destination, Key="page.html")
    assert (page["ContentType"], page["Metadata"], page.get("StorageClass")) == (
        "text/html",
        {"owner": "web"},
        "STANDARD_IA",
    )
    assert client.get_object_tagging(Bucket=destination, Key="page.html")["TagSet"] == [{"Key": "team", "Value": "web"}]
    big = client.head_object(Bucket=destination, Key="big.bin")
    assert (big["ContentType"], big["Metadata"]) == ("application/x-big", {"m": "1"})
    for key in AWKWARD_KEYS:
        assert client.get_object(Bucket=destination, Key=key)["Body"].read() == key.encode()
    summary = result.output
    assert (summary["copied"], summary["deleted"], summary["failed"]) == (len(AWKWARD_KEYS) + 3, 1, 0)
    assert summary["bytesCopied"] == sum(size for size, _ in contents(client, source).values())
    lines = report_lines(client, summary)
    assert {(line["key"], line["action"], line["result"]) for line in lines} >= {
        ("orphan", "delete", "deleted"),
        ("big.bin", "copy", "copied"),
        ("empty", "copy", "copied"),
    }
    assert summary["s3Requests"]["CopyObject"] == len(AWKWARD_KEYS) + 2
    assert summary["s3Requests"]["UploadPartCopy"] == 3


def test_a_second_sync_of_unchanged_buckets_copies_and_deletes_nothing_and_costs_only_listings(
    aws, machine, s3, buckets
):
    source, destination = buckets()
    client = s3()
    for number in range(30):
        client.put_object(Bucket=source, Key=f"k/{number:03d}", Body=b"x" * number)
    put_multipart(client, source, "big.bin")
    assert run(aws, machine, source=source, destination=destination).succeeded

    again = run(aws, machine, source=source, destination=destination)

    assert again.succeeded
    summary = again.output
    assert (summary["copied"], summary["deleted"], summary["unchanged"], summary["report"]) == (0, 0, 31, None)
    # Its LIST pages, the two bucket checks, the destination's lock taken and released, and the run's record
    # written as it starts and as it ends: nothing else (a scope that ends within the first round is not cut).
    assert summary["s3Requests"] == {"HeadBucket": 2, "ListObjectsV2": 2, "PutObject": 1 + 2, "DeleteObject": 1}


def test_incremental_changes_are_copied_and_deletions_follow(aws, machine, s3, buckets):
    source, destination = buckets()
    client = s3()
    for number in range(10):
        client.put_object(Bucket=source, Key=f"f{number}", Body=b"v1")
    assert run(aws, machine, source=source, destination=destination).succeeded
    client.put_object(Bucket=source, Key="f1", Body=b"version two")
    client.put_object(Bucket=source, Key="f2", Body=b"v3")
    client.delete_object(Bucket=source, Key="f3")
    client.put_object(Bucket=source, Key="new", Body=b"n")

    result = run(aws, machine, source=source, destination=destination)

    assert result.succeeded
    assert (result.output["copied"], result.output["deleted"], result.output["unchanged"]) == (3, 1, 7)
    assert contents(client, destination) == contents(client, source)


def test_prefix_and_start_after_bound_the_scope_in_both_buckets(aws, machine, s3, buckets):
    source, destination = buckets()
    client = s3()
    for key in ("a/1", "a/2", "a/3", "b/1"):
        client.put_object(Bucket=source, Key=key, Body=b"new")
    for key in ("a/0", "a/1", "a/9", "b/9", "c"):
        client.put_object(Bucket=destination, Key=key, Body=b"old")
    before = contents(client, destination)

    result = run(aws, machine, source=source, destination=destination, prefix="a/", startAfter="a/1")

    assert result.succeeded
    after = contents(client, destination)
    assert after["a/2"] == after["a/3"] == contents(client, source)["a/2"]  # in scope: copied
    assert "a/9" not in after  # in scope, absent from the source: deleted
    for key in ("a/0", "a/1", "b/9", "c"):  # out of scope: untouched, even orphans
        assert after[key] == before[key]
    assert "b/1" not in after


def test_dry_run_decides_and_reports_but_changes_nothing(aws, machine, s3, buckets):
    source, destination = buckets()
    client = s3()
    client.put_object(Bucket=source, Key="new", Body=b"n")
    client.put_object(Bucket=destination, Key="orphan", Body=b"o")
    before = contents(client, destination)

    result = run(aws, machine, source=source, destination=destination, dryRun=True)

    assert result.succeeded
    assert contents(client, destination) == before
    summary = result.output
    assert (summary["dryRun"], summary["toCopy"], summary["toDelete"], summary["copied"], summary["deleted"]) == (
        True,
        1,
        1,
        0,
        0,
    )
    assert sorted((line["key"], line["action"], line["result"]) for line in report_lines(client, summary)) == [
        ("new", "copy", "planned"),
        ("orphan", "delete", "planned"),
    ]


def test_buckets_in_different_regions_are_each_addressed_in_their_own(aws, machine, s3, buckets):
    source, destination = buckets("eu-west-1", "ap-southeast-2")
    put_multipart(s3("eu-west-1"), source, "big.bin")
    s3("eu-west-1").put_object(Bucket=source, Key="small", Body=b"s")

    result = run(aws, machine, source=source, destination=destination)

    assert result.succeeded, result.cause
    assert contents(s3("ap-southeast-2"), destination) == contents(s3("eu-west-1"), source)
    assert s3("ap-southeast-2").get_bucket_location(Bucket=destination)["LocationConstraint"] == "ap-southeast-2"


def test_many_small_rounds_hand_over_and_still_mirror_exactly(aws, machine, s3, buckets):
    source, destination = buckets()
    client = s3()
    for number in range(25):
        client.put_object(Bucket=source, Key=f"s/{number:02d}", Body=str(number).encode())
    for number in range(0, 30, 3):
        client.put_object(Bucket=destination, Key=f"s/{number:02d}x", Body=b"orphan")
    settings = {"pageSize": 2, "maxKeysPerRound": 3, "copyBatchKeys": 2, "deleteBatchKeys": 2, "maxConcurrency": 2}

    result = run(aws, machine, source=source, destination=destination, settings=settings)

    assert result.succeeded, result.cause
    assert contents(client, destination) == contents(client, source)
    history = aws("stepfunctions").get_execution_history(executionArn=result.arn, maxResults=1000)["events"]
    rounds = [e for e in history if e.get("stateEnteredEventDetails", {}).get("name") == "ListBucket"]
    assert len(rounds) == 12  # 35 keys, 3 per round
    assert (result.output["copied"], result.output["deleted"]) == (25, 10)


def test_unknown_input_field_fails_the_execution_before_anything_is_written(aws, machine, s3, buckets):
    source, destination = buckets()
    s3().put_object(Bucket=source, Key="k", Body=b"k")
    sfn = aws("stepfunctions")
    arn = executions.start(sfn, machine[0].arn, {"source": source, "destinaton": destination})
    result = executions.follow(sfn, arn, lambda state: None)
    assert result.status == "FAILED" and result.error == "InvalidInputError"
    assert "unknown field 'destinaton'" in result.cause
    assert contents(s3(), destination) == {}


def test_archived_objects_are_skipped_with_the_reason_not_failed(aws, machine, s3, buckets):
    source, destination = buckets()
    client = s3()
    client.put_object(Bucket=source, Key="cold", Body=b"c", StorageClass="GLACIER")
    client.put_object(Bucket=source, Key="warm", Body=b"w")

    result = run(aws, machine, source=source, destination=destination)

    assert result.succeeded
    assert (result.output["copied"], result.output["skipped"], result.output["failed"]) == (1, 1, 0)
    assert set(contents(client, destination)) == {"warm"}
    [cold] = [line for line in report_lines(client, result.output) if line["key"] == "cold"]
    assert cold["result"] == "skipped" and "GLACIER" in cold["reason"]


@pytest.mark.parametrize("storage_class", ["GLACIER", "DEEP_ARCHIVE"])
def test_a_restored_archive_is_copied_and_then_left_alone(aws, machine, s3, buckets, storage_class):
    source, destination = buckets()
    client = s3()
    client.put_object(Bucket=source, Key="thawed", Body=b"t" * 10, StorageClass=storage_class)
    client.put_object(Bucket=source, Key="frozen", Body=b"f", StorageClass=storage_class)
    client.restore_object(Bucket=source, Key="thawed", RestoreRequest={"Days": 1})

    result = run(aws, machine, source=source, destination=destination)

    assert result.succeeded, result.cause
    lines = {line["key"]: line for line in report_lines(client, result.output)}
    assert lines["thawed"]["result"] == "copied"
    assert lines["frozen"]["result"] == "skipped" and "not restored" in lines["frozen"]["reason"]
    assert contents(client, destination) == {"thawed": contents(client, source)["thawed"]}
    copy = client.head_object(Bucket=destination, Key="thawed")
    assert copy["StorageClass"] == storage_class  # the mirror keeps the class, archived again
    again = run(aws, machine, source=source, destination=destination)
    assert (again.output["copied"], again.output["unchanged"], again.output["skipped"]) == (0, 1, 1)


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({"inlinePlanBytes": 0, "copyBatchKeys": 5}, id="batches"),
        pytest.param({}, id="inline"),
    ],
)
def test_copies_handed_over_between_invocations_still_mirror_exactly(aws, machine, s3, buckets, settings):
    source, destination = buckets()
    client = s3()
    for number in range(12):
        client.put_object(Bucket=source, Key=f"h/{number:02d}", Body=b"h" * number)
    put_multipart(client, source, "h/big.bin")

    result = run(
        aws, machine, source=source, destination=destination, settings={**settings, "maxCopiesPerInvocation": 2}
    )

    assert result.succeeded, result.cause
    assert contents(client, destination) == contents(client, source)
    assert result.output["copied"] == 13 and result.output["s3Requests"]["CopyObject"] == 12
    history = aws("stepfunctions").get_execution_history(executionArn=result.arn, maxResults=1000)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    if settings:  # 13 copies in batches of 5, 5 and 3, two copies a call: children of 3, 3 and 2 calls
        assert "CopySourceKeys" in entered
    else:
        assert entered.count("CopyInline") == 7


def test_a_report_handed_over_after_every_batch_is_whole_and_the_lock_is_released_once(aws, machine, s3, buckets):
    source, destination = buckets()
    client = s3()
    for number in range(12):
        client.put_object(Bucket=source, Key=f"r/{number:02d}", Body=b"r" * number)
    for name in ("gone-1", "gone-2", "gone-3"):
        client.put_object(Bucket=destination, Key=f"r/{name}", Body=b"o")
    settings = {"inlinePlanBytes": 0, "copyBatchKeys": 2, "deleteBatchKeys": 1, "maxReportBatchesPerInvocation": 1}

    result = run(aws, machine, source=source, destination=destination, settings=settings)

    assert result.succeeded, result.cause
    assert contents(client, destination) == contents(client, source)
    assert (result.output["copied"], result.output["deleted"], result.output["failed"]) == (12, 3, 0)
    lines = report_lines(client, result.output)
    assert [(line["key"], line["result"]) for line in lines] == [
        *((f"r/{number:02d}", "copied") for number in range(12)),
        *((f"r/{name}", "deleted") for name in ("gone-1", "gone-2", "gone-3")),
    ]
    history = aws("stepfunctions").get_execution_history(executionArn=result.arn, maxResults=1000)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    assert entered.count("WriteReport") == 6 + 3 + 1  # a hand-over after each of the 9 batches, then the end
    assert entered[-1] == "ReportWritten"
    # The lock went with the last invocation: the next sync into the destination takes it at once.
    again = run(aws, machine, source=source, destination=destination)
    assert again.succeeded, again.cause
    assert (again.output["copied"], again.output["deleted"], again.output["unchanged"]) == (0, 0, 12)


def test_orphans_whose_keys_xml_cannot_carry_are_deleted_and_reported_under_their_own_names(aws, machine, s3, buckets):
    source, destination = buckets()
    client = s3()
    client.put_object(Bucket=source, Key="kept", Body=b"k")
    orphans = ["control\x01char", "carriage\rreturn", "plain", "tab\tis-fine"]
    for key in orphans:
        client.put_object(Bucket=destination, Key=key, Body=b"o")

    result = run(aws, machine, source=source, destination=destination)

    assert result.succeeded, result.cause
    assert list(contents(client, destination)) == ["kept"]
    deleted = sorted(line["key"] for line in report_lines(client, result.output) if line["result"] == "deleted")
    assert deleted == sorted(orphans)
    assert result.output["s3Requests"]["DeleteObject"] == 1 + 2  # the lock, and one of its own for each of two


def test_copies_whose_etag_differs_are_recorded_so_the_next_run_leaves_them_alone(aws, machine, s3, buckets):
    """What SSE-KMS does to ETags, made here by re-laying single-part objects out as multipart copies."""
    source, destination = buckets()
    client = s3()
    client.put_object(Bucket=source, Key="relaid", Body=b"r" * (3 * MIN_PART_BYTES - 100))
    settings = {"multipartThresholdBytes": MIN_PART_BYTES}
    first = run(aws, machine, source=source, destination=destination, settings=settings)
    assert first.succeeded, first.cause
    assert contents(client, destination)["relaid"][1] != contents(client, source)["relaid"][1]
    work, pairs = first.output["report"][len("s3://") :].split("/", 1)[0], f"etag-pairs/{destination}/"
    assert [key for key in contents(client, work) if key.startswith(pairs)] == [
        f"{pairs}set-000000000001.json",  # compacted under the lock: one set, its record folded in and deleted
        f"{pairs}set-000000000001/000001.jsonl",
    ]

    second = run(aws, machine, source=source, destination=destination, settings=settings)

    assert second.succeeded
    assert (second.output["copied"], second.output["unchanged"]) == (0, 1)
    client.put_object(Bucket=source, Key="relaid", Body=b"changed" * 500)
    third = run(aws, machine, source=source, destination=destination, settings=settings)
    assert third.output["copied"] == 1  # a changed source breaks the recorded pair


def test_a_missing_source_bucket_fails_the_execution_with_a_named_error(aws, machine, s3, buckets):
    _, destination = buckets()
    result = run(aws, machine, source="no-such-bucket-here", destination=destination)
    assert (result.status, result.error) == ("FAILED", "BucketNotFoundError")
    assert "bucket 'no-such-bucket-here' does not exist" in result.cause
    assert contents(s3(), destination) == {}


def test_a_small_incremental_sync_costs_its_listings_one_request_per_action_and_the_report(aws, machine, s3, buckets):
    source, destination = buckets()
    client = s3()
    for number in range(30):
        client.put_object(Bucket=source, Key=f"k{number:02d}", Body=b"v1")
    assert run(aws, machine, source=source, destination=destination).succeeded
    time.sleep(1.1)  # LastModified has whole seconds: the rewrites must be visibly newer than the copies
    client.put_object(Bucket=source, Key="k01", Body=b"v2")
    client.put_object(Bucket=source, Key="k02", Body=b"v2")
    client.delete_object(Bucket=source, Key="k03")
    client.put_object(Bucket=destination, Key="extra", Body=b"x")

    result = run(aws, machine, source=source, destination=destination)

    assert result.succeeded, result.cause
    assert contents(client, destination) == contents(client, source)
    assert (result.output["copied"], result.output["deleted"]) == (2, 2)
    # The PUTs are the lock, the report and the run's record (as it starts and ends); the DeleteObject releases
    # the lock.
    assert result.output["s3Requests"] == {
        "CopyObject": 2,
        "DeleteObjects": 1,
        "HeadBucket": 2,
        "ListObjectsV2": 2,
        "PutObject": 2 + 2,
        "DeleteObject": 1,
    }
    states = {
        event.get("stateEnteredEventDetails", {}).get("name")
        for event in aws("stepfunctions").get_execution_history(executionArn=result.arn, maxResults=1000)["events"]
    }
    assert {"CopyInline", "DeleteInline"} <= states and "CopySourceKeys" not in states
    assert {line["key"]: line["result"] for line in report_lines(client, result.output)} == {
        "k01": "copied",
        "k02": "copied",
        "k03": "deleted",
        "extra": "deleted",
    }
