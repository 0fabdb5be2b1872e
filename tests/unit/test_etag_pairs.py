"""ETag pairs without S3: the merge of sorted pair streams, the record format, and the merge's memory.

The compacted set in the work bucket (chunks, index, crash states, what the planner reads) is tested against moto
in tests/functional/test_etag_pairs.py.
"""

import io
import json
import tracemalloc

import pytest
from botocore.response import StreamingBody
from hypothesis import given
from hypothesis import strategies as st

from bucket_sync.decide import sort_key
from bucket_sync.etag_pairs import PART_BYTES, PairOrderError, RecordStream, SetWriter, merge, read_record

KEYS = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=6)
ETAGS = st.sampled_from(['"a"', '"b"', '"c-2"'])
RUNS = st.lists(st.dictionaries(KEYS, st.tuples(ETAGS, ETAGS), max_size=12), max_size=6)


def in_key_order(pairs):
    return [(key, *pairs[key]) for key in sorted(pairs, key=sort_key)]


@given(RUNS)
def test_merging_runs_oldest_first_gives_their_dict_fold_in_key_order_newest_winning(runs):
    folded = {}
    for run in runs:
        folded.update(run)

    assert list(merge(*(in_key_order(run) for run in runs))) == in_key_order(folded)


@given(RUNS, st.integers(1, 5))
def test_merging_in_two_steps_is_merging_at_once(runs, cut):
    """What compaction relies on: a set merged from earlier runs, merged with the later ones, is the fold of all."""
    earlier = list(merge(*(in_key_order(run) for run in runs[:cut])))

    assert list(merge(earlier, *(in_key_order(run) for run in runs[cut:]))) == list(
        merge(*(in_key_order(run) for run in runs))
    )


@pytest.mark.parametrize(
    "stream",
    [
        pytest.param([("b", '"s"', '"d"'), ("a", '"s"', '"d"')], id="descending"),
        pytest.param([("a", '"s"', '"d"'), ("a", '"s"', '"e"')], id="repeated"),
        pytest.param([("\U00010000", '"s"', '"d"'), ("\uffff", '"s"', '"d"')], id="utf-16-order-is-not-s3s"),
    ],
)
def test_a_stream_out_of_key_order_is_refused(stream):
    with pytest.raises(PairOrderError, match="out of order"):
        list(merge(stream))


class Collect:
    def __init__(self):
        self.data = bytearray()

    def write(self, chunk):
        self.data += chunk


class ServeBody:
    """get_object of one body, as botocore streams it."""

    def __init__(self, body):
        self.body = body

    def get_object(self, Bucket, Key):
        return {"Body": StreamingBody(io.BytesIO(self.body), len(self.body))}


AWKWARD = [("a\nb", '"s"', '"d"'), ("c\r\u2028d", '"s"', '"d"'), ("é ?%2F+", '"s"', '"d"'), ("z]}", '"s"', '"d"')]


def test_a_record_is_json_with_a_pair_a_line_and_reads_back_as_streamed():
    out = Collect()
    record = RecordStream(out)
    for pair in AWKWARD:
        record.add(*pair)
    record.finish()

    assert json.loads(out.data)["pairs"] == [list(pair) for pair in AWKWARD]
    assert len(out.data.splitlines()) == len(AWKWARD) + 2
    assert list(read_record(ServeBody(bytes(out.data)), "work", "record")) == AWKWARD


def test_a_record_of_the_earlier_one_line_format_reads_back_sorted_its_last_pair_of_a_key_winning():
    legacy = json.dumps({"pairs": [["b", '"1"', '"2"'], ["a", '"1"', '"2"'], ["b", '"3"', '"4"']]}).encode()

    assert list(read_record(ServeBody(legacy), "work", "record")) == [("a", '"1"', '"2"'), ("b", '"3"', '"4"')]


class DiscardPuts:
    """A work bucket that forgets what is written: the merge's own memory is what is measured."""

    def put_object(self, Bucket, Key, Body, ContentType):
        pass


def merged_peak(pairs):
    def old_set():
        return ((f"key/{n:08d}", '"s"', '"d"') for n in range(0, pairs, 2))

    def record():
        return ((f"key/{n:08d}", '"s"', '"e"') for n in range(0, pairs, 3))

    tracemalloc.start()
    try:
        writer = SetWriter(DiscardPuts(), "work", "dst", 2, part_bytes=PART_BYTES, chunk_pairs=1000)
        for pair in merge(old_set(), record()):
            writer.add(pair)
        writer.finish(["record"])
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_merging_ten_times_more_pairs_takes_about_the_same_memory():
    """One chunk of 1,000 pairs held (its bytes, until they are put), and an index entry per chunk: not the
    pairs. (The old reader's dict of every pair grew tenfold.)"""
    merged_peak(100)  # the first run imports and caches what every later one uses
    small, large = merged_peak(10_000), merged_peak(100_000)

    assert large < 2 * small, (small, large)
