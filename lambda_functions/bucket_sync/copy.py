"""Copying: one listed source object to the destination bucket, server-side, as S3 would store it if uploaded there.

Decides first, then does: a source that fits one CopyObject (at most ``multipart_threshold_bytes`` and not a
multipart upload) is copied with exactly one request; any other is copied part by part with UploadPartCopy, in the
source's own part layout, so the destination gets the same ETag and the next sync finds the two equal. Every copy
is conditional on the ETag the decision was made on: a source that changed since it was listed is not copied.

Must not: list, decide, retry (the clients' botocore retry mode does), send a request per object beyond the copy
itself on the single-copy path, or leave an incomplete multipart upload behind.

What carries over: the body, content type and the other system metadata, user metadata, tags and storage class.
What does not: ACLs and object lock settings (the destination bucket's own apply), and encryption (the destination
bucket's default encryption applies, which is what a cross-region copy needs anyway, as KMS keys are regional).

Known gaps, by design:
- Single-copy path: S3 does not copy ``x-amz-website-redirect-location`` with ``MetadataDirective=COPY`` (the
  CopyObject reference says so), and a listing does not carry it, so a source's website redirect is lost. Bringing it
  over would cost a HEAD per object. The multipart path does carry it, as it reads the source's headers anyway.
- Multipart path: the layout is taken as parts of the first part's size and a smaller last part, which is what
  every AWS SDK, the CLI and s3transfer upload. A source uploaded with uneven parts is still copied correctly, but
  its destination ETag differs (``CopyResult.destination_etag``), so the next sync copies it again.
- A source above the threshold that is not a multipart upload (only when the threshold is lowered below S3's 5 GiB
  CopyObject limit: PutObject cannot store more) gets a layout chosen here, so its destination ETag differs.
- ETags equal MD5-based ETags only for unencrypted and SSE-S3 objects; with SSE-KMS they differ anyway.
"""

import logging
import math
from collections.abc import Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from .errors import (
    ArchivedObjectError,
    CopyFailedError,
    SourceChangedError,
    SourceMissingError,
    SyncError,
    TransientS3Error,
)
from .listing import Entry

logger = logging.getLogger(__name__)

MAX_PARTS = 10_000
"""S3's maximum number of parts of one multipart upload."""

STANDARD = "STANDARD"

CHANGED_CODES = frozenset({"PreconditionFailed", "412"})
MISSING_CODES = frozenset({"NoSuchKey", "NotFound", "404"})
"""HeadObject has no body, so its 404 arrives as the bare status code; CopyObject's says NoSuchKey."""
ARCHIVED_CODES = frozenset({"InvalidObjectState", "ObjectNotInActiveTierError"})
"""S3 answers a copy of an unrestored GLACIER or DEEP_ARCHIVE object with either, depending on the API."""
TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "TooManyRequestsException",
        "RequestTimeout",
        "InternalError",
        "ServiceUnavailable",
    }
)
"""Errors botocore retried until it gave up: the object fails with TransientS3Error and the others go on."""

METADATA_FIELDS = (
    "CacheControl",
    "ContentDisposition",
    "ContentEncoding",
    "ContentLanguage",
    "ContentType",
    "Expires",
    "Metadata",
    "WebsiteRedirectLocation",
)
"""HeadObject response fields that CreateMultipartUpload takes under the same name."""


@dataclass(frozen=True)
class CopySettings:
    """How to copy: one object, built once per invocation from the function's configuration."""

    multipart_threshold_bytes: int = 5 * 1024**3
    """A source larger than this, or any source with a multipart ETag ("...-N"), is copied part by part with
    UploadPartCopy; anything else with one CopyObject. 5 GiB is S3's CopyObject limit; tests lower it."""
    part_copy_threads: int = 8
    """UploadPartCopy calls of one object run this many at a time (threads inside the one Lambda invocation)."""
    abort_stale_uploads: bool = False
    """Before a multipart copy, abort uploads of the same key left by an earlier attempt that died. Set on retries
    only: a first attempt has nothing to clean up, and the check costs a request."""

    def __post_init__(self) -> None:
        if self.multipart_threshold_bytes < 1 or self.part_copy_threads < 1:
            raise ValueError(f"CopySettings need a positive threshold and thread count, got {self}")


@dataclass(frozen=True)
class CopyResult:
    """What one copy did, for the sync's report."""

    destination_etag: str
    bytes_copied: int
    multipart: bool
    requests: int
    """S3 requests this copy made (all kinds, not counting botocore retries)."""


@dataclass(frozen=True)
class PartRange:
    """One UploadPartCopy: the part number and the inclusive byte range of the source it copies."""

    number: int
    first_byte: int
    last_byte: int

    @property
    def copy_source_range(self) -> str:
        return f"bytes={self.first_byte}-{self.last_byte}"


def needs_multipart(entry: Entry, settings: CopySettings) -> bool:
    """CopyObject would give a multipart source a single-part ETag, and cannot copy more than 5 GiB."""
    return entry.is_multipart or entry.size > settings.multipart_threshold_bytes


