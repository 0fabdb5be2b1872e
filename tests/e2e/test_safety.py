"""Guards against destroying data, on the deployed state machine: each test checks the destination afterwards."""

import json
import time
import uuid

import boto3
import pytest

from client import executions

from .conftest import deploy_sync


@pytest.fixture(scope="module")
def deployed(endpoint):
    return deploy_sync(endpoint, "e2e-safety")


@pytest.fixture(scope="module")
def machine(deployed):
    return deployed[0]


def lock_of(s3, deployed, destination):
    """The destination's lock object in the deployment bucket, or None."""
    try:
        body = s3.get_object(Bucket=deployed[1].deployment_bucket, Key=f"locks/{destination}.json")["Body"]
    except s3.exceptions.NoSuchKey:
        return None
    return json.loads(body.read())


@pytest.fixture(scope="module")
def limited_machine(endpoint):
    return deploy_sync(
        endpoint, "e2e-limited", source_buckets=("ok-src-*",), destination_buckets=("ok-dst-*",), max_deletes=1
    )[0]


@pytest.fixture
def s3(aws):
    return boto3.client("s3", region_name="us-east-1")


def bucket_pair(s3, source_prefix="src", destination_prefix="dst"):
    tag = uuid.uuid4().hex[:8]
    pair = (f"{source_prefix}-{tag}", f"{destination_prefix}-{tag}")
    for name in pair:
        s3.create_bucket(Bucket=name)
    return pair


def fill(s3, bucket, keys):
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())


def keys(s3, bucket):
    return sorted(
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
    )


def start(aws, machine, **fields):
    return executions.start(aws("stepfunctions"), machine.arn, fields)


def finish(aws, arn):
    return executions.follow(aws("stepfunctions"), arn, lambda state: None, sleep=lambda s: time.sleep(0.1))


