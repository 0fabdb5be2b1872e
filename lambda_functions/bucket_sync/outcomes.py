"""Outcomes: what happened to each object, one JSON line each in the report, and the counts a summary gives.

Results are read back from the work bucket; a plan batch without a result (its worker crashed or timed out
after every retry) counts each of its keys as failed, so no failure is ever silent. The plan batches and the
results are each listed (one LIST per 1,000 batches), and the results' names carry their failure counts.
"""

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .batches import get_json, list_keys
from .run import SyncRun, batch_of_plan_key, parse_result_key

COPIED, DELETED, FAILED, SKIPPED, PLANNED = "copied", "deleted", "failed", "skipped", "planned"
MISSING_RESULT = "its worker did not finish (no result for its batch after every retry)"


def outcome(item: dict[str, Any], action: str, result: str, error: str | None = None, **extra: Any) -> dict[str, Any]:
    """One report line: key, action, result, reason, size and, for failures, the error."""
    entry = item.get("entry") or {}
    line = {
        "key": item["key"],
        "action": action,
        "result": result,
        "reason": item["reason"],
        "size": entry.get("size", 0),
    }
    if error:
        line["error"] = error
    line.update(extra)
    return line


@dataclass(frozen=True)
class Collected:
    outcomes: list[dict[str, Any]]
    requests: list[dict[str, int]]

    def count(self, result: str) -> int:
        return sum(1 for o in self.outcomes if o["result"] == result)


def batch_results(run: SyncRun, work_s3: Any, kind: str) -> dict[str, tuple[int, int, str]]:
    """Each finished batch of ``kind``: its name -> (attempt, failed, result key), the latest attempt's."""
    results: dict[str, tuple[int, int, str]] = {}
    for key in list_keys(work_s3, run.work_bucket, run.results_prefix(kind)):
        batch, attempt, failed = parse_result_key(key)
        # A retry's result supersedes its predecessor's; should two ever tie, the one with more failures counts.
        results[batch] = max(results.get(batch, (-1, -1, "")), (attempt, failed, key))
    return results


def plan_batches(run: SyncRun, work_s3: Any, kind: str, batches: int | None = None) -> Iterator[str]:
    """The plan batch files of ``kind``, in plan order: a plan made as one range knows their names (``batches``
    of them, numbered from 1); the batches of several ranges are listed (one LIST per 1,000 batches)."""
    if batches is not None:
        return iter([run.plan_key(kind, number) for number in range(1, batches + 1)])
    return list_keys(work_s3, run.work_bucket, run.plan_prefix(kind))


def count_failed(run: SyncRun, work_s3: Any, kind: str, batches: int | None = None) -> int:
    """How many keys of the ``kind`` batches failed: the result names tell, and a batch without a result counts all
    its keys (its plan file is read to know how many). ``batches``: as ``plan_batches``."""
    results = batch_results(run, work_s3, kind)
    failed = 0
    for plan_key in plan_batches(run, work_s3, kind, batches):
        batch = batch_of_plan_key(plan_key)
        if batch in results:
            failed += results[batch][1]
        else:
            failed += len(get_json(work_s3, run.work_bucket, plan_key)["items"])
    return failed


@dataclass(frozen=True)
class BatchOutcomes:
    """One plan batch's report lines and the S3 requests its worker made (None: the batch has no result)."""

    outcomes: list[dict[str, Any]]
    requests: dict[str, int] | None


def batch_outcomes(run: SyncRun, work_s3: Any, kind: str, batches: int | None = None) -> Iterator[BatchOutcomes]:
    """The outcomes of the ``kind`` ("copy" or "delete") batches of a run, one batch at a time in plan order, so a
    reader holds one batch and never the run; a batch without result counts each key as failed. Only the result
    names are held whole (one per batch: a thousandth of the objects, or less). ``batches``: as ``plan_batches``."""
    results = batch_results(run, work_s3, kind)
    for plan_key in plan_batches(run, work_s3, kind, batches):
        batch = batch_of_plan_key(plan_key)
        if batch in results:
            document = get_json(work_s3, run.work_bucket, results[batch][2])
            yield BatchOutcomes(document["outcomes"], document["requests"])
        else:
            items = get_json(work_s3, run.work_bucket, plan_key)["items"]
            yield BatchOutcomes([outcome(item, kind, FAILED, MISSING_RESULT) for item in items], None)


def collect(run: SyncRun, work_s3: Any, kind: str, batches: int | None = None) -> Collected:
    """Every outcome of the ``kind`` ("copy" or "delete") batches of a run, missing results included, in one list:
    for a few batches (WriteReport streams them with ``batch_outcomes``)."""
    outcomes, requests = [], []
    for batch in batch_outcomes(run, work_s3, kind, batches):
        outcomes += batch.outcomes
        if batch.requests is not None:
            requests.append(batch.requests)
    return Collected(outcomes, requests)


def tally(outcomes: list[dict[str, Any]]) -> Counter[str]:
    return Counter(o["result"] for o in outcomes)


MAX_RESULT_ERROR_BYTES = 400
"""What an inline plan's result may say of its error, as UTF-8 JSON: the state holds one result per item, and
AWS's own messages (AccessDenied's names the role, the action and the resource) run to hundreds of bytes."""
WORST_RESULT_BYTES = MAX_RESULT_ERROR_BYTES + 100
"""The most one compact result can take in the state: the error, the result word, an ETag, the JSON around them.
The planner budgets a small plan with this per item, so no outcome can push the state past its limit."""
CLIP = " … "


def json_bytes(value: Any) -> int:
    """Bytes ``value`` takes as JSON in a Step Functions state (UTF-8, escapes included)."""
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))


def clip(text: str, max_bytes: int = MAX_RESULT_ERROR_BYTES) -> str:
    """``text`` cut in the middle to at most ``max_bytes`` as JSON: an error's name comes first and S3's code and
    message last, and both are worth keeping over the key in between."""
    if json_bytes(text) <= max_bytes:
        return text
    keep = len(text)
    while keep and json_bytes(text[: keep // 2] + CLIP + text[len(text) - (keep - keep // 2) :]) > max_bytes:
        keep -= max(1, keep // 16)
    return text[: keep // 2] + CLIP + text[len(text) - (keep - keep // 2) :]


def compact(line: dict[str, Any]) -> list[Any]:
    """An outcome as a worker returns it for an inline plan: [result, error, destination ETag], in item order;
    the error clipped to MAX_RESULT_ERROR_BYTES (the worker's log has it whole)."""
    error = line.get("error")
    return [line["result"], clip(error) if error else error, line.get("etag")]


def expand(items: list[dict[str, Any]], action: str, results: list[list[Any]]) -> list[dict[str, Any]]:
    """Report lines of an inline plan's items from their compact results; an item without one failed."""
    lines = []
    for number, item in enumerate(items):
        if number >= len(results):
            lines.append(outcome(item, action, FAILED, MISSING_RESULT))
            continue
        result, error, etag = results[number]
        extra = {"sourceEtag": item["entry"]["etag"], "etag": etag} if etag else {}
        lines.append(outcome(item, action, result, error, **extra))
    return lines
