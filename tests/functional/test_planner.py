"""Planning rounds against moto's S3: what the plan batches in the work bucket hold afterwards.

Each test fills a source and a destination bucket, runs ``plan_round`` (once, or round after round from the cursor
it hands over, through JSON as the state machine passes it), then reads every plan batch back from the work bucket.
Requests are counted with the sync's own ``RequestCounter`` on one client per bucket.
"""

import json

import boto3
import pytest
from moto import mock_aws

from bucket_sync.batches import get_json, list_keys
from bucket_sync.decide import Reason
from bucket_sync.listing import Entry, list_entries
from bucket_sync.planner import PlanState, plan_round
from bucket_sync.requests import RequestCounter
from bucket_sync.run import Settings, SyncRun
from bucket_sync.run_files import RunFiles
from tests.awkward_keys import AWKWARD_KEYS

SOURCE, DESTINATION, WORK = "sync-source", "sync-destination", "sync-work"
KINDS = ("copy", "delete", "skip")
MAX_ROUNDS = 200
"""A planner that stops making progress fails the test instead of looping for ever."""


@pytest.fixture(scope="module")
def session():
    """One session for the module: its clients share loaded service models, which keeps each test fast.
    Credentials are read lazily, inside each test, after the credentials fixture has set them."""
    return boto3.session.Session()


@pytest.fixture(autouse=True)
def moto_s3():
    with mock_aws():
        yield


@pytest.fixture
def new_client(session):
    return lambda: session.client("s3", region_name="us-east-1")


@pytest.fixture
def s3(new_client):
    client = new_client()
    for bucket in (SOURCE, DESTINATION, WORK):
        client.create_bucket(Bucket=bucket)
    return client


def fill(s3, bucket, objects):
    """``objects``: key -> body, or key -> (body, storage class)."""
    for key, value in objects.items():
        body, storage_class = value if isinstance(value, tuple) else (value, "STANDARD")
        s3.put_object(Bucket=bucket, Key=key, Body=body, StorageClass=storage_class)


def sync_run(prefix="", start_after="", **settings):
    """A run whose plans go to batch files (what these tests read) unless ``inline_plan_bytes`` is given."""
    settings.setdefault("inline_plan_bytes", 0)
    return SyncRun(
        run_id="exec-1",
        source=SOURCE,
        destination=DESTINATION,
        prefix=prefix,
        start_after=start_after,
        work_bucket=WORK,
        source_region="us-east-1",
        destination_region="us-east-1",
        settings=Settings(**settings),
    )


def never():
    return False


def unlimited():
    """A budget for each round that never runs out."""
    return never


def one_round(s3, run, state=None, out_of_time=never, source_s3=None, destination_s3=None, work_s3=None, attempt=0):
    state = state or PlanState.from_json(None, run)
    return plan_round(run, state, source_s3 or s3, destination_s3 or s3, work_s3 or s3, out_of_time, attempt)


def all_rounds(s3, run, new_budget=unlimited):
    """Round after round until done, the state passing through JSON between rounds as it does between states."""
    states, data = [], None
    while not states or not states[-1].done:
        assert len(states) < MAX_ROUNDS, "the planner stopped making progress"
        state = one_round(s3, run, PlanState.from_json(data, run), new_budget())
        data = json.loads(json.dumps(state.to_json()))
        states.append(state)
    return states


def batches(s3, run, kind):
    """The items of every ``kind`` plan batch, batch by batch, in the order of their file names."""
    prefix = RunFiles(run, s3).plan_prefix(kind)
    return [get_json(s3, WORK, key)["items"] for key in sorted(list_keys(s3, WORK, prefix))]


def planned_keys(s3, run):
    """Every key of every plan batch, per kind, in batch order (repeats kept, so a key planned twice shows)."""
    return {kind: [item["key"] for batch in batches(s3, run, kind) for item in batch] for kind in KINDS}


def work_bucket(s3):
    return sorted(list_keys(s3, WORK, ""))


def utf8_sorted(keys):
    return sorted(keys, key=lambda key: key.encode())


