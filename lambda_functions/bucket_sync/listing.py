"""Listing: one bucket's in-scope objects as Entries, in S3's lexicographic (UTF-8 byte) order.

Lists with ListObjectsV2; boto3 asks for ``EncodingType=url`` and decodes every key, so no key is mangled by
XML (control characters, trailing spaces). Makes LIST requests and nothing else.
"""

import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC
from typing import Any

MAX_KEYS_PER_PAGE = 1000
"""S3's own maximum: fewer pages means fewer requests."""

RESTORED, RESTORING = "restored", "restoring"
"""What a listing asked for RestoreStatus says of an archived object: a readable restored copy exists until its
expiry, or a restore is in progress; "" when neither (never restored, or the copy has expired)."""


@dataclass(frozen=True)
class Entry:
    """What one listing says of one object: enough to decide without a HEAD."""

    key: str
    size: int
    etag: str
    last_modified: str
    """ISO 8601, UTC: listings of both buckets compare with a string comparison."""
    storage_class: str = "STANDARD"
    restore: str = ""
    """RESTORED, RESTORING or "": only listings that ask for RestoreStatus (the source's) know it."""

    @property
    def is_multipart(self) -> bool:
        """Multipart uploads have ETags of the form ``"<md5 of part md5s>-<part count>"``."""
        return "-" in self.etag

    @property
    def part_count(self) -> int:
        return int(self.etag.strip('"').rsplit("-", 1)[1]) if self.is_multipart else 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Entry":
        return cls(**data)

    @classmethod
    def from_listing(cls, item: dict[str, Any]) -> "Entry":
        return cls(
            key=item["Key"],
            size=item["Size"],
            etag=item["ETag"],
            last_modified=item["LastModified"].astimezone(UTC).isoformat(timespec="milliseconds"),
            storage_class=item.get("StorageClass", "STANDARD"),
            restore=_restore_of(item.get("RestoreStatus")),
        )


def _restore_of(status: dict[str, Any] | None) -> str:
    """S3 sends RestoreStatus only for objects restored or being restored (API reference, RestoreStatus)."""
    if not status:
        return ""
    return RESTORING if status.get("IsRestoreInProgress") else RESTORED


def list_entries(
    s3: Any,
    bucket: str,
    prefix: str = "",
    start_after: str = "",
    page_size: int = MAX_KEYS_PER_PAGE,
    restore_status: bool = False,
) -> Iterator[Entry]:
    """Every object whose key starts with ``prefix`` and sorts after ``start_after``, in order, lazily;
    ``restore_status`` asks S3 to say, per archived object, whether it is restored (no extra request)."""
    parameters: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "PaginationConfig": {"PageSize": page_size}}
    if start_after:
        parameters["StartAfter"] = start_after
    if restore_status:
        parameters["OptionalObjectAttributes"] = ["RestoreStatus"]
    for page in s3.get_paginator("list_objects_v2").paginate(**parameters):
        for item in page.get("Contents", []):
            yield Entry.from_listing(item)


PAGES_AHEAD = 2
"""How many LIST pages a listing fetches before the merge-join asks for them."""


def read_ahead(entries: Iterable[Entry], depth: int = PAGES_AHEAD * MAX_KEYS_PER_PAGE) -> Iterator[Entry]:
    """The same entries, fetched by a thread of their own: the two listings of a sync then wait on S3 at the
    same time instead of in turn. Stopping early (a round handing over) stops the thread."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stopped = threading.Event()
    end = object()

    def offer(item: object) -> bool:
        """Put ``item`` in the buffer unless the consumer has stopped reading; False once it has."""
        while not stopped.is_set():
            try:
                buffer.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for entry in entries:
                if not offer(entry):
                    return
            offer(end)
        except BaseException as error:  # handed to the consumer, which raises it where it reads
            offer(error)

    thread = threading.Thread(target=produce, name="listing", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is end:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stopped.set()
