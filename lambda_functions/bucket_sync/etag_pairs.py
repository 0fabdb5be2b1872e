"""ETag pairs: what this sync's own copies looked like, for objects whose copy has a different ETag.

SSE-KMS objects (and objects copied with another part layout) get a destination ETag that is not the source's,
so size and ETag alone would call them different on every run. After each run, WriteReport records the
(source ETag, destination ETag) pair of every such copy under ``etag-pairs/<destination>/`` in the work bucket;
the planner reads the records only when it meets a key whose ETags differ at equal size, and calls the key
unchanged when both ETags are exactly the recorded pair. Either side changing breaks the pair, so a changed
object is always copied again.
"""

import json
import time
from typing import Any

from .batches import get_json, list_keys

FOLDER = "etag-pairs/"


def folder(destination: str) -> str:
    return f"{FOLDER}{destination}/"


def record_key(destination: str, run_id: str) -> str:
    # The time first, so that the records sort oldest to newest and a newer pair of a key wins.
    return f"{folder(destination)}{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{run_id}.json"


class RecordStream:
    """One run's record, ``{"pairs": [[key, source ETag, destination ETag], ...]}``, written as its pairs come
    through a stream that holds at most one part (``bucket_sync.report.ObjectStream``, or anything with its
    ``write``). No pair, no record. The pairs stay in the order given (the report's plan order, which is key
    order): the reader needs no order inside a record."""

    def __init__(self, stream: Any):
        self._stream = stream
        self.pairs = 0

    def add(self, key: str, source_etag: str, destination_etag: str) -> None:
        row = json.dumps([key, source_etag, destination_etag], ensure_ascii=False)
        self._stream.write((('{"pairs": [' if not self.pairs else ", ") + row).encode("utf-8"))
        self.pairs += 1

    def finish(self) -> None:
        """Close the list; the stream's owner completes the object."""
        if self.pairs:
            self._stream.write(b"]}")


class RecordedPairs:
    """A lookup that reads the records on first use only: a sync that never needs them never pays for them."""

    def __init__(self, s3: Any, work_bucket: str, destination: str):
        self._s3, self._bucket, self._destination = s3, work_bucket, destination
        self._pairs: dict[str, tuple[str, str]] | None = None

    def __call__(self, key: str) -> tuple[str, str] | None:
        if self._pairs is None:
            self._pairs = {}
            for record_key in sorted(list_keys(self._s3, self._bucket, folder(self._destination))):
                for pair_key, source_etag, destination_etag in get_json(self._s3, self._bucket, record_key)["pairs"]:
                    self._pairs[pair_key] = (source_etag, destination_etag)
        return self._pairs.get(key)
