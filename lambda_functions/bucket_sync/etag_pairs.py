"""ETag pairs: what this sync's own copies looked like, for objects whose copy has a different ETag.

SSE-KMS objects (and objects copied with another part layout) get a destination ETag that is not the source's,
so size and ETag alone would call them different on every run. After each run, WriteReport records the
(source ETag, destination ETag) pair of every such copy; the planner reads the pairs only when it meets a key
whose ETags differ at equal size, and calls the key unchanged when both ETags are exactly the recorded pair.
Either side changing breaks the pair, so a changed object is always copied again.

Layout, under ``etag-pairs/<destination>/`` in the work bucket:

- ``<time>-<run>.json``: one run's record, ``{"pairs": [[key, source ETag, destination ETag], ...]}`` in key
  order, a pair a line (records of earlier versions hold them all on one line, in any order).
- ``set-<generation>/<number>.jsonl``: the compacted set, in chunks of ``CHUNK_PAIRS`` pairs, one JSON line
  ``[key, source ETag, destination ETag]`` each, in key order across the chunks (numbered from 1).
- ``set-<generation>.json``: the set's index, ``{"chunks": [[first key, pairs], ...], "pairs", "records"}``,
  written after its last chunk, so a set with an index is complete. ``records`` names every run record the set
  already accounts for; any other record is newer than the set and wins over it.

After writing its record, WriteReport (holding the destination's lock, so no other run writes here) merges the
newest complete set with the records it does not account for (``compact``: a streaming merge of sorted
sequences, the newest pair of a key winning), writes the result as a new generation, and only then deletes what
it supersedes (older sets, whole or half written, and the records). A crash at any point leaves a readable
state: the newest complete set and the records it does not account for. The reader (``RecordedPairs``) takes
the index, then reads only the chunk that holds the key asked, holding one chunk at a time.

It decides nothing of the sync, and never touches the source or destination buckets.
"""

import bisect
import heapq
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .batches import get_json, put_json
from .decide import sort_key
from .errors import SyncError

FOLDER = "etag-pairs/"
CHUNK_PAIRS = 10_000
"""Pairs per chunk of a set: about 1.5 MB of JSON lines, one GET when the planner needs a key in it."""
SET_PREFIX = "set-"
PART_BYTES = 5 * 1024 * 1024
"""S3's smallest part: a chunk above it is written in parts (bucket_sync.report.PART_BYTES, which this module
cannot import at load time: report imports the planner, which imports this)."""
MAX_KEYS_PER_DELETE = 1000
"""S3's most keys in one DeleteObjects."""
RECORD_HEADER = b'{"pairs": ['

Pair = tuple[str, str, str]
"""(key, source ETag, destination ETag)."""


class PairOrderError(SyncError):
    """A record or set of ETag pairs was not in key order; merging it would lose pairs."""


def folder(destination: str) -> str:
    return f"{FOLDER}{destination}/"


def record_key(destination: str, run_id: str) -> str:
    # The time first, so that the records sort oldest to newest and a newer pair of a key wins.
    return f"{folder(destination)}{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{run_id}.json"


def index_key(destination: str, generation: int) -> str:
    return f"{folder(destination)}{SET_PREFIX}{generation:012d}.json"


def chunk_key(destination: str, generation: int, number: int) -> str:
    return f"{folder(destination)}{SET_PREFIX}{generation:012d}/{number:06d}.jsonl"


class RecordStream:
    """One run's record, ``{"pairs": [[key, source ETag, destination ETag], ...]}``, written as its pairs come
    through a stream that holds at most one part (``bucket_sync.report.ObjectStream``, or anything with its
    ``write``). No pair, no record. The pairs stay in the order given (the report's plan order, which is key
    order), a pair a line, so that ``compact`` can stream the record back."""

    def __init__(self, stream: Any, pairs: int = 0):
        self._stream = stream
        self.pairs = pairs
        """Pairs written so far (``pairs``: by the invocations before, when the stream was handed over)."""

    def add(self, key: str, source_etag: str, destination_etag: str) -> None:
        row = json.dumps([key, source_etag, destination_etag], ensure_ascii=False)  # escapes every line break
        self._stream.write(((RECORD_HEADER.decode() + "\n" if not self.pairs else ",\n") + row).encode("utf-8"))
        self.pairs += 1

    def finish(self) -> None:
        """Close the list; the stream's owner completes the object."""
        if self.pairs:
            self._stream.write(b"\n]}")


