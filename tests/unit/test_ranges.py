"""Key ranges: named cases and Hypothesis properties over a simulated bucket (no AWS).

``SimulatedBucket`` answers ListObjectsV2 as S3 does (Prefix, Delimiter, StartAfter, ContinuationToken, MaxKeys,
UTF-8 byte order) and counts the requests, so a range is listed here exactly as a planner would list it.
"""

import bisect
import itertools
import random
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bucket_sync.decide import sort_key
from bucket_sync.listing import Entry
from bucket_sync.ranges import (
    DEFAULT_LIST_RANGES,
    DISCOVERY_REQUESTS,
    FLAT_PROBES,
    KeyRange,
    ListPage,
    ListRequest,
    RangeSplitError,
    Scope,
    choose_boundaries,
    split,
    split_range,
    take_range,
)
from tests.awkward_keys import AWKWARD_KEYS


class SimulatedBucket:
    """The keys of one bucket, listed as ListObjectsV2 lists them; ``requests`` counts the LIST requests."""

    def __init__(self, keys, as_moto: bool = False):
        self.keys = sorted(set(keys), key=sort_key)
        self.requests = 0
        self.probes = 0
        """Of the requests, the one-key listings without a Delimiter that look for a flat level's end."""
        self.as_moto = as_moto
        """Compare common prefixes, not their keys, with StartAfter, as moto 5 does: the common prefix that holds
        StartAfter is then not shown."""

    def list_page(self, request: ListRequest) -> ListPage:
        self.count(request)
        items: list[str] = []
        for key in self.keys:
            if not key.startswith(request.prefix) or sort_key(key) <= sort_key(request.start_after):
                continue
            rest = key[len(request.prefix) :]
            item = key
            if request.delimiter and request.delimiter in rest:
                item = request.prefix + rest[: rest.index(request.delimiter) + len(request.delimiter)]
            if not items or items[-1] != item:  # keys are sorted, so a common prefix's keys are together
                items.append(item)
        if self.as_moto:
            items = [item for item in items if sort_key(item) > sort_key(request.start_after)]
        if request.continuation_token:  # this simulation's token: the last item of the page before
            items = [item for item in items if sort_key(item) > sort_key(request.continuation_token)]
        page = items[: request.max_keys]
        prefixes = {item for item in page if item not in self.keys or self._rolls_up(item, request)}
        return ListPage(
            keys=tuple(item for item in page if item not in prefixes),
            common_prefixes=tuple(item for item in page if item in prefixes),
            next_token=page[-1] if len(items) > request.max_keys else "",
        )

    def count(self, request: ListRequest) -> None:
        self.requests += 1
        self.probes += request.max_keys == 1 and not request.delimiter

    @staticmethod
    def _rolls_up(item: str, request: ListRequest) -> bool:
        return bool(request.delimiter) and request.delimiter in item[len(request.prefix) :]

    def list_range(self, scope: Scope, key_range: KeyRange) -> list[str]:
        """A planner's listing of one range: Prefix and StartAfter, stopped by take_range."""
        listed = (
            entry(key)
            for key in self.keys
            if key.startswith(scope.prefix) and sort_key(key) > sort_key(key_range.start_after)
        )
        return [listed_entry.key for listed_entry in take_range(key_range, listed)]

    def in_scope(self, scope: Scope) -> list[str]:
        return [key for key in self.keys if scope.contains(key)]


class IndexedBucket(SimulatedBucket):
    """``SimulatedBucket`` answering by binary search, for a bucket of 100,000 keys (S3's answers only, not moto's
    common prefix quirk); ``test_the_indexed_bucket_answers_as_the_simulated_one`` checks it against the other."""

    def __init__(self, keys):
        super().__init__(keys)
        self.sort_keys = [sort_key(key) for key in self.keys]

    def list_page(self, request: ListRequest) -> ListPage:
        self.count(request)
        after = max(sort_key(request.start_after), sort_key(request.continuation_token))
        index = max(
            bisect.bisect_right(self.sort_keys, after), bisect.bisect_left(self.sort_keys, sort_key(request.prefix))
        )
        keys: list[str] = []
        items: list[str] = []  # keys and common prefixes, one more than a page if there is more
        while index < len(self.keys) and len(items) <= request.max_keys and self.keys[index].startswith(request.prefix):
            key, rest = self.keys[index], self.keys[index][len(request.prefix) :]
            if request.delimiter and request.delimiter in rest:
                item = request.prefix + rest[: rest.index(request.delimiter) + len(request.delimiter)]
                index = bisect.bisect_left(
                    self.sort_keys, sort_key(item) + b"\xff"
                )  # past its subtree: no UTF-8 byte is FF
            else:
                item, index = key, index + 1
                keys.append(key)
            items.append(item)
        page = items[: request.max_keys]
        return ListPage(
            keys=tuple(item for item in page if item in keys),
            common_prefixes=tuple(item for item in page if item not in keys),
            next_token=page[-1] if len(items) > request.max_keys else "",
        )


