"""The sync decision: every case named (as rclone's TestMatchListings), then properties with Hypothesis."""

import glob

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bucket_sync.decide import Action, Check, ListingOrderError, Reason, check_of, in_scope, march, sort_key
from bucket_sync.filters import KeyFilter, Rule
from bucket_sync.listing import Entry
from tests.awkward_keys import AWKWARD_KEYS

T0, T1 = "2026-01-01T00:00:00.000+00:00", "2026-01-02T00:00:00.000+00:00"


def entry(key, size=1, etag='"a"', modified=T0, storage_class="STANDARD", restore=""):
    return Entry(key=key, size=size, etag=etag, last_modified=modified, storage_class=storage_class, restore=restore)


CASES = [
    ("only-in-source", [entry("k")], [], [("k", Action.COPY, Reason.MISSING.value)]),
    ("only-in-destination", [], [entry("k")], [("k", Action.DELETE, Reason.ORPHANED.value)]),
    ("same", [entry("k")], [entry("k", modified=T1)], [("k", Action.UNCHANGED, Reason.SAME.value)]),
    ("same-second", [entry("k")], [entry("k")], [("k", Action.UNCHANGED, Reason.SAME.value)]),
    ("size-differs", [entry("k", size=2)], [entry("k", modified=T1)], [("k", Action.COPY, Reason.SIZE_DIFFERS.value)]),
    (
        "etag-differs",
        [entry("k", etag='"b"')],
        [entry("k", modified=T1)],
        [("k", Action.COPY, Reason.CONTENT_DIFFERS.value)],
    ),
    (
        "source-newer-same-content",
        [entry("k", modified=T1)],
        [entry("k")],
        [("k", Action.COPY, Reason.SOURCE_NEWER.value)],
    ),
    (
        "multipart-same",
        [entry("k", etag='"x-3"')],
        [entry("k", etag='"x-3"', modified=T1)],
        [("k", Action.UNCHANGED, Reason.SAME.value)],
    ),
    (
        "glacier-not-copied",
        [entry("k", storage_class="GLACIER")],
        [],
        [("k", Action.SKIP, "archived in GLACIER, not restored: restore it to copy it")],
    ),
    (
        "deep-archive-not-copied",
        [entry("k", storage_class="DEEP_ARCHIVE")],
        [],
        [("k", Action.SKIP, "archived in DEEP_ARCHIVE, not restored: restore it to copy it")],
    ),
    ("glacier-ir-copied", [entry("k", storage_class="GLACIER_IR")], [], [("k", Action.COPY, Reason.MISSING.value)]),
    (
        "restored-glacier-copied",
        [entry("k", storage_class="GLACIER", restore="restored")],
        [],
        [("k", Action.COPY, Reason.MISSING.value)],
    ),
    (
        "restored-deep-archive-changed-copied",
        [entry("k", size=2, storage_class="DEEP_ARCHIVE", restore="restored")],
        [entry("k", modified=T1)],
        [("k", Action.COPY, Reason.SIZE_DIFFERS.value)],
    ),
    (
        "restoring-glacier-waits",
        [entry("k", storage_class="GLACIER", restore="restoring")],
        [],
        [
            (
                "k",
                Action.SKIP,
                "archived in GLACIER, its restore still in progress: the first run after it completes copies it",
            )
        ],
    ),
    (
        "archived-and-already-equal-is-unchanged",
        [entry("k", storage_class="GLACIER")],
        [entry("k", modified=T1, storage_class="GLACIER")],
        [("k", Action.UNCHANGED, Reason.SAME.value)],
    ),
    (
        "archived-and-changed-skipped",
        [entry("k", size=2, storage_class="GLACIER")],
        [entry("k", modified=T1)],
        [("k", Action.SKIP, "archived in GLACIER, not restored: restore it to copy it")],
    ),
    (
        "interleaved",
        [entry("a"), entry("c"), entry("e")],
        [entry("b"), entry("c", modified=T1), entry("d")],
        [
            ("a", Action.COPY, Reason.MISSING.value),
            ("b", Action.DELETE, Reason.ORPHANED.value),
            ("c", Action.UNCHANGED, Reason.SAME.value),
            ("d", Action.DELETE, Reason.ORPHANED.value),
            ("e", Action.COPY, Reason.MISSING.value),
        ],
    ),
    (
        "folder-marker-and-children",
        [entry("dir/"), entry("dir/x")],
        [entry("dir/x", modified=T1)],
        [("dir/", Action.COPY, Reason.MISSING.value), ("dir/x", Action.UNCHANGED, Reason.SAME.value)],
    ),
    (
        "nfc-and-nfd-are-two-keys",
        [entry("caf\u00e9")],
        [entry("cafe\u0301")],
        [("cafe\u0301", Action.DELETE, Reason.ORPHANED.value), ("caf\u00e9", Action.COPY, Reason.MISSING.value)],
    ),
    (
        "utf8-byte-order-not-code-point-order",
        [entry("\uff61"), entry("\U0001f600")],
        [],
        [("\uff61", Action.COPY, Reason.MISSING.value), ("\U0001f600", Action.COPY, Reason.MISSING.value)],
    ),
    ("both-empty", [], [], []),
]