def plan_parts(size: int, part_size: int) -> list[PartRange]:
    """Parts of ``part_size`` bytes and a smaller last part, as SDKs upload; one part for an empty object."""
    if size == 0:
        return [PartRange(1, 0, -1)]
    return [
        PartRange(number, first, min(first + part_size, size) - 1)
        for number, first in enumerate(range(0, size, part_size), start=1)
    ]


def chosen_part_size(size: int, settings: CopySettings) -> int:
    """For a source without a layout of its own: the threshold, or larger when 10,000 parts would not do."""
    return max(settings.multipart_threshold_bytes, math.ceil(size / MAX_PARTS))


def copy_object(
    source_s3: Any,
    destination_s3: Any,
    source_bucket: str,
    destination_bucket: str,
    entry: Entry,
    settings: CopySettings = CopySettings(),
    destination_key: str | None = None,
) -> CopyResult:
    """Copy one listed object, on the condition that its ETag is still ``entry.etag``, to the same key in the
    destination bucket or to ``destination_key`` (a backup's).

    ``source_s3`` is a client in the source bucket's region, ``destination_s3`` one in the destination's: copies
    are requests to the destination naming the source, which S3 serves across regions.

    Raises SourceChangedError, SourceMissingError, ArchivedObjectError, CopyFailedError, or TransientS3Error for
    S3 errors and connection failures that outlived botocore's retries: every failure of one object is named, so
    one stubborn object never fails the invocation that copies a whole batch.
    """
    key = entry.key if destination_key is None else destination_key
    if needs_multipart(entry, settings):
        return _copy_multipart(source_s3, destination_s3, source_bucket, destination_bucket, entry, settings, key)
    return _copy_single(destination_s3, source_bucket, destination_bucket, entry, key)


def _copy_single(
    destination_s3: Any, source_bucket: str, destination_bucket: str, entry: Entry, key: str
) -> CopyResult:
    parameters: dict[str, Any] = {
        "Bucket": destination_bucket,
        "Key": key,
        "CopySource": {"Bucket": source_bucket, "Key": entry.key},
        # The decision was made on this ETag; a source changed since then is the next run's to decide.
        "CopySourceIfMatch": entry.etag,
        "MetadataDirective": "COPY",
        "TaggingDirective": "COPY",
    }
    if entry.storage_class != STANDARD:
        # CopyObject does not carry the storage class over: without it the copy would be STANDARD.
        parameters["StorageClass"] = entry.storage_class
    with _named_errors("CopyObject", source_bucket, entry.key):
        response = destination_s3.copy_object(**parameters)
    return CopyResult(response["CopyObjectResult"]["ETag"], entry.size, multipart=False, requests=1)


def _copy_multipart(
    source_s3: Any,
    destination_s3: Any,
    source_bucket: str,
    destination_bucket: str,
    entry: Entry,
    settings: CopySettings,
    key: str,
) -> CopyResult:
    copy_source = {"Bucket": source_bucket, "Key": entry.key}
    # PartNumber=1 makes one HEAD tell the first part's size and the part count along with the object's headers.
    with _named_errors("HeadObject", source_bucket, entry.key):
        head = source_s3.head_object(Bucket=source_bucket, Key=entry.key, PartNumber=1, IfMatch=entry.etag)
    requests = 1
    if "PartsCount" in head:
        parts = plan_parts(entry.size, head["ContentLength"])
        if len(parts) != head["PartsCount"]:
            logger.warning(
                "s3://%s/%s has uneven parts: its copy is correct but gets a different ETag", source_bucket, entry.key
            )
    else:
        parts = plan_parts(entry.size, chosen_part_size(entry.size, settings))

    create = _metadata_arguments(head)
    if _tag_count(head):
        with _named_errors("GetObjectTagging", source_bucket, entry.key):
            tag_set = source_s3.get_object_tagging(Bucket=source_bucket, Key=entry.key)["TagSet"]
        requests += 1
        # quote, not urlencode's default quote_plus: "%20" is a space to every decoder, "+" only to some.
        create["Tagging"] = urlencode([(tag["Key"], tag["Value"]) for tag in tag_set], quote_via=quote)

    if settings.abort_stale_uploads:
        requests += abort_stale_uploads(destination_s3, destination_bucket, key)
    with _named_errors("CreateMultipartUpload", destination_bucket, key):
        upload_id = destination_s3.create_multipart_upload(Bucket=destination_bucket, Key=key, **create)["UploadId"]
    requests += 1
    try:
        etags = _copy_parts(destination_s3, destination_bucket, key, entry, copy_source, upload_id, parts, settings)
        requests += len(parts)
        with _named_errors("CompleteMultipartUpload", destination_bucket, key):
            completed = destination_s3.complete_multipart_upload(
                Bucket=destination_bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={
                    "Parts": [
                        {"PartNumber": part.number, "ETag": etag} for part, etag in zip(parts, etags, strict=True)
                    ]
                },
            )
        requests += 1
    except BaseException:
        _abort(destination_s3, destination_bucket, key, upload_id)
        raise
    return CopyResult(completed["ETag"], entry.size, multipart=True, requests=requests)


