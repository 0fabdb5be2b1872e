"""Parallel planning on the embedded endpoint: the deployed sync cuts the scope into key ranges (SplitKeySpace),
plans them in a Distributed Map (PlanRanges) whose ranges copy as they go, sums them (SumPlans), and deletes only
after every range is planned and every copy made. Each run is checked object by object and against the order of
the requests the endpoint served (its access log).

Tiny settings make a few hundred keys behave as a large bucket does: pages of 10 keys, ranges of at least 20 keys,
copy batches of 5, and a planning round that hands over after each copy batch it writes.
"""

import json

import pytest

from client import executions

from .conftest import assert_mirrored, contents, report_lines, run

RANGED = {"pageSize": 10, "minRangeKeys": 20, "listRanges": 6, "copyBatchKeys": 5, "roundCopyBatches": 1}
PREFIXES = ("alpha/", "beta/", "gamma/", "delta/é/", "epsilon/")
AWKWARD = ("alpha/a b+c%20", "beta/ü/ß", "gamma/\U0001f600", "delta/é/x\u0301", "epsilon/end/")


def fill(client, source, destination):
    """200 source keys in five folders (40 each) plus awkward ones; the destination holds the first folder already,
    a stale version of some keys, and orphans in three folders. Returns (to copy, orphans)."""
    keys = [f"{prefix}{number:03d}" for prefix in PREFIXES for number in range(40)] + list(AWKWARD)
    for key in keys:
        client.put_object(Bucket=source, Key=key, Body=f"body of {key}".encode())
    same = [key for key in keys if key.startswith("alpha/")]
    for key in same:
        client.copy_object(Bucket=destination, Key=key, CopySource={"Bucket": source, "Key": key})
    for key in ("gamma/005", "epsilon/039"):
        client.put_object(Bucket=destination, Key=key, Body=b"stale")
    orphans = ["alpha/orphan", "delta/é/orphan", "zeta/orphan"]
    for key in orphans:
        client.put_object(Bucket=destination, Key=key, Body=b"gone from the source")
    return len(keys) - len(same), orphans


def served(endpoint, since, *buckets):
    """(operation, bucket) of each data-bucket request served since ``since``, in the order served."""
    lines = endpoint.requests()[since:]
    return [
        (line[7], line[3].split("/")[1])
        for line in lines
        if line[6] == "s3" and line[3].split("/")[1] in buckets and line[5].startswith("2")
    ]


def history_states(aws, arn):
    sfn = aws("stepfunctions")
    return [
        event["stateEnteredEventDetails"]["name"]
        for event in executions.history(sfn, arn)
        if "stateEnteredEventDetails" in event
    ]


def test_ranges_are_planned_in_parallel_copy_as_they_go_and_delete_after_all(aws, machine, s3, buckets, endpoint):
    source, destination = buckets()
    client = s3()
    to_copy, orphans = fill(client, source, destination)
    since = len(endpoint.requests())

    result = run(aws, machine, source=source, destination=destination, settings=RANGED)
    order = served(endpoint, since, source, destination)  # before the test's own listings below

    assert result.succeeded, (result.error, result.cause)
    assert_mirrored(client, source, destination)
    summary = result.output
    assert (summary["copied"], summary["deleted"], summary["failed"]) == (to_copy, len(orphans), 0)
    unchanged = len(contents(client, source)) - to_copy
    assert (summary["toCopy"], summary["toDelete"], summary["unchanged"]) == (to_copy, len(orphans), unchanged)
    lines = report_lines(client, summary)
    assert {line["key"] for line in lines if line["action"] == "delete"} == set(orphans)
    assert len(lines) == to_copy + len(orphans)  # each key reported once, whichever range planned it
    states = history_states(aws, result.arn)
    assert "PlanRanges" in states and "SumPlans" in states  # and CopySourceKeys, for the first round's copies
    ranges = client.list_objects_v2(Bucket=machine[1].deployment_bucket, Prefix=f"runs/{summary['runId']}/ranges/")
    assert 3 <= ranges["KeyCount"] <= RANGED["listRanges"]
    first_copy = next(index for index, (operation, _) in enumerate(order) if operation == "CopyObject")
    last_source_list = max(
        index for index, (operation, bucket) in enumerate(order) if (operation, bucket) == ("ListObjectsV2", source)
    )
    assert first_copy < last_source_list  # copying began while the source was still being listed
    deletes = [index for index, (operation, _) in enumerate(order) if operation in ("DeleteObjects", "DeleteObject")]
    last_other = max(
        index
        for index, (operation, _) in enumerate(order)
        if operation in ("ListObjectsV2", "CopyObject", "UploadPartCopy")
    )
    assert deletes and min(deletes) > last_other  # deletions waited for every range and every copy


