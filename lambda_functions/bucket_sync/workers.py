"""What copy_keys and delete_orphaned_keys share: where their items come from, where their outcomes go, and how a
worker that runs out of time hands the rest of its items to the next invocation.

Items come either inline (a small plan carried in the state: the compact results go back in the output) or from
one plan batch file (the outcomes, with the requests made, go to the batch's result file, named with the attempt
and the number of failures). A worker acts on its items in order and may stop early (its time budget): it then
keeps what it did (inline: in its output; a batch: in the batch's partial file) and answers ``"done": false``
with the index to go on from, and the state machine calls it again from there, as planning rounds hand over.
Either way the output carries the counts of everything done so far.
"""

from collections.abc import Callable
from typing import Any

from .batches import get_json, put_json
from .clients import S3Clients
from .outcomes import COPIED, DELETED, FAILED, SKIPPED, compact, tally
from .requests import merge_counts
from .run import SyncRun, partial_key_for, result_key_for

Act = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
"""Acts on items in order and returns the outcomes of a prefix of them: all, unless its budget ran out."""

COUNTS = ("copied", "deleted", "skipped", "failed", "bytesCopied")


def work_on(event: dict[str, Any], run: SyncRun, clients: S3Clients, act: Act) -> dict[str, Any]:
    if "items" in event:
        return _work_inline(event["items"], event.get("previous") or {}, clients, act)
    work = clients.for_region("")
    items = get_json(work, run.work_bucket, event["batch"])["items"]
    start = event.get("start", 0)
    partial_key = partial_key_for(event["batch"])
    before = get_json(work, run.work_bucket, partial_key) if start else {"outcomes": [], "requests": {}}
    if len(before["outcomes"]) != start:
        raise ValueError(f"{partial_key} holds {len(before['outcomes'])} outcomes, not the {start} to go on from")
    outcomes = before["outcomes"] + act(items[start:])
    # +1 PutObject: the request that stores this very document.
    requests = merge_counts(before["requests"], clients.counter.snapshot(), {"PutObject": 1})
    counts = counts_of(outcomes)
    document = {"outcomes": outcomes, "requests": requests}
    if len(outcomes) < len(items):
        put_json(work, run.work_bucket, partial_key, document)
        return counts | {"done": False, "next": len(outcomes)}
    put_json(work, run.work_bucket, result_key_for(event["batch"], event.get("attempt", 0), counts["failed"]), document)
    return counts | {"done": True}


def _work_inline(items: list[dict[str, Any]], previous: dict[str, Any], clients: S3Clients, act: Act) -> dict[str, Any]:
    """A small plan's items, from where the ``previous`` invocation's output stopped."""
    results = list(previous.get("results", []))
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
