"""The sync decision: a pure merge-join of two sorted listings, as rclone's march. No AWS, no I/O.

Each key in scope gets exactly one Decision: copy (missing from the destination, or different), delete (absent
from the source), unchanged, or skip (cannot be copied, with the reason). Listings must be in S3's order: UTF-8
byte order of the keys. An out-of-order listing is a broken invariant and fails loudly, because a merge-join over
it would delete objects that exist.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from .filters import KeyFilter
from .listing import RESTORED, RESTORING, Entry

ARCHIVED_STORAGE_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})
"""Objects here cannot be copied until restored; Glacier Instant Retrieval can be, so it is not listed."""


class Action(StrEnum):
    COPY = "copy"
    DELETE = "delete"
    UNCHANGED = "unchanged"
    SKIP = "skip"
    EXCLUDE = "exclude"
    """Out of scope on both sides: a filter excludes it (bucket_sync/filters.py)."""
    KEEP = "keep"
    """Absent from the source, and kept: the run's mode never deletes."""


class Reason(StrEnum):
    MISSING = "missing from destination"
    SIZE_DIFFERS = "size differs"
    CONTENT_DIFFERS = "content differs (ETag)"
    SOURCE_NEWER = "source modified after destination (metadata may differ)"
    ORPHANED = "absent from source"
    SAME = "same size and ETag"
    SAME_AS_COPIED = "same size, and the ETags are the pair recorded when this sync copied it (e.g. SSE-KMS)"
    ARCHIVED = "archived in {storage_class}, not restored: restore it to copy it"
    RESTORING = "archived in {storage_class}, its restore still in progress: the first run after it completes copies it"
    EXCLUDED = "excluded by the filter {kind} {pattern!r}"
    KEPT = "absent from source; kept: mode copy never deletes"


class ListingOrderError(Exception):
    """A listing was not in S3's key order; deciding from it could delete objects that exist."""


RecordedPairs = Callable[[str], "tuple[str, str] | None"]
"""(source ETag, destination ETag) of the last copy this sync made of a key, when the two differed."""


def _nothing_recorded(key: str) -> None:
    return None


@dataclass(frozen=True)
class Decision:
    key: str
    action: Action
    reason: str
    source: Entry | None = None
    destination: Entry | None = None


def sort_key(key: str) -> bytes:
    """S3's order: UTF-8 bytes. Python's code point order is the same (UTF-16's, as in Java or JavaScript, is not:
    tests/unit/test_ranges.py checks it); comparing the bytes says so and keeps lone surrogates comparable."""
    return key.encode("utf-8", "surrogatepass")


def compare(source: Entry, destination: Entry, recorded: RecordedPairs = _nothing_recorded) -> Decision:
    """One key in both buckets: equal when size and ETag match (or the ETags are the pair this sync's own copy
    produced, as SSE-KMS objects' are) and the source is not newer."""
    if source.size != destination.size:
        return Decision(source.key, Action.COPY, Reason.SIZE_DIFFERS.value, source, destination)
    same = Reason.SAME
    if source.etag != destination.etag:
        # A record can only vouch for a destination written after its source (as this sync's copies are), and
        # is looked at only then: a source rewritten since costs no look-up.
        if source.last_modified > destination.last_modified or recorded(source.key) != (source.etag, destination.etag):
            return Decision(source.key, Action.COPY, Reason.CONTENT_DIFFERS.value, source, destination)
        same = Reason.SAME_AS_COPIED
    if source.last_modified > destination.last_modified:
        return Decision(source.key, Action.COPY, Reason.SOURCE_NEWER.value, source, destination)
    return Decision(source.key, Action.UNCHANGED, same.value, source, destination)


def is_readable(entry: Entry) -> bool:
    """Archived objects can be read (and so copied) only while a restored copy of them exists."""
    return entry.storage_class not in ARCHIVED_STORAGE_CLASSES or entry.restore == RESTORED


