"""Syncs of 100,000 objects and more on the embedded endpoint, with AWS-like listing latency: issue 11's parallel
key ranges (``settings.listRanges``) side by side with one listing stream per bucket, in time, requests and memory.

The buckets are filled directly in moto's backend (local_endpoint/bulk_fill.py, a test aid) and listed through
the sorted key index (gap 14), so that the endpoint's own cost does not grow with the bucket; the fault plan adds
``--list-delay`` seconds to every ListObjectsV2 page the Lambda code asks for, as S3's ~100 ms a page. One endpoint
process and one deployment serve every run; each run (a mode, a ``--list-ranges`` value) gets buckets of its own
and passes ``"settings": {"listRanges": N}`` in the execution's input. Each ``listRanges`` value first runs an
unreported sync of a few objects, so that no measured run pays for starting the Lambda workers.

Per run it prints:
- wall time (the execution's start to stop), the first CopyObject served after the start, the source bucket's
  last ListObjectsV2 page served, and whether that copy came before that page (copying while still planning);
- LIST streams in flight: the most ListObjectsV2 requests on the two data buckets being served at one moment. The
  access log records only the moment a request was answered, so each page counts as in flight for the
  ``--list-delay`` before it (the delay is injected before moto answers): a lower bound, meaningless at delay 0;
- LIST requests on the data buckets against the two single streams' (``ceil(n / 1000)`` pages a bucket of n keys,
  at least 1: ``2 ceil(n / 1000)`` for a no-op), and the overhead in %;
- S3 requests by operation on the data buckets and on the work (deployment) bucket, apart;
- Lambda invocations and peak memory (Max Memory Used of the REPORT lines) per function;
- the parent's history events, the Map Runs (those of the parent and, nested, of its children: ListMapRuns of
  every execution, plus the MapRunStarted events), the child executions over all of them, and the children's
  history events where the endpoint keeps children as executions (moto does not: then "-").

Then a table with a row per run and, per mode, the wall time of the default ``listRanges`` over that of 1.
``--json PATH`` writes every run's figures. Not a test.

    .venv/bin/python bench/scale.py --objects 100000 --modes noop,full --list-ranges 1,16
    .venv/bin/python bench/scale.py --objects 20000 --modes full --json /tmp/scale.json
"""

import argparse
import json
import math
import os
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[0:0] = [str(ROOT), str(Path(__file__).resolve().parent)]
sys.path.append(str(ROOT / "lambda_functions"))  # bucket_sync is top-level, as in Lambda (see client/__init__.py)

from botocore.exceptions import ClientError  # noqa: E402
from compare import CONFIG, endpoint_process  # noqa: E402

from bucket_sync.listing import MAX_KEYS_PER_PAGE  # noqa: E402
from bucket_sync.ranges import DEFAULT_LIST_RANGES  # noqa: E402
from client import executions  # noqa: E402
from client.demo import local_environment  # noqa: E402
from deploy import pipeline  # noqa: E402
from deploy.aws import make_clients  # noqa: E402
from local_endpoint.bulk_fill import post_fill  # noqa: E402

FILL_CHUNK = 50_000
WARM_UP_OBJECTS = 50
"""Objects of the unreported full sync each ``listRanges`` value first runs, so that no measured run pays for
starting the Lambda workers and the first run is not slower only for coming first."""
"""Objects per bulk-fill request: a JSON body of a few MB."""
COPY_OPERATIONS = ("CopyObject", "UploadPartCopy")


@dataclass(frozen=True)
class Served:
    """One line of the endpoint's access log: a request, when it was answered, and the bucket it named."""

    at: datetime
    service: str
    operation: str
    bucket: str


@dataclass(frozen=True)
class Run:
    """One sync to measure: its mode, its ``listRanges`` and its own buckets."""

    mode: str
    list_ranges: int
    objects: int

    @property
    def source(self) -> str:
        return f"scale-{self.mode}-r{self.list_ranges}-src"

    @property
    def destination(self) -> str:
        return f"scale-{self.mode}-r{self.list_ranges}-dst"

    @property
    def destination_objects(self) -> int:
        return self.objects if self.mode == "noop" else 0

    @property
    def copies(self) -> bool:
        return self.mode != "noop"


def fill(url: str, bucket: str, count: int, bodies: bool) -> None:
    """``count`` objects ``k/0000000`` ...: small bodies for a bucket that will be copied from, body-less objects
    (size and ETag only) for one that is only listed."""
    for first in range(0, count, FILL_CHUNK):
        numbers = range(first, min(first + FILL_CHUNK, count))
        objects: list[dict[str, Any]]
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


