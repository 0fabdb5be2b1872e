"""Distributed Map on the embedded endpoint as AWS runs it (``local_endpoint/distributed_map.py``): failure
thresholds, aborted children, the 256 KiB limit on the Map's output, the S3 ItemReader and ResultWriter.

Every test creates a state machine with plain Step Functions calls against an endpoint process and checks what
AWS would report: the execution's status, error and output, DescribeMapRun's counts, the objects in S3. The
children are Pass, Fail, Wait and Choice states, so no Lambda runs and the tests stay fast.
"""

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.e2e.conftest import endpoint, wait_for_execution  # noqa: F401  (the endpoint fixture)

PUT_THREADS = 16
POOL = Config(max_pool_connections=PUT_THREADS)
EXCEEDED = "States.ExceedToleratedFailureThreshold"
EXCEEDED_CAUSE = "The specified tolerated failure threshold was exceeded"
MAX_PAYLOAD_BYTES = 262_144
STATES_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
S3_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject", "s3:PutObject"], "Resource": "*"}],
}
SLOW_CHILD_SECONDS = 60  # far longer than any test waits: a child still waiting was aborted, not finished

# A child that fails for the item 0 (or every item, for fail_all) and passes its item through otherwise.
FAIL_ON_ZERO = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$", "NumericEquals": 0, "Next": "Fail"}],
            "Default": "Done",
        },
        "Fail": {"Type": "Fail", "Error": "Boom", "Cause": "item zero"},
        "Done": {"Type": "Pass", "End": True},
    },
}
FAIL_ALL = {"StartAt": "Fail", "States": {"Fail": {"Type": "Fail", "Error": "Boom", "Cause": "always"}}}
PASS = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}


@pytest.fixture
def clients(endpoint):
    def client(service):
        return boto3.client(service, endpoint_url=endpoint.url, region_name="us-east-1", config=POOL)

    return client


@pytest.fixture
def role(clients):
    """A state machine role that may read and write S3 (the ItemReader lists, the ResultWriter puts)."""
    iam, name = clients("iam"), f"states-{uuid.uuid4().hex[:8]}"
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(STATES_TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="s3", PolicyDocument=json.dumps(S3_ACCESS))
    return arn


@pytest.fixture
def bucket(clients):
    name = f"map-{uuid.uuid4().hex[:8]}"
    clients("s3").create_bucket(Bucket=name)
    return name


def definition(child, then=None, **fields):
    """One Distributed Map over $.items (or an ItemReader in fields), followed by ``then`` states if given."""
    processor = dict(child, ProcessorConfig={"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"})
    state = {"Type": "Map", "ItemProcessor": processor, **fields}
    if "ItemReader" not in fields:
        state.setdefault("ItemsPath", "$.items")
    states = {"Map": state}
    if then:
        state["Next"] = next(iter(then))
        states.update(then)
    else:
        state["End"] = True
    return {"StartAt": "Map", "States": states}


def create(clients, role, document):
    name = f"map-{uuid.uuid4().hex[:12]}"
    return clients("stepfunctions").create_state_machine(name=name, definition=json.dumps(document), roleArn=role)[
        "stateMachineArn"
    ]


def execute(clients, role, document, machine_input=None):
    sfn = clients("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=create(clients, role, document), input=json.dumps(machine_input or {}))[
        "executionArn"
    ]
    return wait_for_execution(sfn, arn)


def map_runs(clients, execution):
    sfn = clients("stepfunctions")
    runs = sfn.list_map_runs(executionArn=execution["executionArn"])["mapRuns"]
    return [sfn.describe_map_run(mapRunArn=run["mapRunArn"]) for run in runs]


# --- definition forms --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"ToleratedFailurePercentage": 0},
        {"ToleratedFailurePercentage": 5},
        {"ToleratedFailurePercentage": 100},
        {"ToleratedFailurePercentage": 12.5},
        {"ToleratedFailureCount": 0},
        {"ToleratedFailureCount": 3},
        {"ToleratedFailurePercentagePath": "$.percentage"},
        {"ToleratedFailureCountPath": "$.count"},
    ],
    ids=lambda fields: "-".join(f"{key}={value}" for key, value in fields.items()),
)
def test_every_threshold_form_aws_accepts_is_accepted(clients, role, fields):
    described = execute(clients, role, definition(PASS, **fields), {"items": [1, 2], "percentage": 10, "count": 1})
    assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", [1, 2])


