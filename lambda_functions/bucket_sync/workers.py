"""What copy_keys and delete_orphaned_keys share: where their items come from and where their outcomes go.

Items come either inline (a small plan carried in the state: the compact results go back in the output) or from
one plan batch file (the outcomes, with the requests made, go to the batch's result file, named with the attempt
and the number of failures). Either way the output carries the counts.
"""
from typing import Any, Callable

from .batches import get_json, put_json
from .clients import S3Clients
from .outcomes import COPIED, DELETED, FAILED, SKIPPED, compact, tally
from .requests import merge_counts
from .run import SyncRun, result_key_for

Act = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


def work_on(event: dict[str, Any], run: SyncRun, clients: S3Clients, act: Act) -> dict[str, Any]:
    if "items" in event:
        outcomes = act(event["items"])
        return {"results": [compact(line) for line in outcomes], "requests": clients.counter.snapshot(),
                **counts_of(outcomes)}
    work = clients.for_region("")
    outcomes = act(get_json(work, run.work_bucket, event["batch"])["items"])
    # +1 PutObject: the request that stores this very document.
    requests = merge_counts(clients.counter.snapshot(), {"PutObject": 1})
    counts = counts_of(outcomes)
    put_json(work, run.work_bucket, result_key_for(event["batch"], event.get("attempt", 0), counts["failed"]),
             {"outcomes": outcomes, "requests": requests})
    return counts


def counts_of(outcomes: list[dict[str, Any]]) -> dict[str, int]:
    counts = tally(outcomes)
    return {"copied": counts[COPIED], "deleted": counts[DELETED], "skipped": counts[SKIPPED],
            "failed": counts[FAILED], "bytesCopied": sum(o["size"] for o in outcomes if o["result"] == COPIED)}