def entry(key: str) -> Entry:
    return Entry(key=key, size=0, etag='"e"', last_modified="2026-12-02T00:00:00.000+00:00")


ALPHABET = ["a", "b", "/", " ", "\x00", "\x1f", "\x7f", "\u00e9", "e\u0301", "\uff61", "\U0001f600", "\ud800", "."]
"""Awkward characters: control characters, a combining accent, U+FF61 and U+1F600 (whose UTF-16 order differs
from their UTF-8 order), a lone surrogate, the delimiter."""
KEYS = st.lists(st.sampled_from(ALPHABET), min_size=1, max_size=5).map("".join)
AWKWARD = [param.values[0] for param in AWKWARD_KEYS]
BUCKETS = st.sets(st.one_of(KEYS, st.sampled_from(AWKWARD)), max_size=25)
PREFIXES = st.one_of(st.sampled_from(["", "a", "a/", "\u00e9", "\U0001f600", "d/"]), KEYS)
START_AFTERS = st.one_of(st.just(""), KEYS, st.sampled_from(AWKWARD))
NAMES = st.lists(st.sampled_from([c for c in ALPHABET if c != "/"] + ["+", "%", "0", "9"]), min_size=1, max_size=4)
FLAT_BUCKETS = st.builds(
    lambda prefix, names, others: {prefix + "".join(name) for name in names} | others,
    st.sampled_from(["", "a/", "\u00e9", "d/", "d/" + "\u00e9" * 509]),
    st.lists(NAMES, min_size=4, max_size=24),
    st.sets(st.one_of(KEYS, st.sampled_from(AWKWARD)), max_size=4),
)
"""A flat level of awkward names (no delimiter) under a prefix, up to a 1,024-byte one, and a few other keys:
several pages at the page sizes the properties use, so its end is probed."""


def assert_ranges_cover_exactly(bucket: SimulatedBucket, scope: Scope, ranges: list[KeyRange]) -> None:
    """Each in-scope key in exactly one range and in order, nothing else in any; the ranges chained and non-empty."""
    listed = [key for key_range in ranges for key in bucket.list_range(scope, key_range)]
    assert listed == bucket.in_scope(scope)
    assert ranges[0].start_after == scope.start_after
    assert ranges[-1].end is None
    for before, after in itertools.pairwise(ranges):
        assert before.end == after.start_after
        assert sort_key(before.start_after) < sort_key(before.end)
        assert scope.can_cut_at(before.end)


# -- split ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "boundaries", "expected"),
    [
        pytest.param(Scope(), [], [("", None)], id="no-cut-one-range"),
        pytest.param(Scope("p/", "p/b"), [], [("p/b", None)], id="scope-start-after-starts-the-first"),
        pytest.param(Scope(), ["m", "c", "m"], [("", "c"), ("c", "m"), ("m", None)], id="sorted-once"),
        pytest.param(Scope("p/"), ["o", "q", "p/x"], [("", "p/x"), ("p/x", None)], id="outside-prefix-ignored"),
        pytest.param(Scope("", "k"), ["a", "k", "z"], [("k", "z"), ("z", None)], id="at-or-before-start-ignored"),
        pytest.param(Scope(), ["", "b"], [("", "b"), ("b", None)], id="empty-boundary-ignored"),
        pytest.param(
            Scope(),
            ["\U0001f600", "\uff61"],
            [("", "\uff61"), ("\uff61", "\U0001f600"), ("\U0001f600", None)],
            id="utf8-order-not-utf16",
        ),
    ],
)
def test_split(scope, boundaries, expected):
    assert [(key_range.start_after, key_range.end) for key_range in split(scope, boundaries)] == expected


