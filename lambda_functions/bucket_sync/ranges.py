"""Key ranges: the sync's scope cut into disjoint parts that cover it exactly, so parallel planners can list it.

Decides where the cuts go and what each part holds; lists nothing itself but through the page lister it is given
(``s3_page_lister`` makes one from a client), and never copies, deletes or writes.

How a range is listed
    A scope is the input's ``prefix`` and ``startAfter``: the keys that start with the prefix and sort after
    startAfter. A ``KeyRange`` is the part of the scope after ``start_after`` (exclusive; the scope's own startAfter
    for the first range) up to ``end`` (inclusive; None for the last range). Every order here is S3's: UTF-8
    bytes (``decide.sort_key``, with surrogatepass so that even a lone surrogate, which no S3 key holds, has a
    place). Checked, by a property in tests/unit/test_ranges.py: UTF-8 byte order is code point order, which is
    Python's ``str`` order, astral characters and surrogates included; the order that differs is UTF-16's (Java,
    JavaScript), where U+1F600 sorts before U+FF61. The code compares through sort_key anyway, one spelling of S3's
    order for every module. A range is listed with
    ListObjectsV2 alone, exactly as the single stream is today: ``Prefix=<scope's prefix>``,
    ``StartAfter=<range.start_after>``, stopping at the first key past ``end`` (``take_range``). ``take_range``
    also stops *at* ``end`` when end is a key, since keys are unique: a range whose last key ends a page costs no
    further page. Apply it before ``listing.read_ahead``, inside the reading thread, or the thread fetches up to
    ``PAGES_AHEAD`` pages past the range's end.

Why these boundaries
    What is cheap to learn about a bucket is its shape: a ListObjectsV2 with ``Delimiter="/"`` returns up to 1,000
    keys and common prefixes (whole subtrees) in one request. ``choose_boundaries`` starts from the scope as one
    unknown subtree, and spends at most ``max_requests`` such requests looking inside the subtree it believes
    holds most keys: a key weighs 1, an unseen subtree is guessed at one page (``GROUP_KEYS_GUESS``), a seen one
    weighs what it showed. So keys that all share one long prefix (``data/2026/12/``) cost one request per level
    to go through, and a bucket whose keys are mostly in one place (``a/`` tiny, ``b/`` huge, ``c/`` tiny) is cut
    inside ``b/``. A level with more than a page of children continues with its next page while the budget lasts.
    The cuts then fall where the running weight crosses each of ``max_ranges`` equal shares, between two parts
    (the key before, which makes the range end with a key, or else the next subtree's common prefix, so a subtree
    is never cut blind), and a range lighter than ``min_range_keys`` joins the next: a range of less than a page
    saves no LIST time and costs a page per bucket.
    A flat level (a page of keys and no subtrees, and more after it: ``k/0000000`` to ``k/0099999``, a million
    ``images/<uuid>.jpg``) shows only its first page; what follows is opaque. While ``max_probes`` lasts, the
    heaviest opaque level is *probed*: a probe is one ListObjectsV2 with ``Prefix=<the level's prefix>``,
    ``StartAfter=s``, ``MaxKeys=1`` and no Delimiter, whose one key is the first after s in S3 and moto alike. The
    probes find the level's last key approximately: first how much of the page's common prefix it shares (a binary
    search on the length), then one character at a time the largest that some key continues with, from the
    characters the page and the probes showed (lone surrogates left out), the largest tried first (right at once
    where they are all used, as with digits or hex) and then a binary search, until the characters past the last
    seen key resolve a quarter of a range. The stretch from the last seen key to that end is then read as numbers in
    base "number of characters" and cut at equal steps, weighed by the first page's density (``_interpolate``); an
    interpolated boundary is no key, always UTF-8 and at most 1,024 bytes, and sorts after the last key seen.
    Skewed keys make the estimate wrong and the ranges uneven, never wrong: ``split`` covers the scope whatever the
    cuts. Without probes (``max_probes=0``) the level stays one part, weighed as ``max_ranges`` times what was
    seen so that no range is cut from a page's worth of keys, and the planner splits it (``split_range``).

What it costs in LIST requests
    One stream lists each bucket in ``ceil(n / 1000)`` pages for n keys. Cutting the scope into R ranges adds at most
    one page per cut and bucket, the page that straddles the cut (half a page on average), plus the discovery's
    ``max_requests`` Delimiter listings and ``max_probes`` probes on the source (a probe is a LIST request too, and
    is billed as one): a no-op of N keys costs at most ``2 (R - 1) + max_requests + max_probes`` LIST requests over
    the two single streams' ``2 N / 1000``. With R = 16, 4 discovery requests and 12 probes that is 46 at worst
    (31 on average): at 100,000 keys, 46 over 200 (23%; 31, 16% on average); at 1,000,000 keys, 46 over 2,000
    (2.3% at worst, 1.6% on average). The issue's target (at most 2% more) then needs
    ``N >= 25,000 (2 (R - 1) + max_requests + max_probes)`` keys at worst: 1,150,000 at worst, 775,000 on
    average. The probes a level needs are usually fewer (``k/0000000`` to ``k/0099999``: 2 Delimiter listings and
    5 probes; hex names 3 probes), and a bucket without a flat level makes none. ``min_range_keys`` of 50,000 would
    keep the cuts' share within 2% at any size (a range of 50,000 keys is 100 pages of the two buckets; its cut
    costs at most 2), but the weights it is compared with are estimates (an unseen subtree is guessed at a page),
    and the discovery comes on top: at 100,000 keys the whole 2% is 4 requests, which the discovery alone or two or
    three cuts spend, while the issue's wall-time target there (0.3 of one stream) needs four ranges or more. Those
    two targets cannot both be met at 100,000 keys; from a little over a million keys they can.

The cap: ``settings.listRanges`` (owned by run.py) passes ``max_ranges``; 1 is today's single stream. Proposed
default: 16. One stream lists 3,300-5,000 keys/s, so 16 reach the ~50,000 keys/s that key-range listing is known to
give (s3p) without a Distributed Map of more children than a no-op needs, and 16 range cuts stay within the 2% LIST
target from about a million keys (above); more ranges mostly add straddling pages and planner invocations.
"""

