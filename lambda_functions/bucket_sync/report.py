"""The report: a run's results as report lines one at a time, the summary counted as they pass, and the object
streamed to S3 as it is produced, so WriteReport's memory does not grow with the number of objects.

Three parts, each testable alone:

- ``report_lines`` turns the results (``run_files.Results``: the work bucket's batch files, or a small plan's
  compact results carried in the state, two implementations of one interface) into report lines in plan order:
  copies, deletes (or the deletes held back), skipped objects. It holds one batch at a time.
- ``Tally`` counts what the summary says of the lines (copied, deleted, skipped, failed, bytes) as they pass,
  holding no line; ``summarize`` makes the summary from it.
- ``ObjectStream`` writes an object from chunks as they come: one PutObject for an object smaller than a part,
  otherwise a multipart upload of parts of at least ``PART_BYTES`` (S3's minimum, all but the last), aborted on
  failure so no incomplete upload is left behind.

It makes no decision of the sync and knows nothing of the state machine.
"""

import json
import logging
from collections import Counter
from collections.abc import Iterator
from types import TracebackType
from typing import Any

from .errors import SyncError
from .outcomes import COPIED, DELETED, FAILED, PLANNED, SKIPPED, outcome
from .planner import PlanState
from .requests import split_retries
from .run import SyncRun
from .run_files import Results

logger = logging.getLogger(__name__)

PART_BYTES = 5 * 1024 * 1024
"""S3's smallest part of a multipart upload (all but the last): about what a stream holds at most."""
MAX_PARTS = 10_000
"""S3's most parts in one upload: 10,000 parts of 5 MiB hold about 48 GiB, some 150 million report lines."""
REPORT_CONTENT_TYPE = "application/x-ndjson"


class ReportTooLargeError(SyncError):
    """A streamed object would need more than S3's 10,000 parts."""


def held_back(line: dict[str, Any], copies_failed: int, refusal: str | None = None) -> dict[str, Any]:
    if refusal:
        reason = f"not deleted: {refusal} ({line['key']!r} is one of the deletions it refused)"
    else:
        reason = (
            f"not deleted: {copies_failed} copies failed, and deletions run only after every copy succeeded; "
            "the next run deletes it"
        )
    return {**line, "result": SKIPPED, "error": reason}


