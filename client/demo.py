"""``fab local``: the main job on the embedded endpoint, for a newcomer, with no account and no config file.

Starts the endpoint in this process, deploys exactly as ``fab deploy`` does, fills two demo buckets in two regions
with varied data (multipart objects, awkward keys, metadata and tags, objects only the destination has), syncs,
changes a few objects, syncs again to show an incremental run, syncs once more to show a no-op, checks that the
destination mirrors the source object by object, says what to try next, and stops.
"""

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3

from deploy import pipeline
from deploy.aws import make_clients
from deploy.config import Config
from deploy.errors import DeployError

DEMO_CONFIG = Config(app_name="sync-local", user_email="local@example.com", region="us-east-1")
SOURCE, SOURCE_REGION = "demo-source", "us-east-1"
DESTINATION, DESTINATION_REGION = "demo-destination", "eu-west-1"
PART_BYTES = 5 * 1024 * 1024
AWKWARD_KEYS = [
    "docs/caf\u00e9.txt",
    "docs/cafe\u0301.txt",
    "photos/2024/img 001.jpg",
    "a+b=c.txt",
    "100%.txt",
    "folder/",
    "dir//double",
    "./dot/../x",
    "emoji-\U0001f600.txt",
    "q?x=1&y=2",
    "k" * 1000 + ".txt",
]


@contextmanager
def local_environment(url: str) -> Iterator[None]:
    """Point this process's boto3 at the endpoint with throwaway credentials; restore everything afterwards."""
    values = {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "AWS_DEFAULT_REGION": DEMO_CONFIG.region,
    }
    saved = {name: os.environ.get(name) for name in [*values, "AWS_PROFILE", "AWS_REGION"]}
    os.environ.update(values)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_REGION", None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def fill_demo_buckets() -> None:
    source = boto3.client("s3", region_name=SOURCE_REGION)
    destination = boto3.client("s3", region_name=DESTINATION_REGION)
    source.create_bucket(Bucket=SOURCE)
    destination.create_bucket(Bucket=DESTINATION, CreateBucketConfiguration={"LocationConstraint": DESTINATION_REGION})
    for day in range(1, 41):
        source.put_object(Bucket=SOURCE, Key=f"logs/2026-11-{day:02d}.log", Body=f"log of day {day}\n".encode() * 20)
    for key in AWKWARD_KEYS:
        source.put_object(Bucket=SOURCE, Key=key, Body=key.encode())
    source.put_object(Bucket=SOURCE, Key="empty.txt", Body=b"")
    source.put_object(
        Bucket=SOURCE,
        Key="docs/readme.html",
        Body=b"<h1>hello</h1>",
        ContentType="text/html",
        CacheControl="max-age=60",
        Metadata={"owner": "docs-team"},
        Tagging="team=docs&tier=gold",
        StorageClass="STANDARD_IA",
    )
    for number in (1, 2):
        upload = source.create_multipart_upload(
            Bucket=SOURCE,
            Key=f"big/archive-{number}.bin",
            ContentType="application/octet-stream",
            Metadata={"parts": "3"},
        )
        parts = []
        for part, size in enumerate((PART_BYTES, PART_BYTES, 1024 * number), start=1):
            etag = source.upload_part(
                Bucket=SOURCE,
                Key=f"big/archive-{number}.bin",
                UploadId=upload["UploadId"],
                PartNumber=part,
                Body=bytes([part]) * size,
            )["ETag"]
            parts.append({"PartNumber": part, "ETag": etag})
        source.complete_multipart_upload(
            Bucket=SOURCE,
            Key=f"big/archive-{number}.bin",
            UploadId=upload["UploadId"],
            MultipartUpload={"Parts": parts},
        )
    destination.put_object(Bucket=DESTINATION, Key="logs/2026-11-01.log", Body=b"an older version")
    destination.put_object(Bucket=DESTINATION, Key="only-in-destination.txt", Body=b"the source never had this")


