"""Planning by key ranges against moto's S3: SplitKeySpace's range files, rounds over one range (stopping at its end,
handing its copy batches over as it goes), a range's final state, and SumPlans' sum with a missing range counted.
"""

import json

import boto3
import pytest
import split_key_space
import sum_plans
from moto import mock_aws

from bucket_sync.batches import get_json, list_keys
from bucket_sync.planner import PlanState, finish_range, plan_round, start_range, sum_ranges
from bucket_sync.ranges import KeyRange, Scope, split
from bucket_sync.run_files import RunFiles
from tests.awkward_keys import AWKWARD_KEYS
from tests.functional.test_planner import DESTINATION, SOURCE, WORK, fill, never, sync_run

KEYS = sorted({*(f"data/{number:03d}" for number in range(60)), *(param.values[0] for param in AWKWARD_KEYS)})


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        for bucket in (SOURCE, DESTINATION, WORK):
            client.create_bucket(Bucket=bucket)
        yield client


def plan_range(s3, run, state):
    """Every round of one range, through JSON as the state machine passes it; the final state."""
    rounds = []
    while not state.done:
        state = plan_round(run, state, s3, s3, s3, never)
        rounds.append(state)
        state = PlanState.from_json(json.loads(json.dumps(state.to_json())), run)
    return rounds


def planned_keys(s3, run):
    """Every key in every plan batch, by kind."""
    found = {}
    for kind in ("copy", "delete", "skip"):
        found[kind] = [
            item["key"]
            for batch in list_keys(s3, WORK, RunFiles(run, s3).plan_prefix(kind))
            for item in get_json(s3, WORK, batch)["items"]
        ]
    return found


@pytest.mark.parametrize("boundaries", [(), ("data/020",), ("data/010", "data/0299", "data/059", "z")])
def test_ranges_planned_one_by_one_plan_every_key_exactly_once_in_key_order(s3, boundaries):
    fill(s3, SOURCE, {key: b"new" for key in KEYS})
    fill(s3, DESTINATION, {"data/005": b"old", "data/0295": b"orphan", "zz-orphan": b"orphan"})
    run = sync_run(page_size=7, copy_batch_keys=4, delete_batch_keys=2)

    for number, key_range in enumerate(split(Scope(), boundaries)):
        plan_range(s3, run, PlanState.for_range(key_range, number))

    found = planned_keys(s3, run)
    assert found["copy"] == KEYS  # every key once, in key order across the ranges
    assert found["delete"] == ["data/0295", "zz-orphan"]


def test_a_round_stops_at_its_ranges_end_without_a_page_past_it(s3):
    fill(s3, SOURCE, {f"k{number:02d}": b"x" for number in range(30)})
    run = sync_run(page_size=5)
    state = PlanState.for_range(KeyRange("k04", "k09"), 1)

    [final] = plan_range(s3, run, state)

    assert planned_keys(s3, run)["copy"] == [f"k{number:02d}" for number in range(5, 10)]
    assert final.totals["sourceObjects"] == 5
    # One page of each bucket: the page that holds the range's end is the last one asked for.
    assert final.done and final.cursor == "k09"


def test_a_range_that_copies_while_planned_hands_over_after_its_round_of_copy_batches(s3):
    fill(s3, SOURCE, {f"k{number:02d}": b"x" for number in range(23)})
    run = sync_run(page_size=5, copy_batch_keys=3, round_copy_batches=2)

    rounds = plan_range(s3, run, PlanState.for_range(KeyRange(), 0))

    # 23 copies in batches of 3: 8 batches, handed over 2 (or, with the partial batch at the hand-over, 3) a round,
    # and the first round's first at once.
    handed = [list(state.new_copy_batches) for state in rounds]
    files = RunFiles(run, s3)
    assert handed[0] == [files.plan_key("copy", 1)]
    assert [key for keys in handed for key in keys] == [files.plan_key("copy", number) for number in range(1, 9)]
    assert all(1 <= len(keys) <= 3 for keys in handed)
    assert all(not state.done for state in rounds[:-1]) and rounds[-1].done
    assert planned_keys(s3, run)["copy"] == [f"k{number:02d}" for number in range(23)]


