"""A sync of thousands of one-object copy batches on the embedded endpoint, as AWS would run it: every batch a
child of the CopySourceKeys Distributed Map, and the endpoint as strict as AWS (an S3 ItemReader that must read
every page, a Map output held to 256 KiB whatever its ResultPath, IAM enforced).

It proves what the suite cannot afford to (a few minutes of child executions): that past 1,000 batches the
ItemReader finds them all, that past ~3,450 batches the Map's output does not outgrow Step Functions' payload
limit (children answer {} and a ResultWriter takes their results), and that every object arrives. Prints the
figures; not a test.

    .venv/bin/python bench/many_batches.py --batches 3600
"""

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[1]
sys.path[0:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from compare import CONFIG, SETUP_BOTO_CONFIG, SETUP_KEY_ID, endpoint_process  # noqa: E402

from client import executions  # noqa: E402
from client.demo import local_environment  # noqa: E402
from deploy import pipeline  # noqa: E402
from deploy.aws import make_clients  # noqa: E402

FILL_THREADS = 16


def map_state_outputs(sfn, arn):
    """Bytes of each Map state's output as the history records it (after its ResultPath). The collected output
    the endpoint holds to 256 KiB is the ResultWriter's pointer: a run past the limit would have failed with
    States.DataLimitExceeded instead of reaching this."""
    events = [
        event
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
        for event in page["events"]
    ]
    return {
        event["stateExitedEventDetails"]["name"]: len(event["stateExitedEventDetails"].get("output", ""))
        for event in events
        if event["type"] == "MapStateExited"
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=3600, help="one-object copy batches (default 3,600)")
    parser.add_argument("--concurrency", type=int, default=40, help="the Map's MaxConcurrency (default 40)")
    args = parser.parse_args()
    log = Path(tempfile.mkdtemp(prefix="bench-batches-")) / "access.log"
    with endpoint_process(log) as url, local_environment(url):
        clients = make_clients(CONFIG)
        deployed = pipeline.deploy(pipeline.Project(ROOT), CONFIG, clients, lambda event: None)
        machine = next(m for m in deployed.state_machines if "-sync_buckets-" in m.name)
        s3 = boto3.client(
            "s3",
            region_name="us-east-1",
            aws_access_key_id=SETUP_KEY_ID,
            aws_secret_access_key="bench",
            aws_session_token=None,
            config=SETUP_BOTO_CONFIG,
        )
        source, destination = "batches-src", "batches-dst"
        for bucket in (source, destination):
            s3.create_bucket(Bucket=bucket)
        keys = [f"b/{number:06d}" for number in range(args.batches)]
        began = time.perf_counter()
        with ThreadPoolExecutor(FILL_THREADS) as pool:
            list(pool.map(lambda key: s3.put_object(Bucket=source, Key=key, Body=key.encode()), keys))
        print(f"filled {len(keys):,} objects in {time.perf_counter() - began:.1f} s", flush=True)

        began = time.perf_counter()
        arn = executions.start(
            clients.stepfunctions,
            machine.arn,
            {
                "source": source,
                "destination": destination,
                "settings": {"copyBatchKeys": 1, "inlinePlanBytes": 0, "maxConcurrency": args.concurrency},
            },
        )
        result = executions.follow(clients.stepfunctions, arn, lambda state: None, sleep=time.sleep)
        seconds = time.perf_counter() - began
        summary = result.output or executions.failure_summary(result) or {}
        found = {
            item["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=destination)
            for item in page.get("Contents", [])
        }
        figures = {
            "batches": args.batches,
            "status": result.status,
            "error": result.error,
            "seconds": round(seconds, 1),
            "batchesPerSecond": round(args.batches / seconds, 1),
            "copied": summary.get("copied"),
            "failed": summary.get("failed"),
            "destinationObjects": len(found),
            "everyObjectArrived": found == set(keys),
            "mapStateOutputBytes": map_state_outputs(clients.stepfunctions, arn),
            "s3Requests": summary.get("s3Requests"),
        }
        print(json.dumps(figures, indent=1))
    return 0 if figures["everyObjectArrived"] and result.succeeded else 1


if __name__ == "__main__":
    raise SystemExit(main())