@dataclass(frozen=True)
class PairFolder:
    """What ``etag-pairs/<destination>/`` holds, from one listing: the newest complete set's generation and the
    generations and records beside it."""

    destination: str
    generation: int | None = None
    """The newest complete set (the newest index), if any."""
    generations: tuple[int, ...] = ()
    """Every generation seen, complete or half written."""
    records: tuple[str, ...] = ()
    """Every run record, oldest first."""
    index: dict[str, Any] = field(default_factory=dict)
    """The newest complete set's index (empty without one)."""

    @property
    def newer_records(self) -> list[str]:
        """The records the set does not account for: newer than it, oldest first."""
        accounted = set(self.index.get("records", ()))
        return [key for key in self.records if key not in accounted]


def read_folder(s3: Any, bucket: str, destination: str) -> PairFolder:
    """One listing of the folder (its chunks folded under their set's name), then the newest index."""
    prefix = folder(destination)
    records, indexes, generations = [], [], set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        for item in page.get("Contents", []):
            name = item["Key"][len(prefix) :]
            if name.startswith(SET_PREFIX) and name.endswith(".json"):
                indexes.append(int(name[len(SET_PREFIX) : -len(".json")]))
            elif not name.startswith(SET_PREFIX):
                records.append(item["Key"])
        for common in page.get("CommonPrefixes", []):
            generations.add(int(common["Prefix"][len(prefix) + len(SET_PREFIX) : -1]))
    generation = max(indexes, default=None)
    index = get_json(s3, bucket, index_key(destination, generation)) if generation is not None else {}
    return PairFolder(
        destination,
        generation,
        tuple(sorted(generations | set(indexes))),
        tuple(sorted(records, key=sort_key)),
        index,
    )


def read_record(s3: Any, bucket: str, key: str) -> Iterator[Pair]:
    """A run's record in key order: streamed a line at a time, or, for a record of an earlier version (all on
    one line, in any order), read whole and sorted."""
    lines = s3.get_object(Bucket=bucket, Key=key)["Body"].iter_lines()
    first = next(lines, b"").strip()
    if first != RECORD_HEADER:
        pairs = {pair[0]: (pair[1], pair[2]) for pair in json.loads(first + b"".join(lines))["pairs"]}
        for pair_key in sorted(pairs, key=sort_key):
            yield (pair_key, *pairs[pair_key])
        return
    for line in lines:
        line = line.strip()
        if line == b"]}":
            return
        yield tuple(json.loads(line.removesuffix(b",")))


def read_chunk(s3: Any, bucket: str, destination: str, generation: int, number: int) -> Iterator[Pair]:
    for line in s3.get_object(Bucket=bucket, Key=chunk_key(destination, generation, number))["Body"].iter_lines():
        if line:
            yield tuple(json.loads(line))


def read_set(s3: Any, bucket: str, pair_folder: PairFolder, after: str | None = None) -> Iterator[Pair]:
    """The newest complete set in key order, one chunk at a time; with ``after``, only its pairs after that key,
    from the chunk that holds it."""
    if pair_folder.generation is None:
        return
    chunks = pair_folder.index["chunks"]
    first = 1
    if after is not None:  # the chunk whose first key is the last <= after
        first = max(1, bisect.bisect_right([sort_key(key) for key, _ in chunks], sort_key(after)))
    pairs = (
        pair
        for number in range(first, len(chunks) + 1)
        for pair in read_chunk(s3, bucket, pair_folder.destination, pair_folder.generation, number)
    )
    yield from pairs if after is None else keys_after(pairs, after)


def keys_after(pairs: Iterable[Pair], after: str) -> Iterator[Pair]:
    """The pairs of a stream in key order whose keys sort after ``after``."""
    bound = sort_key(after)
    return (pair for pair in pairs if sort_key(pair[0]) > bound)


