"""What copy_keys and delete_orphaned_keys share: where their items come from, where their outcomes go, and how a
worker that runs out of time hands the rest of its items to the next invocation.

Items come either inline (a small plan carried in the state: the compact results go back in the output) or from
one plan batch file (the outcomes, with the requests made, go to the batch's result file, named with the attempt
and the number of failures). A worker acts on its items in order and may stop early (its time budget): it then
keeps what it did (inline: in its output; a batch: in the batch's partial file) and answers ``"done": false``
with the index to go on from, and the state machine calls it again from there, as planning rounds hand over.
Either way the output carries the counts of everything done so far.

While a batch runs longer than ``PROGRESS_SECONDS``, ``BatchProgress`` says how far it got in a progress object
whose name carries the counts (``run_files.progress_key``), so the operator's client learns them from one listing of the
run's progress folder, without reading a file; a batch done sooner writes none.
"""

import logging
import threading
from collections.abc import Callable
from typing import Any

from .clients import S3Clients
from .outcomes import COPIED, DELETED, FAILED, SKIPPED, compact, tally
from .requests import merge_counts
from .run import SyncRun
from .run_files import INLINE_BATCH, RunFiles, batch_of_plan_key, partial_key_for, progress_key

Act = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
"""Acts on items in order and returns the outcomes of a prefix of them: all, unless its budget ran out."""

COUNTS = ("copied", "deleted", "skipped", "failed", "bytesCopied")

Resumed = Callable[[int, int], None]
"""Told, before ``act`` runs, how many items earlier invocations did and the bytes they copied."""

logger = logging.getLogger(__name__)

PROGRESS_SECONDS = 3.0
"""How often a running batch says how far it got; a batch that ends sooner says nothing, and costs nothing."""


def batch_name(event: dict[str, Any]) -> str:
    """The progress name of the batch an event names: its plan file's range and number (``00003-000000012``), or
    ``INLINE_BATCH``."""
    if "items" in event:
        return INLINE_BATCH
    return batch_of_plan_key(str(event["batch"])).replace("/", "-")


class BatchProgress:
    """Counts a batch's outcomes as they come (from any thread) and, while ``running``, writes how far the batch
    got (earlier invocations included) every ``interval_seconds`` when the count moved: one PutObject each, with
    the client the request counter counts. A write S3 refuses is logged, never raised: progress is for the
    operator's eyes and must not fail a batch."""

    def __init__(
        self, put: Callable[[str], None], run_id: str, batch: str, interval_seconds: float | None = None
    ) -> None:
        self._put, self._run_id, self._batch = put, run_id, batch
        self._interval = PROGRESS_SECONDS if interval_seconds is None else interval_seconds
        self._lock = threading.Lock()
        self._done = self._bytes = 0
        self._written = -1
        self._stop = threading.Event()

    def resume(self, done: int, bytes_copied: int) -> None:
        with self._lock:
            self._done, self._bytes = done, bytes_copied

    def count(self, outcome: dict[str, Any]) -> None:
        with self._lock:
            self._done += 1
            if outcome["result"] == COPIED:
                self._bytes += outcome["size"]

    def write(self) -> None:
        with self._lock:
            done, bytes_copied = self._done, self._bytes
        if done == self._written:
            return
        key = progress_key(self._run_id, self._batch, done, bytes_copied)
        try:
            self._put(key)
        except Exception as error:  # progress must never fail the copies it reports on
            logger.warning("could not write progress %s: %s", key, error)
            return
        self._written = done

    def running(self) -> "_Running":
        return _Running(self)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.write()


class _Running:
    """``with progress.running():`` writes progress in a thread of its own until the block ends."""

    def __init__(self, progress: BatchProgress):
        self._progress = progress
        self._thread = threading.Thread(target=progress._loop, name="batch-progress", daemon=True)

    def __enter__(self) -> BatchProgress:
        self._progress._stop.clear()
        self._thread.start()
        return self._progress

    def __exit__(self, *_: Any) -> None:
        self._progress._stop.set()
        self._thread.join()  # before the requests are counted: its writes are in the batch's s3Requests


def write_progress_with(clients: S3Clients, run: SyncRun) -> Callable[[str], None]:
    """Puts an empty progress object in the work bucket (its name says it all). The work bucket's client is made
    at the first write, so a short inline batch, which never writes, does not make one."""

    def put(key: str) -> None:
        RunFiles(run, clients.for_region("")).write_progress(key)

    return put


def work_on(
    event: dict[str, Any], run: SyncRun, clients: S3Clients, act: Act, resumed: Resumed | None = None
) -> dict[str, Any]:
    if "items" in event:
        return _work_inline(event["items"], event.get("previous") or {}, clients, act, resumed)
    files, batch = RunFiles(run, clients.for_region("")), event["batch"]
    items = files.read_plan_batch(batch)
    start = event.get("start", 0)
    before = files.read_partial(batch) if start else {"outcomes": [], "requests": {}}
    if len(before["outcomes"]) != start:
        raise ValueError(
            f"{partial_key_for(batch)} holds {len(before['outcomes'])} outcomes, not the {start} to go on from"
        )
    if resumed:
        resumed(start, counts_of(before["outcomes"])["bytesCopied"])
    outcomes = before["outcomes"] + act(items[start:])
    # +1 PutObject: the request that stores this very document.
    requests = merge_counts(before["requests"], clients.counter.snapshot(), {"PutObject": 1})
    counts = counts_of(outcomes)
    document = {"outcomes": outcomes, "requests": requests}
    if len(outcomes) < len(items):
        files.write_partial(batch, document)
        return counts | {"done": False, "next": len(outcomes)}
    files.write_result(batch, event.get("attempt", 0), counts["failed"], document)
    return counts | {"done": True}


def _work_inline(
    items: list[dict[str, Any]], previous: dict[str, Any], clients: S3Clients, act: Act, resumed: Resumed | None
) -> dict[str, Any]:
    """A small plan's items, from where the ``previous`` invocation's output stopped."""
    results = list(previous.get("results", []))
    if resumed:
        resumed(len(results), previous.get("bytesCopied", 0))
    outcomes = act(items[len(results) :])
    counts = counts_of(outcomes)
    return {
        "results": results + [compact(line) for line in outcomes],
        "requests": merge_counts(previous.get("requests", {}), clients.counter.snapshot()),
        **{name: previous.get(name, 0) + counts[name] for name in COUNTS},
        "done": len(results) + len(outcomes) == len(items),
    }


def counts_of(outcomes: list[dict[str, Any]]) -> dict[str, int]:
    counts = tally(outcomes)
    return {
        "copied": counts[COPIED],
        "deleted": counts[DELETED],
        "skipped": counts[SKIPPED],
        "failed": counts[FAILED],
        "bytesCopied": sum(o["size"] for o in outcomes if o["result"] == COPIED),
    }