import bisect
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from .decide import sort_key
from .inputs import MAX_KEY_BYTES
from .listing import MAX_KEYS_PER_PAGE, Entry

DEFAULT_LIST_RANGES = 16
"""The proposed default of ``settings.listRanges`` (see the module's docstring for why)."""
DISCOVERY_REQUESTS = 4
"""LIST requests ``choose_boundaries`` may spend by default: 2% of a 100,000-key no-op's two single streams."""
DELIMITER = "/"
GROUP_KEYS_GUESS = MAX_KEYS_PER_PAGE
"""What a subtree not yet looked into is guessed to hold: a page, until a look says otherwise."""
FLAT_PROBES = 12
"""LIST requests (of one key each) ``choose_boundaries`` may spend by default finding where a flat level ends:
enough for a literal text shared by every key (``object-``) and two or three characters past the last seen key
(digits need 5, hex 3, ``object-{n:05d}`` 12), while a no-op of a million keys stays near the 2% target at R = 16
(the module's docstring)."""
RESOLUTION_PER_RANGE = 4
"""The descent stops once the characters past the last seen key tell the level's end to a quarter of a range."""
SUBPARTS_PER_RANGE = 4
"""An interpolated stretch is weighed in this many parts per range, so that a cut lands within a quarter of its
share (cuts are free; only the probes cost requests)."""
INTERPOLATION_DIGITS = 6
"""Characters of a key read as a number when interpolating: a million steps even in base 10, far finer than any
cut needs; more would only lengthen the boundaries."""
MAX_CHARACTER = "\U0010ffff"
"""The last code point: ``q + c + MAX_CHARACTER`` sorts after every key starting with ``q + c`` (but a key that
itself continues with U+10FFFF, a noncharacter)."""