def _ordered(pairs: Iterable[Pair], age: int, name: str) -> Iterator[tuple[bytes, int, Pair]]:
    previous: bytes | None = None
    for pair in pairs:
        current = sort_key(pair[0])
        if previous is not None and current <= previous:
            raise PairOrderError(f"the ETag pairs of {name} are out of order at {pair[0]!r}; refusing to merge")
        previous = current
        yield current, -age, pair


def merge(*streams: Iterable[Pair]) -> Iterator[Pair]:
    """Streams of pairs, oldest first, each in key order: every key once, in key order, the newest stream's pair
    winning. Holds one pair per stream."""
    previous: bytes | None = None
    ordered = [_ordered(stream, age, f"stream {age}") for age, stream in enumerate(streams)]
    for current, _, pair in heapq.merge(*ordered):
        if current != previous:  # of equal keys, the newest stream's comes first
            previous = current
            yield pair


class SetWriter:
    """Writes a set's chunks as the pairs come (each through an ObjectStream), then its index."""

    def __init__(
        self,
        s3: Any,
        bucket: str,
        destination: str,
        generation: int,
        part_bytes: int,
        chunk_pairs: int,
        chunks: list[list[Any]] | None = None,
    ):
        self._s3, self._bucket, self._destination, self._generation = s3, bucket, destination, generation
        self._part_bytes, self._chunk_pairs = part_bytes, chunk_pairs
        self.chunks: list[list[Any]] = chunks or []
        """[first key, pairs] of each chunk completed (``chunks``: by the invocations before): one per
        ``chunk_pairs`` pairs."""
        self._stream: Any = None  # the current chunk's ObjectStream

    def add(self, pair: Pair) -> bool:
        """Write one pair; whether it completed a chunk (a point to hand over at: no chunk is half written)."""
        from .report import ObjectStream  # here, not at the top: report imports the planner, which imports this

        if self._stream is None:
            number = len(self.chunks) + 1
            key = chunk_key(self._destination, self._generation, number)
            self._stream = ObjectStream(self._s3, self._bucket, key, "application/x-ndjson", self._part_bytes)
            self.chunks.append([pair[0], 0])
        try:
            self._stream.write((json.dumps(list(pair), ensure_ascii=False) + "\n").encode("utf-8"))
        except BaseException:
            self._stream.abort()
            raise
        self.chunks[-1][1] += 1
        if self.chunks[-1][1] < self._chunk_pairs:
            return False
        self._close_chunk()
        return True

    def _close_chunk(self) -> None:
        if self._stream is not None:
            with self._stream:  # completes it, or aborts it if completing fails
                pass
            self._stream = None

    def finish(self, records: Iterable[str]) -> None:
        """Complete the last chunk, then write the index: from here on the set is complete."""
        self._close_chunk()
        index = {"chunks": self.chunks, "pairs": sum(n for _, n in self.chunks), "records": list(records)}
        put_json(self._s3, self._bucket, index_key(self._destination, self._generation), index)

    def abort(self) -> None:
        if self._stream is not None:
            self._stream.abort()


