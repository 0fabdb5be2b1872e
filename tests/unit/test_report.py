"""The report as a pure function of the results (bucket_sync/report.py), without S3: the lines and their order, the
summary's counts as the lines pass, the stream's parts, and memory that stays flat as the results grow.

The work-bucket path against moto's S3 (parts, the ETag-pair record, aborts) is in
tests/functional/test_delete_and_report.py.
"""

import io
import json
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field

import pytest

from bucket_sync.outcomes import COPIED, DELETED, FAILED, PLANNED, SKIPPED, BatchOutcomes, outcome
from bucket_sync.report import Gathered, ObjectStream, Tally, json_line, report_batches, report_lines


def item(key, size=1):
    return {"key": key, "reason": "missing", "entry": {"key": key, "size": size, "etag": '"e"'}}


def line(key, action, result, size=1, **extra):
    return {**outcome(item(key, size), action, result), **extra}


@dataclass(frozen=True)
class Given:
    """Results as data: plan items per kind, and each batch's outcomes per kind."""

    items: dict = field(default_factory=dict)
    batches: dict = field(default_factory=dict)

    def item_batches(self, kind, after=None):
        """The items of a kind as batches of one item each, named by their place."""
        for number, each in enumerate(self.items.get(kind, []), 1):
            if after is None or number > int(after):
                yield f"{number:05d}", [each]

    def outcome_batches(self, kind, after=None):
        for number, outcomes in enumerate(self.batches.get(kind, []), 1):
            if after is None or number > int(after):
                yield f"{number:05d}", BatchOutcomes(outcomes, {"Work": len(outcomes)})


COPIES = [[line("a", "copy", COPIED, 3), line("b", "copy", COPIED, 4)], [line("c", "copy", COPIED, 5)]]
FAILED_COPY = [[line("a", "copy", COPIED, 3), line("b", "copy", FAILED, 4, error="boom")]]
DELETES = [[line("x", "delete", DELETED, 7)]]
HELD = "not deleted: {} copies failed, and deletions run only after every copy succeeded; the next run deletes it"


@pytest.mark.parametrize(
    "given, dry_run, copies_failed, expected, worker_requests",
    [
        pytest.param(
            Given({"delete": [item("x", 7)], "skip": [item("s")]}, {"copy": COPIES, "delete": DELETES}),
            False,
            0,
            [*COPIES[0], *COPIES[1], *DELETES[0], line("s", "copy", SKIPPED)],
            {"Work": 4},
            id="copies-deletes-skips-in-plan-order",
        ),
        pytest.param(
            Given({"copy": [item("a")], "delete": [item("x")], "skip": [item("s")]}, {"copy": COPIES}),
            True,
            0,
            [line("a", "copy", PLANNED), line("x", "delete", PLANNED), line("s", "copy", SKIPPED)],
            {},
            id="dry-run-plans",
        ),
        pytest.param(
            Given({"delete": [item("x", 7)]}, {"copy": FAILED_COPY, "delete": DELETES}),
            False,
            None,
            [*FAILED_COPY[0], line("x", "delete", SKIPPED, 7, error=HELD.format(1))],
            {"Work": 2},
            id="failed-copy-counted-as-it-passes-holds-deletes-back",
        ),
        pytest.param(
            Given({"delete": [item("x", 7)]}, {"copy": COPIES, "delete": DELETES}),
            False,
            2,
            [*COPIES[0], *COPIES[1], line("x", "delete", SKIPPED, 7, error=HELD.format(2))],
            {"Work": 3},
            id="copy-check-count-holds-deletes-back",
        ),
        pytest.param(Given(), False, 0, [], {}, id="nothing"),
    ],
)
def test_report_lines(given, dry_run, copies_failed, expected, worker_requests):
    """Lines in plan order; the requests of every batch read (a batch here says it made one per line)."""
    requests = Counter()

    lines = list(report_lines(given, dry_run, copies_failed, requests))

    assert lines == expected
    assert requests == Counter(worker_requests)