class RangeSplitError(ValueError):
    """A range was asked to split at a key that is not strictly inside it: a broken invariant of the planner."""


@dataclass(frozen=True)
class Scope:
    """The keys a sync covers: those that start with ``prefix`` and sort after ``start_after`` (UTF-8 bytes)."""

    prefix: str = ""
    start_after: str = ""

    @classmethod
    def of_run(cls, run: Any) -> "Scope":
        """The scope of a ``run.SyncRun``."""
        return cls(prefix=run.prefix, start_after=run.start_after)

    def contains(self, key: str) -> bool:
        # str.startswith agrees with a UTF-8 byte prefix: UTF-8 never makes one character's bytes a prefix of
        # another's.
        return key.startswith(self.prefix) and sort_key(key) > sort_key(self.start_after)

    def can_cut_at(self, boundary: str) -> bool:
        """Inside the scope's key interval: a cut there leaves both sides non-empty as intervals. A boundary need
        not be a key; it must start with the prefix, as every key in scope does."""
        return boundary.startswith(self.prefix) and sort_key(boundary) > sort_key(self.start_after)


@dataclass(frozen=True)
class KeyRange:
    """The keys of a scope after ``start_after`` (exclusive) up to ``end`` (inclusive; None: to the scope's end).

    Listed with ListObjectsV2 ``Prefix=<scope's prefix>, StartAfter=start_after``, up to the first key past end."""

    start_after: str = ""
    end: str | None = None

    def contains(self, key: str) -> bool:
        return sort_key(key) > sort_key(self.start_after) and not self.is_past(key)

    def is_past(self, key: str) -> bool:
        """The listing has left the range: nothing from here on is in it."""
        return self.end is not None and sort_key(key) > sort_key(self.end)

    def to_json(self) -> dict[str, Any]:
        return {"startAfter": self.start_after, "end": self.end}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "KeyRange":
        return cls(start_after=data.get("startAfter", ""), end=data.get("end"))


def split(scope: Scope, boundaries: Iterable[str]) -> list[KeyRange]:
    """Disjoint ranges, in order, whose union is exactly ``scope``: one cut at each boundary inside the scope
    (others, and repeats, are ignored), each boundary the inclusive end of the range before it."""
    cuts = sorted({boundary for boundary in boundaries if scope.can_cut_at(boundary)}, key=sort_key)
    starts = [scope.start_after, *cuts]
    ends: list[str | None] = [*cuts, None]
    return [KeyRange(start_after, end) for start_after, end in zip(starts, ends, strict=True)]


def split_range(key_range: KeyRange, key: str) -> tuple[KeyRange, KeyRange]:
    """``key_range`` as two ranges that meet at ``key`` (the first ends with it): a planner that finds its range
    too large keeps the first and hands the second over. ``key`` must be strictly inside the range's interval."""
    above_start = sort_key(key) > sort_key(key_range.start_after)
    below_end = key_range.end is None or sort_key(key) < sort_key(key_range.end)
    if not (above_start and below_end):
        raise RangeSplitError(f"cannot split {key_range} at {key!r}: the key is not strictly inside it")
    return KeyRange(key_range.start_after, key), KeyRange(key, key_range.end)


def take_range(key_range: KeyRange, entries: Iterable[Entry]) -> Iterator[Entry]:
    """The entries of a listing from ``StartAfter=key_range.start_after`` that are in the range: it stops at the
    first key past the end, and after the end itself, since keys are unique and asking for one more entry could
    cost a LIST page."""
    for entry in entries:
        if key_range.is_past(entry.key):
            return
        yield entry
        if entry.key == key_range.end:
            return