@settings(max_examples=400, deadline=None)
@given(keys=BUCKETS, prefix=PREFIXES, start_after=START_AFTERS, boundaries=st.lists(st.one_of(KEYS, PREFIXES)))
def test_every_key_in_scope_is_in_exactly_one_range_and_nothing_else_is(keys, prefix, start_after, boundaries):
    bucket, scope = SimulatedBucket(keys), Scope(prefix, start_after)
    assert_ranges_cover_exactly(bucket, scope, split(scope, boundaries))


@settings(max_examples=200, deadline=None)
@given(keys=BUCKETS, prefix=PREFIXES, start_after=START_AFTERS, boundaries=st.lists(KEYS))
def test_a_range_contains_exactly_the_keys_its_listing_yields(keys, prefix, start_after, boundaries):
    bucket, scope = SimulatedBucket(keys), Scope(prefix, start_after)
    for key_range in split(scope, boundaries):
        assert bucket.list_range(scope, key_range) == [key for key in bucket.in_scope(scope) if key_range.contains(key)]


@given(st.lists(st.text(), min_size=2, max_size=10))
def test_utf8_byte_order_is_python_string_order_surrogates_and_astral_characters_included(texts):
    assert sorted(texts, key=sort_key) == sorted(texts)


def test_a_range_travels_through_json():
    for key_range in (KeyRange(), KeyRange("a\x00", "\U0001f600/")):
        assert KeyRange.from_json(key_range.to_json()) == key_range


# -- take_range ------------------------------------------------------------------------------------------------------


def test_a_range_stops_listing_at_its_end_without_asking_for_one_more_entry():
    pulled = []

    def listing():
        for key in ("b", "c", "d", "e"):
            pulled.append(key)
            yield entry(key)

    assert [listed.key for listed in take_range(KeyRange("a", "c"), listing())] == ["b", "c"]
    assert pulled == ["b", "c"]  # "d" might be on the next page: not asked for


def test_a_range_stops_at_the_first_key_past_an_end_that_is_not_a_key():
    assert [listed.key for listed in take_range(KeyRange("", "c/"), map(entry, ["c", "c0", "d"]))] == ["c"]


# -- split_range -----------------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(keys=BUCKETS, prefix=PREFIXES, boundaries=st.lists(KEYS), key=KEYS)
def test_splitting_a_range_keeps_its_keys_each_in_one_half(keys, prefix, boundaries, key):
    bucket, scope = SimulatedBucket(keys), Scope(prefix)
    for key_range in split(scope, boundaries):
        inside = sort_key(key) > sort_key(key_range.start_after) and (
            key_range.end is None or sort_key(key) < sort_key(key_range.end)
        )
        if not inside:
            with pytest.raises(RangeSplitError):
                split_range(key_range, key)
            continue
        first, second = split_range(key_range, key)
        assert (first.start_after, first.end, second.start_after, second.end) == (
            key_range.start_after, key, key, key_range.end,
        )  # fmt: skip
        assert bucket.list_range(scope, first) + bucket.list_range(scope, second) == bucket.list_range(scope, key_range)


@pytest.mark.parametrize(
    "key", [pytest.param("a", id="at-start"), pytest.param("m", id="at-end"), pytest.param("z", id="past-end")]
)
def test_a_range_refuses_to_split_at_a_key_not_strictly_inside_it(key):
    with pytest.raises(RangeSplitError, match="not strictly inside"):
        split_range(KeyRange("a", "m"), key)


# -- choose_boundaries -----------------------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(
    keys=st.one_of(BUCKETS, FLAT_BUCKETS),
    prefix=PREFIXES,
    start_after=START_AFTERS,
    max_ranges=st.integers(1, 6),
    max_requests=st.integers(0, 5),
    page_size=st.integers(1, 4),
    as_moto=st.booleans(),
    max_probes=st.integers(0, FLAT_PROBES),
)
def test_chosen_boundaries_are_few_increasing_and_inside_the_scope(
    keys, prefix, start_after, max_ranges, max_requests, page_size, as_moto, max_probes
):
    bucket, scope = SimulatedBucket(keys, as_moto), Scope(prefix, start_after)
    boundaries = choose_boundaries(bucket.list_page, scope, max_ranges, max_requests, 1, page_size, max_probes)
    assert len(boundaries) <= max_ranges - 1
    assert all(scope.can_cut_at(boundary) for boundary in boundaries)
    assert all(sort_key(a) < sort_key(b) for a, b in itertools.pairwise(boundaries))
    assert bucket.probes <= max_probes
    assert bucket.requests - bucket.probes <= max_requests
    assert all(fits_a_key(boundary) for boundary in boundaries if boundary not in bucket.keys)
    assert_ranges_cover_exactly(bucket, scope, split(scope, boundaries))


