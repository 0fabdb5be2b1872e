"""Deleting orphaned keys, gathering outcomes, and the report, against moto's S3: bucket state checked afterwards.

``delete_batch`` and ``collect`` are called directly. The report is checked end to end in process: ``execute``
runs the handlers in the order ``state_machines/sync_buckets.yaml`` does (validate, plan rounds, copy batches,
check copies, delete batches, report), so the plan and result files are the workers' own. Error answers moto does
not give are given with a botocore Stubber.
"""

import json
import unicodedata
from collections import Counter

import boto3
import check_copies
import copy_keys
import delete_orphaned_keys
import list_bucket
import pytest
import validate_input
import write_report
from botocore.stub import Stubber
from moto import mock_aws

import bucket_sync.clients
from bucket_sync.batches import decision_to_json, get_json, list_keys, put_json
from bucket_sync.decide import Reason, march
from bucket_sync.errors import SyncFailedError
from bucket_sync.listing import list_entries
from bucket_sync.outcomes import COPIED, DELETED, FAILED, MISSING_RESULT, outcome
from bucket_sync.planner import planned
from bucket_sync.requests import RequestCounter
from bucket_sync.run import Settings, SyncRun
from bucket_sync.run_files import RunFiles, result_key_for
from tests.awkward_keys import AWKWARD_KEYS

SOURCE, DESTINATION, WORK = "sync-source", "sync-destination", "sync-work"
RUN_ID = "exec-1"
REPORT = f"s3://{WORK}/runs/{RUN_ID}/report.jsonl"
LOCATION_REQUESTS = write_report.LOCATION_REQUESTS
LOCK_REQUESTS = {"PutObject": 1, "DeleteObject": 1}
"""The destination's lock: taken by ValidateInput, released by WriteReport."""
"""FindSourceRegion and FindDestinationRegion's one request each, which ``execute`` stands in for: the summary
counts them without the report step seeing them."""


@pytest.fixture(scope="module")
def session():
    """One session for the module, so clients share loaded service models; credentials are read per test."""
    return boto3.session.Session()


@pytest.fixture(autouse=True)
def moto_s3(moto_s3_as_aws, session, monkeypatch):
    # The handlers' clients come from the same session: the same clients, only faster to make.
    monkeypatch.setattr(bucket_sync.clients, "_session", lambda: session)
    with mock_aws():
        yield


@pytest.fixture
def s3(session):
    client = session.client("s3", region_name="us-east-1")
    for bucket in (SOURCE, DESTINATION, WORK):
        client.create_bucket(Bucket=bucket)
    return client


class FakeContext:
    """What the handlers use of a Lambda context: a whole 15 minutes left."""

    function_name = "sync-test"
    aws_request_id = "request-1"

    @staticmethod
    def get_remaining_time_in_millis():
        return 900_000


CONTEXT = FakeContext()


def sync_run(**fields):
    return SyncRun(
        **{
            "run_id": RUN_ID,
            "source": SOURCE,
            "destination": DESTINATION,
            "source_region": "us-east-1",
            "destination_region": "us-east-1",
            "work_bucket": WORK,
            **fields,
        }
    )


def fill(s3, bucket, objects):
    """``objects``: key -> body, or key -> (body, storage class)."""
    for key, value in objects.items():
        body, storage_class = value if isinstance(value, tuple) else (value, "STANDARD")
        s3.put_object(Bucket=bucket, Key=key, Body=body, StorageClass=storage_class)


def keys_of(s3, bucket, prefix=""):
    return sorted(list_keys(s3, bucket, prefix), key=str.encode)


def orphans(s3, prefix=""):
    """Plan items for deleting the destination's keys, as the planner writes them when the source is empty."""
    return [decision_to_json(decision) for decision in march([], list_entries(s3, DESTINATION, prefix))]


def item(key, size=1):
    """A plan item for a key that need not exist."""
    return {
        "key": key,
        "reason": Reason.ORPHANED.value,
        "entry": {
            "key": key,
            "size": size,
            "etag": '"e"',
            "last_modified": "2026-01-01T00:00:00.000+00:00",
            "storage_class": "STANDARD",
        },
    }


def deleted(key, size=1):
    return {"key": key, "action": "delete", "result": DELETED, "reason": Reason.ORPHANED.value, "size": size}


def failed(key, error, size=1):
    return {**deleted(key, size), "result": FAILED, "error": error}


# delete_batch


@pytest.mark.parametrize("key", AWKWARD_KEYS)
def test_delete_batch_deletes_exactly_the_given_keys(s3, key):
    # Neighbours that share the key's start: deleting "folder/" must not touch "folder/x" or "folder".
    kept = {key[:-1], "other"} | ({key + "x"} if len(key.encode()) < 1024 else set())
    fill(s3, DESTINATION, {key: b"body", **{k: b"kept" for k in kept}})
    items = [i for i in orphans(s3) if i["key"] == key]

    outcomes = delete_orphaned_keys.delete_batch(s3, DESTINATION, items)

    assert outcomes == [deleted(key, size=4)]
    assert keys_of(s3, DESTINATION) == sorted(kept, key=str.encode)


def test_deleting_the_nfc_key_leaves_the_nfd_key(s3):
    nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
    fill(s3, DESTINATION, {nfc: b"composed", nfd: b"decomposed"})

    delete_orphaned_keys.delete_batch(s3, DESTINATION, [i for i in orphans(s3) if i["key"] == nfc])

    assert keys_of(s3, DESTINATION) == [nfd]


def test_more_than_1000_keys_take_one_delete_objects_request_per_1000(s3, session):
    keys = [f"k{n:05d}" for n in range(2050)]
    existing = keys[::50] + keys[999:1001] + keys[1999:2001] + [keys[-1]]  # every 50th and each chunk's edges
    fill(s3, DESTINATION, {key: b"x" for key in existing + ["z-kept"]})
    counter = RequestCounter()
    client = counter.attach(session.client("s3", region_name="us-east-1"))
    chunks = []
    client.meta.events.register(
        "before-parameter-build.s3.DeleteObjects", lambda params, **_: chunks.append(len(params["Delete"]["Objects"]))
    )

    listed = {entry["key"]: entry for entry in orphans(s3)}
    items = [listed.get(key) or item(key) for key in keys]  # keys not there were deleted by someone else

    outcomes = delete_orphaned_keys.delete_batch(client, DESTINATION, items)

    assert counter.snapshot() == {"DeleteObjects": 3}
    assert chunks == [1000, 1000, 50]
    gone = "already gone: deleted by someone else after it was listed"
    assert outcomes == [
        deleted(key) if key in listed else {**deleted(key), "result": "skipped", "error": gone} for key in keys
    ]
    assert keys_of(s3, DESTINATION) == ["z-kept"]