@dataclass(frozen=True)
class ListRequest:
    """One ListObjectsV2 request, as ``choose_boundaries`` asks it."""

    prefix: str
    start_after: str = ""
    continuation_token: str = ""
    delimiter: str = DELIMITER
    max_keys: int = MAX_KEYS_PER_PAGE


@dataclass(frozen=True)
class ListPage:
    """What one ListObjectsV2 answer says: its keys and common prefixes, and where to go on ("" when done)."""

    keys: tuple[str, ...] = ()
    common_prefixes: tuple[str, ...] = ()
    next_token: str = ""


PageLister = Callable[[ListRequest], ListPage]
"""One LIST request of one bucket: ``s3_page_lister`` for S3, a simulation in tests."""


def s3_page_lister(s3: Any, bucket: str) -> PageLister:
    """One ListObjectsV2 request per call, on ``bucket``. boto3 asks for ``EncodingType=url`` and decodes the keys
    and prefixes, so control characters survive; the client carries retries and requester-pays."""

    def list_page(request: ListRequest) -> ListPage:
        parameters: dict[str, Any] = {"Bucket": bucket, "Prefix": request.prefix, "MaxKeys": request.max_keys}
        if request.delimiter:
            parameters["Delimiter"] = request.delimiter
        if request.continuation_token:
            parameters["ContinuationToken"] = request.continuation_token
        elif request.start_after:
            parameters["StartAfter"] = request.start_after
        answer = s3.list_objects_v2(**parameters)
        return ListPage(
            keys=tuple(item["Key"] for item in answer.get("Contents", [])),
            common_prefixes=tuple(item["Prefix"] for item in answer.get("CommonPrefixes", [])),
            next_token=answer.get("NextContinuationToken", "") if answer.get("IsTruncated") else "",
        )

    return list_page


@dataclass(frozen=True)
class _Part:
    """What discovery knows of one stretch of the scope, in key order: a key, a subtree (common prefix) not yet
    looked into, or the rest of a subtree after a page (``token`` set)."""

    text: str
    """The key, the common prefix, or the last thing the page before showed: where a cut before this part goes."""
    weight: float
    prefix: str = ""
    start_after: str = ""
    token: str = ""
    is_key: bool = False
    guessed: bool = False
    """A subtree not looked into yet: its weight is a guess (a page, or what its level's looked-into subtrees
    held on average)."""
    is_opaque: bool = False
    """The rest of a flat level: looking further would only list it key by key; probes can estimate its end."""
    first: str = ""
    """A flat level's first key on the page before (with ``seen`` and ``alphabet``: the page's density)."""
    seen: int = 0
    alphabet: str = ""
    """The characters the page before showed past ``prefix``, sorted, lone surrogates left out."""
    is_estimate: bool = False
    """A stretch of a flat level placed by interpolation: nothing more to learn about it."""

    @property
    def can_expand(self) -> bool:
        return not (self.is_key or self.is_opaque or self.is_estimate)


