"""WriteReport, deployed on the endpoint with IAM enforced, streams a report of more than 5 MiB in real 5 MiB parts,
and aborts the upload when a result cannot be read: its role's front matter grants what multipart needs.

The deployed function is invoked directly with a plan and results written as the copy workers write them, so the
test needs no 30,000-object sync.
"""

import json
import uuid

import pytest

from bucket_sync.batches import put_json
from bucket_sync.outcomes import COPIED, outcome
from bucket_sync.run import SyncRun
from bucket_sync.run_files import RunFiles, result_key_for

LINES, PER_BATCH = 30_000, 2500
BATCHES = LINES // PER_BATCH


@pytest.fixture
def work(aws, machine, s3):
    """A run whose plan and results are in the deployment bucket: (run, admin S3 client)."""
    config = machine[1]
    run = SyncRun(
        run_id=f"stream-{uuid.uuid4().hex[:8]}",
        source="stream-source",
        destination="stream-destination",
        source_region="us-east-1",
        destination_region="us-east-1",
        work_bucket=config.deployment_bucket,
    )
    client = s3()
    for number in range(1, BATCHES + 1):
        items = [
            {
                "key": f"data/year=2026/part-{n:09d}.snappy.parquet",
                "reason": "missing",
                "entry": {"key": f"data/year=2026/part-{n:09d}.snappy.parquet", "size": n, "etag": f'"{n:032x}"'},
            }
            for n in range((number - 1) * PER_BATCH, number * PER_BATCH)
        ]
        lines = [
            outcome(i, "copy", COPIED, sourceEtag=i["entry"]["etag"], etag=i["entry"]["etag"], multipart=False)
            for i in items
        ]
        plan_key = RunFiles(run, client).plan_key("copy", number)
        put_json(client, run.work_bucket, plan_key, {"items": items})
        put_json(client, run.work_bucket, result_key_for(plan_key, 0, 0), {"outcomes": lines, "requests": {}})
    return run, client


def invoke_write_report(aws, machine, run):
    plan = {
        "cursor": "",
        "done": True,
        "rounds": 1,
        "copyBatches": BATCHES,
        "deleteBatches": 0,
        "skipBatches": 0,
        "totals": {"toCopy": LINES, "toDelete": 0},
        "requests": {},
    }
    answer = aws("lambda").invoke(
        FunctionName=f"{machine[1].app_name}-write_report",
        Payload=json.dumps({"run": run.to_json(), "plan": plan}).encode(),
    )
    return answer.get("FunctionError"), json.loads(answer["Payload"].read())


def test_a_report_over_5_mib_is_written_in_5_mib_parts_by_the_deployed_function(aws, machine, work):
    run, client = work

    error, summary = invoke_write_report(aws, machine, run)

    assert error is None, summary
    assert (summary["copied"], summary["report"]) == (
        LINES,
        f"s3://{run.work_bucket}/{RunFiles(run, client).report_key}",
    )
    parts = summary["s3Requests"]["UploadPart"]
    assert parts >= 2 and summary["s3Requests"]["CreateMultipartUpload"] == 1
    head = client.head_object(Bucket=run.work_bucket, Key=RunFiles(run, client).report_key, PartNumber=1)
    assert head["ContentLength"] >= 5 * 1024 * 1024 and head["PartsCount"] == parts
    body = client.get_object(Bucket=run.work_bucket, Key=RunFiles(run, client).report_key)["Body"].read().splitlines()
    assert len(body) == LINES and json.loads(body[-1])["key"] == f"data/year=2026/part-{LINES - 1:09d}.snappy.parquet"


def test_a_report_that_fails_part_way_is_aborted_by_the_deployed_function(aws, machine, work):
    run, client = work
    # The last batch's result is unreadable: by then a 5 MiB part is uploaded.
    client.put_object(
        Bucket=run.work_bucket,
        Key=result_key_for(RunFiles(run, client).plan_key("copy", BATCHES), 0, 0),
        Body=b"{not json",
    )

    error, answer = invoke_write_report(aws, machine, run)

    assert error and answer["errorType"] == "JSONDecodeError"
    uploads = client.list_multipart_uploads(Bucket=run.work_bucket, Prefix=run.folder).get("Uploads", [])
    assert uploads == []
    assert "Contents" not in client.list_objects_v2(Bucket=run.work_bucket, Prefix=RunFiles(run, client).report_key)