@pytest.mark.parametrize(("plan_first", "dry_run"), [(True, False), (False, True)])
def test_a_range_planned_first_or_dry_hands_no_batch_over(s3, plan_first, dry_run):
    fill(s3, SOURCE, {f"k{number:02d}": b"x" for number in range(23)})
    run = sync_run(page_size=5, copy_batch_keys=3, round_copy_batches=2)
    run = run.__class__(**{**run.__dict__, "plan_first": plan_first, "dry_run": dry_run})

    [final] = plan_range(s3, run, PlanState.for_range(KeyRange(), 0))

    assert final.new_copy_batches == () and final.copy_batches == 8


def test_sum_plans_adds_the_first_round_and_every_ranges_final_state_and_counts_a_missing_one(s3):
    fill(s3, SOURCE, {f"k{number:02d}": b"x" for number in range(20)})
    fill(s3, DESTINATION, {"k05": b"x", "orphan": b"y"})
    run = sync_run(page_size=4, copy_batch_keys=3, min_range_keys=2, list_ranges=4)
    first = plan_round(run, PlanState.from_json(None, run), s3, s3, s3, never)  # 4 keys alone, then the cut
    assert not first.done and first.cursor == "k03"
    ranges = split(Scope(start_after=first.cursor), ["k09"])
    for number, key_range in enumerate(ranges, start=1):
        *_, final = plan_range(s3, run, PlanState.for_range(key_range, number))
        finish_range(run, final, s3)

    total = sum_ranges(run, s3, len(ranges), first)

    assert total.totals["sourceObjects"] == 20 and total.totals["toDelete"] == 1
    assert total.totals["toCopy"] == 19 and total.totals["unchanged"] == 1
    assert (total.copy_batches, total.delete_batches, total.missing_ranges) == (2 + 2 + 4, 1, 0)
    assert total.copied_while_planning and total.done and total.inline is None
    assert total.copy_prefix == "plan/copy/00000/"  # what is left for CopySourceKeys: the first round's
    assert sum_ranges(run, s3, len(ranges) + 1, first).missing_ranges == 1
    assert planned_keys(s3, run)["copy"] == [f"k{number:02d}" for number in range(20) if number != 5]


def test_split_key_space_writes_range_files_that_cover_the_scope(s3, monkeypatch):
    fill(s3, SOURCE, {f"{folder}/{number:03d}": b"x" for folder in "abcd" for number in range(30)})
    monkeypatch.setenv("DEPLOYMENT_BUCKET", WORK)
    run = sync_run(page_size=10, list_ranges=4, min_range_keys=10)

    output = split_key_space.handler({"run": run.to_json(), "cursor": "a/009"}, None)

    assert output["ranges"] == 4 and output["copyConcurrency"] == 5  # 20 copy invocations shared by 4 ranges
    files = list(list_keys(s3, WORK, f"{run.folder}ranges/"))
    assert files == [RunFiles(run, s3).range_key(number) for number in range(1, 5)]  # 0 is the first round's
    ranges = [start_range(run, s3, key) for key in files]
    assert ranges[0].cursor == "a/009" and ranges[-1].end is None  # the rest of the scope, after the first round
    assert [state.end for state in ranges[:-1]] == [state.cursor for state in ranges[1:]]  # they meet exactly
    assert output["requests"]["PutObject"] == 4 and output["requests"]["ListObjectsV2"] >= 1


def test_split_key_space_leaves_a_small_scope_whole_and_writes_nothing(s3):
    fill(s3, SOURCE, {f"k{number}": b"x" for number in range(30)})
    run = sync_run(list_ranges=16)  # 30 keys: far under two ranges of minRangeKeys

    output = split_key_space.handler({"run": run.to_json(), "cursor": "k1"}, None)

    assert output["ranges"] == 1
    assert output["requests"] == {"ListObjectsV2": 1}
    assert list(list_keys(s3, WORK, f"{run.folder}")) == []


def test_sum_plans_handler_adds_the_splits_requests(s3):
    run = sync_run()
    first = PlanState(cursor="k", rounds=1, requests={"ListObjectsV2": 3}).to_json()
    plan = sum_plans.handler({"run": run.to_json(), "split": {"ranges": 2}, "first": first}, None)

    assert plan["missingRanges"] == 2 and plan["requests"]["ListObjectsV2"] == 3 + 1  # the first round's and its own