def choose_boundaries(
    list_page: PageLister,
    scope: Scope,
    max_ranges: int,
    max_requests: int = DISCOVERY_REQUESTS,
    min_range_keys: int = MAX_KEYS_PER_PAGE,
    page_size: int = MAX_KEYS_PER_PAGE,
    max_probes: int = FLAT_PROBES,
) -> tuple[str, ...]:
    """At most ``max_ranges - 1`` cuts for ``split``, strictly increasing in UTF-8 order and inside ``scope``, from
    at most ``max_requests`` Delimiter listings and ``max_probes`` one-key listings into flat levels (the module's
    docstring says where they go and why)."""
    if max_ranges < 1:
        raise ValueError(f"max_ranges must be at least 1, not {max_ranges}")
    if max_ranges == 1:
        return ()
    parts = [_Part(text=scope.prefix, weight=GROUP_KEYS_GUESS, prefix=scope.prefix, start_after=scope.start_after)]
    requests = probes = 0
    seen: defaultdict[int, list[float]] = defaultdict(list)  # weights of looked-into subtrees, by level
    while True:
        candidates = [
            index
            for index, part in enumerate(parts)
            if (part.can_expand and requests < max_requests) or (part.is_opaque and probes < max_probes)
        ]
        if not candidates:
            break
        heaviest = max(candidates, key=lambda index: parts[index].weight)
        total = sum(part.weight for part in parts)
        if parts[heaviest].weight <= total / (2 * max_ranges):
            break  # it would fit in half a range: seeing inside it would not move a cut
        if parts[heaviest].is_opaque:
            estimate = _estimate_end(list_page, parts[heaviest], max_probes - probes, max_ranges)
            probes += estimate.probes
            parts[heaviest : heaviest + 1] = _interpolate(parts[heaviest], estimate, max_ranges)
        else:
            requests += 1
            looked = parts[heaviest]
            shown = _look_inside(list_page, looked, max_ranges, page_size)
            parts[heaviest : heaviest + 1] = shown
            if looked.guessed:
                seen[_level(looked.prefix)].append(sum(part.weight for part in shown))
                parts = _reguess(parts, seen)
    return _cuts(parts, scope, max_ranges, min_range_keys)


def _level(prefix: str) -> int:
    return prefix.count(DELIMITER)


def _reguess(parts: list[_Part], seen: defaultdict[int, list[float]]) -> list[_Part]:
    """Unseen subtrees weighed as the subtrees of their level that were looked into, on average: ``a/``, ``b/`` and
    ``c/`` of 30 keys each make ``d/`` more likely 30 than a page, so that the cuts go between them."""
    return [
        replace(part, weight=max(1.0, sum(seen[level]) / len(seen[level])))
        if part.guessed and (level := _level(part.prefix)) in seen
        else part
        for part in parts
    ]


def _look_inside(list_page: PageLister, part: _Part, max_ranges: int, page_size: int) -> list[_Part]:
    """The parts one Delimiter listing of ``part`` shows, in key order, with the rest after them if there is more."""
    request_start = _listing_start(part.prefix, part.start_after)
    page = list_page(ListRequest(part.prefix, request_start, part.token, DELIMITER, page_size))
    after = sort_key(part.start_after)
    shown = [_Part(text=key, weight=1, is_key=True) for key in page.keys if sort_key(key) > after]
    for prefix in page.common_prefixes:
        if not (part.start_after.startswith(prefix) or sort_key(prefix) > after):
            continue  # wholly at or before startAfter: only the wider request start shows it
        # A startAfter inside this subtree still applies to it; one before it excludes nothing of it.
        start_after = part.start_after if part.start_after.startswith(prefix) else ""
        shown.append(_Part(text=prefix, weight=GROUP_KEYS_GUESS, prefix=prefix, start_after=start_after, guessed=True))
    shown.sort(key=lambda shown_part: sort_key(shown_part.text))
    if page.next_token and shown:
        seen = sum(shown_part.weight for shown_part in shown)
        flat = not page.common_prefixes
        shown.append(
            _Part(
                text=shown[-1].text,
                weight=seen * max_ranges if flat else seen,
                prefix=part.prefix,
                start_after=part.start_after,
                token=page.next_token,
                is_opaque=flat,
                first=shown[0].text,
                seen=len(shown),
                alphabet="".join(sorted({c for key in page.keys for c in key[len(part.prefix) :] if _is_scalar(c)})),
            )
        )
    return shown


def _is_scalar(character: str) -> bool:
    """A Unicode scalar value, which UTF-8 can spell: not a lone surrogate (an S3 key holds none)."""
    return not 0xD800 <= ord(character) <= 0xDFFF


def _fits_a_key(text: str) -> bool:
    """Spellable in UTF-8 and no longer than a key, so S3 takes it as a StartAfter."""
    return all(map(_is_scalar, text)) and len(text.encode("utf-8")) <= MAX_KEY_BYTES