def copy_or_skip(source: Entry, destination: Entry | None, recorded: RecordedPairs = _nothing_recorded) -> Decision:
    """Copy what differs; an archived source that is not readable is skipped, but only if it needed a copy: one
    whose destination is already equal is unchanged, whatever its storage class."""
    decision = (
        Decision(source.key, Action.COPY, Reason.MISSING.value, source, None)
        if destination is None
        else compare(source, destination, recorded)
    )
    if decision.action is Action.COPY and not is_readable(source):
        why = Reason.RESTORING if source.restore == RESTORING else Reason.ARCHIVED
        return Decision(
            source.key, Action.SKIP, why.value.format(storage_class=source.storage_class), source, destination
        )
    return decision


def _ordered(entries: Iterable[Entry], side: str) -> Iterator[Entry]:
    previous: bytes | None = None
    for entry in entries:
        current = sort_key(entry.key)
        if previous is not None and current <= previous:
            raise ListingOrderError(f"{side} listing is out of order at {entry.key!r}; refusing to decide")
        previous = current
        yield entry


def march(
    source: Iterable[Entry],
    destination: Iterable[Entry],
    recorded: RecordedPairs = _nothing_recorded,
    key_filter: KeyFilter | None = None,
    deletes: bool = True,
) -> Iterator[Decision]:
    """Walk both sorted listings together and decide every key, in key order, lazily. A key ``key_filter``
    excludes is decided EXCLUDE, whichever side has it, and compared with nothing; without ``deletes`` an orphan
    is kept (KEEP) instead of deleted."""
    sources, destinations = _ordered(source, "source"), _ordered(destination, "destination")
    src, dst = next(sources, None), next(destinations, None)
    while src is not None or dst is not None:
        pair: tuple[Entry | None, Entry | None]
        if dst is None or (src is not None and sort_key(src.key) < sort_key(dst.key)):
            assert src is not None  # the loop runs while a side has an entry, and the destination has none
            key, pair = src.key, (src, None)
            src = next(sources, None)
        elif src is None or sort_key(dst.key) < sort_key(src.key):
            key, pair = dst.key, (None, dst)
            dst = next(destinations, None)
        else:
            key, pair = src.key, (src, dst)
            src, dst = next(sources, None), next(destinations, None)
        rule = key_filter.excluded_by(key) if key_filter else None
        if rule is not None:
            yield Decision(key, Action.EXCLUDE, Reason.EXCLUDED.value.format(kind=rule.kind, pattern=rule.pattern))
        elif pair[0] is None:
            if deletes:
                yield Decision(key, Action.DELETE, Reason.ORPHANED.value, None, pair[1])
            else:
                yield Decision(key, Action.KEEP, Reason.KEPT.value, None, pair[1])
        else:
            yield copy_or_skip(pair[0], pair[1], recorded)


def in_scope(key: str, prefix: str, start_after: str) -> bool:
    """What a listing with Prefix and StartAfter returns: the scope a sync may read, copy and delete in."""
    return key.startswith(prefix) and sort_key(key) > sort_key(start_after)


class Check(StrEnum):
    """What a check (mode "check") says of a key in scope."""

    MATCHING = "matching"
    DIFFERING = "differing"
    MISSING = "missing"
    EXTRA = "extra"
    UNVERIFIABLE = "unverifiable"


CHECK_REASONS = {
    Check.MATCHING: "same size and ETag",
    Check.DIFFERING: "size differs",
    Check.MISSING: "missing from destination",
    Check.EXTRA: "absent from source",
}
TO_VERIFY = "same size, different ETags (or a recorded pair): the listings cannot tell; whole-object checksums decide"


def check_of(decision: Decision) -> Check | None:
    """A check's verdict on a key from the listings alone, or None where they cannot prove equality or difference
    (same size, different ETags: a part layout or SSE-KMS makes ETags differ for equal bodies), which whole-object
    checksums then decide. Equal ETags and sizes are taken as equal bodies, as every sync tool takes them."""
    source, destination = decision.source, decision.destination
    if source is None:
        return Check.EXTRA
    if destination is None:
        return Check.MISSING
    if source.size != destination.size:
        return Check.DIFFERING
    if source.etag == destination.etag:
        return Check.MATCHING
    return None