def fits_a_key(boundary: str) -> bool:
    """A boundary that is not a key came from an interpolation: UTF-8 (no lone surrogate) and at most 1,024 bytes."""
    try:
        return len(boundary.encode("utf-8")) <= 1024
    except UnicodeEncodeError:
        return False


def sizes(bucket: SimulatedBucket, scope: Scope, boundaries) -> list[int]:
    return [len(bucket.list_range(scope, key_range)) for key_range in split(scope, boundaries)]


def test_many_top_level_prefixes_cut_evenly_with_one_request():
    bucket = SimulatedBucket(f"customer-{c:03d}/file-{f}" for c in range(100) for f in range(20))
    boundaries = choose_boundaries(bucket.list_page, Scope(), 4, min_range_keys=1)
    assert boundaries == ("customer-025/", "customer-050/", "customer-075/")
    assert bucket.requests == 1
    assert sizes(bucket, Scope(), boundaries) == [500, 500, 500, 500]


def test_keys_that_share_one_long_prefix_are_cut_below_it_at_one_request_a_level():
    bucket = SimulatedBucket(f"data/2026/12/{day:02d}/{n}" for day in range(1, 31) for n in range(10))
    boundaries = choose_boundaries(bucket.list_page, Scope(), 3, min_range_keys=1)
    assert boundaries == ("data/2026/12/11/", "data/2026/12/21/")
    assert bucket.requests == 4  # "", data/, data/2026/, data/2026/12/
    assert sizes(bucket, Scope(), boundaries) == [100, 100, 100]


def test_keys_mostly_in_one_place_are_cut_there():
    keys = ["a/1", "a/2", *(f"b/{folder:02d}/{n}" for folder in range(40) for n in range(50)), "c/1"]
    bucket = SimulatedBucket(keys)
    boundaries = choose_boundaries(bucket.list_page, Scope(), 4, min_range_keys=1)
    assert all(boundary.startswith("b/") for boundary in boundaries[:2])
    assert len(boundaries) == 3
    assert max(sizes(bucket, Scope(), boundaries)) <= 750  # 2003 keys in 4 ranges, none above 3/8 of them


def test_a_scope_inside_a_prefix_and_after_a_key_is_cut_inside_itself():
    bucket = SimulatedBucket(f"{top}/{folder:02d}/{n}" for top in "abc" for folder in range(20) for n in range(5))
    scope = Scope("b/", "b/09/4")
    boundaries = choose_boundaries(bucket.list_page, scope, 2, min_range_keys=1)
    assert boundaries == ("b/15/",)
    assert sizes(bucket, scope, boundaries) == [25, 25]  # b/10/ to b/14/, then b/15/ to b/19/


def test_a_flat_bucket_larger_than_a_page_is_not_cut_from_its_first_page_without_probes():
    bucket = SimulatedBucket(f"object-{n:05d}" for n in range(2500))
    assert choose_boundaries(bucket.list_page, Scope(), DEFAULT_LIST_RANGES, max_probes=0) == ()
    assert bucket.requests == 1  # the rest of a flat level is opaque: looking further would list it all


def numbered_keys(count: int) -> IndexedBucket:
    return IndexedBucket(f"k/{n:07d}" for n in range(count))


