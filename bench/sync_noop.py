"""Benchmark: a full sync and a no-op re-sync of N small objects on the embedded endpoint.

Prints wall seconds and S3 requests by operation, both as the sync's summary counts them and as the endpoint's
access log saw them. Usage: ``.venv/bin/python bench/sync_noop.py [N]`` (default 10,000). Not a test.
"""
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deploy import executions, pipeline  # noqa: E402
from deploy.aws import make_clients  # noqa: E402
from deploy.config import Config  # noqa: E402
from deploy.demo import local_environment  # noqa: E402
from local_endpoint.server import Endpoint  # noqa: E402

CONFIG = Config(app_name="bench", user_email="bench@example.com", region="us-east-1")


def s3_operations(log: Path, since: int) -> tuple[Counter, int]:
    lines = log.read_text().splitlines()
    return Counter(line.split("\t")[7] for line in lines[since:] if line.split("\t")[6] == "s3"), len(lines)


def main(count: int) -> None:
    log = Path(tempfile.mkdtemp()) / "access.log"
    endpoint = Endpoint(port=0, access_log=log)
    url = endpoint.start_in_thread()
    try:
        with local_environment(url):
            clients = make_clients(CONFIG)
            deployed = pipeline.deploy(pipeline.Project(ROOT), CONFIG, clients, lambda event: None)
            machine = next(m for m in deployed.state_machines if "-sync_buckets-" in m.name)
            s3 = boto3.client("s3", region_name="us-east-1")
            s3.create_bucket(Bucket="bench-source")
            s3.create_bucket(Bucket="bench-destination")
            with ThreadPoolExecutor(16) as pool:
                list(pool.map(lambda n: s3.put_object(Bucket="bench-source", Key=f"p{n % 10}/obj-{n:06d}",
                                                      Body=b"x" * (1024 + n % 3072)), range(count)))
            _, seen = s3_operations(log, 0)
            document = {"source": "bench-source", "destination": "bench-destination"}
            for title in ("full sync", "no-op re-sync"):
                started = time.perf_counter()
                result = executions.follow(clients.stepfunctions,
                                           executions.start(clients.stepfunctions, machine.arn, document),
                                           lambda state: None, sleep=lambda s: time.sleep(0.2))
                seconds = time.perf_counter() - started
                at_endpoint, seen = s3_operations(log, seen)
                summary = result.output or executions.failure_summary(result) or {}
                print(f"{title}: {count} objects, {result.status}, {seconds:.1f} s, copied {summary.get('copied')}, "
                      f"unchanged {summary.get('unchanged')}")
                print(f"  s3Requests (summary): {summary.get('s3Requests')} = "
                      f"{sum(summary.get('s3Requests', {}).values())}")
                print(f"  S3 requests (endpoint access log, Step Functions' own included): "
                      f"{dict(sorted(at_endpoint.items()))} = {sum(at_endpoint.values())}")
    finally:
        endpoint.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
