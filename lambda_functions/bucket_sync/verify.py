"""A check's verification: whether two objects the listings could not tell apart hold the same body, decided by the
whole-object checksums S3 keeps for them. Reads only: one HeadObject per side with ``ChecksumMode: ENABLED``, each
on the condition that the object is still the one listed.

Same size and different ETags is what the listings leave open: the ETag of a multipart upload depends on its part
layout and an SSE-KMS object's is no MD5 at all, so equal bodies can have different ETags. A checksum decides
where both sides have one of the same algorithm and it covers the whole object the same way:

- a full-object checksum (CRC64NVME always; CRC32, CRC32C, SHA-1 or SHA-256 of a single-part upload or of a
  multipart upload of the full-object type): equal is matching, different is differing;
- a composite checksum (a checksum of the parts' checksums, ``...-N``): equal is matching (same parts, same
  bodies), but different proves nothing, as two layouts of one body differ.

Where no checksum decides, the key is unverifiable: this check cannot prove it equal, and says so.
"""

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .decide import Check
from .listing import Entry
from .outcomes import CHECK_ACTION, FAILED, outcome

ALGORITHMS = ("crc64nvme", "crc32c", "crc32", "sha256", "sha1")
"""In the order they are compared: the strongest full-object checksum first."""
FULL_OBJECT, COMPOSITE = "FULL_OBJECT", "COMPOSITE"


def checksums(head: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Each algorithm's checksum and its type from a HeadObject answer. Read from the headers, as a Lambda
    runtime's botocore may predate CRC64NVME and ChecksumType; a value without a type header is composite when it
    ends in ``-<parts>``, as S3 writes composite checksums."""
    headers = head.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    declared = headers.get("x-amz-checksum-type", "")
    found = {}
    for algorithm in ALGORITHMS:
        value = headers.get(f"x-amz-checksum-{algorithm}")
        if value:
            suffix = value.rsplit("-", 1)[-1]
            composite = "-" in value and suffix.isdigit()
            kind = declared or (COMPOSITE if composite else FULL_OBJECT)
            found[algorithm] = (value, FULL_OBJECT if algorithm == "crc64nvme" else kind)
    return found


def verdict(source: dict[str, tuple[str, str]], destination: dict[str, tuple[str, str]]) -> tuple[Check, str]:
    """The verdict and why, from both sides' checksums."""
    for algorithm in ALGORITHMS:
        if algorithm not in source or algorithm not in destination:
            continue
        (source_value, source_kind), (destination_value, destination_kind) = source[algorithm], destination[algorithm]
        name = algorithm.upper()
        if source_value == destination_value:
            return Check.MATCHING, f"same size, and the same {name} checksum"
        if source_kind == destination_kind == FULL_OBJECT:
            return Check.DIFFERING, f"same size, but the {name} whole-object checksums differ"
    shared = sorted(set(source) & set(destination))
    if shared:
        why = f"their {', '.join(a.upper() for a in shared)} checksums are of different part layouts"
    else:
        why = "no checksum of one algorithm on both sides"
    return Check.UNVERIFIABLE, f"same size, different ETags, and {why}: S3 keeps nothing that proves them equal"


def head(s3: Any, bucket: str, entry: Entry) -> dict[str, tuple[str, str]]:
    return checksums(s3.head_object(Bucket=bucket, Key=entry.key, IfMatch=entry.etag, ChecksumMode="ENABLED"))


def verify(item: dict[str, Any], source_s3: Any, destination_s3: Any, source_bucket: str, destination_bucket: str):
    """The report line of one key a check verifies (a copy item with its destination entry, ``target``)."""
    source, destination = Entry.from_json(item["entry"]), Entry.from_json(item["target"])
    sides = ((source_s3, source_bucket, source), (destination_s3, destination_bucket, destination))
    found = []
    for s3, bucket, entry in sides:
        try:
            found.append(head(s3, bucket, entry))
        except (ClientError, BotoCoreError) as error:
            return outcome(item, CHECK_ACTION, FAILED, f"HeadObject of s3://{bucket}/{entry.key}: {_error_text(error)}")
    result, why = verdict(found[0], found[1])
    return {**outcome(item, CHECK_ACTION, result.value), "reason": why}


def _error_text(error: Exception) -> str:
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("PreconditionFailed", "412"):
            return f"{code}: it changed after it was listed; check again"
        return f"{code}: {error.response.get('Error', {}).get('Message', '')}"
    return f"{type(error).__name__}: {error}"
