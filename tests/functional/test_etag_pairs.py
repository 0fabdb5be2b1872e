"""The destination's compacted ETag-pair set against moto's S3: what compaction leaves in the work bucket (after
clean runs, after crashes half way, with records of the earlier format), what the planner's lookup reads (GETs
counted), its memory, and the requests WriteReport counts for it.
"""

import functools
import io
import json
import tracemalloc
import uuid
from collections import Counter

import boto3
import pytest
import write_report
from botocore.response import StreamingBody
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

import bucket_sync.clients
import bucket_sync.etag_pairs
from bucket_sync.batches import list_keys, put_json
from bucket_sync.decide import sort_key
from bucket_sync.etag_pairs import (
    RecordedPairs,
    RecordStream,
    compact,
    folder,
    read_folder,
    read_set,
)
from bucket_sync.listing import Entry
from bucket_sync.report import ObjectStream
from bucket_sync.requests import RequestCounter
from bucket_sync.run import SyncRun
from tests.awkward_keys import AWKWARD_KEYS

WORK = "sync-work"


@pytest.fixture(scope="module")
def session():
    return boto3.session.Session()


@pytest.fixture
def s3(session, monkeypatch):
    monkeypatch.setattr(bucket_sync.clients, "_session", lambda: session)
    with mock_aws():
        client = session.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=WORK)
        yield client


def write_record(s3, destination, run_id, pairs):
    """One run's record, as WriteReport writes it: ``pairs`` (key -> (source ETag, destination ETag)) in key
    order. Returns its key."""
    key = f"{folder(destination)}{run_id}.json"  # run ids here sort in run order, as the record's time does
    with ObjectStream(s3, WORK, key, "application/json") as stream:
        record = RecordStream(stream)
        for pair_key in sorted(pairs, key=sort_key):
            record.add(pair_key, *pairs[pair_key])
        record.finish()
    return key


def write_legacy_record(s3, destination, name, pairs):
    """A record of the earlier format: every pair on one line, in no particular order."""
    put_json(s3, WORK, f"{folder(destination)}{name}.json", {"pairs": [[k, *v] for k, v in reversed(pairs.items())]})


def the_set(s3, destination):
    return {
        key: (source, destination_etag)
        for key, source, destination_etag in read_set(s3, WORK, read_folder(s3, WORK, destination))
    }


def names(s3, destination):
    return [key[len(folder(destination)) :] for key in list_keys(s3, WORK, folder(destination))]


def pair(n, etag="d"):
    return (f'"s{n}"', f'"{etag}{n}"')


RUNS = st.lists(
    st.dictionaries(
        st.sampled_from([param.values[0] for param in AWKWARD_KEYS] + ["a", "b", "c", "d"]),
        st.integers(0, 3).map(pair),
        max_size=8,
    ),
    min_size=1,
    max_size=4,
)


def compact_in_invocations(s3, destination, chunk_pairs):
    """A compaction handed over after every chunk it completes, its state going through JSON between two
    invocations as WriteReport's hand-over carries it; how many invocations it took."""
    left, invocations = None, 0
    while True:
        invocations += 1
        left = compact(s3, WORK, destination, chunk_pairs=chunk_pairs, out_of_time=lambda: True, resume=left)
        if left is None:
            return invocations
        left = json.loads(json.dumps(left))