@pytest.fixture
def stubbed(session):
    s3 = session.client("s3", region_name="us-east-1")
    with Stubber(s3) as stubber:
        yield s3, stubber
        stubber.assert_no_pending_responses()


def test_per_key_errors_of_delete_objects_fail_only_those_keys(stubbed):
    s3, stubber = stubbed
    stubber.add_response(
        "delete_objects",
        {
            "Deleted": [{"Key": "a"}, {"Key": "c"}],
            "Errors": [
                {"Key": "b", "Code": "AccessDenied", "Message": "Access Denied"},
                {"Key": "d e+f", "Code": "InternalError", "Message": "We encountered an internal error."},
            ],
        },
        {
            "Bucket": DESTINATION,
            "Delete": {"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "c"}, {"Key": "d e+f"}], "Quiet": True},
        },
    )

    outcomes = delete_orphaned_keys.delete_batch(s3, DESTINATION, [item(k) for k in ("a", "b", "c", "d e+f")])

    assert outcomes == [
        deleted("a"),
        failed("b", "AccessDenied: Access Denied"),
        deleted("c"),
        failed("d e+f", "InternalError: We encountered an internal error."),
    ]


@pytest.mark.parametrize("rewritten", ["k", "line\rbreak"], ids=["in-delete-objects", "in-its-own-delete-object"])
def test_an_orphan_rewritten_after_it_was_listed_is_kept_and_the_others_deleted(s3, rewritten):
    fill(s3, DESTINATION, {"k": b"listed", "line\rbreak": b"listed", "other": b"listed"})
    listed = orphans(s3)
    s3.put_object(Bucket=DESTINATION, Key=rewritten, Body=b"rewritten")
    s3.delete_object(Bucket=DESTINATION, Key="other")  # gone meanwhile: nothing left to delete

    outcomes = {line["key"]: line for line in delete_orphaned_keys.delete_batch(s3, DESTINATION, listed)}

    assert keys_of(s3, DESTINATION) == [rewritten]
    assert s3.get_object(Bucket=DESTINATION, Key=rewritten)["Body"].read() == b"rewritten"
    assert {key: line["result"] for key, line in outcomes.items()} == {
        "k": "skipped" if rewritten == "k" else "deleted",
        "line\rbreak": "skipped" if rewritten != "k" else "deleted",
        "other": "skipped",
    }
    assert outcomes[rewritten]["error"].startswith("DestinationChangedError: kept, as it was rewritten")
    assert outcomes["other"]["error"].startswith("already gone")


def test_the_etags_go_into_the_delete_objects_body_in_order(s3):
    bodies = []
    s3.meta.events.register("before-send.s3.DeleteObjects", lambda request, **_: bodies.append(request.body))
    fill(s3, DESTINATION, {"a": b"1", "b": b"22"})

    delete_orphaned_keys.delete_batch(s3, DESTINATION, orphans(s3))

    etags = ['"c4ca4238a0b923820dcc509a6f75849b"', '"b6d767d2f8ed5d21a44b0e5886680cb9"']  # MD5s of "1" and "22"
    text = bodies[0].decode() if isinstance(bodies[0], bytes) else bodies[0]
    assert f"<Key>a</Key><ETag>{etags[0]}</ETag></Object>" in text
    assert f"<Key>b</Key><ETag>{etags[1]}</ETag></Object>" in text


def test_a_refused_request_fails_its_1000_keys_and_not_the_others(stubbed):
    s3, stubber = stubbed
    keys = [f"k{n:04d}" for n in range(1001)]
    stubber.add_client_error("delete_objects", "AccessDenied", "Access Denied", 403)
    stubber.add_response(
        "delete_objects", {}, {"Bucket": DESTINATION, "Delete": {"Objects": [{"Key": "k1000"}], "Quiet": True}}
    )

    outcomes = delete_orphaned_keys.delete_batch(s3, DESTINATION, [item(key) for key in keys])

    assert outcomes == [failed(key, "AccessDenied: Access Denied") for key in keys[:1000]] + [deleted("k1000")]


def test_on_a_versioned_destination_a_delete_leaves_a_marker_and_every_version(s3):
    s3.put_bucket_versioning(Bucket=DESTINATION, VersioningConfiguration={"Status": "Enabled"})
    versions = [s3.put_object(Bucket=DESTINATION, Key="k", Body=body)["VersionId"] for body in (b"v1", b"v2")]

    outcomes = delete_orphaned_keys.delete_batch(s3, DESTINATION, orphans(s3))

    listed = s3.list_object_versions(Bucket=DESTINATION)
    assert outcomes == [deleted("k", size=2)]
    assert sorted(v["VersionId"] for v in listed["Versions"]) == sorted(versions)
    assert [(m["Key"], m["IsLatest"]) for m in listed["DeleteMarkers"]] == [("k", True)]
    assert keys_of(s3, DESTINATION) == []
    assert s3.get_object(Bucket=DESTINATION, Key="k", VersionId=versions[0])["Body"].read() == b"v1"


def test_the_delete_handler_writes_the_batch_result(s3):
    fill(s3, DESTINATION, {"gone/a": b"1", "gone/b": b"22", "kept": b"3"})
    run = sync_run()
    batch = RunFiles(run, s3).plan_key("delete", 1)
    put_json(s3, WORK, batch, {"items": orphans(s3, "gone/")})

    output = delete_orphaned_keys.handler({"run": run.to_json(), "batch": batch, "attempt": 2}, CONTEXT)

    assert output == {"copied": 0, "deleted": 2, "skipped": 0, "failed": 0, "bytesCopied": 0, "done": True}
    assert keys_of(s3, DESTINATION) == ["kept"]
    assert list(list_keys(s3, WORK, f"runs/{RUN_ID}/results/")) == [
        f"runs/{RUN_ID}/results/delete/00000/000000001.attempt-2.failed-0.json"
    ]
    assert get_json(s3, WORK, f"runs/{RUN_ID}/results/delete/00000/000000001.attempt-2.failed-0.json") == {
        "outcomes": [deleted("gone/a", 1), deleted("gone/b", 2)],
        "requests": {"DeleteObjects": 1, "GetObject": 1, "PutObject": 1},
    }


def copy_plan(s3, keys):
    """Plan items for copying the source's ``keys``, as the planner writes them."""
    return [decision_to_json(d) for d in march(list_entries(s3, SOURCE), []) if d.key in keys]


def test_a_copy_worker_hands_the_rest_of_its_batch_over_and_the_last_call_writes_the_whole_result(s3):
    keys = [f"k{n}" for n in range(5)]
    fill(s3, SOURCE, {key: key.encode() for key in keys})
    run = sync_run(settings=Settings(max_copies_per_invocation=2))
    batch = RunFiles(run, s3).plan_key("copy", 1)
    put_json(s3, WORK, batch, {"items": copy_plan(s3, keys)})

    calls, progress = [], {"done": False, "next": 0}
    while not progress["done"]:
        progress = copy_keys.handler({"run": run.to_json(), "batch": batch, "start": progress["next"]}, CONTEXT)
        calls.append((progress["copied"], progress.get("next")))

    assert calls == [(2, 2), (4, 4), (5, None)]  # the counts are of everything done so far
    assert keys_of(s3, DESTINATION) == keys
    [result] = list_keys(s3, WORK, RunFiles(run, s3).results_prefix("copy"))
    document = get_json(s3, WORK, result)
    assert [line["key"] for line in document["outcomes"]] == keys
    # Every call's requests: 5 copies, a plan GET each, the partial GET of the last two, two partial PUTs and the
    # result PUT.
    assert document["requests"] == {"CopyObject": 5, "GetObject": 3 + 2, "PutObject": 3}


def test_a_copy_worker_out_of_time_starts_no_new_copy():
    items = [copy_item(f"k{n}", 1) for n in range(10)]
    started = []
    budget = iter([False, False, True])

    def copy(item, *_):
        started.append(item["key"])
        return copied(item["key"], 1)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(copy_keys, "copy_one", copy)
        outcomes = copy_keys.copy_all(
            items, sync_run(settings=Settings(copy_threads=1)), None, None, lambda: next(budget)
        )

    assert started == ["k0", "k1"] and [line["key"] for line in outcomes] == ["k0", "k1"]


def test_an_inline_copy_goes_on_after_the_results_of_the_call_before(s3):
    keys = ["a", "b", "c"]
    fill(s3, SOURCE, {key: key.encode() for key in keys})
    run = sync_run(settings=Settings(max_copies_per_invocation=2))
    items = copy_plan(s3, keys)
    previous = {"failed": 0, "results": [], "requests": {}}  # what StartPlan puts in the state

    first = copy_keys.handler({"run": run.to_json(), "items": items, "previous": previous}, CONTEXT)
    second = copy_keys.handler({"run": run.to_json(), "items": items, "previous": first}, CONTEXT)

    assert (first["done"], first["copied"], len(first["results"])) == (False, 2, 2)
    assert (second["done"], second["copied"], second["failed"]) == (True, 3, 0)
    assert [result[0] for result in second["results"]] == ["copied"] * 3
    assert second["requests"] == {"CopyObject": 3}
    assert keys_of(s3, DESTINATION) == keys


def test_a_whole_sync_through_handed_over_copy_calls_copies_everything_once(s3, buckets, requests):
    summary = execute(
        s3, requests, source=SOURCE, destination=DESTINATION, settings={"maxCopiesPerInvocation": 1, "copyBatchKeys": 2}
    )

    assert contents(s3, DESTINATION) == SOURCE_OBJECTS
    assert (summary["copied"], summary["deleted"], summary["failed"]) == (2, 1, 0)
    assert summary["s3Requests"]["CopyObject"] == 2
    assert summary["s3Requests"] == {**LOCATION_REQUESTS, **requests.total()}


# collect


def copy_item(key, size):
    return {**item(key, size), "reason": Reason.MISSING.value}


def copied(key, size):
    """A copy_keys outcome of a copy whose ETag is the source's."""
    return outcome(copy_item(key, size), "copy", COPIED, sourceEtag='"e"', etag='"e"', multipart=False)


BATCHES = {1: [copy_item("a", 1), copy_item("b", 2)], 2: [copy_item("c", 3)], 3: [copy_item("d é", 4)]}


@pytest.mark.parametrize(
    "with_result, expected",
    [
        pytest.param({1, 2, 3}, [copied("a", 1), copied("b", 2), copied("c", 3), copied("d é", 4)], id="all-results"),
        pytest.param(
            {1, 3},
            [
                copied("a", 1),
                copied("b", 2),
                outcome(copy_item("c", 3), "copy", FAILED, MISSING_RESULT),
                copied("d é", 4),
            ],
            id="middle-batch-without-result",
        ),
        pytest.param(
            set(),
            [outcome(i, "copy", FAILED, MISSING_RESULT) for batch in BATCHES.values() for i in batch],
            id="no-results",
        ),
    ],
)
def test_collect_counts_every_key_of_a_batch_without_result_as_failed(s3, with_result, expected):
    run = sync_run()
    for number, items in BATCHES.items():
        plan_key = RunFiles(run, s3).plan_key("copy", number)
        put_json(s3, WORK, plan_key, {"items": items})
        if number in with_result:
            put_json(
                s3,
                WORK,
                result_key_for(plan_key, 0, 0),
                {
                    "outcomes": [copied(i["key"], i["entry"]["size"]) for i in items],
                    "requests": {"CopyObject": len(items), "PutObject": 1},
                },
            )

    collected = RunFiles(run, s3).collect("copy")

    missing = sum(len(BATCHES[n]) for n in BATCHES if n not in with_result)
    assert collected.outcomes == expected
    assert collected.requests == [{"CopyObject": len(BATCHES[n]), "PutObject": 1} for n in sorted(with_result)]
    assert collected.count(FAILED) == missing
    assert RunFiles(run, s3).count_failed("copy") == missing


def test_a_retrys_result_supersedes_the_result_of_the_attempt_before_it(s3):
    run = sync_run()
    plan_key = RunFiles(run, s3).plan_key("copy", 1)
    put_json(s3, WORK, plan_key, {"items": BATCHES[1]})
    first = [outcome(BATCHES[1][0], "copy", FAILED, "SlowDown"), copied("b", 2)]
    for attempt, outcomes in ((0, first), (1, [copied("a", 1), copied("b", 2)])):
        failed = sum(1 for o in outcomes if o["result"] == FAILED)
        put_json(s3, WORK, result_key_for(plan_key, attempt, failed), {"outcomes": outcomes, "requests": {}})

    assert RunFiles(run, s3).collect("copy").outcomes == [copied("a", 1), copied("b", 2)]
    assert RunFiles(run, s3).count_failed("copy") == 0


def test_the_failures_of_a_batch_are_counted_from_the_result_names_alone(s3):
    run = sync_run()
    for number, failed in ((1, 0), (2, 3), (3, 1)):
        put_json(s3, WORK, RunFiles(run, s3).plan_key("copy", number, range_number=number % 2), {"items": []})
        put_json(
            s3,
            WORK,
            result_key_for(RunFiles(run, s3).plan_key("copy", number, range_number=number % 2), 0, failed),
            {"outcomes": [], "requests": {}},
        )
    counter = RequestCounter()
    counted = counter.attach(s3)

    assert RunFiles(run, counted).count_failed("copy") == 4
    assert counter.snapshot() == {"ListObjectsV2": 2}  # the plan batches and their results, nothing read


def test_collect_of_a_run_without_batches_is_empty(s3):
    collected = RunFiles(sync_run(), s3).collect("delete")

    assert (collected.outcomes, collected.requests) == ([], [])


# The report, end to end in process


class StepRequests:
    """Every S3 request of every client the handlers make, per state of the run."""

    def __init__(self):
        self.step = None
        self.counts = {}

    def __call__(self, event_name, **_):
        if self.step:
            self.counts.setdefault(self.step, Counter())[event_name.rsplit(".", 1)[-1]] += 1

    def total(self):
        return dict(sorted(sum(self.counts.values(), Counter()).items()))


@pytest.fixture
def requests(session, monkeypatch):
    monkeypatch.setenv("DEPLOYMENT_BUCKET", WORK)  # as the deploy toolkit sets it on every function
    recorder = StepRequests()
    session.events.register("before-send.s3", recorder)
    yield recorder
    session.events.unregister("before-send.s3", recorder)


def execute(s3, requests, after_plan=lambda: None, crashed=(), start_time=None, **fields):
    """The sync state machine's path through its states, in process, with plans in batch files (the inline path
    of small plans is tested on the endpoint). ``crashed`` names plan batches whose worker never finished (so
    they have no result); ``after_plan`` runs between planning and copying; ``start_time`` (the execution's
    StartTime) makes the run write its record, as the deployed machine does."""
    fields.setdefault("settings", {}).setdefault("inlinePlanBytes", 0)

    def step(name, handler, event):
        requests.step = name
        try:
            return handler(event, CONTEXT)
        finally:
            requests.step = None

    validated = step(
        "ValidateInput",
        validate_input.handler,
        {
            "executionArn": f"arn:aws:states:us-east-1:123456789012:execution:app-sync_buckets-1:{RUN_ID}",
            "runId": RUN_ID,
            "input": fields,
            **({"startTime": start_time} if start_time else {}),
        },
    )
    # FindSourceRegion, FindDestinationRegion, StartPlan:
    state = {
        "run": {**validated["run"], "sourceRegion": "us-east-1", "destinationRegion": "us-east-1"},
        "lock": validated["lock"],
        "record": validated.get("record"),
        "plan": None,
        "copyCheck": {"copiesFailed": 0, "requests": {}},
    }
    while state["plan"] is None or not state["plan"]["done"]:  # ListBucket, EvaluateListing
        state["plan"] = step("ListBucket", list_bucket.handler, {"run": state["run"], "plan": state["plan"]})
    after_plan()
    run = SyncRun.from_json(state["run"])

    def workers(kind, handler):  # a Distributed Map: one child per plan batch its ItemReader lists
        for batch in sorted(list_keys(s3, WORK, RunFiles(run, s3).plan_prefix(kind))):
            progress = {"done": False, "next": 0}
            while batch not in crashed and not progress["done"]:  # the child's hand-over loop
                progress = step(
                    f"{kind} worker", handler, {"run": state["run"], "batch": batch, "start": progress["next"]}
                )

    if not run.dry_run:
        if state["plan"]["copyBatches"]:
            workers("copy", copy_keys.handler)
            state["copyCheck"] = step("CheckCopies", check_copies.handler, {"run": state["run"], "plan": state["plan"]})
        if state["plan"]["deleteBatches"] and not state["copyCheck"]["copiesFailed"]:
            workers("delete", delete_orphaned_keys.handler)
    return step("WriteReport", write_report.handler, state)


def report(s3):
    lines = s3.get_object(Bucket=WORK, Key=f"runs/{RUN_ID}/report.jsonl")["Body"].read().decode().splitlines()
    return [json.loads(line) for line in lines]


def brief(lines):
    """What a report line says, without the copy's ETag."""
    return [
        (line["key"], line["action"], line["result"], line["reason"], line["size"], line.get("error")) for line in lines
    ]


def contents(s3, bucket):
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys_of(s3, bucket)}