@dataclass(frozen=True)
class _EndEstimate:
    """Where a flat level probably ends: its last key starts with ``last_prefix`` (and is near the end of that
    subtree); ``alphabet`` is the part's with the characters the probes showed."""

    last_prefix: str
    alphabet: str
    probes: int


def _estimate_end(list_page: PageLister, part: _Part, budget: int, max_ranges: int) -> _EndEstimate:
    """Descend from the level's prefix one character at a time, each the largest that some key continues with,
    found by probes (one-key listings) over the alphabet: the largest character first, which is right at once
    where the alphabet is fully used (digits, hex), then a binary search. Stops at the budget, at a key known to
    end there, or once the characters past the last seen key resolve the end to a quarter of a range."""
    alphabet = list(part.alphabet)
    prefix, witness, probes = _shared_with_end(list_page, part, budget)
    past = 0
    while probes < budget and _fits_a_key(prefix + MAX_CHARACTER * 2) and witness[len(prefix) :][:1] in alphabet:
        low, high = alphabet.index(witness[len(prefix)]), len(alphabet) - 1  # low: a key continues with it
        largest_first = True
        while low < high and probes < budget:
            middle = high if largest_first else (low + high + 1) // 2
            largest_first = False
            probes += 1
            after = _probe(list_page, part.prefix, prefix + alphabet[middle - 1] + MAX_CHARACTER)
            found = after[len(prefix)] if after.startswith(prefix) and len(after) > len(prefix) else ""
            if not found or found <= alphabet[middle - 1] or not _is_scalar(found):
                high = middle - 1  # no key continues past alphabet[middle - 1]
                continue
            if found not in alphabet:  # a character the page before did not show
                position = bisect.bisect_left(alphabet, found)
                alphabet.insert(position, found)
                high += position <= high
            low, witness = alphabet.index(found), after
            high = max(high, low)
        if low < high:
            break  # the budget ran out between two characters: the end is somewhere in this subtree
        prefix += alphabet[low]
        past += not part.text.startswith(prefix)
        if len(alphabet) ** past >= RESOLUTION_PER_RANGE * max_ranges:
            break
    return _EndEstimate(prefix, "".join(alphabet), probes)


def _shared_with_end(list_page: PageLister, part: _Part, budget: int) -> tuple[str, str, int]:
    """How much of the page's common prefix (``object-00`` of ``object-00000`` to ``object-00999``) the level's
    last key shares, by a binary search on its length: literal text shared by every key (``object-``,
    ``images/IMG_``) then costs a few probes, not a binary search per character. Returns that prefix, a key that
    continues it (a witness for the descent) and the probes spent."""
    shared = os.path.commonprefix([part.first, part.text])
    low, high, probes, witness = len(part.prefix), len(shared), 0, part.text
    if not _fits_a_key(shared + MAX_CHARACTER):
        return part.prefix, witness, probes
    while low < high and probes < budget:
        middle = high if probes == 0 else (low + high + 1) // 2  # the whole of it first: it often holds
        probes += 1
        after = _probe(list_page, part.prefix, shared[:middle] + MAX_CHARACTER)
        if after:
            high = middle - 1
            witness = after if middle == low + 1 or high == low else witness
        else:
            low = middle
    if low < high:
        return part.prefix, part.text, probes  # the budget ran out: the level's own prefix is all that is known
    if low < len(shared) and not witness.startswith(shared[:low]):
        witness = part.text
    return shared[:low], witness, probes


def _probe(list_page: PageLister, prefix: str, start_after: str) -> str:
    """The first key of the level after ``start_after``, or "". No Delimiter: the answer is then that key in S3
    and moto alike, where a Delimiter would make it a common prefix, and S3 and moto disagree on which common
    prefix a StartAfter inside it shows (``_listing_start``)."""
    page = list_page(ListRequest(prefix, start_after, delimiter="", max_keys=1))
    return page.keys[0] if page.keys else ""