MIXED_SOURCE = {
    "a-new": b"new",
    "b-same": b"same",
    "c-content-differs": b"abc",
    "d-size-differs": b"longer",
    "e-glacier": (b"cold", "GLACIER"),
    "f-deep-archive-over-a-copy": (b"colder", "DEEP_ARCHIVE"),
    "h-empty": b"",
    "j-folder/": b"",
}
MIXED_DESTINATION = {
    "b-same": b"same",
    "c-content-differs": b"xyz",
    "d-size-differs": b"short",
    "f-deep-archive-over-a-copy": b"old",
    "g-orphan": b"gone",
    "i-orphan/": b"",
}
MIXED_EXPECTED = {
    "copy": ["a-new", "c-content-differs", "d-size-differs", "h-empty", "j-folder/"],
    "delete": ["g-orphan", "i-orphan/"],
    "skip": ["e-glacier", "f-deep-archive-over-a-copy"],
}
MIXED_TOTALS = {
    "toCopy": 5,
    "bytesToCopy": 12,
    "toDelete": 2,
    "skipped": 2,
    "unchanged": 1,
    "sourceObjects": 8,
    "destinationObjects": 6,
    "excluded": 0,
    "kept": 0,
}
ZERO_TOTALS = dict.fromkeys(MIXED_TOTALS, 0)


@pytest.fixture
def mixed(s3):
    fill(s3, SOURCE, MIXED_SOURCE)
    fill(s3, DESTINATION, MIXED_DESTINATION)  # written after the source, so "b-same" is not older


# What a round writes


@pytest.mark.parametrize(
    "source, destination, expected",
    [
        pytest.param(
            {"a": b"1", "b": b"2"}, {}, {"copy": ["a", "b"], "delete": [], "skip": []}, id="empty-destination"
        ),
        pytest.param({}, {"a": b"1", "b": b"2"}, {"copy": [], "delete": ["a", "b"], "skip": []}, id="empty-source"),
        pytest.param(
            {"a": b"1", "c": b"3"},
            {"b": b"2", "c": b"4"},
            {"copy": ["a", "c"], "delete": ["b"], "skip": []},
            id="interleaved",
        ),
        pytest.param(MIXED_SOURCE, MIXED_DESTINATION, MIXED_EXPECTED, id="every-action"),
    ],
)
def test_plan_batches_hold_exactly_the_decided_keys(s3, source, destination, expected):
    fill(s3, SOURCE, source)
    fill(s3, DESTINATION, destination)
    run = sync_run()

    state = one_round(s3, run)

    assert planned_keys(s3, run) == expected
    assert state.done
    assert (state.copy_batches, state.delete_batches, state.skip_batches) == tuple(
        len(batches(s3, run, kind)) for kind in KINDS
    )


def test_plan_items_carry_the_reason_and_the_listed_entry(s3, mixed):
    run = sync_run()

    one_round(s3, run)

    items = {item["key"]: item for kind in KINDS for batch in batches(s3, run, kind) for item in batch}
    source = {entry.key: entry for entry in list_entries(s3, SOURCE)}
    destination = {entry.key: entry for entry in list_entries(s3, DESTINATION)}
    assert {key: item["reason"] for key, item in items.items()} == {
        "a-new": Reason.MISSING.value,
        "c-content-differs": Reason.CONTENT_DIFFERS.value,
        "d-size-differs": Reason.SIZE_DIFFERS.value,
        "e-glacier": "archived in GLACIER, not restored: restore it to copy it",
        "f-deep-archive-over-a-copy": "archived in DEEP_ARCHIVE, not restored: restore it to copy it",
        "g-orphan": Reason.ORPHANED.value,
        "h-empty": Reason.MISSING.value,
        "i-orphan/": Reason.ORPHANED.value,
        "j-folder/": Reason.MISSING.value,
    }
    # Copies and skips carry the source's entry (what copy_keys copies from), deletes the destination's.
    assert {key: Entry.from_json(item["entry"]) for key, item in items.items()} == {
        key: source.get(key) or destination[key] for key in items
    }