@pytest.mark.parametrize(
    "fields",
    [
        {"ToleratedFailurePercentage": 101},
        {"ToleratedFailurePercentage": -1},
        {"ToleratedFailureCount": -1},
    ],
    ids=lambda fields: "-".join(f"{key}={value}" for key, value in fields.items()),
)
def test_a_threshold_out_of_range_is_refused(clients, role, fields):
    with pytest.raises(ClientError) as raised:
        create(clients, role, definition(PASS, **fields))
    assert "Tolerated" in str(raised.value)


# --- the failure threshold -----------------------------------------------------------------------------------------


def test_one_failed_child_fails_the_map_run_and_the_execution(clients, role):
    described = execute(clients, role, definition(FAIL_ON_ZERO), {"items": [1, 0, 2]})
    assert (described["status"], described["error"], described["cause"]) == ("FAILED", EXCEEDED, EXCEEDED_CAUSE)
    [run] = map_runs(clients, described)
    assert run["status"] == "FAILED"
    assert run["itemCounts"]["failed"] == 1 and run["itemCounts"]["total"] == 3


def test_a_catch_of_states_all_catches_the_threshold_error(clients, role):
    document = definition(
        FAIL_ON_ZERO,
        then={"Caught": {"Type": "Pass", "End": True}},
        Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
    )
    described = execute(clients, role, document, {"items": [0]})
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"])["error"] == {"Error": EXCEEDED, "Cause": EXCEEDED_CAUSE}


def test_a_retry_runs_the_map_again_after_the_threshold_error(clients, role):
    document = definition(FAIL_ON_ZERO, Retry=[{"ErrorEquals": [EXCEEDED], "IntervalSeconds": 1, "MaxAttempts": 1}])
    described = execute(clients, role, document, {"items": [0]})
    assert (described["status"], described["error"]) == ("FAILED", EXCEEDED)
    assert [run["status"] for run in map_runs(clients, described)] == ["FAILED", "FAILED"]


def test_a_percentage_of_100_tolerates_every_failure(clients, role):
    described = execute(clients, role, definition(FAIL_ALL, ToleratedFailurePercentage=100), {"items": [1, 2, 3]})
    assert described["status"] == "SUCCEEDED"
    [run] = map_runs(clients, described)
    assert (run["status"], run["itemCounts"]["failed"]) == ("SUCCEEDED", 3)


@pytest.mark.parametrize("failures, status", [(2, "SUCCEEDED"), (3, "FAILED")])
@pytest.mark.parametrize("form", ["static", "path"])
def test_a_count_of_n_tolerates_n_failures_and_fails_at_n_plus_one(clients, role, failures, status, form):
    threshold = {"ToleratedFailureCount": 2} if form == "static" else {"ToleratedFailureCountPath": "$.tolerated"}
    items = [0] * failures + [1, 2, 3]
    described = execute(clients, role, definition(FAIL_ON_ZERO, **threshold), {"items": items, "tolerated": 2})
    assert described["status"] == status
    if status == "FAILED":
        assert described["error"] == EXCEEDED


@pytest.mark.parametrize("percentage, status", [(50, "SUCCEEDED"), (49.9, "FAILED")])
def test_a_percentage_counts_failures_against_all_items(clients, role, percentage, status):
    described = execute(
        clients, role, definition(FAIL_ON_ZERO, ToleratedFailurePercentage=percentage), {"items": [0, 0, 1, 2]}
    )
    assert described["status"] == status


def test_no_child_starts_once_the_threshold_is_exceeded(clients, role):
    described = execute(clients, role, definition(FAIL_ON_ZERO, MaxConcurrency=1), {"items": [0, 1, 2, 3, 4]})
    assert described["error"] == EXCEEDED
    [run] = map_runs(clients, described)
    counts = run["itemCounts"]
    assert (counts["failed"], counts["succeeded"], counts["running"], counts["pending"], counts["total"]) == (
        1,
        0,
        0,
        4,
        5,
    )


