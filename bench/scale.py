"""Syncs of 100,000 objects and more on the embedded endpoint, with AWS-like listing latency: what planning one
stream per bucket costs today (issue 11's baseline, before parallel key ranges), in time, requests and memory.

The buckets are filled directly in moto's backend (local_endpoint/bulk_fill.py, a test aid) and listed through
the sorted key index (gap 14), so that the endpoint's own cost does not grow with the bucket; the fault plan adds
``--list-delay`` seconds to every ListObjectsV2 page the Lambda code asks for, as S3's ~100 ms a page. For each
mode it prints: wall time, the first CopyObject's time after the start, LIST requests, S3 requests by operation,
Lambda invocations and peak memory (Max Memory Used of the REPORT lines) per function, the parent's history
events and the Distributed Map children. Not a test.

    .venv/bin/python bench/scale.py --objects 100000 --modes noop,full
"""

import argparse
import json
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[0:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from compare import CONFIG, endpoint_process  # noqa: E402

from client import executions  # noqa: E402
from client.demo import local_environment  # noqa: E402
from deploy import pipeline  # noqa: E402
from deploy.aws import make_clients  # noqa: E402
from local_endpoint.bulk_fill import post_fill  # noqa: E402

FILL_CHUNK = 50_000
"""Objects per bulk-fill request: a JSON body of a few MB."""


def fill(url: str, bucket: str, count: int, bodies: bool) -> None:
    """``count`` objects ``k/0000000`` ...: small bodies for a bucket that will be copied from, body-less objects
    (size and ETag only) for one that is only listed."""
    for first in range(0, count, FILL_CHUNK):
        numbers = range(first, min(first + FILL_CHUNK, count))
        if bodies:
            objects = [{"key": f"k/{n:07d}", "body": f"object {n}"} for n in numbers]
        else:
            objects = [{"key": f"k/{n:07d}", "size": 16, "etag": f"{n:032x}"} for n in numbers]
        post_fill(url, bucket, objects)


def set_list_delay(url: str, seconds: float) -> None:
    plan = {"s3": {"delaySeconds": seconds, "operations": ["ListObjectsV2"]}}
    request = urllib.request.Request(
        f"{url}/_endpoint/faults",
        data=json.dumps(plan).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request).read()


def access_lines(log: Path, offset: int) -> list[list[str]]:
    """The access log's lines since ``offset``: time, method, host, path, query, status, service, operation."""
    with open(log, "rb") as stream:
        stream.seek(offset)
        text = stream.read().decode("utf-8", "replace")
    return [line.split("\t") for line in text.splitlines() if line.count("\t") >= 7]


def request_figures(lines: list[list[str]], started: datetime, buckets: tuple[str, str]) -> dict[str, Any]:
    s3 = [line for line in lines if line[6] == "s3"]
    by_operation = Counter(line[7] for line in s3)
    first_copy = next((line[0] for line in s3 if line[7] in ("CopyObject", "UploadPartCopy")), None)
    data_lists = [line for line in s3 if line[7] == "ListObjectsV2" and any(b in line[2] + line[3] for b in buckets)]
    return {
        "s3Requests": dict(sorted(by_operation.items())),
        "dataBucketListPages": len(data_lists),
        "firstCopySeconds": (
            round((datetime.fromisoformat(first_copy.replace("Z", "+00:00")) - started).total_seconds(), 1)
            if first_copy
            else None
        ),
    }


def lambda_figures(logs: Any, app: str, since_ms: int) -> dict[str, dict[str, int]]:
    """Invocations and the highest Max Memory Used, per function, from the REPORT lines of its log group."""
    figures: dict[str, dict[str, int]] = defaultdict(lambda: {"invocations": 0, "peakMemoryMB": 0})
    groups = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{app}-")["logGroups"]
    for group in groups:
        name = group["logGroupName"].rsplit("/", 1)[-1].removeprefix(f"{app}-")
        for page in logs.get_paginator("filter_log_events").paginate(
            logGroupName=group["logGroupName"], startTime=since_ms, filterPattern="REPORT"
        ):
            for event in page["events"]:
                if "Max Memory Used:" not in event["message"]:
                    continue
                used = int(event["message"].split("Max Memory Used:", 1)[1].split("MB", 1)[0])
                figures[name]["invocations"] += 1
                figures[name]["peakMemoryMB"] = max(figures[name]["peakMemoryMB"], used)
    return dict(sorted(figures.items()))


def execution_figures(sfn: Any, arn: str) -> dict[str, Any]:
    events = [
        event
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
        for event in page["events"]
    ]
    children = 0
    for event in events:
        if "mapRunStartedEventDetails" in event:
            counts = sfn.describe_map_run(mapRunArn=event["mapRunStartedEventDetails"]["mapRunArn"])["itemCounts"]
            children += counts.get("total", 0)
    return {"historyEvents": len(events), "mapChildren": children}


def run_mode(mode: str, count: int, url: str, log: Path, clients: Any, machine_arn: str, logs: Any) -> dict:
    source, destination = f"scale-{mode}-src", f"scale-{mode}-dst"
    s3 = clients.s3
    for bucket in (source, destination):
        s3.create_bucket(Bucket=bucket)
    began = time.perf_counter()
    fill(url, source, count, bodies=mode == "full")
    if mode == "noop":
        fill(url, destination, count, bodies=False)
    filled = time.perf_counter() - began

    offset = log.stat().st_size
    since_ms = int(time.time() * 1000)
    started = datetime.now(UTC)
    began = time.perf_counter()
    arn = executions.start(clients.stepfunctions, machine_arn, {"source": source, "destination": destination})
    result = executions.follow(clients.stepfunctions, arn, lambda progress: None)
    wall = time.perf_counter() - began
    summary = result.output or executions.failure_summary(result) or {}
    return {
        "mode": mode,
        "objects": count,
        "status": result.status,
        "error": result.error,
        "fillSeconds": round(filled, 1),
        "wallSeconds": round(wall, 1),
        "copied": summary.get("copied"),
        "unchanged": summary.get("unchanged"),
        **request_figures(access_lines(log, offset), started, (source, destination)),
        **execution_figures(clients.stepfunctions, arn),
        "lambda": lambda_figures(logs, CONFIG.app_name, since_ms),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=100_000, help="objects per bucket (default 100,000)")
    parser.add_argument("--modes", default="noop,full", help="noop (both buckets equal), full (destination empty)")
    parser.add_argument("--list-delay", type=float, default=0.1, help="seconds added to each LIST page (0.1)")
    args = parser.parse_args()
    log = Path(tempfile.mkdtemp(prefix="bench-scale-")) / "access.log"
    rows = []
    with endpoint_process(log) as url, local_environment(url):
        clients = make_clients(CONFIG)
        deployed = pipeline.deploy(pipeline.Project(ROOT), CONFIG, clients, lambda event: None)
        machine = next(m for m in deployed.state_machines if "-sync_buckets-" in m.name)
        import boto3

        logs = boto3.client("logs", region_name=CONFIG.region)
        set_list_delay(url, args.list_delay)
        for mode in args.modes.split(","):
            row = run_mode(mode, args.objects, url, log, clients, machine.arn, logs)
            print(json.dumps(row), flush=True)
            rows.append(row)
    print()
    print(
        f"{'mode':<6} {'objects':>9} {'status':<9} {'wall s':>7} {'1st copy s':>10} {'LIST pages':>10} "
        f"{'events':>7} {'children':>8}  peak MB by function"
    )
    for row in rows:
        peaks = ", ".join(f"{name} {f['peakMemoryMB']}" for name, f in row["lambda"].items())
        print(
            f"{row['mode']:<6} {row['objects']:>9,} {row['status']:<9} {row['wallSeconds']:>7} "
            f"{row['firstCopySeconds'] if row['firstCopySeconds'] is not None else '-':>10} "
            f"{row['dataBucketListPages']:>10} {row['historyEvents']:>7} {row['mapChildren']:>8}  {peaks}"
        )
    return 0 if all(row["status"] == "SUCCEEDED" for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