def compact(
    s3: Any,
    bucket: str,
    destination: str,
    part_bytes: int = PART_BYTES,
    chunk_pairs: int = CHUNK_PAIRS,
    out_of_time: Callable[[], bool] = lambda: False,
    resume: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Merge the destination's newest complete set with the records it does not account for into a new set,
    then delete what the new set supersedes. Call it holding the destination's lock. Nothing new, no request
    beyond the listing and the index.

    A large set takes long to merge: ``out_of_time`` is asked as each chunk is completed, and when it says so the
    merge stops there and returns its state (JSON: the folder it started from, the new generation's chunks and
    the last key written), which ``resume`` goes on from in another invocation. Returns None when done. A merge
    never finished leaves a half-written generation, which readers ignore and the next compaction deletes."""
    if resume is None:
        before = read_folder(s3, bucket, destination)
        if not before.newer_records:
            return None
        generation, chunks, after = max(before.generations, default=0) + 1, [], None
    else:
        before = folder_from_json(s3, bucket, destination, resume["before"])
        generation, chunks, after = resume["generation"], resume["chunks"], resume["after"]
    writer = SetWriter(s3, bucket, destination, generation, part_bytes, chunk_pairs, chunks)
    streams = [read_set(s3, bucket, before, after)] + [read_record(s3, bucket, key) for key in before.newer_records]
    try:
        for pair in merge(*(streams if after is None else [keys_after(stream, after) for stream in streams])):
            if writer.add(pair) and out_of_time():
                return {
                    "before": folder_to_json(before),
                    "generation": generation,
                    "chunks": writer.chunks,
                    "after": pair[0],
                }
    except BaseException:
        writer.abort()
        raise
    writer.finish(before.records)
    delete_superseded(s3, bucket, before)
    return None


def folder_to_json(pair_folder: PairFolder) -> dict[str, Any]:
    """What a merge handed over needs of the folder it started from (its index is read again)."""
    return {
        "generation": pair_folder.generation,
        "generations": list(pair_folder.generations),
        "records": list(pair_folder.records),
    }


def folder_from_json(s3: Any, bucket: str, destination: str, data: dict[str, Any]) -> PairFolder:
    generation = data["generation"]
    index = get_json(s3, bucket, index_key(destination, generation)) if generation is not None else {}
    return PairFolder(destination, generation, tuple(data["generations"]), tuple(data["records"]), index)


def delete_superseded(s3: Any, bucket: str, before: PairFolder) -> None:
    """Delete the sets and records that were there before the new set: its index first, so that a crash half
    way leaves no index of a set whose chunks are gone."""
    destination = before.destination
    stale = [index_key(destination, generation) for generation in before.generations]
    for generation in before.generations:
        stale += list_keys_under(s3, bucket, f"{folder(destination)}{SET_PREFIX}{generation:012d}/")
    stale += before.records
    for start in range(0, len(stale), MAX_KEYS_PER_DELETE):
        s3.delete_objects(
            Bucket=bucket,
            Delete={"Objects": [{"Key": key} for key in stale[start : start + MAX_KEYS_PER_DELETE]], "Quiet": True},
        )


def list_keys_under(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return keys


class RecordedPairs:
    """The planner's lookup, lazy: a sync that never asks reads nothing. On the first question it lists the
    folder and reads the newest set's index and the records newer than the set (normally none: an earlier
    version's records, or a run whose compaction did not finish); then each question reads only the chunk that
    holds its key, unless that chunk is the one held. Questions in ascending key order (as a planning round
    asks, from its cursor) read each chunk they need once; a question below the current chunk reads its own."""

    def __init__(self, s3: Any, work_bucket: str, destination: str):
        self._s3, self._bucket, self._destination = s3, work_bucket, destination
        self._folder: PairFolder | None = None
        self._newer: dict[str, tuple[str, str]] = {}
        self._firsts: list[bytes] = []
        self._number = 0  # the chunk held, numbered from 1; 0: none
        self._chunk: dict[str, tuple[str, str]] = {}

    def _open(self) -> PairFolder:
        self._folder = read_folder(self._s3, self._bucket, self._destination)
        self._firsts = [sort_key(first) for first, _ in self._folder.index.get("chunks", ())]
        for key in self._folder.newer_records:  # oldest first: a newer record's pair wins
            for pair_key, source_etag, destination_etag in read_record(self._s3, self._bucket, key):
                self._newer[pair_key] = (source_etag, destination_etag)
        return self._folder

    def __call__(self, key: str) -> tuple[str, str] | None:
        pair_folder = self._folder or self._open()
        if key in self._newer:
            return self._newer[key]
        number = bisect.bisect_right(self._firsts, sort_key(key))  # the chunk whose first key is the last <= key
        if not number:
            return None
        if number != self._number:
            assert pair_folder.generation is not None  # a set with chunks has an index
            self._chunk = {}  # the one held goes first: one chunk at a time
            chunk = read_chunk(self._s3, self._bucket, self._destination, pair_folder.generation, number)
            self._chunk = {
                pair_key: (source_etag, destination_etag) for pair_key, source_etag, destination_etag in chunk
            }
            self._number = number
        return self._chunk.get(key)
