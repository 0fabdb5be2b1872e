"""What `fab sync` shows while a sync runs: progress read from the execution's history and its Map runs."""

import datetime
import io
import json
from dataclasses import replace

import pytest

from client.console import ProgressBar
from client.executions import Progress, copies_in_batches, follow, human_bytes, progress_of

PLAN = {
    "rounds": 2,
    "totals": {"unchanged": 890, "toCopy": 100, "toDelete": 10, "skipped": 0, "bytesToCopy": 10 * 1024**2},
}


class MapRuns:
    """describe_map_run of Step Functions, for Map runs whose item counts a test sets."""

    def __init__(self, counts):
        self.counts = counts

    def describe_map_run(self, mapRunArn):
        return {"itemCounts": self.counts[mapRunArn]}


def entered(name):
    return {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": name}}


def exited(name):
    return {"type": "TaskStateExited", "stateExitedEventDetails": {"name": name}}


def planned():
    return [
        entered("ListBucket"),
        {"type": "LambdaFunctionSucceeded", "lambdaFunctionSucceededEventDetails": {"output": json.dumps(PLAN)}},
        exited("ListBucket"),
    ]


def map_run(name, arn):
    return [
        {"type": "MapStateEntered", "stateEnteredEventDetails": {"name": name}},
        {"type": "MapRunStarted", "mapRunStartedEventDetails": {"mapRunArn": arn}},
    ]


def test_while_planning_only_the_keys_compared_are_known():
    progress = progress_of(MapRuns({}), "arn", planned()[:2])

    assert (progress.state, progress.rounds, progress.compared) == ("ListBucket", 2, 1000)
    assert (progress.copied, progress.deleted, progress.bytes_copied) == (0, 0, 0)


def test_copies_are_counted_by_the_batches_the_map_run_finished():
    events = planned() + map_run("CopySourceKeys", "copy-run")
    runs = MapRuns({"copy-run": {"succeeded": 1, "failed": 1, "total": 4}})

    progress = progress_of(runs, "arn", events)

    assert progress.batches == {"CopySourceKeys": (2, 4)}
    assert (progress.copied, progress.deleted, progress.bytes_copied) == (50, 0, 5 * 1024**2)
    assert progress.line().endswith(
        "CopySourceKeys 2/4 batches · copies done 50 of 100 (5.0 MiB of 10.0 MiB), deletions done 0 of 10"
    )


def test_a_finished_copy_step_counts_every_copy_and_deletions_count_by_their_own_batches():
    events = (
        planned()
        + map_run("CopySourceKeys", "copy-run")
        + [exited("CopySourceKeys")]
        + map_run("DeleteOrphanedKeys", "delete-run")
    )
    runs = MapRuns({"copy-run": {"succeeded": 3, "total": 4}, "delete-run": {"succeeded": 0, "total": 1}})

    progress = progress_of(runs, "arn", events)

    assert (progress.copied, progress.deleted, progress.bytes_copied) == (100, 0, 10 * 1024**2)


@pytest.mark.parametrize(
    "finished, expected",
    [
        pytest.param([], (0, 0), id="copying"),
        pytest.param(["CopyInline"], (100, 0), id="copied"),
        pytest.param(["CopyInline", "DeleteInline"], (100, 10), id="deleted"),
    ],
)
def test_a_small_plans_single_steps_count_all_or_nothing(finished, expected):
    events = planned() + [entered("CopyInline")] + [exited(name) for name in finished]

    progress = progress_of(MapRuns({}), "arn", events)

    assert (progress.copied, progress.deleted) == expected


def test_the_bar_counts_keys_while_planning_then_objects_with_bytes():
    stream = io.StringIO()
    bar = ProgressBar(stream)

    bar(Progress("ListBucket", 1, 500))
    planning = stream.getvalue()
    bar(Progress("CopySourceKeys", 2, 1000, 100, 10, {"CopySourceKeys": (1, 4)}, 10 * 1024**2, 0.25))
    bar(Progress("WriteReport", 2, 1000, 100, 10, {"CopySourceKeys": (4, 4)}, 10 * 1024**2, 1.0, 1.0))
    bar.close()

    assert "ListBucket: 500 keys" in planning
    last = stream.getvalue().rsplit("\r", 1)[-1]
    assert last.startswith("WriteReport: 100%")
    assert "110/110" in last and "copied 100, deleted 10, 10.0 MiB of 10.0 MiB" in last


@pytest.mark.parametrize(
    "count, shown",
    [(0, "0 B"), (1023, "1,023 B"), (1536, "1.5 KiB"), (5 * 1024**3, "5.0 GiB"), (3 * 1024**5, "3,072.0 TiB")],
)
def test_human_bytes(count, shown):
    assert human_bytes(count) == shown


PHASE = datetime.datetime(2026, 12, 1, 9, 0, 0, tzinfo=datetime.UTC)


def test_a_single_inline_copy_step_moves_with_what_its_batch_says_of_itself():
    plan = {"rounds": 1, "totals": {"unchanged": 0, "toCopy": 1500, "toDelete": 0, "bytesToCopy": 1500 * 1024}}
    events = [
        entered("ListBucket"),
        {"type": "LambdaFunctionSucceeded", "lambdaFunctionSucceededEventDetails": {"output": json.dumps(plan)}},
        exited("ListBucket"),
        {**entered("CopyInline"), "timestamp": PHASE},
    ]

    progress = progress_of(MapRuns({}), "arn", events, in_batches=(600, 600 * 1024))

    assert (progress.copied, progress.bytes_copied, progress.phase_started) == (600, 600 * 1024, PHASE)
    assert "copies done 600 of 1,500 (600.0 KiB of 1.5 MiB)" in progress.line()


class Listing:
    """list_objects_v2 of S3, one page per call, for the keys a test gives."""

    def __init__(self, *pages):
        self.pages = pages

    def get_paginator(self, name):
        pages = self.pages

        class Pages:
            def paginate(self, Bucket, Prefix):
                return [{"Contents": [{"Key": Prefix + key} for key in page]} for page in pages]

        return Pages()


def test_the_copies_in_batches_are_the_latest_of_each_batch_summed():
    listing = Listing(
        ["000000001.done-100.bytes-1000.json", "000000001.done-250.bytes-2500.json"],
        ["000000002.done-40.bytes-400.json", "not-a-progress-object.json"],
    )

    assert copies_in_batches(listing, "work", "run-1") == (290, 2900)


def test_following_lists_the_batches_progress_only_while_a_copy_step_runs(monkeypatch):
    asked = []
    looks = iter(
        [
            ("RUNNING", [entered("ListBucket")]),
            ("RUNNING", [entered("ListBucket"), exited("ListBucket"), entered("CopyInline")]),
            ("SUCCEEDED", [entered("ListBucket"), exited("ListBucket"), entered("CopyInline"), exited("CopyInline")]),
        ]
    )

    class Sfn:
        def describe_execution(self, executionArn):
            self.status, self.events = next(looks)
            return {"status": self.status, "output": "{}"}

        def get_paginator(self, name):
            events = self.events

            class Pages:
                def paginate(self, executionArn):
                    return [{"events": events}]

            return Pages()

    def in_batches(run_id):
        asked.append(run_id)
        return (0, 0)

    follow(Sfn(), "arn:x:states:r:1:execution:m:run-1", lambda progress: None, lambda _: None, in_batches)

    assert asked == ["run-1"]  # planning and the end cost no listing


def test_the_bar_shows_no_rate_before_a_second_of_copying_then_objects_done_over_the_time_since():
    stream = io.StringIO()
    now = [PHASE]
    bar = ProgressBar(stream, now=lambda: now[0])
    copying = Progress("CopyInline", 1, 1500, 1500, 0, {}, 1500, phase_started=PHASE)

    bar(replace(copying, copied_in_batches=0))
    now[0] = PHASE + datetime.timedelta(seconds=0.0004)
    bar(replace(copying, copy_share=1.0))  # a whole step seen finished at once: no rate of millions
    first = stream.getvalue()
    now[0] = PHASE + datetime.timedelta(seconds=6)
    bar(replace(copying, state="WriteReport", copy_share=1.0))
    bar.close()

    assert "/s" not in first
    last = stream.getvalue().rsplit("\r", 1)[-1]
    assert "1500/1500" in last and "250 objects/s" in last