SOURCE_OBJECTS = {"a b+c%/new": b"new", "café/changed": b"source", "same": b"same"}
DESTINATION_OBJECTS = {"café/changed": b"old", "same": b"same", "orphan/": b"orphan"}
ARCHIVED = "archived in GLACIER, not restored: restore it to copy it"


@pytest.fixture
def buckets(s3):
    fill(s3, SOURCE, SOURCE_OBJECTS)
    fill(s3, DESTINATION, DESTINATION_OBJECTS)


def without_cost(summary):
    """A summary without its cost estimates (tests/unit/test_pricing.py prices the counts)."""
    return {name: value for name, value in summary.items() if not name.startswith("estimated")}


def summary_of(
    copied=0, deleted=0, unchanged=1, skipped=0, failed=0, bytes_copied=0, dry_run=False, report=REPORT, **requests
):
    return {
        "runId": RUN_ID,
        "source": SOURCE,
        "destination": DESTINATION,
        "prefix": "",
        "startAfter": "",
        "mode": "sync",
        "dryRun": dry_run,
        "copied": copied,
        "deleted": deleted,
        "unchanged": unchanged,
        "skipped": skipped,
        "failed": failed,
        "toCopy": 2,
        "toDelete": 1,
        "kept": 0,
        "excluded": 0,
        "bytesCopied": bytes_copied,
        "s3Retries": {},
        **requests,
        "report": report,
    }


