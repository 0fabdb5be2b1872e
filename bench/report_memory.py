"""WriteReport's peak memory for 100,000 and 1,000,000 synthetic outcomes (issue 11's target: at most 256 MB for
1,000,000, and at most 1.2 times the peak for 100,000). Prints the figures; not a test.

    .venv/bin/python bench/report_memory.py                      # 100,000 and 1,000,000
    .venv/bin/python bench/report_memory.py --outcomes 100000    # one size

For each size it writes the plan and result files the copy workers would (batches of 2,500 copies, one ETag pair
in ten), then runs ``write_report.report`` in a fresh process twice: once under tracemalloc (its peak: what the
Python code held at most) and once without (the peak RSS, ``ru_maxrss``, less the RSS after the imports: what the
run added to the process). moto runs as a server in its own process on 127.0.0.1, as S3 is outside a Lambda's
memory: in the measuring process, moto's copy of the results and of the report would be counted as
WriteReport's.
"""

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0:0] = [str(ROOT / "lambda_functions"), str(ROOT)]

import boto3  # noqa: E402

BUCKET = "report-memory-work"
PER_BATCH = 2500
"""copy_keys' default batch (Settings.copy_batch_keys)."""
MB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, url
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("moto server did not start within 30 s")


def aws_environment(url: str) -> None:
    os.environ.update(
        AWS_ENDPOINT_URL=url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    )


def run_of(outcomes: int):
    from bucket_sync.run import SyncRun

    return SyncRun(
        run_id=f"bench-{outcomes}",
        source="bench-source",
        destination="bench-destination",
        source_region="us-east-1",
        destination_region="us-east-1",
        work_bucket=BUCKET,
    )


def plan_of(outcomes: int) -> dict:
    return {
        "cursor": "",
        "done": True,
        "rounds": 1,
        "copyBatches": -(-outcomes // PER_BATCH),
        "deleteBatches": 0,
        "skipBatches": 0,
        "totals": {"toCopy": outcomes, "toDelete": 0},
        "requests": {},
    }


def fill(outcomes: int) -> None:
    """The plan and result files of ``outcomes`` copies, made one batch at a time."""
    from bucket_sync.batches import put_json
    from bucket_sync.outcomes import COPIED, outcome
    from bucket_sync.run_files import RunFiles, result_key_for

    s3 = boto3.client("s3")
    run = run_of(outcomes)

    def batch(number: int) -> None:
        start = (number - 1) * PER_BATCH
        items = [
            {
                "key": f"data/year=2026/month={n % 12 + 1:02d}/part-{n:09d}.snappy.parquet",
                "reason": "missing",
                "entry": {
                    "key": f"data/year=2026/month={n % 12 + 1:02d}/part-{n:09d}.snappy.parquet",
                    "size": 1000 + n % 5000,
                    "etag": f'"{n:032x}"',
                    "last_modified": "2026-12-01T00:00:00.000+00:00",
                    "storage_class": "STANDARD",
                },
            }
            for n in range(start, min(start + PER_BATCH, outcomes))
        ]
        lines = [
            outcome(
                item,
                "copy",
                COPIED,
                sourceEtag=item["entry"]["etag"],
                etag=item["entry"]["etag"] if n % 10 else f'"{n:031x}k"',
                multipart=False,
            )
            for n, item in enumerate(items, start)
        ]
        plan_key = RunFiles(run, s3).plan_key("copy", number)
        put_json(s3, BUCKET, plan_key, {"items": items})
        put_json(
            s3, BUCKET, result_key_for(plan_key, 0, 0), {"outcomes": lines, "requests": {"CopyObject": len(lines)}}
        )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(batch, range(1, plan_of(outcomes)["copyBatches"] + 1)))


def max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


def current_rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(outcomes: int, traced: bool) -> dict:
    """One WriteReport of ``outcomes`` in this process (a fresh one): its figures."""
    import write_report

    from bucket_sync.clients import S3Clients

    run = run_of(outcomes)
    event = {"run": run.to_json(), "plan": plan_of(outcomes)}
    clients = S3Clients()
    clients.for_region("")  # the client and its service model, made before the measurement as a warm Lambda has
    baseline = current_rss_bytes()
    if traced:
        tracemalloc.start()
    started = time.monotonic()
    summary = write_report.report(run, event, clients, {})
    seconds = time.monotonic() - started
    figures = {"outcomes": outcomes, "seconds": round(seconds, 1), "copied": summary["copied"]}
    if traced:
        figures["tracemallocPeakMB"] = round(tracemalloc.get_traced_memory()[1] / MB, 1)
        tracemalloc.stop()
    else:
        figures["rssPeakMB"] = round(max_rss_bytes() / MB, 1)
        figures["rssAddedMB"] = round((max_rss_bytes() - baseline) / MB, 1)
    figures["requests"] = {k: v for k, v in summary["s3Requests"].items() if k != "HeadBucket"}
    return figures


def in_child(url: str, outcomes: int, traced: bool) -> dict:
    answer = subprocess.run(
        [sys.executable, __file__, "--child", url, "--outcomes", str(outcomes), *(["--traced"] if traced else [])],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(answer.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outcomes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--child", help=argparse.SUPPRESS)  # the endpoint's URL: measure in this process
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        aws_environment(args.child)
        print(json.dumps(measure(args.outcomes[0], args.traced)))
        return 0
    server, url = start_moto()
    try:
        aws_environment(url)
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        rows = []
        for outcomes in args.outcomes:
            started = time.monotonic()
            fill(outcomes)
            print(f"{outcomes:>9,} outcomes written in {time.monotonic() - started:.0f} s", file=sys.stderr)
            traced, untraced = in_child(url, outcomes, True), in_child(url, outcomes, False)
            rows.append({**untraced, **traced, "secondsUntraced": untraced["seconds"]})
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"{'outcomes':>10} {'tracemalloc peak':>17} {'RSS peak':>9} {'RSS added':>10} {'seconds':>8}  requests")
    for row in rows:
        print(
            f"{row['outcomes']:>10,} {row['tracemallocPeakMB']:>14.1f} MB {row['rssPeakMB']:>6.1f} MB "
            f"{row['rssAddedMB']:>7.1f} MB {row['secondsUntraced']:>8.1f}  {json.dumps(row['requests'])}"
        )
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        print(
            f"peak at {last['outcomes']:,} / peak at {first['outcomes']:,}: "
            f"tracemalloc {last['tracemallocPeakMB'] / first['tracemallocPeakMB']:.2f}, "
            f"RSS {last['rssPeakMB'] / first['rssPeakMB']:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