@pytest.mark.parametrize("storage_class", ["GLACIER", "DEEP_ARCHIVE"])
@pytest.mark.parametrize("in_destination", [False, True], ids=["missing-from-destination", "older-copy-there"])
def test_an_archived_source_object_goes_to_a_skip_batch(s3, storage_class, in_destination):
    fill(s3, SOURCE, {"cold": (b"cold", storage_class), "warm": b"warm"})
    if in_destination:
        fill(s3, DESTINATION, {"cold": b"old"})
    run = sync_run()

    state = one_round(s3, run)

    assert planned_keys(s3, run) == {"copy": ["warm"], "delete": [], "skip": ["cold"]}
    [[item]] = batches(s3, run, "skip")
    assert item["entry"]["storage_class"] == storage_class
    assert item["reason"] == f"archived in {storage_class}, not restored: restore it to copy it"
    assert (state.totals["skipped"], state.skip_batches) == (1, 1)


def test_totals(s3, mixed):
    state = one_round(s3, sync_run())

    assert state.totals == MIXED_TOTALS
    assert (state.copy_batches, state.delete_batches, state.skip_batches) == (1, 1, 1)


# Batch bounds


def sized(**sizes):
    return {key: b"x" * size for key, size in sizes.items()}


@pytest.mark.parametrize(
    "settings, source, destination, kind, expected",
    [
        pytest.param(
            {"copy_batch_keys": 3},
            sized(a=1, b=1, c=1, d=1, e=1, f=1, g=1),
            {},
            "copy",
            [["a", "b", "c"], ["d", "e", "f"], ["g"]],
            id="copyBatchKeys",
        ),
        pytest.param(
            {"copy_batch_keys": 3}, sized(a=1, b=1, c=1), {}, "copy", [["a", "b", "c"]], id="copyBatchKeys-exactly-full"
        ),
        pytest.param({"copy_batch_keys": 1}, sized(a=1, b=1), {}, "copy", [["a"], ["b"]], id="copyBatchKeys-one"),
        pytest.param(
            {"copy_batch_bytes": 25},
            sized(a=10, b=10, c=10, d=10, e=10),
            {},
            "copy",
            [["a", "b"], ["c", "d"], ["e"]],
            id="copyBatchBytes",
        ),
        pytest.param(
            {"copy_batch_bytes": 20},
            sized(a=10, b=10, c=10),
            {},
            "copy",
            [["a", "b"], ["c"]],
            id="copyBatchBytes-exactly-full",
        ),
        pytest.param(
            {"copy_batch_bytes": 25},
            sized(a=10, b=40, c=10, d=10),
            {},
            "copy",
            [["a"], ["b"], ["c", "d"]],
            id="object-over-copyBatchBytes-alone",
        ),
        pytest.param(
            {"copy_batch_bytes": 25},
            sized(a=0, b=0, c=0, d=25, e=0),
            {},
            "copy",
            [["a", "b", "c", "d", "e"]],
            id="empty-objects-cost-no-bytes",
        ),
        pytest.param(
            {"copy_batch_keys": 2, "copy_batch_bytes": 25},
            sized(a=1, b=1, c=20, d=10, e=1),
            {},
            "copy",
            [["a", "b"], ["c"], ["d", "e"]],
            id="keys-and-bytes-together",
        ),
        pytest.param(
            {"delete_batch_keys": 2},
            {},
            sized(a=1, b=1, c=1, d=1, e=1),
            "delete",
            [["a", "b"], ["c", "d"], ["e"]],
            id="deleteBatchKeys",
        ),
        pytest.param(
            {"delete_batch_keys": 2, "copy_batch_bytes": 1},
            {},
            sized(a=100, b=100, c=100),
            "delete",
            [["a", "b"], ["c"]],
            id="deletes-ignore-copyBatchBytes",
        ),
    ],
)
def test_batches_are_bounded(s3, settings, source, destination, kind, expected):
    fill(s3, SOURCE, source)
    fill(s3, DESTINATION, destination)
    run = sync_run(**settings)

    state = one_round(s3, run)

    assert [[item["key"] for item in batch] for batch in batches(s3, run, kind)] == expected
    assert {"copy": state.copy_batches, "delete": state.delete_batches}[kind] == len(expected)


def test_copy_and_delete_batches_fill_independently(s3):
    fill(s3, SOURCE, sized(a=1, c=1, e=1))
    fill(s3, DESTINATION, sized(b=1, d=1, f=1))
    run = sync_run(copy_batch_keys=2, delete_batch_keys=2)

    one_round(s3, run)

    assert [[item["key"] for item in batch] for batch in batches(s3, run, "copy")] == [["a", "c"], ["e"]]
    assert [[item["key"] for item in batch] for batch in batches(s3, run, "delete")] == [["b", "d"], ["f"]]