def test_a_sync_reports_every_action_and_sums_every_request(s3, buckets, requests):
    summary = execute(s3, requests, source=SOURCE, destination=DESTINATION)

    assert contents(s3, DESTINATION) == {"a b+c%/new": b"new", "café/changed": b"source", "same": b"same"}
    assert brief(report(s3)) == [
        ("a b+c%/new", "copy", "copied", Reason.MISSING.value, 3, None),
        ("café/changed", "copy", "copied", Reason.SIZE_DIFFERS.value, 6, None),
        ("orphan/", "delete", "deleted", Reason.ORPHANED.value, 6, None),
    ]
    assert without_cost(summary) == summary_of(
        copied=2, deleted=1, bytes_copied=9, s3Requests={**LOCATION_REQUESTS, **requests.total()}
    )


def test_s3_requests_add_the_plan_the_copy_check_every_result_and_the_report(s3):
    run = sync_run()
    for kind, item_, result in (("copy", copy_item("a", 5), copied("a", 5)), ("delete", item("o", 7), deleted("o", 7))):
        plan_key = RunFiles(run, s3).plan_key(kind, 1)
        put_json(s3, WORK, plan_key, {"items": [item_]})
        put_json(
            s3,
            WORK,
            result_key_for(plan_key, 0, 0),
            {
                "outcomes": [result],
                "requests": {"CopyObject" if kind == "copy" else "DeleteObjects": 1, "GetObject": 1, "PutObject": 1},
            },
        )
    plan = {
        "cursor": "o",
        "done": True,
        "rounds": 1,
        "copyBatches": 1,
        "deleteBatches": 1,
        "skipBatches": 0,
        "totals": {"toCopy": 1, "toDelete": 1, "bytesToCopy": 5},
        "requests": {"ListObjectsV2": 2, "PutObject": 2},
    }
    copy_check = {"copiesFailed": 0, "requests": {"ListObjectsV2": 1}}

    summary = write_report.handler({"run": run.to_json(), "plan": plan, "copyCheck": copy_check}, CONTEXT)

    # WriteReport itself: per kind, 1 LIST of the results (the plans are numbered, not listed) and 1 GET of each;
    # then the report's PUT.
    assert summary["s3Requests"] == {
        **LOCATION_REQUESTS,
        "CopyObject": 1,
        "DeleteObjects": 1,
        "GetObject": 2 + 2,
        "ListObjectsV2": 2 + 1 + 2,
        "PutObject": 2 + 2 + 1,
    }
    assert (
        summary["copied"],
        summary["deleted"],
        summary["bytesCopied"],
        summary["toCopy"],
        summary["toDelete"],
        summary["report"],
    ) == (1, 1, 5, 1, 1, REPORT)
    assert brief(report(s3)) == [
        ("a", "copy", "copied", Reason.MISSING.value, 5, None),
        ("o", "delete", "deleted", Reason.ORPHANED.value, 7, None),
    ]