def served_since(log: Path, offset: int) -> list[Served]:
    """The access log's lines since ``offset`` (columns: time, method, host, path, query, status, service,
    operation). Clients reach the endpoint by IP address, so S3 requests are path-style: the bucket leads the path."""
    with open(log, "rb") as stream:
        stream.seek(offset)
        text = stream.read().decode("utf-8", "replace")
    rows = [line.split("\t") for line in text.splitlines() if line.count("\t") >= 7]
    return [
        Served(
            at=datetime.fromisoformat(row[0].replace("Z", "+00:00")),
            service=row[6],
            operation=row[7],
            bucket=row[3].lstrip("/").split("/", 1)[0] if row[6] == "s3" else "",
        )
        for row in rows
    ]


def max_in_flight(answered: Iterable[datetime], seconds: float) -> int:
    """The most intervals (answer - ``seconds``, answer] that hold one moment in common: a sweep where an interval
    that ends as another starts does not overlap it."""
    edges = sorted(
        [(at.timestamp(), -1) for at in answered] + [(at.timestamp() - seconds, 1) for at in answered],
    )
    most = current = 0
    for _, step in edges:  # at equal times, ends (-1) sort before starts (+1)
        current += step
        most = max(most, current)
    return most


def single_stream_pages(objects: int) -> int:
    """ListObjectsV2 requests one stream makes over a bucket of ``objects`` keys: an empty bucket still takes one."""
    return max(1, math.ceil(objects / MAX_KEYS_PER_PAGE))


def seconds_after(moment: datetime | None, started: datetime) -> float | None:
    return round((moment - started).total_seconds(), 2) if moment else None