# A round with nothing to do


@pytest.mark.parametrize(
    "objects, page_size, lists_per_bucket",
    [
        pytest.param({}, 1000, 1, id="both-empty"),
        pytest.param(sized(a=1, b=2, c=3), 1000, 1, id="one-page"),
        pytest.param(sized(a=1, b=2, c=3, d=4, e=5), 2, 3, id="three-pages"),
    ],
)
def test_a_no_op_round_writes_nothing_and_only_lists(s3, new_client, objects, page_size, lists_per_bucket):
    fill(s3, SOURCE, objects)
    fill(s3, DESTINATION, objects)
    run = sync_run(page_size=page_size)
    counters = {side: RequestCounter() for side in ("source", "destination", "work")}
    clients = {side: counters[side].attach(new_client()) for side in counters}

    state = one_round(
        s3, run, source_s3=clients["source"], destination_s3=clients["destination"], work_s3=clients["work"]
    )

    assert {side: counter.snapshot() for side, counter in counters.items()} == {
        "source": {"ListObjectsV2": lists_per_bucket},
        "destination": {"ListObjectsV2": lists_per_bucket},
        "work": {},
    }
    assert work_bucket(s3) == []
    assert state.to_json() == {
        "cursor": max(objects, default=""),
        "done": True,
        "rounds": 1,
        "copyBatches": 0,
        "deleteBatches": 0,
        "skipBatches": 0,
        "totals": {
            **ZERO_TOTALS,
            "unchanged": len(objects),
            "sourceObjects": len(objects),
            "destinationObjects": len(objects),
        },
        "requests": {},
        "inline": None,
        "range": 0,
        "end": None,
        "ranged": False,
        "newCopyBatches": [],
        "newCopyBatchCount": 0,
        "copiedWhilePlanning": False,
        "copyPrefix": "plan/copy/",
        "missingRanges": 0,
    }


def test_differences_out_of_scope_do_not_make_a_round_write(s3, new_client):
    fill(s3, SOURCE, {"in/a": b"1", "out-only-in-source": b"2"})
    fill(s3, DESTINATION, {"in/a": b"1", "z-only-in-destination": b"3"})
    counter = RequestCounter()
    client = counter.attach(new_client())

    state = one_round(client, sync_run(prefix="in/"))

    assert counter.snapshot() == {"ListObjectsV2": 2}
    assert work_bucket(s3) == []
    assert state.totals == {**ZERO_TOTALS, "unchanged": 1, "sourceObjects": 1, "destinationObjects": 1}


# Hand-over between rounds


def out_of_time_after(calls):
    """A fresh budget per round: false for ``calls`` calls, true from then on."""

    def new_budget():
        made = []

        def out_of_time():
            made.append(1)
            return len(made) > calls

        return out_of_time

    return new_budget


HANDOVERS = [
    pytest.param({"max_keys_per_round": 1}, unlimited, id="maxKeysPerRound-1"),
    pytest.param({"max_keys_per_round": 2, "page_size": 3}, unlimited, id="maxKeysPerRound-2-pageSize-3"),
    pytest.param(
        {"max_keys_per_round": 5, "copy_batch_keys": 2, "delete_batch_keys": 1},
        unlimited,
        id="maxKeysPerRound-5-small-batches",
    ),
    pytest.param({"max_keys_per_round": 10}, unlimited, id="maxKeysPerRound-all-keys"),
    pytest.param({"max_keys_per_round": 50}, unlimited, id="maxKeysPerRound-more-than-all"),
    pytest.param({}, out_of_time_after(0), id="out-of-time-at-once"),
    pytest.param({"page_size": 2}, out_of_time_after(3), id="out-of-time-after-3"),
]