def test_a_dry_run_reports_planned_actions_and_changes_nothing(s3, buckets, requests):
    before = contents(s3, DESTINATION)

    summary = execute(s3, requests, source=SOURCE, destination=DESTINATION, dryRun=True)

    assert contents(s3, DESTINATION) == before
    assert brief(report(s3)) == [
        ("a b+c%/new", "copy", "planned", Reason.MISSING.value, 3, None),
        ("café/changed", "copy", "planned", Reason.SIZE_DIFFERS.value, 6, None),
        ("orphan/", "delete", "planned", Reason.ORPHANED.value, 6, None),
    ]
    assert without_cost(summary) == summary_of(dry_run=True, s3Requests={**LOCATION_REQUESTS, **requests.total()})
    # No copy, no delete: the only DeleteObject releases the lock, as the only PutObject but the report takes it.
    assert set(requests.total()) == {"ListObjectsV2", "PutObject", "GetObject", "DeleteObject"}
    assert requests.counts["ValidateInput"] == {"PutObject": 1}
    assert requests.counts["WriteReport"]["DeleteObject"] == 1


def test_a_failed_run_leaves_its_record_with_the_summary_error_and_report(s3, buckets, requests):
    """WriteReport writes the record over when the run fails too; its PutObject is in the summary it carries."""
    with pytest.raises(SyncFailedError):
        execute(
            s3,
            requests,
            after_plan=lambda: s3.delete_object(Bucket=SOURCE, Key="a b+c%/new"),
            start_time="2026-12-02T00:15:17.5Z",
            source=SOURCE,
            destination=DESTINATION,
        )
    [key] = keys_of(s3, WORK, "history/")
    assert key == f"history/20261202T001517500Z-{RUN_ID}.json"
    record = get_json(s3, WORK, key)
    assert (record["status"], record["error"], record["report"], record["source"]) == (
        "FAILED",
        "SyncFailedError",
        REPORT,
        SOURCE,
    )
    assert record["cause"].startswith("1 object(s) failed") and "Summary" not in record["cause"]
    assert record["summary"]["failed"] == 1 and record["summary"]["report"] == REPORT
    # Both PUTs of the record are counted: ValidateInput's (with the lock's) and WriteReport's.
    assert requests.counts["ValidateInput"] == {"PutObject": 2}
    assert record["summary"]["s3Requests"]["PutObject"] == requests.total()["PutObject"]


def test_a_failed_copy_fails_the_run_and_holds_the_deletes_back(s3, buckets, requests):
    # The object goes away after it was planned: its copy fails, the others go on.
    with pytest.raises(SyncFailedError) as raised:
        execute(
            s3,
            requests,
            after_plan=lambda: s3.delete_object(Bucket=SOURCE, Key="a b+c%/new"),
            source=SOURCE,
            destination=DESTINATION,
        )

    message = str(raised.value)
    assert message.startswith(f"1 object(s) failed (1 copied, 0 deleted); see the report at {REPORT}. Summary: ")
    summary = json.loads(message.split("Summary: ", 1)[1])
    assert without_cost(summary) == summary_of(
        copied=1, skipped=1, failed=1, bytes_copied=6, s3Requests={**LOCATION_REQUESTS, **requests.total()}
    )
    lines = brief(report(s3))
    assert lines[0][:5] == ("a b+c%/new", "copy", "failed", Reason.MISSING.value, 3)
    assert "SourceMissingError" in lines[0][5]
    assert lines[1:] == [
        ("café/changed", "copy", "copied", Reason.SIZE_DIFFERS.value, 6, None),
        (
            "orphan/",
            "delete",
            "skipped",
            Reason.ORPHANED.value,
            6,
            "not deleted: 1 copies failed, and deletions run only after every copy succeeded; the next run deletes it",
        ),
    ]
    assert contents(s3, DESTINATION) == {"café/changed": b"source", "same": b"same", "orphan/": b"orphan"}
    assert "delete worker" not in requests.counts


@pytest.mark.parametrize("dry_run", [False, True], ids=["sync", "dry-run"])
def test_an_archived_object_is_reported_as_skipped_with_the_reason(s3, requests, dry_run):
    fill(s3, SOURCE, {"cold": (b"archived", "GLACIER"), "warm": b"warm"})

    summary = execute(s3, requests, source=SOURCE, destination=DESTINATION, dryRun=dry_run)

    line = next(line for line in report(s3) if line["key"] == "cold")
    assert (line["result"], line["reason"], line["size"]) == ("skipped", ARCHIVED, 8)
    assert (summary["skipped"], summary["failed"], summary["toCopy"]) == (1, 0, 1)
    assert "cold" not in contents(s3, DESTINATION)