MIXED = Given(
    {"copy": [item("a"), item("b")], "delete": [item("x", 7), item("y", 8)], "skip": [item("s"), item("t")]},
    {"copy": [*FAILED_COPY, [line("c", "copy", COPIED, 5)]], "delete": [*DELETES, [line("y", "delete", DELETED, 8)]]},
)


def written_in_invocations(given, dry_run, copies_failed, cuts):
    """The lines, the tally and the requests of a report handed over after each batch number in ``cuts``, its
    state going through JSON as it does between two invocations."""
    state, lines, written = Gathered().to_json(), [], 0
    while True:
        gathered = Gathered.from_json(state)
        for batch in report_batches(given, dry_run, copies_failed, gathered):
            lines += batch
            for each in batch:
                gathered.tally.add(each)
            written += 1
            if written in cuts:
                break
        else:
            return lines, gathered.tally.to_json(), gathered.requests
        state = json.loads(json.dumps(gathered.to_json()))


@pytest.mark.parametrize(("dry_run", "copies_failed"), [(False, None), (False, 0), (True, 0)])
def test_a_report_handed_over_between_any_two_batches_is_the_report_written_at_once(dry_run, copies_failed):
    """Cut after every batch, after one, after the last: the same lines, counts and requests as no cut. The
    copy failure counted in one invocation still holds the deletes back in the next."""
    whole = written_in_invocations(MIXED, dry_run, copies_failed, cuts=set())
    batches = 6
    for cuts in [set(range(1, batches + 1)), *({n} for n in range(1, batches + 1))]:
        assert written_in_invocations(MIXED, dry_run, copies_failed, cuts) == whole, cuts
    if not dry_run and copies_failed is None:
        assert [each["result"] for each in whole[0] if each["action"] == "delete"] == [SKIPPED, SKIPPED]


def test_the_tally_counts_what_the_summary_says():
    tally = Tally()
    for passing in [
        line("a", "copy", COPIED, 3),
        line("b", "copy", FAILED, 4, error="boom"),
        line("x", "delete", DELETED, 7),
        line("y", "delete", SKIPPED, 2, error="held"),
        line("s", "copy", SKIPPED, 9),
        line("p", "copy", PLANNED, 5),
    ]:
        tally.add(passing)

    assert (tally.lines, tally.copied, tally.deleted, tally.skipped, tally.failed, tally.bytes_copied) == (
        6,
        1,
        1,
        2,
        1,
        3,
    )


class Sink:
    """An S3 client that keeps only what each request was, and the sizes of what it was sent."""

    def __init__(self):
        self.calls = []

    def put_object(self, Body, **_):
        self.calls.append(("PutObject", len(Body)))

    def create_multipart_upload(self, **_):
        self.calls.append(("CreateMultipartUpload", 0))
        return {"UploadId": "u"}

    def upload_part(self, Body, PartNumber, **_):
        self.calls.append(("UploadPart", len(Body)))
        return {"ETag": f'"{PartNumber}"'}

    def complete_multipart_upload(self, MultipartUpload, **_):
        self.calls.append(("CompleteMultipartUpload", len(MultipartUpload["Parts"])))

    def abort_multipart_upload(self, **_):
        self.calls.append(("AbortMultipartUpload", 0))


@pytest.mark.parametrize(
    "chunks, expected",
    [
        pytest.param([], [], id="empty-writes-nothing"),
        pytest.param([4, 5], [("PutObject", 9)], id="under-a-part-one-put"),
        pytest.param(
            [6, 4, 10, 3],
            [
                ("CreateMultipartUpload", 0),
                ("UploadPart", 10),
                ("UploadPart", 10),
                ("UploadPart", 3),
                ("CompleteMultipartUpload", 3),
            ],
            id="parts-of-at-least-the-part-size-then-the-rest",
        ),
        pytest.param(
            [10], [("CreateMultipartUpload", 0), ("UploadPart", 10), ("CompleteMultipartUpload", 1)], id="exact-part"
        ),
    ],
)
def test_the_stream_writes_whole_parts_and_the_rest(chunks, expected):
    sink = Sink()
    with ObjectStream(sink, "b", "k", "text/plain", part_bytes=10) as stream:
        for size in chunks:
            stream.write(b"x" * size)

    assert sink.calls == expected
    assert stream.written == bool(chunks)