def test_children_still_running_are_aborted(clients, role):
    slow_unless_zero = {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$", "NumericEquals": 0, "Next": "Fail"}],
                "Default": "Slow",
            },
            "Fail": {"Type": "Fail", "Error": "Boom"},
            "Slow": {"Type": "Wait", "Seconds": SLOW_CHILD_SECONDS, "End": True},
        },
    }
    described = execute(clients, role, definition(slow_unless_zero), {"items": [1, 2, 0]})
    assert (described["status"], described["error"]) == ("FAILED", EXCEEDED)  # not left waiting for the slow ones
    [run] = map_runs(clients, described)
    counts = run["executionCounts"]
    assert (run["status"], counts["failed"], counts["aborted"], counts["running"]) == ("FAILED", 1, 2, 0)


# --- the 256 KiB limit on the Map's collected output --------------------------------------------------------------


def big_child(bytes_each):
    return {"StartAt": "Big", "States": {"Big": {"Type": "Pass", "Result": "x" * bytes_each, "End": True}}}


def test_a_map_output_over_256_kib_fails_even_with_result_path_null_and_states_all_does_not_catch_it(clients, role):
    document = definition(
        big_child(100_000),
        then={"Caught": {"Type": "Pass", "End": True}},
        ResultPath=None,
        Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
    )
    described = execute(clients, role, document, {"items": [1, 2, 3]})
    assert (described["status"], described["error"]) == ("FAILED", "States.DataLimitExceeded")


def test_the_data_limit_error_is_caught_when_named(clients, role):
    document = definition(
        big_child(100_000),
        then={"Caught": {"Type": "Pass", "End": True}},
        ResultPath=None,
        Catch=[{"ErrorEquals": ["States.DataLimitExceeded"], "Next": "Caught"}],
    )
    assert execute(clients, role, document, {"items": [1, 2, 3]})["status"] == "SUCCEEDED"


def test_a_map_output_just_under_256_kib_passes(clients, role):
    # Two children of n bytes each make ["x…","x…"]: 2n + 7 bytes of JSON.
    each = (MAX_PAYLOAD_BYTES - 7 - 200) // 2
    described = execute(clients, role, definition(big_child(each), ResultPath=None), {"items": [1, 2]})
    assert described["status"] == "SUCCEEDED"


# --- the S3 ItemReader ---------------------------------------------------------------------------------------------


def put_objects(s3, bucket, keys):
    with ThreadPoolExecutor(max_workers=PUT_THREADS) as pool:
        list(pool.map(lambda key: s3.put_object(Bucket=bucket, Key=key, Body=b"x"), keys))


def reader(bucket, prefix, **config):
    item_reader = {"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": bucket, "Prefix": prefix}}
    if config:
        item_reader["ReaderConfig"] = config
    return item_reader


KEY_OF_ITEM = {"StartAt": "Key", "States": {"Key": {"Type": "Pass", "InputPath": "$.Key", "End": True}}}


def test_the_item_reader_reads_every_page(clients, role, bucket):
    keys = [f"batches/{number:05d}.json" for number in range(2_500)]
    put_objects(clients("s3"), bucket, keys)
    described = execute(
        clients, role, definition(KEY_OF_ITEM, ItemReader=reader(bucket, "batches/"), MaxConcurrency=50)
    )
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == keys


def test_an_empty_prefix_gives_no_items_and_the_map_succeeds(clients, role, bucket):
    described = execute(clients, role, definition(KEY_OF_ITEM, ItemReader=reader(bucket, "nothing/")))
    assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", [])


def test_max_items_stops_the_reader(clients, role, bucket):
    keys = [f"in/{number}" for number in range(5)]
    put_objects(clients("s3"), bucket, keys)
    described = execute(clients, role, definition(KEY_OF_ITEM, ItemReader=reader(bucket, "in/", MaxItems=3)))
    assert json.loads(described["output"]) == keys[:3]


def test_each_item_is_the_listing_entry(clients, role, bucket):
    s3 = clients("s3")
    s3.put_object(Bucket=bucket, Key="in/one", Body=b"hello", StorageClass="STANDARD_IA")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="in/")["Contents"][0]
    described = execute(clients, role, definition(PASS, ItemReader=reader(bucket, "in/")))
    [item] = json.loads(described["output"])
    assert set(item) == {"Key", "Size", "ETag", "LastModified", "StorageClass"}
    assert (item["Key"], item["Size"], item["ETag"], item["StorageClass"]) == (
        "in/one",
        5,
        listed["ETag"],
        "STANDARD_IA",
    )
    assert isinstance(item["LastModified"], str) and item["LastModified"].startswith(
        listed["LastModified"].strftime("%Y-%m-%dT%H:%M")
    )


