"""Key ranges against moto's S3, in process: discovery through ``s3_page_lister``, and each range listed as a
planner lists it (``list_entries`` from the range's startAfter, stopped by ``take_range``), with its LIST requests
counted by the sync's own ``RequestCounter``."""

import boto3
import pytest
from moto import mock_aws

from bucket_sync.listing import list_entries
from bucket_sync.ranges import (
    DISCOVERY_REQUESTS,
    FLAT_PROBES,
    ListRequest,
    Scope,
    choose_boundaries,
    s3_page_lister,
    split,
    take_range,
)
from bucket_sync.requests import RequestCounter
from tests.awkward_keys import AWKWARD_KEYS
from tests.unit.test_ranges import SimulatedBucket

BUCKET = "ranges-source"
AWKWARD = [param.values[0] for param in AWKWARD_KEYS]
KEYS = [
    *AWKWARD,
    *(f"logs/{day:02d}/{n}" for day in range(1, 21) for n in range(6)),
    *(f"data/{kind}/{n:03d}" for kind in ("a", "b", "c") for n in range(30)),
    "data/",
    "data",
    "logs/\x01ctl",
]


@pytest.fixture(scope="module")
def session():
    return boto3.session.Session()


@pytest.fixture
def s3(session):
    with mock_aws():
        client = session.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        for key in KEYS:
            client.put_object(Bucket=BUCKET, Key=key, Body=b"")
        counter = RequestCounter()
        counter.attach(client)
        client.counter = counter
        yield client


def lists(s3) -> int:
    return s3.counter.snapshot().get("ListObjectsV2", 0)


SCOPES = [
    pytest.param(Scope(), id="whole-bucket"),
    pytest.param(Scope("logs/"), id="prefix"),
    pytest.param(Scope("logs/", "logs/07/3"), id="prefix-and-start-after"),
    pytest.param(Scope("", "data/b"), id="start-after-inside-a-subtree"),
    pytest.param(Scope("data"), id="prefix-that-is-a-key"),
]


@pytest.mark.parametrize("scope", SCOPES)
def test_the_ranges_chosen_from_s3_list_exactly_the_scope(s3, scope):
    boundaries = choose_boundaries(s3_page_lister(s3, BUCKET), scope, 4, max_requests=3, min_range_keys=1)
    assert lists(s3) <= 3
    ranges = split(scope, boundaries)
    assert len(ranges) > 1
    listed = [
        entry.key
        for key_range in ranges
        for entry in take_range(key_range, list_entries(s3, BUCKET, scope.prefix, key_range.start_after, page_size=7))
    ]
    assert listed == [entry.key for entry in list_entries(s3, BUCKET, scope.prefix, scope.start_after)]


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(ListRequest(""), id="top-level"),
        pytest.param(ListRequest("logs/"), id="below-a-prefix"),
        pytest.param(ListRequest("data/", start_after="data/b"), id="start-after-just-before-a-common-prefix"),
        # Not compared: a StartAfter inside a common prefix (logs/05/1), which moto leaves out and S3 shows
        # (bucket_sync.ranges._listing_start works with either; the unit tests simulate both).
        pytest.param(ListRequest("data", max_keys=2), id="truncated"),
        pytest.param(ListRequest("", delimiter=""), id="no-delimiter"),
    ],
)
def test_the_simulated_bucket_of_the_unit_tests_answers_as_s3(s3, request_):
    """The unit tests' properties hold for S3 only as far as their simulation answers as S3 does."""
    answer, simulated = s3_page_lister(s3, BUCKET)(request_), SimulatedBucket(KEYS).list_page(request_)
    assert (answer.keys, answer.common_prefixes) == (simulated.keys, simulated.common_prefixes)
    assert bool(answer.next_token) == bool(simulated.next_token)


def test_cutting_the_scope_costs_at_most_one_list_page_per_cut(s3):
    single_stream = lists(s3)
    list(list_entries(s3, BUCKET, "logs/", page_size=10))
    single_stream = lists(s3) - single_stream
    ranges = split(Scope("logs/"), ["logs/04/", "logs/09/2", "logs/15/"])
    before = lists(s3)
    for key_range in ranges:
        list(take_range(key_range, list_entries(s3, BUCKET, "logs/", key_range.start_after, page_size=10)))
    assert single_stream == 13  # 121 keys
    assert lists(s3) - before <= single_stream + len(ranges) - 1


def test_a_range_that_ends_with_the_last_key_of_a_page_costs_no_further_page(s3):
    tenth_key = [entry.key for entry in list_entries(s3, BUCKET, "logs/")][9]
    (first, _) = split(Scope("logs/"), [tenth_key])
    before = lists(s3)
    assert len(list(take_range(first, list_entries(s3, BUCKET, "logs/", first.start_after, page_size=10)))) == 10
    assert lists(s3) - before == 1


FLAT_KEYS = 3000


@pytest.fixture
def flat_s3(session):
    with mock_aws():
        client = session.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        for key in ("flat", "flat/", "flat0", *AWKWARD, *(f"flat/{n:05d}" for n in range(FLAT_KEYS))):
            client.put_object(Bucket=BUCKET, Key=key, Body=b"")
        counter = RequestCounter()
        counter.attach(client)
        client.counter = counter
        yield client


def test_a_flat_level_of_several_pages_is_cut_evenly_through_probes_of_s3(flat_s3):
    scope = Scope("flat/")
    boundaries = choose_boundaries(s3_page_lister(flat_s3, BUCKET), scope, 8, min_range_keys=100, page_size=100)
    discovery = lists(flat_s3)
    listed = [
        [
            entry.key
            for entry in take_range(key_range, list_entries(flat_s3, BUCKET, scope.prefix, key_range.start_after))
        ]
        for key_range in split(scope, boundaries)
    ]
    counts = [len(keys) for keys in listed]
    print(f"flat/{{n:05d}} x {FLAT_KEYS:,}: {len(boundaries)} cuts, {discovery} requests, {counts}")
    assert discovery <= DISCOVERY_REQUESTS + FLAT_PROBES
    assert len(counts) >= 6
    assert max(counts) <= 2 * (FLAT_KEYS + 1) / len(counts)  # flat/ itself is a key of the scope too
    assert [key for keys in listed for key in keys] == [entry.key for entry in list_entries(flat_s3, BUCKET, "flat/")]