DEMO_DATA = (
    f"{SOURCE} ({SOURCE_REGION}): 40 daily logs; {len(AWKWARD_KEYS)} awkward keys (NFC and NFD forms of 'café', "
    "spaces, '+', '=', '%', '?' and '&', a folder marker, '//', '.' and '..' segments, an emoji, a 1,004-byte key); "
    "an empty object; an HTML page with content type, cache control, user metadata, two tags and STANDARD_IA; "
    f"two multipart objects of 3 parts (10 MiB each).\n"
    f"{DESTINATION} ({DESTINATION_REGION}, another region): an older version of one log, and an object the source "
    "never had."
)
NEXT_STEPS = """Next, against the same kind of endpoint:
  fab server --port 5000 &
  export AWS_ENDPOINT_URL=http://127.0.0.1:5000 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
  cp fabfile_config_template.py fabfile_config.py   # its defaults do for the endpoint
  fab deploy
  fab sync --source SOURCE --destination DESTINATION --dry-run
  fab status
  fab report --failed
(fab -h TASK shows each task's options; README.md has the rest.)"""


def listing(client: Any, bucket: str) -> dict[str, tuple[int, str]]:
    """Every object's key, size and ETag."""
    return {
        item["Key"]: (item["Size"], item["ETag"])
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
    }


def mirror_problems(source: dict[str, tuple[int, str]], destination: dict[str, tuple[int, str]]) -> list[str]:
    """How the destination's listing differs from the source's; empty when it mirrors it."""
    problems = [f"missing {key!r}" for key in sorted(source.keys() - destination.keys())]
    problems += [f"extra {key!r}" for key in sorted(destination.keys() - source.keys())]
    problems += [
        f"different {key!r}" for key in sorted(source.keys() & destination.keys()) if source[key] != destination[key]
    ]
    return problems


def check_mirror() -> str:
    """Compare the two listings (keys, sizes, ETags); raise DeployError if the destination is no mirror."""
    source = listing(boto3.client("s3", region_name=SOURCE_REGION), SOURCE)
    destination = listing(boto3.client("s3", region_name=DESTINATION_REGION), DESTINATION)
    problems = mirror_problems(source, destination)
    if problems:
        raise DeployError(f"the destination does not mirror the source: {'; '.join(problems[:10])}")
    return (
        f"Checked: {DESTINATION} mirrors {SOURCE}, {len(source)} objects with the same keys, sizes and ETags "
        "(multipart layouts included)."
    )


def change_source() -> None:
    source = boto3.client("s3", region_name=SOURCE_REGION)
    source.put_object(Bucket=SOURCE, Key="logs/2026-11-02.log", Body=b"rewritten\n")
    source.put_object(Bucket=SOURCE, Key="new/report.csv", Body=b"a,b\n1,2\n", ContentType="text/csv")
    source.delete_objects(Bucket=SOURCE, Delete={"Objects": [{"Key": "logs/2026-11-03.log"}, {"Key": "a+b=c.txt"}]})


def run_demo(project: pipeline.Project, say: Callable[[str], None]) -> None:
    from local_endpoint.server import Endpoint

    from . import executions
    from .console import run_sync

    endpoint = Endpoint(port=0)
    url = endpoint.start_in_thread()
    say(f"Embedded local AWS endpoint at {url}")
    try:
        with local_environment(url):
            clients = make_clients(DEMO_CONFIG)
            result = pipeline.deploy(project, DEMO_CONFIG, clients, lambda event: None)
            machine = next(m for m in result.state_machines if "-sync_buckets-" in m.name)
            say(f"Deployed stack {DEMO_CONFIG.stack_name}; state machine {machine.name}")
            fill_demo_buckets()
            say(f"Filled the demo buckets:\n{DEMO_DATA}")
            document = executions.sync_input(SOURCE, DESTINATION)
            check = executions.sync_input(SOURCE, DESTINATION, mode="check")
            steps = [
                ("1. First sync: copy everything missing or different, delete what the source lacks", None, document),
                (
                    "2. Incremental sync after rewriting, adding and deleting a few source objects",
                    change_source,
                    document,
                ),
                ("3. No-op sync: nothing changed, so nothing is copied or deleted", None, document),
                ("4. Check: prove every key the same on both sides, changing nothing (fab check)", None, check),
            ]
            for title, before, step in steps:
                if before:
                    before()
                say(f"\n{title}")
                outcome = run_sync(clients.stepfunctions, machine.arn, step)
                if not outcome.succeeded:
                    raise DeployError(f"the demo sync {outcome.status.lower()}: {executions.failure_message(outcome)}")
            say(f"\n{check_mirror()}\n\n{NEXT_STEPS}")
    finally:
        endpoint.stop()
        say("Endpoint stopped")