def test_a_flat_level_of_100000_numbered_keys_is_cut_evenly_from_a_few_probes():
    bucket, scope = numbered_keys(100_000), Scope()
    boundaries = choose_boundaries(bucket.list_page, scope, DEFAULT_LIST_RANGES)
    counts = sizes(bucket, scope, boundaries)
    print(
        f"k/{{n:07d}} x 100,000: {len(boundaries)} cuts, {bucket.requests} requests ({bucket.probes} probes), {counts}"
    )
    assert len(counts) >= 12
    assert max(counts) <= 2 * 100_000 / len(counts)
    # Two Delimiter listings ("" shows k/, k/ its first page), then 3 probes find that the end shares k/00 with
    # the page (a binary search on the length of k/0000) and 1 per digit past it, two digits (100 steps) for 16.
    assert bucket.requests - bucket.probes == 2
    assert bucket.probes <= 5
    assert_ranges_cover_exactly(bucket, scope, split(scope, boundaries))


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param("uploads/{hex}", id="hex"),
        pytest.param("images/{uuid}.jpg", id="uuid-jpg"),
    ],
)
def test_a_flat_level_of_random_uuids_is_cut_evenly(layout):
    generator = random.Random(20261202)
    names = (uuid.UUID(int=generator.getrandbits(128), version=4) for _ in range(20_000))
    bucket = IndexedBucket(layout.format(hex=name.hex, uuid=name) for name in names)
    scope = Scope(layout.split("/")[0] + "/")
    boundaries = choose_boundaries(bucket.list_page, scope, DEFAULT_LIST_RANGES)
    counts = sizes(bucket, scope, boundaries)
    print(f"{layout} x 20,000: {len(boundaries)} cuts, {bucket.requests} requests ({bucket.probes} probes), {counts}")
    assert len(counts) >= 12
    assert max(counts) <= 2 * 20_000 / len(counts)
    assert bucket.requests <= DISCOVERY_REQUESTS + FLAT_PROBES
    assert_ranges_cover_exactly(bucket, scope, split(scope, boundaries))


def test_a_flat_level_of_awkward_names_over_several_pages_is_probed_and_cut():
    names = [f"{a}{b}" for a in ("\x01", " ", "+", "%", "0", "a", "\u00e9", "e\u0301", "\U0001f600") for b in "09az"]
    bucket, scope = SimulatedBucket(f"d/{name}" for name in names), Scope("d/")
    boundaries = choose_boundaries(bucket.list_page, scope, 4, min_range_keys=1, page_size=5)
    assert bucket.probes > 0
    assert len(boundaries) == 3
    assert all(fits_a_key(boundary) for boundary in boundaries)
    assert_ranges_cover_exactly(bucket, scope, split(scope, boundaries))


@settings(max_examples=300, deadline=None)
@given(
    keys=st.one_of(BUCKETS, FLAT_BUCKETS),
    prefix=PREFIXES,
    start_after=START_AFTERS,
    delimiter=st.sampled_from(["", "/"]),
    max_keys=st.integers(1, 4),
    token=st.one_of(st.just(""), KEYS),
)
def test_the_indexed_bucket_answers_as_the_simulated_one(keys, prefix, start_after, delimiter, max_keys, token):
    request = ListRequest(prefix, start_after, token, delimiter, max_keys)
    assert IndexedBucket(keys).list_page(request) == SimulatedBucket(keys).list_page(request)


def test_a_flat_bucket_of_one_page_is_cut_among_its_keys():
    bucket = SimulatedBucket(f"object-{n:02d}" for n in range(40))
    boundaries = choose_boundaries(bucket.list_page, Scope(), 4, min_range_keys=1)
    assert sizes(bucket, Scope(), boundaries) == [10, 10, 10, 10]


def test_ranges_lighter_than_the_minimum_are_not_cut():
    bucket = SimulatedBucket(f"object-{n:02d}" for n in range(40))
    boundaries = choose_boundaries(bucket.list_page, Scope(), 4, min_range_keys=20)
    assert boundaries == ("object-19",)
    assert sizes(bucket, Scope(), boundaries) == [20, 20]
    assert choose_boundaries(bucket.list_page, Scope(), 4) == ()  # the default: a page


def test_one_range_asks_nothing():
    bucket = SimulatedBucket(["a/1", "b/1"])
    assert choose_boundaries(bucket.list_page, Scope(), 1) == ()
    assert bucket.requests == 0


def test_no_range_at_all_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        choose_boundaries(SimulatedBucket([]).list_page, Scope(), 0)


@pytest.mark.parametrize("as_moto", [pytest.param(False, id="s3"), pytest.param(True, id="moto")])
def test_a_start_after_deep_inside_a_subtree_still_applies_when_discovery_looks_inside_it(as_moto):
    keys = [*(f"b/{folder:02d}/{n}" for folder in range(20) for n in range(5)), "b.txt", "a/1"]
    bucket = SimulatedBucket(keys, as_moto)
    scope = Scope("", "b/10/")
    boundaries = choose_boundaries(bucket.list_page, scope, 2, min_range_keys=1)
    assert boundaries == ("b/15/",)
    assert sizes(bucket, scope, boundaries) == [25, 25]