def test_an_archived_objects_report_line_is_a_skipped_copy(s3, requests):
    fill(s3, SOURCE, {"cold": (b"archived", "GLACIER")})

    execute(s3, requests, source=SOURCE, destination=DESTINATION)

    assert [(line["key"], line["action"], line["result"]) for line in report(s3)] == [("cold", "copy", "skipped")]


@pytest.mark.parametrize(
    "kind, expected",
    [
        pytest.param("copy", {"copied": 0, "deleted": 0, "skipped": 1, "failed": 2}, id="copy-worker"),
        pytest.param("delete", {"copied": 2, "deleted": 0, "skipped": 0, "failed": 1}, id="delete-worker"),
    ],
)
def test_a_batch_whose_worker_never_finished_counts_as_failed(s3, buckets, requests, kind, expected):
    with pytest.raises(
        SyncFailedError, match=f"{expected['failed']} object\\(s\\) failed .*see the report at {REPORT}"
    ):
        execute(
            s3,
            requests,
            crashed={f"runs/{RUN_ID}/plan/{kind}/00000/000000001.json"},
            source=SOURCE,
            destination=DESTINATION,
        )

    lines = report(s3)
    assert Counter(line["result"] for line in lines) == Counter(expected)
    assert {line["key"]: line["error"] for line in lines if line["result"] == FAILED} == (
        {"a b+c%/new": MISSING_RESULT, "café/changed": MISSING_RESULT}
        if kind == "copy"
        else {"orphan/": MISSING_RESULT}
    )


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({}, id="sync"),
        pytest.param({"dryRun": True}, id="dry-run"),
        pytest.param({"prefix": "same"}, id="in-scope-equal-out-of-scope-different"),
    ],
)
def test_a_sync_with_nothing_to_do_writes_nothing_and_costs_only_its_lists(s3, requests, fields):
    fill(s3, SOURCE, {"same": b"same", "only-in-source": b"1"} if fields.get("prefix") else {"same": b"same"})
    fill(s3, DESTINATION, {"same": b"same"})

    summary = execute(s3, requests, source=SOURCE, destination=DESTINATION, **fields)

    assert summary["report"] is None
    assert (
        summary["copied"],
        summary["deleted"],
        summary["failed"],
        summary["skipped"],
        summary["unchanged"],
        summary["toCopy"],
        summary["toDelete"],
    ) == (0, 0, 0, 0, 1, 0, 0)
    assert summary["s3Requests"] == {**LOCATION_REQUESTS, **LOCK_REQUESTS, "ListObjectsV2": 2}
    # WriteReport made no request but the lock's release, and nothing is left in the work bucket.
    assert requests.counts == {
        "ValidateInput": {"PutObject": 1},
        "ListBucket": {"ListObjectsV2": 2},
        "WriteReport": {"DeleteObject": 1},
    }
    assert keys_of(s3, WORK) == []


@pytest.mark.parametrize("copy_fails", [True, False], ids=["failed-run", "succeeded-run"])
def test_a_lock_that_cannot_be_released_never_hides_the_runs_own_outcome(s3, requests, monkeypatch, copy_fails):
    """The release is WriteReport's last request: if S3 refuses it, the run still ends with its own result (a
    lock left behind is taken over by the next sync), not with the release's error."""
    from botocore.exceptions import ClientError

    def refused(*args):
        raise ClientError({"Error": {"Code": "InternalError", "Message": "try again"}}, "DeleteObject")

    monkeypatch.setattr(write_report.concurrency, "release", refused)
    fill(s3, SOURCE, {"k": b"x"})
    gone = (lambda: s3.delete_object(Bucket=SOURCE, Key="k")) if copy_fails else (lambda: None)

    if copy_fails:
        with pytest.raises(SyncFailedError, match="1 object\\(s\\) failed"):
            execute(s3, requests, after_plan=gone, source=SOURCE, destination=DESTINATION)
    else:
        assert execute(s3, requests, source=SOURCE, destination=DESTINATION)["copied"] == 1


# The report streamed as it is gathered: parts of at least 5 MiB (a smaller size in tests, with moto's minimum
# lowered to match, except where the real minimum is the point), aborted on failure, memory flat in the bed size.


def synthetic_copies(run, s3, lines, per_batch, kms_every=0, range_number=0, first=0):
    """Plan and result files of ``lines`` copies in batches of ``per_batch``, as the workers write them (in range
    ``range_number``, keys numbered from ``first``); every ``kms_every``-th copy got a destination ETag of its own
    (an ETag pair to record). Returns the outcomes."""
    everything = []
    for number, start in enumerate(range(first, first + lines, per_batch), 1):
        items = [copy_item(f"key/{n:07d}/é", n % 97) for n in range(start, min(start + per_batch, first + lines))]
        outcomes = [
            {**copied(i["key"], i["entry"]["size"]), **({"etag": '"kms"'} if kms_every and n % kms_every == 0 else {})}
            for n, i in enumerate(items, start)
        ]
        plan_key = RunFiles(run, s3).plan_key("copy", number, range_number)
        put_json(s3, WORK, plan_key, {"items": items})
        put_json(s3, WORK, result_key_for(plan_key, 0, 0), {"outcomes": outcomes, "requests": {"CopyObject": 1}})
        everything += outcomes
    return everything


def plan_of(batches, copies):
    return {
        "cursor": "",
        "done": True,
        "rounds": 1,
        "copyBatches": batches,
        "deleteBatches": 0,
        "skipBatches": 0,
        "totals": {"toCopy": copies, "toDelete": 0},
        "requests": {},
    }


SMALL_PART_BYTES = 64 * 1024


@pytest.fixture
def small_parts(monkeypatch):
    """moto's smallest part lowered to the tests' part size, so a few hundred lines make several parts."""
    import moto.s3.models

    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", SMALL_PART_BYTES)


def report_in_parts(run, plan, part_bytes):
    clients = bucket_sync.clients.S3Clients()
    return write_report.report(run, {"run": run.to_json(), "plan": plan}, clients, {}, part_bytes=part_bytes)


def parts_of(s3, key):
    """The part sizes of an object: a multipart object's ETag ends in -<parts>."""
    etag = s3.head_object(Bucket=WORK, Key=key)["ETag"].strip('"')
    count = int(etag.split("-")[1]) if "-" in etag else 1
    return [s3.head_object(Bucket=WORK, Key=key, PartNumber=n)["ContentLength"] for n in range(1, count + 1)]