def abort_stale_uploads(destination_s3: Any, destination_bucket: str, key: str) -> int:
    """Abort the uploads of ``key`` that an earlier attempt left when it died mid-copy (a crash or a Lambda
    timeout gives it no chance to abort). Returns the requests made."""
    requests = 0
    stale = []
    with _named_errors("ListMultipartUploads", destination_bucket, key):
        for page in destination_s3.get_paginator("list_multipart_uploads").paginate(
            Bucket=destination_bucket, Prefix=key
        ):
            requests += 1
            stale += [upload["UploadId"] for upload in page.get("Uploads", []) if upload["Key"] == key]
    for upload_id in stale:
        _abort(destination_s3, destination_bucket, key, upload_id)
        requests += 1
    return requests


def _copy_parts(
    destination_s3: Any,
    destination_bucket: str,
    key: str,
    entry: Entry,
    copy_source: dict[str, str],
    upload_id: str,
    parts: list[PartRange],
    settings: CopySettings,
) -> list[str]:
    """UploadPartCopy every part, some at a time; on the first failure, start no more and raise it."""

    def copy_part(part: PartRange) -> str:
        parameters = {
            "Bucket": destination_bucket,
            "Key": key,
            "UploadId": upload_id,
            "PartNumber": part.number,
            "CopySource": copy_source,
            "CopySourceIfMatch": entry.etag,
        }
        if part.last_byte >= part.first_byte:  # an empty object is copied whole: it has no byte range
            parameters["CopySourceRange"] = part.copy_source_range
        with _named_errors("UploadPartCopy", copy_source["Bucket"], entry.key):
            return destination_s3.upload_part_copy(**parameters)["CopyPartResult"]["ETag"]

    with ThreadPoolExecutor(max_workers=min(settings.part_copy_threads, len(parts))) as pool:
        futures = [pool.submit(copy_part, part) for part in parts]
        wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            future.cancel()  # after a failure, parts not started yet would only be thrown away by the abort
    # Leaving the block waited for the parts in flight, so an abort that follows finds no part still arriving.
    failures = [error for future in futures if not future.cancelled() and (error := future.exception()) is not None]
    if failures:
        raise failures[0]
    return [future.result() for future in futures]


def _abort(destination_s3: Any, destination_bucket: str, key: str, upload_id: str) -> None:
    """Parts of an incomplete upload are billed until aborted; a failed abort is logged, the first error raised."""
    try:
        destination_s3.abort_multipart_upload(Bucket=destination_bucket, Key=key, UploadId=upload_id)
    except Exception:
        logger.exception(
            "could not abort multipart upload %s of %s/%s; a lifecycle rule must clean it up",
            upload_id,
            destination_bucket,
            key,
        )


def _metadata_arguments(head: dict[str, Any]) -> dict[str, Any]:
    arguments = {field: head[field] for field in METADATA_FIELDS if field in head}
    storage_class = head.get("StorageClass", STANDARD)  # HeadObject omits it for STANDARD
    if storage_class != STANDARD:
        arguments["StorageClass"] = storage_class
    return arguments


def _tag_count(head: dict[str, Any]) -> int:
    """S3 sends x-amz-tagging-count only for tagged objects. Read from the raw headers too, because a Lambda
    runtime's botocore may predate HeadObject's TagCount field."""
    if "TagCount" in head:
        return head["TagCount"]
    return int(head.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-tagging-count", 0))


@contextmanager
def _named_errors(operation: str, bucket: str, key: str) -> Iterator[None]:
    """Turns the failure of one request into the sync's named error for its failure mode. A parameter the SDK
    refuses is this code's bug, not the object's: it is left to fail loudly."""
    try:
        yield
    except ClientError as error:
        raise named_error(error, operation, bucket, key) from error
    except ParamValidationError:
        raise
    except BotoCoreError as error:  # connection reset, read timeout, endpoint unreachable, after every retry
        raise TransientS3Error(f"{operation} of s3://{bucket}/{key}: {type(error).__name__}: {error}") from error


def named_error(error: ClientError, operation: str, bucket: str, key: str) -> SyncError:
    """The named error for a ClientError."""
    code = str(error.response.get("Error", {}).get("Code", ""))
    message = error.response.get("Error", {}).get("Message", "")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    where = f"{operation} of s3://{bucket}/{key}"
    if code in CHANGED_CODES or status == 412:
        return SourceChangedError(f"{where}: the source changed after it was listed ({code})")
    if code in MISSING_CODES:
        return SourceMissingError(f"{where}: the source was deleted after it was listed ({code})")
    if code in ARCHIVED_CODES:
        return ArchivedObjectError(f"{where}: the source is archived and not restored ({code}: {message})")
    if code in TRANSIENT_CODES or status >= 500:
        return TransientS3Error(f"{where}: {code or status}: {message}")
    return CopyFailedError(f"{where}: {code}: {message}")
