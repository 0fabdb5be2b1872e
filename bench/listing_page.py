"""Benchmark: one ListObjectsV2 page of a large bucket: moto's own, with gap 14's index, and with gap 15's rendering.

Run, from the repository root (not part of the test suite; about 30 s for the default 200,000 keys)::

    .venv/bin/python bench/listing_page.py [--keys 200000] [--repeat 3]

In one process, with moto in process (no endpoint, no HTTP server: boto3 talks to moto through its mock, so the
page's parsing and rendering are counted, the network is not), it fills a bucket with ``--keys`` body-less objects
over 100 prefixes with the endpoint's test aid (``local_endpoint/bulk_fill.py``, timed too), then times four pages
of 1,000 keys, each ``--repeat`` times: with moto's listing, with ``local_endpoint/listing_index.py`` (gap 14)
installed, and with ``local_endpoint/listing_render.py`` (gap 15) installed too. It prints the median seconds of
each: the first page, a page from the middle (StartAfter), the last page, and a delimited page of common prefixes;
once for the whole call (boto3's request building and parsing included) and once for the CPU moto spends in the
response (``S3Response.list_objects_v2``: what the one-process endpoint pays per page, which caps its pages/s).
"""

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.s3.responses import S3Response  # noqa: E402

from local_endpoint import bulk_fill, listing_index, listing_render  # noqa: E402

BUCKET = "listing-bench"
PREFIXES = 100
PAGE_KEYS = 1000


def key_of(index: int) -> str:
    return f"p{index % PREFIXES:03d}/object-{index:09d}"


def pages(keys: int) -> dict[str, dict]:
    names = sorted(key_of(index) for index in range(keys))
    return {
        "first page": {},
        "middle (StartAfter)": {"StartAfter": names[len(names) // 2]},
        "last page": {"StartAfter": names[-PAGE_KEYS // 2]},
        "Delimiter '/'": {"Delimiter": "/"},
    }


CONFIGURATIONS = ("moto", "gap 14", "gaps 14+15")


@contextlib.contextmanager
def moto_cpu_seconds():
    """Collects the CPU seconds of every ListObjectsV2 response moto computes while inside."""
    seconds: list[float] = []
    original = S3Response.list_objects_v2

    def timed(self):
        started = time.process_time()
        try:
            return original(self)
        finally:
            seconds.append(time.process_time() - started)

    S3Response.list_objects_v2 = timed
    try:
        yield seconds
    finally:
        S3Response.list_objects_v2 = original


def median_seconds(s3, request: dict, repeat: int) -> tuple[float, float]:
    """The median whole-call seconds of a page and the median CPU seconds moto spent in its response."""
    seconds = []
    with moto_cpu_seconds() as cpu:
        for _ in range(repeat):
            started = time.perf_counter()
            s3.list_objects_v2(Bucket=BUCKET, MaxKeys=PAGE_KEYS, **request)
            seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), statistics.median(cpu)


def configure(configuration: str, s3) -> None:
    if configuration == "gap 14":
        listing_index.install()
        started = time.perf_counter()
        s3.list_objects_v2(Bucket=BUCKET, MaxKeys=1)  # the first listing sorts the names once
        print(f"index built by the first listing in {time.perf_counter() - started:.2f} s")
    elif configuration == "gaps 14+15":
        listing_render.install()


def print_table(title: str, timings: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    print(f"{'page':<22}" + "".join(f"{name + ' (s)':>16}" for name in CONFIGURATIONS) + f"{'15 vs 14':>10}")
    for page, seconds in timings.items():
        print(f"{page:<22}" + "".join(f"{value:>16.4f}" for value in seconds) + f"{seconds[1] / seconds[2]:>9.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=200_000, help="objects in the bucket (default 200,000)")
    parser.add_argument("--repeat", type=int, default=3, help="timings per page; the median is printed (default 3)")
    arguments = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        started = time.perf_counter()
        objects = (bulk_fill.without_body(key_of(index), 1024, f"{index:032x}") for index in range(arguments.keys))
        filled = bulk_fill.fill_bucket(BUCKET, objects)
        print(f"filled {filled:,} body-less objects in {time.perf_counter() - started:.1f} s")
        calls: dict[str, list[float]] = {}
        cpu: dict[str, list[float]] = {}
        try:
            for configuration in CONFIGURATIONS:
                configure(configuration, s3)
                for page, request in pages(arguments.keys).items():
                    call_seconds, cpu_seconds = median_seconds(s3, request, arguments.repeat)
                    calls.setdefault(page, []).append(call_seconds)
                    cpu.setdefault(page, []).append(cpu_seconds)
        finally:
            listing_render.uninstall()
            listing_index.uninstall()
    print(f"\none ListObjectsV2 page of {PAGE_KEYS:,} keys at {arguments.keys:,} keys, median of {arguments.repeat}:")
    print_table("whole call, boto3 included (wall seconds):", calls)
    print_table("moto's response only, what the endpoint pays (CPU seconds):", cpu)


if __name__ == "__main__":
    main()