@pytest.mark.parametrize("settings, budget", HANDOVERS)
def test_rounds_from_the_handed_over_cursor_decide_every_key_exactly_once(s3, mixed, settings, budget):
    run = sync_run(**settings)

    states = all_rounds(s3, run, budget)

    assert planned_keys(s3, run) == MIXED_EXPECTED
    final = states[-1]
    assert (final.done, final.rounds, final.totals) == (True, len(states), MIXED_TOTALS)
    assert (final.copy_batches, final.delete_batches, final.skip_batches) == tuple(
        len(batches(s3, run, kind)) for kind in KINDS
    )


@pytest.mark.parametrize(
    "max_keys, rounds",
    [
        pytest.param(1, 11, id="1-key-then-an-empty-round"),
        pytest.param(3, 4, id="3-keys-last-round-short"),
        pytest.param(5, 3, id="5-keys-then-an-empty-round"),
        pytest.param(10, 2, id="all-10-keys-then-an-empty-round"),
        pytest.param(11, 1, id="more-than-all-keys"),
    ],
)
def test_each_round_decides_its_budget_and_hands_over_the_last_key(s3, mixed, max_keys, rounds):
    run = sync_run(max_keys_per_round=max_keys)

    states = all_rounds(s3, run)

    decided = [
        sum(state.totals.get(name, 0) for name in ("toCopy", "toDelete", "skipped", "unchanged")) for state in states
    ]
    keys = utf8_sorted({*MIXED_SOURCE, *MIXED_DESTINATION})  # 10 keys in scope
    assert len(states) == rounds
    assert decided == [min(len(keys), max_keys * n) for n in range(1, rounds + 1)]
    assert [state.cursor for state in states[:-1]] == [keys[max_keys * n - 1] for n in range(1, rounds)]


def test_a_repeated_round_rewrites_the_same_plan_files(s3, mixed):
    run = sync_run(max_keys_per_round=6, copy_batch_keys=2)
    state = one_round(s3, run)
    written = {key: get_json(s3, WORK, key) for key in work_bucket(s3)}

    again = one_round(s3, run)  # the state machine retrying the round with the same input

    assert again == state
    assert {key: get_json(s3, WORK, key) for key in work_bucket(s3)} == written


def test_a_round_retried_after_a_crash_plans_each_key_once(s3, mixed):
    run = sync_run(copy_batch_keys=1, delete_batch_keys=1)
    first = PlanState.from_json(None, run)
    decided = []

    def killed_after_8_keys():
        decided.append(1)
        if len(decided) == 8:
            raise TimeoutError("Sandbox.Timedout")  # the first attempt dies, its full batches already written
        return False

    with pytest.raises(TimeoutError):
        one_round(s3, run, first, killed_after_8_keys)
    state = one_round(s3, run, first, out_of_time_after(2)(), attempt=1)  # the retry hands over sooner
    while not state.done:
        state = one_round(s3, run, state)

    assert planned_keys(s3, run) == MIXED_EXPECTED
    # Numbered across rounds with no gap, so the steps after planning name every batch without listing them.
    for kind, batches in state.batches().items():
        assert sorted(list_keys(s3, WORK, RunFiles(run, s3).plan_prefix(kind))) == [
            RunFiles(run, s3).plan_key(kind, number) for number in range(1, batches + 1)
        ]


# Scope

SCOPED_SOURCE = sized(**{"a": 1, "p": 1, "p/": 0, "p/a": 1, "p/b": 1, "p/c": 1, "pa": 1, "z": 1})
SCOPED_DESTINATION = sized(**{"b": 1, "p/b": 1, "p/d": 1, "pz": 1, "zz": 1})