@pytest.mark.parametrize(("source", "destination", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_march(source, destination, expected):
    assert [(d.key, d.action, d.reason) for d in march(source, destination)] == expected


PAIR = {"k": ('"kms-source"', '"kms-destination"')}


@pytest.mark.parametrize(
    ("source", "destination", "expected"),
    [
        pytest.param(
            entry("k", etag='"kms-source"'),
            entry("k", etag='"kms-destination"', modified=T1),
            (Action.UNCHANGED, Reason.SAME_AS_COPIED.value),
            id="recorded-pair-is-unchanged",
        ),
        pytest.param(
            entry("k", etag='"kms-source-2"'),
            entry("k", etag='"kms-destination"', modified=T1),
            (Action.COPY, Reason.CONTENT_DIFFERS.value),
            id="source-changed-breaks-the-pair",
        ),
        pytest.param(
            entry("k", etag='"kms-source"'),
            entry("k", etag='"other"', modified=T1),
            (Action.COPY, Reason.CONTENT_DIFFERS.value),
            id="destination-changed-breaks-the-pair",
        ),
        pytest.param(
            entry("k", etag='"kms-source"', modified=T1),
            entry("k", etag='"kms-destination"'),
            (Action.COPY, Reason.CONTENT_DIFFERS.value),
            id="recorded-pair-but-source-newer",
        ),
        pytest.param(
            entry("k", size=2, etag='"kms-source"'),
            entry("k", etag='"kms-destination"', modified=T1),
            (Action.COPY, Reason.SIZE_DIFFERS.value),
            id="recorded-pair-but-size-differs",
        ),
    ],
)
def test_recorded_etag_pairs(source, destination, expected):
    [decision] = march([source], [destination], PAIR.get)
    assert (decision.action, decision.reason) == expected


def test_records_are_consulted_only_for_a_destination_newer_than_its_differing_source():
    looked_up = []
    list(
        march(
            [entry("a"), entry("b", size=2), entry("c", etag='"new"', modified=T1), entry("d", etag='"x"')],
            [entry("a"), entry("b"), entry("c"), entry("d", modified=T1)],
            lambda key: looked_up.append(key),
        )
    )
    assert looked_up == ["d"]


@pytest.mark.parametrize("side", ["source", "destination"])
def test_an_out_of_order_listing_fails_loudly_instead_of_deleting(side):
    unordered = [entry("b"), entry("a")]
    listings = {"source": [], "destination": [], side: unordered}
    with pytest.raises(ListingOrderError, match=f"{side} listing is out of order at 'a'"):
        list(march(listings["source"], listings["destination"]))


def test_a_repeated_key_is_out_of_order():
    with pytest.raises(ListingOrderError):
        list(march([entry("a"), entry("a")], []))


KEYS = st.lists(
    st.sampled_from(["a", "b", "/", " ", "+", "%", "\u00e9", "e\u0301", "\U0001f600", "\uff61", "."]),
    min_size=1,
    max_size=5,
).map("".join)
OBJECTS = st.dictionaries(
    KEYS, st.tuples(st.integers(0, 3), st.sampled_from(['"a"', '"b"', '"c-2"']), st.sampled_from([T0, T1])), max_size=12
)


def listing(bucket, prefix, start_after):
    return [
        entry(k, size, etag, modified)
        for k, (size, etag, modified) in sorted(bucket.items(), key=lambda kv: sort_key(kv[0]))
        if in_scope(k, prefix, start_after)
    ]


@settings(max_examples=300, deadline=None)
@given(
    source=OBJECTS,
    destination=OBJECTS,
    prefix=st.sampled_from(["", "a", "b/", "\u00e9"]),
    start_after=st.one_of(st.just(""), KEYS),
)
def test_applying_the_plan_mirrors_the_scope_and_touches_nothing_outside_it(source, destination, prefix, start_after):
    result = dict(destination)
    for decision in march(listing(source, prefix, start_after), listing(destination, prefix, start_after)):
        assert in_scope(decision.key, prefix, start_after)
        if decision.action is Action.COPY:
            result[decision.key] = source[decision.key][:2] + (T1,)  # a copy is newer than its source
        elif decision.action is Action.DELETE:
            del result[decision.key]
        elif decision.action is Action.UNCHANGED:
            assert source[decision.key][:2] == destination[decision.key][:2]
    scoped = {k: v[:2] for k, v in source.items() if in_scope(k, prefix, start_after)}
    assert {k: v[:2] for k, v in result.items() if in_scope(k, prefix, start_after)} == scoped
    assert {k: v for k, v in result.items() if not in_scope(k, prefix, start_after)} == {
        k: v for k, v in destination.items() if not in_scope(k, prefix, start_after)
    }


@settings(max_examples=200, deadline=None)
@given(source=OBJECTS, destination=OBJECTS)
def test_a_second_pass_after_applying_the_plan_finds_nothing_to_do(source, destination):
    result = dict(destination)
    for decision in march(listing(source, "", ""), listing(destination, "", "")):
        if decision.action is Action.COPY:
            result[decision.key] = source[decision.key][:2] + (T1,)
        elif decision.action is Action.DELETE:
            del result[decision.key]
    again = march(listing(source, "", ""), listing(result, "", ""))
    assert [d for d in again if d.action is not Action.UNCHANGED] == []


# --- filters, copy mode and a check's verdicts --------------------------------------------------------------------


def key_filter(*rules, prefix=""):
    return KeyFilter([Rule(kind, pattern) for kind, pattern in rules], prefix)


@pytest.mark.parametrize(
    ("rules", "key", "included"),
    [
        pytest.param([], "anything", True, id="no-filters-include-all"),
        pytest.param([("exclude", "*.tmp")], "a/b/c.tmp", False, id="star-crosses-slashes"),
        pytest.param([("exclude", "*.tmp")], "c.tmp.txt", True, id="pattern-matches-whole-key"),
        pytest.param([("exclude", "*"), ("include", "*.csv")], "x/y.csv", True, id="later-include-wins"),
        pytest.param([("include", "*.csv"), ("exclude", "*")], "x/y.csv", False, id="later-exclude-wins"),
        pytest.param([("exclude", "?.txt")], "ab.txt", True, id="question-mark-is-one-character"),
        pytest.param([("exclude", "?.txt")], "\U0001f600.txt", False, id="question-mark-takes-an-emoji"),
        pytest.param([("exclude", "[ab]*")], "b1", False, id="set"),
        pytest.param([("exclude", "[!ab]*")], "b1", True, id="negated-set"),
        pytest.param([("exclude", "*.TMP")], "x.tmp", True, id="case-sensitive"),
        pytest.param([("exclude", "a b+c%2F?.txt")], "a b+c%2F?.txt", False, id="awkward-literal"),
        pytest.param([("exclude", "a b+c%2F?.txt")], "a b+c%2Fx.txt", False, id="awkward-question-mark"),
        pytest.param([("exclude", "dir//*")], "dir//x", False, id="double-slash"),
        pytest.param([("exclude", "[")], "[", False, id="unclosed-bracket-is-literal"),
        pytest.param([("exclude", "*\n*")], "line\nbreak", False, id="newline-in-key"),
    ],
)
def test_filters_as_aws_s3_sync_applies_them(rules, key, included):
    assert key_filter(*rules).includes(key) is included


def test_patterns_match_the_key_after_the_prefix():
    rules = key_filter(("exclude", "tmp/*"), prefix="data/")

    assert (rules.includes("data/tmp/x"), rules.includes("data/keep/tmp/x")) == (False, True)


def test_an_excluded_key_is_never_copied_nor_deleted_whichever_side_has_it():
    rules = key_filter(("exclude", "*.tmp"))
    source = [entry("a.tmp"), entry("b.txt"), entry("c.tmp", size=9)]
    destination = [entry("b.txt"), entry("c.tmp"), entry("d.tmp")]

    decided = [(d.key, d.action, d.reason) for d in march(source, destination, key_filter=rules)]

    excluded = "excluded by the filter exclude '*.tmp'"
    assert decided == [
        ("a.tmp", Action.EXCLUDE, excluded),
        ("b.txt", Action.UNCHANGED, Reason.SAME.value),
        ("c.tmp", Action.EXCLUDE, excluded),
        ("d.tmp", Action.EXCLUDE, excluded),
    ]


def test_without_deletes_an_orphan_is_kept():
    decided = [(d.key, d.action, d.reason) for d in march([], [entry("k")], deletes=False)]

    assert decided == [("k", Action.KEEP, Reason.KEPT.value)]


PATTERNS = st.lists(
    st.tuples(st.sampled_from(["exclude", "include"]), st.sampled_from(["*", "a*", "*b", "?", "*/*", "[ab]*", "é*"])),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(source=OBJECTS, destination=OBJECTS, rules=PATTERNS, deletes=st.booleans())
def test_a_filtered_plan_mirrors_the_included_keys_and_leaves_every_excluded_one_as_it_was(
    source, destination, rules, deletes
):
    chosen = key_filter(*rules)
    result = dict(destination)
    for decision in march(listing(source, "", ""), listing(destination, "", ""), key_filter=chosen, deletes=deletes):
        assert (decision.action is Action.EXCLUDE) is not chosen.includes(decision.key)
        if decision.action is Action.COPY:
            result[decision.key] = source[decision.key][:2] + (T1,)
        elif decision.action is Action.DELETE:
            del result[decision.key]
    included = {k: v[:2] for k, v in source.items() if chosen.includes(k)}
    kept = {} if deletes else {k: v[:2] for k, v in destination.items() if chosen.includes(k) and k not in source}
    assert {k: v[:2] for k, v in result.items() if chosen.includes(k)} == {**kept, **included}
    assert {k: v for k, v in result.items() if not chosen.includes(k)} == {
        k: v for k, v in destination.items() if not chosen.includes(k)
    }


@pytest.mark.parametrize(
    ("source", "destination", "verdict"),
    [
        pytest.param(entry("k"), None, Check.MISSING, id="missing"),
        pytest.param(None, entry("k"), Check.EXTRA, id="extra"),
        pytest.param(entry("k"), entry("k", modified=T1), Check.MATCHING, id="matching"),
        pytest.param(entry("k", modified=T1), entry("k"), Check.MATCHING, id="source-newer-same-body"),
        pytest.param(entry("k", size=2), entry("k"), Check.DIFFERING, id="size-differs"),
        pytest.param(entry("k", etag='"b"'), entry("k"), None, id="same-size-other-etag-needs-checksums"),
        pytest.param(entry("k", etag='"x-2"'), entry("k", etag='"y-3"'), None, id="multipart-layouts-need-checksums"),
        pytest.param(entry("k", storage_class="GLACIER"), None, Check.MISSING, id="archived-source-missing-is-missing"),
    ],
)
def test_what_a_check_says_from_the_listings(source, destination, verdict):
    (decision,) = march([source] if source else [], [destination] if destination else [])

    assert check_of(decision) is verdict


@pytest.mark.parametrize("key", AWKWARD_KEYS)
def test_an_awkward_key_is_picked_out_by_its_escaped_pattern_and_no_other_key_is(key):
    others = [k.values[0] for k in AWKWARD_KEYS if k.values[0] != key]
    chosen = key_filter(("exclude", "*"), ("include", glob.escape(key)))

    assert chosen.includes(key)
    assert [other for other in others if chosen.includes(other)] == []
