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

from .decide import Check
from .errors import SyncError
from .outcomes import CHECK_ACTION, COPIED, DELETED, FAILED, KEPT, PLANNED, SKIPPED, outcome
from .planner import PlanState
from .pricing import estimate, real_run_requests
from .requests import split_retries
from .run import CHECK, SyncRun
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


SECTIONS = ("copies", "deletes", "skipped")
"""The report's parts, in its order: copies (a dry run's planned copies), deletes (planned, made, or held back),
then the objects skipped."""


def report_batches(
    results: Results,
    dry_run: bool,
    copies_failed: int | None,
    gathered: "Gathered",
    refusal: str | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Every report line of a run, a batch at a time in plan order (``SECTIONS``), from where ``gathered`` says the
    report is: a report written in several invocations goes on after the last batch it wrote. A dry run's copies
    and deletes are planned. ``copies_failed`` is CheckCopies' count, or None to count the copy lines as they pass
    (a small plan has no CheckCopies); when it is not 0 the deletes are held back, reported as skipped, as they are
    when a delete guard refused the plan after copies made while planning (``refusal``, the guard's error name).
    As a batch is handed out, ``gathered`` takes its place and its workers' S3 requests; the caller adds its lines
    to the tally, and may stop between batches."""
    start_section, start_batch = gathered.section, gathered.batch
    for section in range(start_section, len(SECTIONS)):
        after = start_batch if section == start_section else None
        for name, lines in _section(section, results, dry_run, copies_failed, gathered, refusal, after):
            gathered.section, gathered.batch = section, name
            yield lines


def _section(
    section: int,
    results: Results,
    dry_run: bool,
    copies_failed: int | None,
    gathered: "Gathered",
    refusal: str | None,
    after: str | None,
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """One section's batches after ``after``: (name, lines) each."""
    if section == 2:
        # Copies that cannot be made (archived objects), orphans a copy keeps, and a check's verdicts that the
        # listings gave: each item says its action and result when they are not a skipped copy's.
        for name, items in results.item_batches("skip", after):
            yield name, [outcome(item, item.get("action", "copy"), item.get("result", SKIPPED)) for item in items]
    elif dry_run:
        kind = ("copy", "delete")[section]
        for name, items in results.item_batches(kind, after):
            yield name, [outcome(item, kind, PLANNED) for item in items]
    elif section == 0:
        for name, batch in results.outcome_batches("copy", after):
            gathered.requests.update(batch.requests or {})
            gathered.copy_failures += sum(line["result"] == FAILED for line in batch.outcomes)
            yield name, batch.outcomes
    else:
        failed = gathered.copy_failures if copies_failed is None else copies_failed
        if failed or refusal:
            for name, items in results.item_batches("delete", after):
                yield name, [held_back(outcome(item, "delete", SKIPPED), failed, refusal) for item in items]
        else:
            for name, batch in results.outcome_batches("delete", after):
                gathered.requests.update(batch.requests or {})
                yield name, batch.outcomes


def report_lines(
    results: Results,
    dry_run: bool,
    copies_failed: int | None,
    requests: Counter[str],
    refusal: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Every report line of a run, one at a time, in plan order (``report_batches`` from the start); the S3
    requests the workers made are added to ``requests`` as their batches are read."""
    for lines in report_batches(results, dry_run, copies_failed, Gathered(requests=requests), refusal):
        yield from lines


class Tally:
    """The summary's counts of report lines, added one line at a time; it holds no line. (Mutable on purpose: a
    new frozen value per line would cost more than the line.)"""

    __slots__ = ("lines", "copied", "deleted", "skipped", "failed", "bytes_copied", "kept", "backed_up", "checked")

    def __init__(self) -> None:
        self.lines = self.copied = self.deleted = self.skipped = self.failed = self.bytes_copied = 0
        self.kept = self.backed_up = 0
        self.checked: Counter[str] = Counter()
        """A check's verdicts (bucket_sync.decide.Check), by name."""

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
        elif result == KEPT:
            self.kept += 1
        elif line["action"] == CHECK_ACTION:
            self.checked[result] += 1
        self.backed_up += bool(line.get("backup"))

    def to_json(self) -> dict[str, Any]:
        return {name: dict(self.checked) if name == "checked" else getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Tally":
        tally = cls()
        for name in cls.__slots__:
            setattr(tally, name, Counter(data[name]) if name == "checked" else data[name])
        return tally


class Gathered:
    """What a report has gathered so far, which one WriteReport invocation hands to the next with its streams:
    the tally, the workers' S3 requests, the copy lines that failed, and where the report is (a section of
    ``SECTIONS``, and the last batch of it written; None: none yet)."""

    def __init__(
        self,
        tally: Tally | None = None,
        requests: Counter[str] | None = None,
        copy_failures: int = 0,
        section: int = 0,
        batch: str | None = None,
    ):
        self.tally = tally or Tally()
        self.requests = Counter() if requests is None else requests
        self.copy_failures, self.section, self.batch = copy_failures, section, batch

    def to_json(self) -> dict[str, Any]:
        return {
            "tally": self.tally.to_json(),
            "requests": dict(self.requests),
            "copyFailures": self.copy_failures,
            "section": self.section,
            "batch": self.batch,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Gathered":
        return cls(
            Tally.from_json(data["tally"]),
            Counter(data["requests"]),
            data["copyFailures"],
            data["section"],
            data["batch"],
        )


def summarize(
    run: SyncRun, plan: PlanState, tally: Tally, requests: dict[str, int], report_uri: str | None, region: str = ""
) -> dict[str, Any]:
    """The execution's output (README, "Output"); a check's says what it found instead of what it would copy."""
    sent, retries = split_retries(requests)
    summary: dict[str, Any] = {
        "runId": run.run_id,
        "source": run.source,
        "destination": run.destination,
        "prefix": run.prefix,
        "startAfter": run.start_after,
        "mode": run.mode,
        "dryRun": run.dry_run,
        "copied": tally.copied,
        "deleted": tally.deleted,
        "unchanged": plan.totals.get("unchanged", 0),
        "skipped": tally.skipped,
        "failed": tally.failed,
        "toCopy": plan.totals.get("toCopy", 0),
        "toDelete": plan.totals.get("toDelete", 0),
        "kept": tally.kept,
        "excluded": plan.totals.get("excluded", 0),
        "bytesCopied": tally.bytes_copied,
        "s3Requests": sent,
        "s3Retries": retries,
        "report": report_uri,
    }
    if run.backup:
        summary["backedUp"] = tally.backed_up
        summary["backup"] = f"{run.backup}{run.run_id}/"
    summary["estimatedCostUSD"] = cost(run, requests, tally.bytes_copied, region)
    if run.dry_run:
        real = real_run_requests(requests, plan.totals, run.settings.copy_threads)
        summary["estimatedRealRunCostUSD"] = cost(run, real, plan.totals.get("bytesToCopy", 0), region)
    if run.mode == CHECK:
        for name in ("copied", "deleted", "unchanged", "toCopy", "toDelete", "kept", "bytesCopied"):
            del summary[name]
        summary.update({verdict.value: tally.checked.get(verdict.value, 0) for verdict in Check})
        summary["verified"] = plan.totals.get("toVerify", 0)
        summary["checksumHeads"] = sent.get("HeadObject", 0)
    return summary


LOCATION_INVOCATIONS = 2
"""FindSourceRegion and FindDestinationRegion: invocations that carry no counts of their own."""


def cost(run: SyncRun, requests: dict[str, int], bytes_copied: int, region: str) -> dict[str, Any]:
    """The estimate (bucket_sync/pricing.py) in the deployment's ``region``; bytes copied between two regions are
    charged as transfer."""
    across = bool(run.source_region and run.destination_region and run.source_region != run.destination_region)
    return estimate(requests, region, bytes_copied if across else 0, LOCATION_INVOCATIONS)


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
        self._handed_over = False  # suspended, for another invocation to go on with: neither completed nor aborted
        self._resumed = False  # its upload was started by an earlier invocation
        self.written = False
        """Whether the object was written: an empty stream writes nothing."""

    def suspend(self, carry_key: str) -> dict[str, Any]:
        """Stop without completing, for another invocation to go on with (``resume``): what the buffer holds (less
        than a part) is written to ``carry_key``, one PutObject, unless it is empty. Returns the stream's state as
        JSON: the upload and its parts, not the bytes. After this, leaving the context completes nothing."""
        state = {"key": self._key, "uploadId": self._upload_id, "parts": self._parts, "carry": None}
        if self._buffer:
            self._s3.put_object(Bucket=self._bucket, Key=carry_key, Body=bytes(self._buffer))
            state["carry"] = carry_key
        self._buffer = bytearray()
        self._handed_over = True
        return state

    @classmethod
    def resume(
        cls, s3: Any, bucket: str, state: dict[str, Any], content_type: str, part_bytes: int = PART_BYTES
    ) -> "ObjectStream":
        """The stream ``suspend`` stopped, going on where it was (one GetObject for its carried bytes). A failure
        from here on leaves the upload to the retry, which resumes from the same state: only an invocation that
        started an upload aborts it (an upload no retry finishes is the lifecycle rule's to clear)."""
        stream = cls(s3, bucket, state["key"], content_type, part_bytes)
        stream._upload_id, stream._parts, stream._resumed = state["uploadId"], state["parts"], True
        if state["carry"]:
            stream._buffer = bytearray(s3.get_object(Bucket=bucket, Key=state["carry"])["Body"].read())
        return stream

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
        """Abort the upload, if this invocation started it; a refused abort is logged, never raised over the
        failure that led to it (an incomplete upload left behind costs storage only, and a lifecycle rule clears
        it). An upload resumed from another invocation's hand-over is left for the retry to go on with."""
        self._buffer.clear()
        if self._upload_id is None or self._resumed:
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
        if self._handed_over:
            return
        try:
            self.close()
        except BaseException:
            self.abort()
            raise