@pytest.mark.parametrize(
    "prefix, start_after, expected",
    [
        pytest.param("p/", "", {"copy": ["p/", "p/a", "p/c"], "delete": ["p/d"]}, id="prefix"),
        pytest.param("p/", "p/", {"copy": ["p/a", "p/c"], "delete": ["p/d"]}, id="startAfter-is-strictly-after"),
        pytest.param("p/", "p/a", {"copy": ["p/c"], "delete": ["p/d"]}, id="prefix-and-startAfter"),
        pytest.param(
            "p", "", {"copy": ["p", "p/", "p/a", "p/c", "pa"], "delete": ["p/d", "pz"]}, id="prefix-without-slash"
        ),
        pytest.param("", "p/b", {"copy": ["p/c", "pa", "z"], "delete": ["p/d", "pz", "zz"]}, id="startAfter"),
        pytest.param(
            "",
            "o",
            {"copy": ["p", "p/", "p/a", "p/c", "pa", "z"], "delete": ["p/d", "pz", "zz"]},
            id="startAfter-not-a-key",
        ),
        pytest.param("p/", "q", {"copy": [], "delete": []}, id="startAfter-past-the-prefix"),
        pytest.param("q/", "", {"copy": [], "delete": []}, id="prefix-matching-nothing"),
    ],
)
@pytest.mark.parametrize("max_keys", [0, 1], ids=["one-round", "a-round-per-key"])
def test_keys_out_of_scope_never_appear_in_a_batch(s3, prefix, start_after, expected, max_keys):
    fill(s3, SOURCE, SCOPED_SOURCE)
    fill(s3, DESTINATION, SCOPED_DESTINATION)
    run = sync_run(prefix=prefix, start_after=start_after, max_keys_per_round=max_keys)

    all_rounds(s3, run)

    assert planned_keys(s3, run) == {**expected, "skip": []}
    if not expected["copy"] and not expected["delete"]:
        assert work_bucket(s3) == []


# Awkward keys


@pytest.mark.parametrize("key", AWKWARD_KEYS)
@pytest.mark.parametrize("side, kind", [(SOURCE, "copy"), (DESTINATION, "delete")], ids=["copy", "delete"])
def test_an_awkward_key_round_trips_through_a_plan_batch(s3, key, side, kind):
    fill(s3, side, {key: b"body"})
    run = sync_run()

    one_round(s3, run)

    [[item]] = batches(s3, run, kind)
    assert item["key"] == key  # not normalised, not decoded, not trimmed


def test_all_awkward_keys_hand_over_one_by_one(s3):
    keys = [param.values[0] for param in AWKWARD_KEYS]
    fill(s3, SOURCE, {key: b"s" for key in keys[::2]})
    fill(s3, DESTINATION, {key: b"d" for key in keys[1::2]})
    run = sync_run(max_keys_per_round=1)

    states = all_rounds(s3, run)

    assert planned_keys(s3, run) == {"copy": utf8_sorted(keys[::2]), "delete": utf8_sorted(keys[1::2]), "skip": []}
    assert [state.cursor for state in states[:-1]] == utf8_sorted(keys)  # every awkward key served as StartAfter


@pytest.mark.parametrize("prefix", [param for param in AWKWARD_KEYS if param.id != "1024-bytes"])
def test_an_awkward_prefix_scopes_exactly(s3, prefix):
    fill(s3, SOURCE, {prefix: b"1", prefix + "/child": b"2", "~outside": b"3"})
    fill(s3, DESTINATION, {prefix + "orphan": b"4", "!outside": b"5"})
    run = sync_run(prefix=prefix)

    one_round(s3, run)

    assert planned_keys(s3, run) == {"copy": [prefix, prefix + "/child"], "delete": [prefix + "orphan"], "skip": []}


def test_read_ahead_gives_the_same_entries_and_stops_its_thread_when_the_reader_stops():
    import threading
    import time

    from bucket_sync.listing import Entry, read_ahead

    entries = [Entry(f"k{number:05d}", 1, '"e"', "2026-01-01T00:00:00.000+00:00") for number in range(5000)]
    assert list(read_ahead(iter(entries), depth=10)) == entries
    reader = read_ahead(iter(entries), depth=10)
    assert [next(reader) for _ in range(3)] == entries[:3]
    reader.close()  # a round handing over
    deadline = time.monotonic() + 5
    while any(thread.name == "listing" for thread in threading.enumerate()):
        assert time.monotonic() < deadline, "the read-ahead thread outlived its reader"
        time.sleep(0.05)


def test_read_ahead_raises_the_listing_error_where_it_is_read():
    from bucket_sync.listing import read_ahead

    def failing():
        yield from ()
        raise RuntimeError("ListObjectsV2 failed")

    with pytest.raises(RuntimeError, match="ListObjectsV2 failed"):
        list(read_ahead(failing()))


