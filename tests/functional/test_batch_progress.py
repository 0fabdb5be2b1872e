"""A copy batch that runs a while says how far it got: empty progress objects whose names carry the counts, which
the operator's client lists while following; a short batch writes none."""

import threading
import time

import copy_keys
import pytest

from bucket_sync import workers
from bucket_sync.batches import get_json, list_keys, put_json
from bucket_sync.run import Settings
from bucket_sync.run_files import RunFiles, parse_progress_key, progress_prefix
from tests.functional.test_delete_and_report import (  # noqa: F401 (its fixtures, used here)
    CONTEXT,
    DESTINATION,
    SOURCE,
    WORK,
    copy_plan,
    fill,
    keys_of,
    moto_s3,
    s3,
    session,
    sync_run,
)


def progress_written(s3, run):
    return [parse_progress_key(key) for key in list_keys(s3, WORK, progress_prefix(run.run_id))]


def test_a_batch_that_outlasts_the_interval_writes_its_counts_and_counts_those_requests(s3, monkeypatch):
    keys = [f"k{n}" for n in range(8)]
    fill(s3, SOURCE, {key: b"12345" for key in keys})
    run = sync_run(settings=Settings(copy_threads=1))
    batch = RunFiles(run, s3).plan_key("copy", 1)
    put_json(s3, WORK, batch, {"items": copy_plan(s3, keys)})
    monkeypatch.setattr(workers, "PROGRESS_SECONDS", 0.05)
    real_copy_one, seen = copy_keys.copy_one, threading.Event()

    def copy_one(item, *args):
        if item["key"] == "k5":  # held until the batch has said how far it got: five copies done, 25 bytes
            deadline = time.monotonic() + 10
            while ("00000-000000001", 5, 25) not in progress_written(s3, run) and time.monotonic() < deadline:
                time.sleep(0.01)
            seen.set()
        return real_copy_one(item, *args)

    monkeypatch.setattr(copy_keys, "copy_one", copy_one)

    counts = copy_keys.handler({"run": run.to_json(), "batch": batch}, CONTEXT)

    assert seen.is_set() and counts["copied"] == 8
    written = progress_written(s3, run)
    assert ("00000-000000001", 5, 25) in written
    assert all(batch == "00000-000000001" and done <= 8 and size == 5 * done for batch, done, size in written)
    assert keys_of(s3, DESTINATION) == keys
    [result] = list_keys(s3, WORK, RunFiles(run, s3).results_prefix("copy"))
    # Each progress object is one PutObject of the batch's own, beside the result's.
    assert get_json(s3, WORK, result)["requests"]["PutObject"] == 1 + len(written)


def test_a_batch_resumed_by_the_next_invocation_counts_what_the_one_before_did(s3, monkeypatch):
    keys = ["a", "b", "c"]
    fill(s3, SOURCE, {key: b"xy" for key in keys})
    run = sync_run(settings=Settings(copy_threads=1))
    items = copy_plan(s3, keys)
    first = copy_keys.handler({"run": run.to_json(), "items": items[:2], "previous": {}}, CONTEXT)
    monkeypatch.setattr(workers, "PROGRESS_SECONDS", 0.05)
    real_copy_one = copy_keys.copy_one

    def copy_one(item, *args):  # held until the invocation has said how far the batch got
        deadline = time.monotonic() + 10
        while not progress_written(s3, run) and time.monotonic() < deadline:
            time.sleep(0.01)
        return real_copy_one(item, *args)

    monkeypatch.setattr(copy_keys, "copy_one", copy_one)

    copy_keys.handler({"run": run.to_json(), "items": items, "previous": first}, CONTEXT)

    assert progress_written(s3, run)[0] == ("inline", 2, 4)  # the two copies (4 bytes) of the invocation before


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "batch-file"])
def test_a_short_batch_writes_no_progress_and_costs_no_request(s3, inline):
    keys = ["a", "b"]
    fill(s3, SOURCE, {key: b"x" for key in keys})
    run = sync_run()
    if inline:
        event = {"run": run.to_json(), "items": copy_plan(s3, keys), "previous": {}}
    else:
        put_json(s3, WORK, RunFiles(run, s3).plan_key("copy", 1), {"items": copy_plan(s3, keys)})
        event = {"run": run.to_json(), "batch": RunFiles(run, s3).plan_key("copy", 1)}

    counts = copy_keys.handler(event, CONTEXT)

    assert counts["copied"] == 2
    assert progress_written(s3, run) == []
    if inline:
        assert counts["requests"] == {"CopyObject": 2}