@pytest.mark.parametrize("handed_over", [False, True], ids=["at-once", "handed-over-after-every-chunk"])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(runs=RUNS)
def test_after_each_run_the_set_is_the_fold_of_every_run_newest_winning_and_nothing_else_is_left(s3, handed_over, runs):
    destination = f"dst-{uuid.uuid4().hex}"
    folded = {}
    for number, run in enumerate(runs):
        write_record(s3, destination, f"run-{number:03d}", run)
        if handed_over:
            invocations = compact_in_invocations(s3, destination, chunk_pairs=3)
            # A hand-over after each full chunk, and an invocation after the last that finishes; a run without
            # pairs writes no record, and there is nothing to merge.
            assert invocations == ((len(folded.keys() | run.keys())) // 3 + 1 if run else 1)
        else:
            compact(s3, WORK, destination, chunk_pairs=3)
        folded.update(run)

        assert the_set(s3, destination) == folded
        chunks = [name for name in names(s3, destination) if name.endswith(".jsonl")]
        assert len(chunks) == -(-len(folded) // 3)
        # The chunks and one index, no record and no older set (and nothing at all until a run has a pair).
        assert len(names(s3, destination)) == len(chunks) + bool(folded)
    lookup = RecordedPairs(s3, WORK, destination)
    assert {key: lookup(key) for key in sorted(folded, key=sort_key)} == folded


def test_a_compaction_handed_over_and_never_resumed_is_superseded_by_the_next(s3):
    write_record(s3, "dst", "run-1", {key: pair(1) for key in "abcdef"})
    compact(s3, WORK, "dst", chunk_pairs=2)
    write_record(s3, "dst", "run-2", {key: pair(2) for key in "bdg"})
    left = compact(s3, WORK, "dst", chunk_pairs=2, out_of_time=lambda: True)  # its execution then failed

    assert left["after"] == "b" and "set-000000000002/000001.jsonl" in names(s3, "dst")
    assert RecordedPairs(s3, WORK, "dst")("b") == pair(2)  # the complete set and the newer record, as before

    write_record(s3, "dst", "run-3", {"h": pair(3)})
    compact(s3, WORK, "dst", chunk_pairs=2)

    expected = {"a": pair(1), "b": pair(2), "c": pair(1), "d": pair(2), "e": pair(1), "f": pair(1), "g": pair(2)}
    assert the_set(s3, "dst") == {**expected, "h": pair(3)}
    assert names(s3, "dst") == ["set-000000000003.json"] + [f"set-000000000003/00000{n}.jsonl" for n in range(1, 5)]


def test_a_set_whose_index_was_never_written_is_not_read_and_the_next_compaction_removes_it(s3, monkeypatch):
    write_record(s3, "dst", "run-1", {"a": pair(1), "b": pair(1)})
    compact(s3, WORK, "dst", chunk_pairs=1)
    write_record(s3, "dst", "run-2", {"a": pair(2), "c": pair(2)})
    monkeypatch.setattr(bucket_sync.etag_pairs, "put_json", crash)  # the index: the chunks are all written
    with pytest.raises(Crash):
        compact(s3, WORK, "dst", chunk_pairs=1)
    monkeypatch.undo()

    assert "set-000000000002/000003.jsonl" in names(s3, "dst")  # the half-written set is there
    # Read: the complete set of run 1, and run 2's record, newer, over it.
    lookup = RecordedPairs(s3, WORK, "dst")
    assert (lookup("a"), lookup("b"), lookup("c")) == (pair(2), pair(1), pair(2))

    write_record(s3, "dst", "run-3", {"d": pair(3)})
    compact(s3, WORK, "dst", chunk_pairs=1)

    assert the_set(s3, "dst") == {"a": pair(2), "b": pair(1), "c": pair(2), "d": pair(3)}
    assert names(s3, "dst") == ["set-000000000003.json"] + [f"set-000000000003/00000{n}.jsonl" for n in range(1, 5)]


def test_records_a_set_accounts_for_but_a_crash_left_behind_never_win_over_newer_pairs(s3, monkeypatch):
    monkeypatch.setattr(bucket_sync.etag_pairs, "delete_superseded", crash)  # each set is written, nothing deleted
    for run in (1, 2):
        write_record(s3, "dst", f"run-{run}", {"a": pair(run)})
        with pytest.raises(Crash):
            compact(s3, WORK, "dst")

    assert "run-1.json" in names(s3, "dst")  # its pair is older than the newest set's
    assert RecordedPairs(s3, WORK, "dst")("a") == pair(2)
    monkeypatch.undo()

    write_record(s3, "dst", "run-3", {"b": pair(3)})
    compact(s3, WORK, "dst")

    assert the_set(s3, "dst") == {"a": pair(2), "b": pair(3)}
    assert names(s3, "dst") == ["set-000000000003.json", "set-000000000003/000001.jsonl"]


def test_records_of_the_earlier_format_are_read_before_and_folded_in_once_by_the_first_compaction(s3):
    write_legacy_record(s3, "dst", "20261101T000000-old-1", {"b": pair(1), "a": pair(1), "é": pair(1)})
    write_legacy_record(s3, "dst", "20261102T000000-old-2", {"b": pair(2)})

    lookup = RecordedPairs(s3, WORK, "dst")  # no set yet: the records, the newer's pair winning
    assert (lookup("a"), lookup("b"), lookup("é"), lookup("z")) == (pair(1), pair(2), pair(1), None)

    write_record(s3, "dst", "20261201T000000-new", {"a": pair(3)})
    compact(s3, WORK, "dst")

    assert the_set(s3, "dst") == {"a": pair(3), "b": pair(2), "é": pair(1)}
    assert names(s3, "dst") == ["set-000000000001.json", "set-000000000001/000001.jsonl"]


class Crash(Exception):
    pass


def crash(*args, **kwargs):
    raise Crash


def counted(session):
    counter = RequestCounter()
    return counter, counter.attach(session.client("s3", region_name="us-east-1"))


def many_chunks(s3, pairs, chunk_pairs):
    write_record(s3, "dst", "run-1", {f"key/{n:06d}": pair(n) for n in range(pairs)})
    compact(s3, WORK, "dst", chunk_pairs=chunk_pairs)


def test_ascending_lookups_read_the_index_and_only_the_chunks_their_keys_are_in(s3, session):
    many_chunks(s3, 1000, 10)  # 100 chunks, key/000000 to key/000999
    counter, client = counted(session)
    lookup = RecordedPairs(client, WORK, "dst")
    asked = ["key/000250", "key/000255", "key/000259", "key/000260", "key/000731", "key/000731x", "key/000999"]

    answers = [lookup(key) for key in asked]

    assert answers == [pair(250), pair(255), pair(259), pair(260), pair(731), None, pair(999)]
    # One LIST and the index, then chunks 26, 27, 74 and 100: the round's cursor chooses where reading starts.
    assert counter.snapshot() == {"ListObjectsV2": 1, "GetObject": 1 + 4}


def test_a_lookup_below_the_current_chunk_reads_its_own_chunk_again(s3, session):
    many_chunks(s3, 100, 10)
    counter, client = counted(session)
    lookup = RecordedPairs(client, WORK, "dst")

    answers = [lookup("key/000075"), lookup("key/000012"), lookup("key/000013"), lookup("key/000076"), lookup("a")]

    assert answers == [pair(75), pair(12), pair(13), pair(76), None]  # "a" sorts before the first chunk
    assert counter.snapshot() == {"ListObjectsV2": 1, "GetObject": 1 + 3}


def test_a_lookup_never_asked_reads_nothing(s3, session):
    many_chunks(s3, 10, 10)
    counter, client = counted(session)

    RecordedPairs(client, WORK, "dst")

    assert counter.snapshot() == {}


class Served:
    """The work bucket's pairs as they are, served from memory taken before measuring: moto in process keeps
    something of every request it serves, which the Lambda's memory would not hold."""

    def __init__(self, s3, destination):
        keys = list_keys(s3, WORK, folder(destination))
        self.objects = {key: s3.get_object(Bucket=WORK, Key=key)["Body"].read() for key in keys}

    def get_object(self, Bucket, Key):
        return {"Body": StreamingBody(io.BytesIO(self.objects[Key]), len(self.objects[Key]))}

    def get_paginator(self, operation):
        assert operation == "list_objects_v2"
        return self

    def paginate(self, Bucket, Prefix, Delimiter):
        names = [key[len(Prefix) :] for key in self.objects if key.startswith(Prefix)]
        folders = sorted({Prefix + name.split(Delimiter)[0] + Delimiter for name in names if Delimiter in name})
        contents = [{"Key": Prefix + name} for name in names if Delimiter not in name]
        return [{"Contents": contents, "CommonPrefixes": [{"Prefix": name} for name in folders]}]


def lookup_peak(s3, pairs):
    destination = f"dst-{pairs}"
    write_record(s3, destination, "run-1", {f"key/{n:07d}": pair(n) for n in range(pairs)})
    compact(s3, WORK, destination, chunk_pairs=500)
    served = Served(s3, destination)
    tracemalloc.start()
    try:
        lookup = RecordedPairs(served, WORK, destination)
        for n in range(0, pairs, 7):
            assert lookup(f"key/{n:07d}") == pair(n)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_looking_up_ten_times_more_pairs_takes_about_the_same_memory(s3):
    """One chunk of 500 pairs held, and the index's first key per chunk; the old reader held every pair."""
    lookup_peak(s3, 1000)  # the first run imports and caches what every later one uses
    small, large = lookup_peak(s3, 5_000), lookup_peak(s3, 50_000)

    assert large < 1.5 * small, (small, large)  # the old reader's dict grew tenfold


def small_plan_of_pairs(destination):
    """WriteReport's event for a small plan of 3 copies whose ETags differ from their sources'."""
    run = SyncRun(
        run_id="exec-1",
        source="src",
        destination=destination,
        source_region="us-east-1",
        destination_region="us-east-1",
        work_bucket=WORK,
    )
    entries = [Entry(key, 1, '"e"', "2026-12-01T00:00:00.000+00:00") for key in "abc"]
    items = [{"key": e.key, "reason": "missing from destination", "entry": e.to_json()} for e in entries]
    plan = {
        "cursor": "",
        "done": True,
        "rounds": 1,
        "copyBatches": 0,
        "deleteBatches": 0,
        "skipBatches": 0,
        "totals": {"toCopy": 3},
        "requests": {},
        "inline": {"copy": items, "delete": [], "skip": []},
    }
    copies = {"results": [["copied", None, '"kms"'] for _ in items], "requests": {}}
    return {"run": run.to_json(), "plan": plan, "inlineCopies": copies}


def summary_requests(s3, destination, lock):
    """WriteReport's summary of a small plan of 3 copies whose ETags differ from their sources': its requests."""
    event = small_plan_of_pairs(destination)
    run = SyncRun.from_json(event["run"])
    return write_report.report(run, event, bucket_sync.clients.S3Clients(), lock)["s3Requests"]


class Context:
    """A Lambda context with all its time left."""

    def get_remaining_time_in_millis(self):
        return 900_000


def test_write_report_hands_its_compaction_over_chunk_by_chunk_and_releases_the_lock_at_the_end(s3, monkeypatch):
    write_record(s3, "dst-slow", "20261101T000000-old", {"z": pair(1)})
    compact(s3, WORK, "dst-slow")
    monkeypatch.setattr(write_report, "compact", functools.partial(compact, chunk_pairs=1))
    released = []
    monkeypatch.setattr(write_report, "release", lambda run, clients, lock: released.append(lock["etag"]))
    event = small_plan_of_pairs("dst-slow")
    event["run"]["settings"] = {"maxReportBatchesPerInvocation": 1}
    event["lock"] = {"etag": '"lock"', "requests": {}}
    answers = []
    while not answers or "handover" in answers[-1]:
        answers.append(write_report.handler({**event, "reportWriting": answers[-1] if answers else {}}, Context()))
        assert released == ([] if "handover" in answers[-1] else ['"lock"'])  # only the invocation that ends

    # The report's one batch, then a hand-over per chunk of the new set (a, b, c, z), then the end.
    assert [answer.get("handovers") for answer in answers] == [1, 2, 3, 4, 5, None]
    assert answers[-1]["copied"] == 3
    assert the_set(s3, "dst-slow") == {
        "a": ('"e"', '"kms"'),
        "b": ('"e"', '"kms"'),
        "c": ('"e"', '"kms"'),
        "z": pair(1),
    }
    assert names(s3, "dst-slow") == ["set-000000000002.json"] + [
        f"set-000000000002/00000{n}.jsonl" for n in range(1, 5)
    ]


def test_write_report_holding_the_lock_compacts_and_counts_every_request_of_it(s3):
    write_record(s3, "dst-locked", "20261101T000000-old", {"z": pair(1)})  # a set to merge with, and supersede
    compact(s3, WORK, "dst-locked")

    without_lock = summary_requests(s3, "dst-unlocked", {})
    with_lock = summary_requests(s3, "dst-locked", {"etag": '"lock"', "requests": {"PutObject": 1}})

    assert the_set(s3, "dst-locked") == {
        "a": ('"e"', '"kms"'),
        "b": ('"e"', '"kms"'),
        "c": ('"e"', '"kms"'),
        "z": pair(1),
    }
    assert len(names(s3, "dst-unlocked")) == 1  # without the lock, the record waits for the next run that has it
    # The compaction: a LIST of the folder and one of the old set's chunks; GETs of the old index, its chunk and
    # the run's record; PUTs of the new chunk and index; one DeleteObjects. And the lock's PUT and DELETE.
    assert Counter(with_lock) - Counter(without_lock) == {
        "ListObjectsV2": 2,
        "GetObject": 3,
        "PutObject": 2 + 1,
        "DeleteObjects": 1,
        "DeleteObject": 1,
    }


def test_a_compaction_s3_refuses_leaves_the_record_for_the_next_run_and_the_sync_succeeds(s3, monkeypatch, caplog):
    from botocore.exceptions import ClientError

    real_compact = write_report.compact

    def refused(*args, **kwargs):
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}}, "PutObject")

    monkeypatch.setattr(write_report, "compact", refused)
    summary_requests(s3, "dst-refused", {"etag": '"lock"', "requests": {}})  # returns its summary: no raise

    assert "ETag pairs of dst-refused not compacted, left for the next run" in caplog.text
    assert len(names(s3, "dst-refused")) == 1  # the run's record, as written
    monkeypatch.setattr(write_report, "compact", real_compact)
    summary_requests(s3, "dst-refused", {"etag": '"lock"', "requests": {}})
    assert the_set(s3, "dst-refused") == {key: ('"e"', '"kms"') for key in "abc"}