def _interpolate(part: _Part, estimate: _EndEstimate, max_ranges: int) -> list[_Part]:
    """The opaque part as stretches at equal steps from its last seen key to the estimated end, reading the keys
    past their common prefix as numbers in base ``len(alphabet)``; weighed by the page before's density, or as
    before where the page gives none, spread evenly. A step that would not sort after the one before, or would not
    fit a key, is left out: correctness never depends on the estimate, only balance does."""
    alphabet = estimate.alphabet
    common = os.path.commonprefix([part.first, part.text, estimate.last_prefix])
    if len(alphabet) < 2 or not _fits_a_key(common):
        return [_Part(text=part.text, weight=part.weight, is_estimate=True)]

    def value(text: str, pad: int) -> int:
        digits = [min(bisect.bisect_left(alphabet, c), len(alphabet) - 1) for c in text[len(common) :]]
        digits = (digits + [pad] * INTERPOLATION_DIGITS)[:INTERPOLATION_DIGITS]
        return sum(digit * len(alphabet) ** (INTERPOLATION_DIGITS - 1 - place) for place, digit in enumerate(digits))

    def text_of(number: int) -> str:
        digits = [number // len(alphabet) ** place % len(alphabet) for place in range(INTERPOLATION_DIGITS)]
        return common + "".join(alphabet[digit] for digit in reversed(digits))

    first, last_seen, end = value(part.first, 0), value(part.text, 0), value(estimate.last_prefix, len(alphabet) - 1)
    weight = part.seen * (end - last_seen) / (last_seen - first) if last_seen > first else part.weight
    steps = SUBPARTS_PER_RANGE * max_ranges
    texts = [part.text]
    for step in range(1, steps):
        text = text_of(last_seen + (end - last_seen) * step // steps)
        if sort_key(text) > sort_key(texts[-1]) and _fits_a_key(text):
            texts.append(text)
    return [_Part(text=text, weight=weight / len(texts), is_estimate=True) for text in texts]


def _listing_start(prefix: str, start_after: str) -> str:
    """Where a Delimiter listing of ``prefix`` starts so that it shows the subtree holding ``start_after``.

    S3 applies StartAfter to keys and then rolls them up, so the common prefix ``logs/`` holding startAfter
    ``logs/05/1`` is shown; moto compares the common prefix itself with StartAfter and leaves it out. Starting just
    before that prefix (``logs``, the prefix without its delimiter) shows it in both; what that shows before
    startAfter is dropped."""
    rest = start_after[len(prefix) :] if start_after.startswith(prefix) else ""
    level = rest.find(DELIMITER)
    return prefix + rest[:level] if level >= 0 else start_after


def _cuts(parts: list[_Part], scope: Scope, max_ranges: int, min_range_keys: int) -> tuple[str, ...]:
    """A cut before the part at which the running weight has reached the next of ``max_ranges`` equal shares,
    unless the range it would close is lighter than ``min_range_keys``: the key before that part, or else the
    part's own text (a subtree's common prefix, which only a key equal to it precedes in the subtree)."""
    total = sum(part.weight for part in parts)
    share = total / max_ranges
    cuts: list[str] = []
    running = closed_at = 0.0
    shares_closed = 0
    previous: _Part | None = None
    for part in parts:
        # A part heavier than a share closes every share it covers, so the cuts after it are not crowded together.
        if running >= share * (shares_closed + 1) and running - closed_at >= min_range_keys:
            # After a key, the cut is that key: exact, and a range that ends with a key stops without another page.
            cut = previous.text if previous is not None and previous.is_key else part.text
            if scope.can_cut_at(cut) and (not cuts or sort_key(cut) > sort_key(cuts[-1])):
                cuts.append(cut)
                closed_at = running
                shares_closed = min(int(running / share), max_ranges - 1)
        if len(cuts) == max_ranges - 1:
            break
        running += part.weight
        previous = part
    return tuple(cuts)