def test_a_failure_inside_the_stream_aborts_its_upload():
    sink = Sink()
    with pytest.raises(RuntimeError), ObjectStream(sink, "b", "k", "text/plain", part_bytes=10) as stream:
        stream.write(b"x" * 25)  # one part of 25: a part is at least part_bytes
        stream.write(b"x" * 3)
        raise RuntimeError("reading a result failed")

    assert [name for name, _ in sink.calls] == [
        "CreateMultipartUpload",
        "UploadPart",
        "AbortMultipartUpload",
    ]
    assert not stream.written


class Carrying(Sink):
    """A Sink that also keeps the objects it is sent whole, and answers GetObject from them."""

    def __init__(self):
        super().__init__()
        self.objects = {}

    def put_object(self, Body, Key, **_):
        super().put_object(Body)
        self.objects[Key] = bytes(Body)

    def get_object(self, Key, **_):
        self.calls.append(("GetObject", len(self.objects[Key])))
        return {"Body": io.BytesIO(self.objects[Key])}


def test_a_suspended_stream_goes_on_in_another_invocation_with_its_parts_and_its_carried_bytes():
    sink = Carrying()
    with ObjectStream(sink, "b", "k", "text/plain", part_bytes=10) as stream:
        stream.write(b"x" * 12)  # part 1
        stream.write(b"y" * 4)  # carried
        state = json.loads(json.dumps(stream.suspend("carry-1")))
    assert [name for name, _ in sink.calls] == ["CreateMultipartUpload", "UploadPart", "PutObject"]  # no completion

    with ObjectStream.resume(sink, "b", state, "text/plain", part_bytes=10) as resumed:
        resumed.write(b"z" * 7)  # with the 4 carried: part 2

    assert sink.calls[3:] == [("GetObject", 4), ("UploadPart", 11), ("CompleteMultipartUpload", 2)]
    assert resumed.written


def test_a_resumed_stream_that_fails_leaves_the_upload_to_the_retry():
    sink = Carrying()
    with ObjectStream(sink, "b", "k", "text/plain", part_bytes=10) as stream:
        stream.write(b"x" * 12)
        state = stream.suspend("carry-1")

    with pytest.raises(RuntimeError), ObjectStream.resume(sink, "b", state, "text/plain", part_bytes=10) as resumed:
        resumed.write(b"z" * 12)
        raise RuntimeError("reading a result failed")

    assert "AbortMultipartUpload" not in [name for name, _ in sink.calls]  # the retry goes on with upload "u"
    assert not resumed.written


class Synthetic:
    """``count`` copy outcomes in batches of 1,000, made as they are read, as a work bucket would give them."""

    def __init__(self, count):
        self.count = count

    def item_batches(self, kind, after=None):
        yield from ()

    def outcome_batches(self, kind, after=None):
        if kind != "copy":
            return
        for start in range(0, self.count, 1000):
            yield (
                str(start),
                BatchOutcomes(
                    [
                        {
                            "key": f"prefix/{n:09d}/object.bin",
                            "action": "copy",
                            "result": COPIED,
                            "reason": "missing",
                            "size": n,
                        }
                        for n in range(start, min(start + 1000, self.count))
                    ],
                    {"CopyObject": 1000},
                ),
            )


def peak_bytes_building(count):
    """tracemalloc's peak while the report of ``count`` results is made: lines, tally, and the stream's parts."""
    sink = Sink()
    tracemalloc.start()
    try:
        tally, requests = Tally(), Counter()
        with ObjectStream(sink, "b", "k", "application/x-ndjson", part_bytes=256 * 1024) as stream:
            for passing in report_lines(Synthetic(count), False, 0, requests):
                tally.add(passing)
                stream.write(json_line(passing))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert tally.copied == count
    return peak


def test_the_memory_of_building_a_report_does_not_grow_with_the_results():
    small, large = peak_bytes_building(10_000), peak_bytes_building(100_000)

    # Ten times the results: the peak is one batch of results and one part either way (holding every line, as
    # the report once did, would be about ten times the small peak).
    assert large < 1.5 * small, (small, large)