def request_figures(served: list[Served], started: datetime, run: Run, work_bucket: str, delay: float) -> dict:
    """What the access log says about one run: copies against the source's listing, LIST concurrency and cost."""
    data = [line for line in served if line.service == "s3" and line.bucket in (run.source, run.destination)]
    work = [line for line in served if line.service == "s3" and line.bucket == work_bucket]
    lists = [line for line in data if line.operation == "ListObjectsV2"]
    first_copy = next((line.at for line in data if line.operation in COPY_OPERATIONS), None)
    last_source_list = max((line.at for line in lists if line.bucket == run.source), default=None)
    single = single_stream_pages(run.objects) + single_stream_pages(run.destination_objects)
    return {
        "firstCopySeconds": seconds_after(first_copy, started),
        "lastSourceListSeconds": seconds_after(last_source_list, started),
        "copyBeforeListingDone": (first_copy < last_source_list) if first_copy and last_source_list else None,
        "listInFlight": max_in_flight([line.at for line in lists], delay),
        "listRequests": len(lists),
        "singleStreamLists": single,
        "listOverheadPercent": round(100 * (len(lists) - single) / single, 1),
        "dataBucketRequests": dict(sorted(Counter(line.operation for line in data).items())),
        "workBucketRequests": dict(sorted(Counter(line.operation for line in work).items())),
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


def history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
    return [event for page in pages for event in page["events"]]


def map_runs_of(sfn: Any, arn: str, events: list[dict[str, Any]]) -> set[str]:
    """An execution's Map Runs, from ListMapRuns and its MapRunStarted events (either may miss some: moto's
    ListMapRuns of the parent also holds its children's nested runs, AWS's does not)."""
    started = {e["mapRunStartedEventDetails"]["mapRunArn"] for e in events if "mapRunStartedEventDetails" in e}
    listed = {run["mapRunArn"] for run in sfn.list_map_runs(executionArn=arn)["mapRuns"]}
    return started | listed


def child_executions(sfn: Any, map_run_arn: str) -> list[str] | None:
    """The child executions of a Map Run, or None where the endpoint keeps none (moto runs children in the
    parent's interpreter: ListExecutions does not take a Map Run there)."""
    try:
        pages = sfn.get_paginator("list_executions").paginate(mapRunArn=map_run_arn)
        return [execution["executionArn"] for page in pages for execution in page["executions"]]
    except ClientError:
        return None


def execution_figures(sfn: Any, arn: str) -> dict[str, Any]:
    """The parent's history events, and over every Map Run reachable from it (nested ones inside children too):
    the runs, their children (DescribeMapRun's count) and the children's history events where children exist."""
    parent_events = history(sfn, arn)
    pending, seen = list(map_runs_of(sfn, arn, parent_events)), set()
    children, child_events = 0, 0
    children_known = True
    while pending:
        map_run = pending.pop()
        if map_run in seen:
            continue
        seen.add(map_run)
        children += sfn.describe_map_run(mapRunArn=map_run)["executionCounts"].get("total", 0)
        listed = child_executions(sfn, map_run)
        if listed is None:
            children_known = False
            continue
        for child in listed:
            events = history(sfn, child)
            child_events += len(events)
            pending.extend(map_runs_of(sfn, child, events) - seen)
    return {
        "historyEvents": len(parent_events),
        "mapRuns": len(seen),
        "mapChildren": children,
        "childHistoryEvents": child_events if children_known else None,
    }


def fill_run(url: str, clients: Any, run: Run) -> float:
    """Creates and fills the run's buckets; the seconds it took."""
    for bucket in (run.source, run.destination):
        clients.s3.create_bucket(Bucket=bucket)
    began = time.perf_counter()
    fill(url, run.source, run.objects, bodies=run.copies)
    if run.destination_objects:
        fill(url, run.destination, run.destination_objects, bodies=False)
    return time.perf_counter() - began


def descendants_cpu_seconds() -> float | None:
    """CPU seconds (user and system) that this script's descendants have used: the endpoint process, its Lambda
    workers and what they ran (Linux's /proc; None elsewhere). Over a run, it shows whether the endpoint's cores,
    not the sync, set the wall time."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    stats: dict[int, tuple[int, float]] = {}  # pid -> (parent, CPU seconds, waited-for children included)
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended while we looked
        ticks = sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
        stats[int(entry.name)] = (int(fields[1]), ticks / os.sysconf("SC_CLK_TCK"))
    me, total = os.getpid(), 0.0
    for pid, (_, seconds) in stats.items():
        ancestor = stats.get(pid, (0, 0.0))[0]
        while ancestor and ancestor != me:
            ancestor = stats.get(ancestor, (0, 0.0))[0]
        if ancestor == me:
            total += seconds
    return total


def measure(run: Run, url: str, log: Path, clients: Any, machine_arn: str, logs: Any, delay: float) -> dict:
    filled = fill_run(url, clients, run)
    offset = log.stat().st_size
    cpu_before = descendants_cpu_seconds()
    since_ms = int(time.time() * 1000)
    document = {"source": run.source, "destination": run.destination, "settings": {"listRanges": run.list_ranges}}
    arn = executions.start(clients.stepfunctions, machine_arn, document)
    result = executions.follow(clients.stepfunctions, arn, lambda progress: None)
    described = clients.stepfunctions.describe_execution(executionArn=arn)
    started, stopped = described["startDate"].astimezone(UTC), described["stopDate"].astimezone(UTC)
    cpu_after = descendants_cpu_seconds()
    summary = result.output or executions.failure_summary(result) or {}
    return {
        "mode": run.mode,
        "listRanges": run.list_ranges,
        "objects": run.objects,
        "status": result.status,
        "error": result.error,
        "fillSeconds": round(filled, 1),
        "wallSeconds": round((stopped - started).total_seconds(), 1),
        "endpointCpuSeconds": round(cpu_after - cpu_before, 1) if cpu_before is not None and cpu_after else None,
        "copied": summary.get("copied"),
        "unchanged": summary.get("unchanged"),
        "estimatedCostUSD": summary.get("estimatedCostUSD"),
        **request_figures(served_since(log, offset), started, run, CONFIG.deployment_bucket, delay),
        **execution_figures(clients.stepfunctions, arn),
        "lambda": lambda_figures(logs, CONFIG.app_name, since_ms),
    }


def shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:,}" if isinstance(value, int) else str(value)


def print_run(row: dict) -> None:
    print(f"\n== {row['mode']}, listRanges {row['listRanges']}: {row['status']} {row['error'] or ''}".rstrip())
    print(
        f"  wall {row['wallSeconds']} s (fill {row['fillSeconds']} s); endpoint CPU "
        f"{shown(row['endpointCpuSeconds'])} s on {os.cpu_count()} cores; "
        f"first CopyObject {shown(row['firstCopySeconds'])} s; "
        f"source's last LIST page {shown(row['lastSourceListSeconds'])} s; copy before listing done: "
        f"{shown(row['copyBeforeListingDone'])}"
    )
    print(
        f"  LIST streams in flight (pages answered within --list-delay of each other): {row['listInFlight']}; "
        f"LIST requests {row['listRequests']:,} vs single streams {row['singleStreamLists']:,} "
        f"({row['listOverheadPercent']:+}%)"
    )
    print(f"  S3 on the data buckets: {json.dumps(row['dataBucketRequests'])}")
    print(f"  S3 on the work bucket:  {json.dumps(row['workBucketRequests'])}")
    print(
        f"  parent history events {row['historyEvents']}; Map Runs {row['mapRuns']}; child executions "
        f"{row['mapChildren']:,}; their history events {shown(row['childHistoryEvents'])}"
    )
    print(
        "  Lambda: "
        + ", ".join(f"{name} {f['invocations']}x {f['peakMemoryMB']} MB" for name, f in row["lambda"].items())
    )
    cost = row.get("estimatedCostUSD")
    if cost:
        print(
            f"  estimated cost ${cost['total']:.4f} (S3 ${cost['s3Requests']:.4f}, Lambda ${cost['lambda']:.4f} for "
            f"{cost['lambdaGBSeconds']} GB-s in {cost['lambdaInvocations']} invocations, Step Functions "
            f"${cost['stepFunctions']:.4f} for ~{cost['stateTransitions']} transitions)"
        )


TABLE = (
    ("mode", "mode", 5),
    ("ranges", "listRanges", 6),
    ("objects", "objects", 8),
    ("status", "status", 9),
    ("wall s", "wallSeconds", 7),
    ("cpu s", "endpointCpuSeconds", 6),
    ("1st copy s", "firstCopySeconds", 10),
    ("last src LIST s", "lastSourceListSeconds", 15),
    ("copy<LIST", "copyBeforeListingDone", 9),
    ("in flight", "listInFlight", 9),
    ("LISTs", "listRequests", 6),
    ("single", "singleStreamLists", 6),
    ("over %", "listOverheadPercent", 6),
    ("events", "historyEvents", 6),
    ("map runs", "mapRuns", 8),
    ("children", "mapChildren", 8),
)


def print_table(rows: list[dict]) -> None:
    print()
    print(" ".join(f"{title:>{width}}" for title, _, width in TABLE))
    for row in rows:
        print(" ".join(f"{shown(row[key]):>{width}}" for _, key, width in TABLE))
    for mode in dict.fromkeys(row["mode"] for row in rows):
        walls = {row["listRanges"]: row["wallSeconds"] for row in rows if row["mode"] == mode}
        if DEFAULT_LIST_RANGES in walls and 1 in walls and walls[1]:
            ratio = walls[DEFAULT_LIST_RANGES] / walls[1]
            print(f"{mode}: wall of listRanges {DEFAULT_LIST_RANGES} (the default) / listRanges 1 = {ratio:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=100_000, help="objects per bucket (default 100,000)")
    parser.add_argument("--modes", default="noop,full", help="noop (both buckets equal), full (destination empty)")
    parser.add_argument("--list-ranges", default=f"1,{DEFAULT_LIST_RANGES}", help="listRanges values, comma list")
    parser.add_argument("--list-delay", type=float, default=0.1, help="seconds added to each LIST page (0.1)")
    parser.add_argument("--json", type=Path, help="write every run's figures to this file as JSON")
    args = parser.parse_args()
    runs = [
        Run(mode, int(ranges), args.objects) for mode in args.modes.split(",") for ranges in args.list_ranges.split(",")
    ]
    log = Path(tempfile.mkdtemp(prefix="bench-scale-")) / "access.log"
    rows = []
    with endpoint_process(log) as url, local_environment(url):
        clients = make_clients(CONFIG)
        deployed = pipeline.deploy(pipeline.Project(ROOT), CONFIG, clients, lambda event: None)
        machine = next(m for m in deployed.state_machines if "-sync_buckets-" in m.name)
        import boto3

        logs = boto3.client("logs", region_name=CONFIG.region)
        set_list_delay(url, args.list_delay)
        for ranges in dict.fromkeys(run.list_ranges for run in runs):
            warm_up = measure(Run("warmup", ranges, WARM_UP_OBJECTS), url, log, clients, machine.arn, logs, 0)
            print(f"warm-up, listRanges {ranges}: {warm_up['status']} in {warm_up['wallSeconds']} s", flush=True)
        for run in runs:
            row = measure(run, url, log, clients, machine.arn, logs, args.list_delay)
            print_run(row)
            sys.stdout.flush()
            rows.append(row)
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0 if all(row["status"] == "SUCCEEDED" for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