# --- ResultWriter --------------------------------------------------------------------------------------------------


def writer(bucket, prefix="results"):
    return {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": bucket, "Prefix": prefix}}


def read_json(s3, bucket, key):
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def test_the_result_writer_writes_the_documented_files(clients, role, bucket):
    s3 = clients("s3")
    described = execute(
        clients,
        role,
        definition(FAIL_ON_ZERO, ToleratedFailureCount=1, ResultWriter=writer(bucket)),
        {"items": [1, 0, 2]},
    )
    assert described["status"] == "SUCCEEDED"
    output = json.loads(described["output"])
    [run] = map_runs(clients, described)
    run_id = run["mapRunArn"].split(":")[-1]
    manifest_key = f"results/{run_id}/manifest.json"
    assert output == {"MapRunArn": run["mapRunArn"], "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}}

    manifest = read_json(s3, bucket, manifest_key)
    assert (manifest["DestinationBucket"], manifest["MapRunArn"]) == (bucket, run["mapRunArn"])
    assert [entry["Key"] for entry in manifest["ResultFiles"]["SUCCEEDED"]] == [f"results/{run_id}/SUCCEEDED_0.json"]
    assert [entry["Key"] for entry in manifest["ResultFiles"]["FAILED"]] == [f"results/{run_id}/FAILED_0.json"]
    assert manifest["ResultFiles"]["PENDING"] == []
    for entry in manifest["ResultFiles"]["SUCCEEDED"] + manifest["ResultFiles"]["FAILED"]:
        assert s3.head_object(Bucket=bucket, Key=entry["Key"])["ContentLength"] == entry["Size"]

    succeeded = read_json(s3, bucket, f"results/{run_id}/SUCCEEDED_0.json")
    assert [(json.loads(child["Input"]), json.loads(child["Output"]), child["Status"]) for child in succeeded] == [
        (1, 1, "SUCCEEDED"),
        (2, 2, "SUCCEEDED"),
    ]
    [failed] = read_json(s3, bucket, f"results/{run_id}/FAILED_0.json")
    assert (failed["Status"], failed["Error"], failed["Cause"], json.loads(failed["Input"])) == (
        "FAILED",
        "Boom",
        "item zero",
        0,
    )


def test_with_a_result_writer_the_map_output_stays_small_whatever_the_children_return(clients, role, bucket):
    items = list(range(300))  # 300 children of 1 KB: 300 KB collected, over the limit without a writer
    described = execute(
        clients, role, definition(big_child(1_000), ResultWriter=writer(bucket), MaxConcurrency=50), {"items": items}
    )
    assert described["status"] == "SUCCEEDED"
    details = json.loads(described["output"])["ResultWriterDetails"]
    manifest = read_json(clients("s3"), bucket, details["Key"])
    succeeded = read_json(clients("s3"), bucket, manifest["ResultFiles"]["SUCCEEDED"][0]["Key"])
    assert len(succeeded) == len(items)


def test_the_result_writers_paths_are_read_from_the_states_input(clients, role, bucket):
    paths = {
        "Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket.$": "$.target.bucket", "Prefix.$": "States.Format('runs/{}', $.target.run)"},
    }
    described = execute(
        clients,
        role,
        definition(PASS, ResultWriter=paths),
        {"items": [1, 2], "target": {"bucket": bucket, "run": "r1"}},
    )
    assert described["status"] == "SUCCEEDED", described.get("cause")
    details = json.loads(described["output"])["ResultWriterDetails"]
    assert details["Bucket"] == bucket and details["Key"].startswith("runs/r1/")
    assert read_json(clients("s3"), bucket, details["Key"])["DestinationBucket"] == bucket


def test_a_result_writer_that_cannot_write_fails_with_result_writer_failed(clients, role):
    described = execute(clients, role, definition(PASS, ResultWriter=writer("no-such-bucket-here")), {"items": [1]})
    assert (described["status"], described["error"]) == ("FAILED", "States.ResultWriterFailed")