def test_a_report_larger_than_a_part_is_written_in_parts_with_every_line_in_plan_order(s3, small_parts):
    run = sync_run()
    outcomes = synthetic_copies(run, s3, 2000, 300)

    summary = report_in_parts(run, plan_of(7, 2000), SMALL_PART_BYTES)

    assert report(s3) == outcomes
    sizes = parts_of(s3, RunFiles(run, s3).report_key)
    assert len(sizes) > 3 and all(size >= SMALL_PART_BYTES for size in sizes[:-1])
    assert sum(sizes) == len(b"".join((json.dumps(o, ensure_ascii=False) + "\n").encode() for o in outcomes))
    assert (summary["copied"], summary["failed"], summary["bytesCopied"], summary["report"]) == (
        2000,
        0,
        sum(o["size"] for o in outcomes),
        REPORT,
    )
    # Every request counted: 1 LIST of the results, 7 GETs, the report's multipart upload, the workers' copies.
    assert summary["s3Requests"] == {
        **LOCATION_REQUESTS,
        "CopyObject": 7,
        "ListObjectsV2": 1,
        "GetObject": 7,
        "CreateMultipartUpload": 1,
        "UploadPart": len(sizes),
        "CompleteMultipartUpload": 1,
    }
    assert s3.list_multipart_uploads(Bucket=WORK).get("Uploads", []) == []


def test_the_etag_pair_record_streams_too_and_holds_every_pair_in_plan_order(s3, small_parts):
    run = sync_run()
    outcomes = synthetic_copies(run, s3, 6000, 2000, kms_every=2)

    summary = report_in_parts(run, plan_of(3, 6000), SMALL_PART_BYTES)

    (record_key,) = keys_of(s3, WORK, f"etag-pairs/{DESTINATION}/")
    assert record_key.endswith(f"-{RUN_ID}.json")
    pairs = get_json(s3, WORK, record_key)["pairs"]
    assert pairs == [[o["key"], '"e"', '"kms"'] for o in outcomes if o["etag"] == '"kms"'] and len(pairs) == 3000
    assert len(parts_of(s3, record_key)) > 1
    # Both streams in parts: two uploads created and completed.
    assert (summary["s3Requests"]["CreateMultipartUpload"], summary["s3Requests"]["CompleteMultipartUpload"]) == (2, 2)
    assert "PutObject" not in summary["s3Requests"]


def test_a_report_of_40000_lines_is_uploaded_in_real_5_mib_parts_that_moto_accepts(s3):
    run = sync_run()
    outcomes = synthetic_copies(run, s3, 40_000, 2500)

    summary = report_in_parts(run, plan_of(16, 40_000), write_report.PART_BYTES)

    sizes = parts_of(s3, RunFiles(run, s3).report_key)
    assert len(sizes) == 2 and sizes[0] >= 5 * 1024 * 1024
    lines = report(s3)
    assert (len(lines), lines[0], lines[-1]) == (40_000, outcomes[0], outcomes[-1])
    assert summary["s3Requests"]["UploadPart"] == 2 and summary["copied"] == 40_000


def ranged_copies(run, s3):
    """Copies planned in three ranges of 3, 2 and 4 batches (300 lines each, one in three an ETag pair): the
    batches are listed, not numbered, so a hand-over goes on from a listing's StartAfter."""
    outcomes, first = [], 0
    for range_number, batches in enumerate((3, 2, 4)):
        outcomes += synthetic_copies(run, s3, 300 * batches, 300, kms_every=3, range_number=range_number, first=first)
        first += 300 * batches
    return outcomes, {**plan_of(9, len(outcomes)), "ranged": True}


def written_with_hand_overs(run, plan, batches_per_invocation, fail_once=None):
    """WriteReport invoked as the state machine does, again with each hand-over until it returns the summary:
    (summary, hand-overs). ``fail_once(answer)``, if given, runs before each invocation and may break it once."""
    event, handovers = {"run": run.to_json(), "plan": plan, "reportWriting": {}}, []
    while True:
        clients = bucket_sync.clients.S3Clients()
        out_of_time = write_report.budget(batches_per_invocation, lambda: False)
        answer = write_report.report(run, event, clients, {}, part_bytes=SMALL_PART_BYTES, out_of_time=out_of_time)
        if "handover" not in answer:
            return answer, handovers
        handovers.append(answer)
        event["reportWriting"] = answer


def requests_of(summary):
    return Counter(summary["s3Requests"])


def test_a_report_handed_over_between_batches_is_the_report_written_at_once(s3, small_parts):
    at_once, handed_over = sync_run(), sync_run(run_id="exec-2")
    outcomes, plan = ranged_copies(at_once, s3)
    assert ranged_copies(handed_over, s3)[0] == outcomes

    expected = report_in_parts(at_once, plan, SMALL_PART_BYTES)
    summary, handovers = written_with_hand_overs(handed_over, plan, batches_per_invocation=2)

    assert [answer["handovers"] for answer in handovers] == [1, 2, 3, 4]  # 9 batches, 2 an invocation: 5 in all
    lines = [
        json.loads(line) for line in s3.get_object(Bucket=WORK, Key="runs/exec-2/report.jsonl")["Body"].iter_lines()
    ]
    assert lines == outcomes == report(s3)
    assert parts_of(s3, "runs/exec-2/report.jsonl") == parts_of(s3, f"runs/{RUN_ID}/report.jsonl")
    (first_record, second_record) = keys_of(s3, WORK, f"etag-pairs/{DESTINATION}/")
    assert get_json(s3, WORK, first_record) == get_json(s3, WORK, second_record)
    assert len(get_json(s3, WORK, second_record)["pairs"]) == 900
    assert without_cost({**summary, "runId": RUN_ID, "report": REPORT, "s3Requests": None}) == without_cost(
        {**expected, "s3Requests": None}
    )
    # What the hand-overs cost: each writes its state and the bytes of each stream that held any (all of them
    # here), and the invocation after it reads them, and lists the plan and the results again from where it is.
    carried = [key for key in keys_of(s3, WORK, "runs/exec-2/report-handover/") if key.endswith(".bytes")]
    assert len(carried) == 2 * len(handovers)
    extra = {"PutObject": 3 * len(handovers), "GetObject": 3 * len(handovers), "ListObjectsV2": 2 * len(handovers)}
    assert requests_of(summary) == requests_of(expected) + Counter(extra)
    assert s3.list_multipart_uploads(Bucket=WORK).get("Uploads", []) == []