def test_a_small_plan_decided_in_one_round_travels_in_the_state_and_writes_no_file(s3, mixed):
    run = sync_run(inline_plan_bytes=96 * 1024)

    state = one_round(s3, run)

    assert work_bucket(s3) == []
    assert (state.copy_batches, state.delete_batches, state.skip_batches) == (0, 0, 0)
    assert {kind: sorted(item["key"] for item in items) for kind, items in state.inline.items()} == {
        kind: sorted(keys) for kind, keys in MIXED_EXPECTED.items()
    }


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({"inline_plan_bytes": 100}, id="larger-than-the-budget"),
        pytest.param({"inline_plan_bytes": 96 * 1024, "max_keys_per_round": 3}, id="more-than-one-round"),
    ],
)
def test_a_plan_too_big_or_in_several_rounds_goes_to_batch_files(s3, mixed, settings):
    run = sync_run(**settings)
    state = one_round(s3, run)
    while not state.done:
        state = one_round(s3, run, state)
    assert state.inline is None
    assert planned_keys(s3, run) == MIXED_EXPECTED


STATE_LIMIT_BYTES = 256 * 1024
"""Step Functions' limit on a state's input or output, as UTF-8 bytes of its JSON."""


@pytest.mark.parametrize(
    "key_of",
    [
        pytest.param(lambda n: f"k{n:05d}", id="many-short-keys"),
        pytest.param(lambda n: '"' * 1000 + f"{n:05d}", id="few-keys-of-escaped-characters"),
    ],
)
def test_a_small_plan_and_its_worst_results_fit_in_the_state(new_client, key_of):
    """The state before WriteReport at its largest: 63-character buckets, the largest inline plan, and every copy
    and delete failed with a long AccessDenied message naming the key twice, as AWS words it."""
    from bucket_sync.outcomes import FAILED, compact, json_bytes, outcome

    s3 = new_client()
    source, destination, work = "s" * 63, "d" * 63, "w" * 63
    for bucket in (source, destination, work):
        s3.create_bucket(Bucket=bucket)
    prefix = key_of(0)[:-5]
    run = SyncRun(
        run_id="e" * 80,
        source=source,
        destination=destination,
        prefix=prefix,
        start_after=prefix,
        work_bucket=work,
        source_region="ap-southeast-2",
        destination_region="ap-southeast-2",
        settings=Settings(inline_plan_bytes=128 * 1024),
    )
    # Eight copies and deletes more at a time, until the plan no longer travels in the state: the last that did
    # is within eight of the largest there can be.
    plan, largest, n = None, None, 0
    while plan is None or plan.inline is not None:
        largest = plan
        for _ in range(8):
            for bucket in (source, destination):
                n += 1
                s3.put_object(Bucket=bucket, Key=key_of(n), Body=b"x")
        plan = one_round(s3, run)
        for key in list_keys(s3, work, ""):
            s3.delete_object(Bucket=work, Key=key)
    plan = largest
    assert plan.inline["copy"] and plan.inline["delete"]
    role = "arn:aws:sts::123456789012:assumed-role/" + "r" * 64 + "/" + "f" * 64

    def refused(item, action):
        resource = f"arn:aws:s3:::{destination}/{item['key']}"
        return compact(
            outcome(
                item,
                action,
                FAILED,
                (
                    f"CopyFailedError: CopyObject of s3://{source}/{item['key']}: AccessDenied: User: {role} is not "
                    f'authorized to perform: s3:PutObject on resource: "{resource}" because no identity-based policy '
                    "allows the s3:PutObject action"
                ),
            )
        )

    state = {
        "run": run.to_json(),
        "lock": {"etag": '"' + "0" * 32 + '"', "requests": {"PutObject": 1}},
        "plan": plan.to_json() | {"requests": {"ListObjectsV2": 2}},
        "copyCheck": {"copiesFailed": 0, "requests": {}},
        "inlineCopies": {
            "results": [refused(item, "copy") for item in plan.inline["copy"]],
            "requests": {"CopyObject": 400},
            "copied": 0,
            "deleted": 0,
            "skipped": 0,
            "failed": len(plan.inline["copy"]),
            "bytesCopied": 0,
            "done": True,
        },
        "inlineDeletes": {
            "results": [refused(item, "delete") for item in plan.inline["delete"]],
            "requests": {"DeleteObjects": 1},
        },
    }
    assert json_bytes(state) < STATE_LIMIT_BYTES