def report_lines(
    results: Results,
    dry_run: bool,
    copies_failed: int | None,
    requests: Counter[str],
    refusal: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Every report line of a run, one at a time, in plan order: copies, then deletes, then skipped objects. A dry
    run's copies and deletes are planned. ``copies_failed`` is CheckCopies' count, or None to count the copy lines
    as they pass (a small plan has no CheckCopies); when it is not 0 the deletes are held back, reported as
    skipped, as they are when a delete guard refused the plan after copies made while planning (``refusal``, the
    guard's error name). The S3 requests the workers made are added to ``requests`` as their batches are read."""
    if dry_run:
        for kind in ("copy", "delete"):
            for item in results.items(kind):
                yield outcome(item, kind, PLANNED)
    else:
        counted = 0
        for batch in results.outcomes("copy"):
            requests.update(batch.requests or {})
            for line in batch.outcomes:
                counted += line["result"] == FAILED
                yield line
        failed = counted if copies_failed is None else copies_failed
        if failed or refusal:
            for item in results.items("delete"):
                yield held_back(outcome(item, "delete", SKIPPED), failed, refusal)
        else:
            for batch in results.outcomes("delete"):
                requests.update(batch.requests or {})
                yield from batch.outcomes
    for item in results.items("skip"):
        yield outcome(item, "copy", SKIPPED)  # a skip batch holds copies that cannot be made (archived objects)


class Tally:
    """The summary's counts of report lines, added one line at a time; it holds no line. (Mutable on purpose: a
    new frozen value per line would cost more than the line.)"""

    __slots__ = ("lines", "copied", "deleted", "skipped", "failed", "bytes_copied")

    def __init__(self) -> None:
        self.lines = self.copied = self.deleted = self.skipped = self.failed = self.bytes_copied = 0

    def add(self, line: dict[str, Any]) -> None:
        self.lines += 1
        result = line["result"]
        if result == COPIED:
            self.bytes_copied += line["size"]
            self.copied += line["action"] == "copy"
        elif result == DELETED:
            self.deleted += line["action"] == "delete"
        elif result == SKIPPED:
            self.skipped += 1
        elif result == FAILED:
            self.failed += 1


def summarize(
    run: SyncRun, plan: PlanState, tally: Tally, requests: dict[str, int], report_uri: str | None
) -> dict[str, Any]:
    """The execution's output (README, "Output")."""
    sent, retries = split_retries(requests)
    return {
        "runId": run.run_id,
        "source": run.source,
        "destination": run.destination,
        "prefix": run.prefix,
        "startAfter": run.start_after,
        "dryRun": run.dry_run,
        "copied": tally.copied,
        "deleted": tally.deleted,
        "unchanged": plan.totals.get("unchanged", 0),
        "skipped": tally.skipped,
        "failed": tally.failed,
        "toCopy": plan.totals.get("toCopy", 0),
        "toDelete": plan.totals.get("toDelete", 0),
        "bytesCopied": tally.bytes_copied,
        "s3Requests": sent,
        "s3Retries": retries,
        "report": report_uri,
    }


def json_line(line: dict[str, Any]) -> bytes:
    return (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")


class ObjectStream:
    """An S3 object written from chunks as they come, holding at most one part: one PutObject when the whole
    object is smaller than ``part_bytes``, else CreateMultipartUpload, an UploadPart per ``part_bytes`` or more
    and CompleteMultipartUpload. Used as a context manager: it completes on a clean exit and aborts the upload
    when anything raised (completing included). ``part_bytes`` below S3's minimum is for tests (S3 and the
    endpoint refuse such parts at completion)."""

    def __init__(self, s3: Any, bucket: str, key: str, content_type: str, part_bytes: int = PART_BYTES):
        self._s3, self._bucket, self._key, self._content_type = s3, bucket, key, content_type
        self._part_bytes = part_bytes
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []  # a part number and an ETag each: 10,000 at most
        self.written = False
        """Whether the object was written: an empty stream writes nothing."""

    def write(self, chunk: bytes) -> None:
        self._buffer += chunk
        if len(self._buffer) >= self._part_bytes:
            self._upload_part()

    def _upload_part(self) -> None:
        if self._upload_id is None:
            self._upload_id = self._s3.create_multipart_upload(
                Bucket=self._bucket, Key=self._key, ContentType=self._content_type
            )["UploadId"]
        number = len(self._parts) + 1
        if number > MAX_PARTS:
            raise ReportTooLargeError(
                f"s3://{self._bucket}/{self._key} needs more than {MAX_PARTS} parts of {self._part_bytes} bytes"
            )
        body, self._buffer = self._buffer, bytearray()  # handed over whole, not copied: one part held, not two
        answer = self._s3.upload_part(
            Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, PartNumber=number, Body=body
        )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def close(self) -> None:
        """Write what is left: the whole object, or the last part and the completion."""
        if self._upload_id is None:
            if self._buffer:
                self._s3.put_object(
                    Bucket=self._bucket, Key=self._key, Body=self._buffer, ContentType=self._content_type
                )
                self._buffer = bytearray()
                self.written = True
            return
        if self._buffer:
            self._upload_part()
        self._s3.complete_multipart_upload(
            Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
        )
        self._upload_id = None
        self.written = True

    def abort(self) -> None:
        """Abort the upload, if one was started; a refused abort is logged, never raised over the failure that
        led to it (an incomplete upload left behind costs storage only, and a lifecycle rule clears it)."""
        self._buffer.clear()
        if self._upload_id is None:
            return
        try:
            self._s3.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id)
        except Exception:
            logger.exception("could not abort the upload %s of s3://%s/%s", self._upload_id, self._bucket, self._key)
        self._upload_id = None

    def __enter__(self) -> "ObjectStream":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if kind is not None:
            self.abort()
            return
        try:
            self.close()
        except BaseException:
            self.abort()
            raise