def holds_lock(aws, arn, timeout_seconds=30):
    """Wait until the execution has taken its destination's lock (its ValidateInput step has succeeded)."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        history = aws("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
        if any(event.get("stateExitedEventDetails", {}).get("name") == "ValidateInput" for event in history):
            return
        time.sleep(0.1)
    raise AssertionError(f"{arn} did not get past ValidateInput in {timeout_seconds} s")


def test_an_empty_source_does_not_empty_the_destination(aws, machine, s3):
    source, destination = bucket_pair(s3)
    fill(s3, destination, ["a", "b", "c"])

    refused = finish(aws, start(aws, machine, source=source, destination=destination))

    assert (refused.status, refused.error) == ("FAILED", "DeleteAllRefusedError")
    assert "would delete all 3 objects" in refused.cause and '"allowDeleteAll": true' in refused.cause
    assert keys(s3, destination) == ["a", "b", "c"]


def test_allow_delete_all_empties_the_destination_when_asked(aws, machine, s3):
    source, destination = bucket_pair(s3)
    fill(s3, destination, ["a", "b"])

    done = finish(aws, start(aws, machine, source=source, destination=destination, allowDeleteAll=True))

    assert done.succeeded and done.output["deleted"] == 2
    assert keys(s3, destination) == []


def test_more_deletions_than_max_deletes_stop_the_sync_before_anything_changes(aws, machine, s3):
    source, destination = bucket_pair(s3)
    fill(s3, source, ["keep", "new"])
    fill(s3, destination, ["keep", "old-1", "old-2", "old-3"])

    refused = finish(aws, start(aws, machine, source=source, destination=destination, maxDeletes=2))

    assert (refused.status, refused.error) == ("FAILED", "TooManyDeletesError")
    assert "plans 3 deletions, more than maxDeletes (2)" in refused.cause
    assert keys(s3, destination) == ["keep", "old-1", "old-2", "old-3"]  # not even the copy was made
    allowed = finish(aws, start(aws, machine, source=source, destination=destination, maxDeletes=3))
    assert allowed.succeeded and keys(s3, destination) == ["keep", "new"]


def test_a_second_sync_into_a_destination_being_synced_is_refused(aws, machine, s3):
    source, destination = bucket_pair(s3)
    fill(s3, source, [f"k{number:02d}" for number in range(30)])
    slow = {"settings": {"maxKeysPerRound": 1, "pageSize": 1}}  # 30 rounds: still running when the next starts
    first = start(aws, machine, source=source, destination=destination, **slow)
    holds_lock(aws, first)
    other_source, other_destination = bucket_pair(s3)

    second = finish(aws, start(aws, machine, source=other_source, destination=destination))
    elsewhere = finish(aws, start(aws, machine, source=other_source, destination=other_destination))

    assert (second.status, second.error) == ("FAILED", "ConcurrentSyncError")
    assert f"another sync into '{destination}' is running ({first}" in second.cause
    assert elsewhere.succeeded  # another destination is not held up
    assert finish(aws, first).succeeded
    assert keys(s3, destination) == [f"k{number:02d}" for number in range(30)]


def test_of_two_syncs_started_together_into_one_destination_exactly_one_runs(aws, machine, s3):
    source, destination = bucket_pair(s3)
    fill(s3, source, [f"k{number:02d}" for number in range(20)])
    slow = {"settings": {"maxKeysPerRound": 1, "pageSize": 1}}  # 20 rounds: the winner still runs as the other checks

    arns = [start(aws, machine, source=source, destination=destination, **slow) for _ in range(2)]
    ended = [finish(aws, arn) for arn in arns]

    assert sorted((result.status, result.error) for result in ended) == [
        ("FAILED", "ConcurrentSyncError"),
        ("SUCCEEDED", None),
    ]
    assert keys(s3, destination) == [f"k{number:02d}" for number in range(20)]


@pytest.mark.parametrize(
    "fields, error",
    [
        pytest.param({"maxDeletes": 0}, "TooManyDeletesError", id="refused-plan"),
        pytest.param({"source": "no-such-bucket-anywhere"}, "BucketNotFoundError", id="failed-step"),
        pytest.param({}, None, id="success"),
    ],
)
def test_every_ending_releases_the_destinations_lock(aws, deployed, s3, fields, error):
    source, destination = bucket_pair(s3)
    fill(s3, source, ["a"])
    fill(s3, destination, ["orphan"])

    ended = finish(aws, start(aws, deployed[0], **{"source": source, "destination": destination, **fields}))

    assert ended.error == error
    assert lock_of(s3, deployed, destination) is None
    assert finish(aws, start(aws, deployed[0], source=source, destination=destination)).succeeded


def test_a_lock_left_by_a_stopped_sync_is_taken_over_by_the_next(aws, deployed, s3):
    source, destination = bucket_pair(s3)
    fill(s3, source, [f"k{number:02d}" for number in range(20)])
    stopped = start(
        aws, deployed[0], source=source, destination=destination, settings={"maxKeysPerRound": 1, "pageSize": 1}
    )
    holds_lock(aws, stopped)
    aws("stepfunctions").stop_execution(executionArn=stopped)
    assert finish(aws, stopped).status == "ABORTED"
    assert lock_of(s3, deployed, destination)["executionArn"] == stopped  # no step ran to release it

    after = finish(aws, start(aws, deployed[0], source=source, destination=destination))

    assert after.succeeded, after.cause
    assert keys(s3, destination) == [f"k{number:02d}" for number in range(20)]
    assert lock_of(s3, deployed, destination) is None


def test_a_bucket_outside_the_configured_ones_is_refused_up_front(aws, limited_machine, s3):
    source, destination = bucket_pair(s3, "other", "ok-dst")
    fill(s3, source, ["a"])

    refused = finish(aws, start(aws, limited_machine, source=source, destination=destination))

    assert (refused.status, refused.error) == ("FAILED", "InvalidInputError")
    assert f"'source' is '{source}', which this deployment may not use: SOURCE_BUCKETS allows ok-src-*" in (
        refused.cause
    )
    assert keys(s3, destination) == []


def test_the_configured_max_deletes_is_the_default_and_the_input_overrides_it(aws, limited_machine, s3):
    source, destination = bucket_pair(s3, "ok-src", "ok-dst")
    fill(s3, source, ["a"])
    fill(s3, destination, ["a", "x", "y"])

    refused = finish(aws, start(aws, limited_machine, source=source, destination=destination))
    assert refused.error == "TooManyDeletesError" and "more than maxDeletes (1)" in refused.cause

    allowed = finish(aws, start(aws, limited_machine, source=source, destination=destination, maxDeletes=5))
    assert allowed.succeeded and keys(s3, destination) == ["a"]


def test_the_deployed_roles_name_only_the_configured_buckets(aws, limited_machine):
    iam, lam = aws("iam"), aws("lambda")
    role = lam.get_function(FunctionName="e2e-limited-copy_keys")["Configuration"]["Role"].rsplit("/", 1)[1]
    documents = [
        iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
    ]
    resources = json.dumps(documents)
    assert "arn:aws:s3:::ok-src-*/*" in resources and "arn:aws:s3:::ok-dst-*/*" in resources
    assert "arn:aws:s3:::*" not in resources.replace("arn:aws:s3:::ok-", "")