def test_a_retried_invocation_goes_on_from_the_same_hand_over_and_writes_every_line_once(s3, small_parts):
    run = sync_run()
    outcomes, plan = ranged_copies(run, s3)
    broken = RunFiles(run, s3).plan_key("copy", 2, 2)  # range 2's second batch: after the second hand-over
    good = s3.list_objects_v2(Bucket=WORK, Prefix=broken.replace("/plan/", "/results/").removesuffix(".json"))
    (result,) = [entry["Key"] for entry in good["Contents"]]
    body = s3.get_object(Bucket=WORK, Key=result)["Body"].read()
    s3.put_object(Bucket=WORK, Key=result, Body=b"{not json")
    event = {"run": run.to_json(), "plan": plan, "reportWriting": {}}
    for _ in range(3):  # batches 1-2, 3-4, 5-6: range 2's second batch is the eighth
        event["reportWriting"] = write_report.report(
            run, event, bucket_sync.clients.S3Clients(), {}, SMALL_PART_BYTES, write_report.budget(2, lambda: False)
        )

    with pytest.raises(json.JSONDecodeError):  # the attempt that dies, mid-way through its share
        write_report.report(run, event, bucket_sync.clients.S3Clients(), {}, SMALL_PART_BYTES)
    # Not aborted: the retry goes on with the report's upload (the pair record is still under a part).
    assert [upload["Key"] for upload in s3.list_multipart_uploads(Bucket=WORK)["Uploads"]] == [
        f"runs/{RUN_ID}/report.jsonl"
    ]
    s3.put_object(Bucket=WORK, Key=result, Body=body)
    summary = write_report.report(run, event, bucket_sync.clients.S3Clients(), {}, SMALL_PART_BYTES)

    assert report(s3) == outcomes and summary["copied"] == len(outcomes)
    (record,) = keys_of(s3, WORK, f"etag-pairs/{DESTINATION}/")
    assert len(get_json(s3, WORK, record)["pairs"]) == 900
    assert s3.list_multipart_uploads(Bucket=WORK).get("Uploads", []) == []


def test_moto_refuses_a_part_under_5_mib_and_the_stream_aborts_its_upload(s3):
    from botocore.exceptions import ClientError

    from bucket_sync.report import ObjectStream

    stream = ObjectStream(s3, WORK, "runs/x/report.jsonl", "application/x-ndjson", part_bytes=1024 * 1024)
    with pytest.raises(ClientError, match="EntityTooSmall"), stream:
        for _ in range(3):
            stream.write(b"x" * 1024 * 1024)

    assert s3.list_multipart_uploads(Bucket=WORK).get("Uploads", []) == []
    assert keys_of(s3, WORK, "runs/x/") == [] and not stream.written


def test_a_result_that_cannot_be_read_aborts_the_report_upload_and_fails_the_step(s3, small_parts):
    run = sync_run()
    synthetic_copies(run, s3, 2000, 300)
    s3.put_object(Bucket=WORK, Key=result_key_for(RunFiles(run, s3).plan_key("copy", 5), 0, 0), Body=b"{not json")

    with pytest.raises(json.JSONDecodeError):
        report_in_parts(run, plan_of(7, 2000), SMALL_PART_BYTES)

    # Parts were uploaded before batch 5 (4 batches of lines are over 64 KiB), and the upload is gone.
    assert s3.list_multipart_uploads(Bucket=WORK).get("Uploads", []) == []
    assert keys_of(s3, WORK, f"runs/{RUN_ID}/report") == []


# backups


BACKUPS = "backups"


def backed_up_plan(s3, run):
    """Copy items with their destination entries, as the planner writes them for a run with a backup."""
    decisions = march(list_entries(s3, SOURCE), list_entries(s3, DESTINATION))
    return [planned(run, decision)[1] for decision in decisions if decision.action.value == "copy"]


def test_a_backup_that_cannot_be_made_holds_its_delete_or_overwrite_back(s3):
    s3.create_bucket(Bucket=BACKUPS)
    run = sync_run(backup=f"s3://{BACKUPS}/old/", backup_region="us-east-1")
    fill(s3, SOURCE, {"over": b"new", "changed-over": b"new"})
    fill(s3, DESTINATION, {"over": b"old", "changed-over": b"old", "orphan": b"o", "changed-orphan": b"o"})
    copies, deletes = backed_up_plan(s3, run), orphans(s3, "changed-orphan") + orphans(s3, "orphan")
    # Rewritten after the listing: nothing to back up as listed, so neither may be touched.
    fill(s3, DESTINATION, {"changed-over": b"rewritten", "changed-orphan": b"rewritten"})
    clients = bucket_sync.clients.S3Clients()

    copied = {line["key"]: line for line in copy_keys.copy_all(copies, run, clients, copy_keys.CopySettings(), bool)}
    removed = {line["key"]: line for line in delete_orphaned_keys.back_up_then_delete(run, clients, deletes)}

    assert {key: (line["result"], line.get("backup")) for key, line in {**copied, **removed}.items()} == {
        "over": ("copied", f"s3://{BACKUPS}/old/{RUN_ID}/over"),
        "changed-over": ("skipped", None),
        "orphan": ("deleted", f"s3://{BACKUPS}/old/{RUN_ID}/orphan"),
        "changed-orphan": ("skipped", None),
    }
    assert copied["changed-over"]["error"].endswith("; not overwritten")
    assert removed["changed-orphan"]["error"].startswith("DestinationChangedError")
    destination = {key: s3.get_object(Bucket=DESTINATION, Key=key)["Body"].read() for key in keys_of(s3, DESTINATION)}
    assert destination == {"changed-orphan": b"rewritten", "changed-over": b"rewritten", "over": b"new"}
    assert {key: s3.get_object(Bucket=BACKUPS, Key=key)["Body"].read() for key in keys_of(s3, BACKUPS)} == {
        f"old/{RUN_ID}/orphan": b"o",
        f"old/{RUN_ID}/over": b"old",
    }


def test_a_backup_refused_by_s3_fails_the_object_and_leaves_it(s3):
    run = sync_run(backup="s3://no-such-backups/old/", backup_region="us-east-1")  # the bucket is gone
    fill(s3, DESTINATION, {"orphan": b"o"})

    (line,) = delete_orphaned_keys.back_up_then_delete(run, bucket_sync.clients.S3Clients(), orphans(s3))

    assert (line["result"], line["error"].split(":")[0]) == ("failed", "BackupFailedError")
    assert "NoSuchBucket" in line["error"] and line["error"].endswith("; not deleted")
    assert keys_of(s3, DESTINATION) == ["orphan"]