def test_a_second_ranged_run_finds_everything_unchanged(aws, machine, s3, buckets):
    source, destination = buckets()
    client = s3()
    fill(client, source, destination)
    assert run(aws, machine, source=source, destination=destination, settings=RANGED).succeeded

    again = run(aws, machine, source=source, destination=destination, settings=RANGED)

    assert again.succeeded, (again.error, again.cause)
    summary = again.output
    assert (summary["copied"], summary["deleted"], summary["failed"], summary["toCopy"]) == (0, 0, 0, 0)
    assert summary["unchanged"] == len(contents(client, source))
    assert set(summary["s3Requests"]) <= {"ListObjectsV2", "HeadBucket", "PutObject", "GetObject", "DeleteObject"}


def test_plan_first_copies_nothing_until_every_range_is_planned(aws, machine, s3, buckets, endpoint):
    source, destination = buckets()
    client = s3()
    to_copy, orphans = fill(client, source, destination)
    since = len(endpoint.requests())

    result = run(aws, machine, source=source, destination=destination, planFirst=True, settings=RANGED)
    order = served(endpoint, since, source, destination)  # before the test's own listings below

    assert result.succeeded, (result.error, result.cause)
    assert_mirrored(client, source, destination)
    assert (result.output["copied"], result.output["deleted"]) == (to_copy, len(orphans))
    last_list = max(index for index, (operation, _) in enumerate(order) if operation == "ListObjectsV2")
    first_copy = min(index for index, (operation, _) in enumerate(order) if operation == "CopyObject")
    assert last_list < first_copy
    states = history_states(aws, result.arn)
    assert "PlanRanges" in states and "CopySourceKeys" in states


def test_with_plan_first_a_refused_plan_changes_nothing(aws, machine, s3, buckets):
    source, destination = buckets()
    client = s3()
    fill(client, source, destination)
    before = contents(client, destination)

    result = run(aws, machine, source=source, destination=destination, planFirst=True, maxDeletes=1, settings=RANGED)

    assert result.status == "FAILED" and result.error == "TooManyDeletesError"
    assert result.cause.startswith("Nothing was changed: this sync plans 3 deletions, more than maxDeletes (1)")
    assert contents(client, destination) == before


def test_copies_made_while_planning_are_reported_when_a_guard_then_refuses_the_deletions(aws, machine, s3, buckets):
    source, destination = buckets()
    client = s3()
    to_copy, orphans = fill(client, source, destination)

    result = run(aws, machine, source=source, destination=destination, maxDeletes=1, settings=RANGED)

    assert result.status == "FAILED" and result.error == "TooManyDeletesError"
    message = json.loads(result.cause)["errorMessage"]  # raised by WriteReport, after the report
    assert message.startswith(f"No object was deleted ({to_copy} copied while the plan was made, 0 failed")
    assert "this sync plans 3 deletions, more than maxDeletes (1)" in message
    found = contents(client, destination)
    assert set(orphans) <= set(found)  # nothing deleted
    expected = contents(client, source)
    assert all(found[key] == expected[key] for key in expected)  # every copy made
    summary = executions.failure_summary(result)
    held = [line for line in report_lines(client, summary) if line["action"] == "delete"]
    assert sorted(line["key"] for line in held) == sorted(orphans)
    assert all(line["result"] == "skipped" and "TooManyDeletesError" in line["error"] for line in held)


def test_a_crashed_range_round_is_planned_again_and_each_key_reported_once(aws, machine, s3, buckets, faults, endpoint):
    source, destination = buckets()
    client = s3()
    to_copy, orphans = fill(client, source, destination)
    # The third planning invocation (some range's round) dies 0.15 s in, after it has written part of its plan;
    # its retry removes what the dead attempt wrote and plans the round again.
    faults(
        {
            "s3": {"delaySeconds": 0.05, "operations": ["PutObject"]},
            "lambda": [{"function": "-list_bucket", "fault": "crash", "afterSeconds": 0.15, "skip": 2}],
        }
    )

    result = run(aws, machine, source=source, destination=destination, settings=RANGED)

    assert faults()["injected"] == {"lambda:crash:-list_bucket": 1}
    assert result.succeeded, (result.error, result.cause)
    assert_mirrored(client, source, destination)
    lines = report_lines(client, result.output)
    keys = [(line["key"], line["action"]) for line in lines]
    assert len(keys) == len(set(keys)) == to_copy + len(orphans)


@pytest.mark.parametrize("list_ranges", [1, 6])
def test_a_dry_run_plans_every_range_and_changes_nothing(aws, machine, s3, buckets, list_ranges):
    source, destination = buckets()
    client = s3()
    to_copy, orphans = fill(client, source, destination)
    before = contents(client, destination)

    result = run(
        aws,
        machine,
        source=source,
        destination=destination,
        dryRun=True,
        settings={**RANGED, "listRanges": list_ranges},
    )

    assert result.succeeded, (result.error, result.cause)
    assert contents(client, destination) == before
    assert (result.output["toCopy"], result.output["toDelete"], result.output["copied"]) == (to_copy, 3, 0)
    planned = [line for line in report_lines(client, result.output) if line["result"] == "planned"]
    assert len(planned) == to_copy + len(orphans)
