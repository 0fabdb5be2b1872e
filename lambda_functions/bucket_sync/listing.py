"""Listing: one bucket's in-scope objects as Entries, in S3's lexicographic (UTF-8 byte) order.

Lists with ListObjectsV2; boto3 asks for ``EncodingType=url`` and decodes every key, so no key is mangled by
XML (control characters, trailing spaces). Makes LIST requests and nothing else.
"""
from dataclasses import asdict, dataclass
from datetime import timezone
from typing import Any, Iterator

MAX_KEYS_PER_PAGE = 1000
"""S3's own maximum: fewer pages means fewer requests."""


@dataclass(frozen=True)
class Entry:
    """What one listing says of one object: enough to decide without a HEAD."""

    key: str
    size: int
    etag: str
    last_modified: str
    """ISO 8601, UTC: listings of both buckets compare with a string comparison."""
    storage_class: str = "STANDARD"

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
            last_modified=item["LastModified"].astimezone(timezone.utc).isoformat(timespec="milliseconds"),
            storage_class=item.get("StorageClass", "STANDARD"),
        )


def list_entries(s3: Any, bucket: str, prefix: str = "", start_after: str = "",
                 page_size: int = MAX_KEYS_PER_PAGE) -> Iterator[Entry]:
    """Every object whose key starts with ``prefix`` and sorts after ``start_after``, in order, lazily."""
    parameters = {"Bucket": bucket, "Prefix": prefix, "PaginationConfig": {"PageSize": page_size}}
    if start_after:
        parameters["StartAfter"] = start_after
    for page in s3.get_paginator("list_objects_v2").paginate(**parameters):
        for item in page.get("Contents", []):
            yield Entry.from_listing(item)
