"""Outcomes: what happened to each object, one JSON line each in the report, and the counts a summary gives.

A plan batch without a result (its worker crashed or timed out after every retry) counts each of its keys as
failed (``MISSING_RESULT``), so no failure is ever silent; bucket_sync/run_files.py reads the results and the plan
batches back from the work bucket. This module holds no file name and makes no request.
"""

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

COPIED, DELETED, FAILED, SKIPPED, PLANNED = "copied", "deleted", "failed", "skipped", "planned"
KEPT = "kept"
CHECK_ACTION = "check"
"""The action of a check's report lines (mode "check"), whose results are bucket_sync.decide.Check's verdicts."""
"""An orphan a copy (mode "copy") leaves in the destination, or one rewritten there after it was listed."""
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


@dataclass(frozen=True)
class BatchOutcomes:
    """One plan batch's report lines and the S3 requests its worker made (None: the batch has no result)."""

    outcomes: list[dict[str, Any]]
    requests: dict[str, int] | None


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
    """An outcome as a worker returns it for an inline plan: [result, error, destination ETag], in item order,
    and a fourth element, 1, when the object was backed up first; the error clipped to MAX_RESULT_ERROR_BYTES (the
    worker's log has it whole)."""
    error = line.get("error")
    if line["action"] == CHECK_ACTION and not error:
        error = line["reason"]  # a check's verdict comes with its reason, which the item cannot know
    compacted = [line["result"], clip(error) if error else error, line.get("etag")]
    return [*compacted, 1] if line.get("backup") else compacted


def expand(
    items: list[dict[str, Any]], action: str, results: list[list[Any]], backups: str = ""
) -> list[dict[str, Any]]:
    """Report lines of an inline plan's items from their compact results; an item without one failed. A result
    with a fourth element was backed up, under ``backups`` (the run's backup folder)."""
    lines = []
    for number, item in enumerate(items):
        if number >= len(results):
            lines.append(outcome(item, action, FAILED, MISSING_RESULT))
            continue
        result, error, etag = results[number][:3]
        extra: dict[str, Any] = {"sourceEtag": item["entry"]["etag"], "etag": etag} if etag else {}
        if len(results[number]) > 3:
            extra["backup"] = backups + item["key"]
        if item.get("action") == CHECK_ACTION:
            line = outcome(item, CHECK_ACTION, result, error if result == FAILED else None)
            lines.append(line if result == FAILED else {**line, "reason": error})
            continue
        lines.append(outcome(item, action, result, error, **extra))
    return lines
