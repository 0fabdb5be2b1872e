"""Planning: one round of the merge-join, from a cursor, writing the decided actions as batches to S3.

A round lists both buckets from the cursor, decides key after key, and stops when its time budget or key budget
is spent, handing the cursor to the next round. It writes plan batches (copy, delete, skip) to the work bucket
(bucket_sync/run_files.py) and returns counts; it never copies or deletes anything itself. Unchanged keys cost
nothing but their share of LIST pages, and a round with nothing to do writes nothing.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from .batches import decision_to_json
from .decide import TO_VERIFY, Action, Decision, check_of, march
from .etag_pairs import RecordedPairs
from .filters import KeyFilter, rules_of
from .listing import list_entries, read_ahead
from .outcomes import CHECK_ACTION, KEPT, WORST_RESULT_BYTES, json_bytes
from .ranges import KeyRange, take_range
from .requests import merge_counts
from .run import CHECK, SyncRun
from .run_files import RunFiles


@dataclass(frozen=True)
class PlanState:
    """What a round hands to the next, and finally to the copy, delete and report steps. Small by design."""

    cursor: str = ""
    done: bool = False
    rounds: int = 0
    copy_batches: int = 0
    delete_batches: int = 0
    skip_batches: int = 0
    totals: dict[str, int] = field(default_factory=dict)
    """sourceObjects and destinationObjects (in scope), unchanged, toCopy, toDelete, skipped, bytesToCopy."""
    requests: dict[str, int] = field(default_factory=dict)
    """S3 requests the rounds made, per operation."""
    inline: dict[str, list[dict[str, Any]]] | None = None
    """A small plan decided in one round: its copy, delete and skip items, carried in the state instead of in
    batch files, so a small sync costs no request for plans, results or their listings."""
    range_number: int = 0
    """The key range this plan covers: 0 for the whole scope planned as one, else PlanRanges' range."""
    end: str | None = None
    """The range's last key (inclusive; None: to the end of the scope). The cursor is where it starts."""
    ranged: bool = False
    """One of several ranges planned in parallel: its plan never travels in the state, and its last round
    writes its final state for SumPlans."""
    new_copy_batches: tuple[str, ...] = ()
    """The copy batches this round wrote, when the range copies while it is planned: the next step copies them."""
    copied_while_planning: bool = False
    """The ranges copied their batches as they were planned (SumPlans says so), before the delete guards; the first
    round's (range 0) are left to CopySourceKeys."""
    copy_prefix: str = "plan/copy/"
    """The copy batches CopySourceKeys copies, under the run's folder: all of them, or range 0's when the ranges
    copied theirs while planned."""
    missing_ranges: int = 0
    """Ranges whose plan is not complete (SumPlans): nothing may be deleted then."""

    def batches(self) -> dict[str, int]:
        """Plan batches written so far, per kind: they are numbered 1 to this."""
        return {"copy": self.copy_batches, "delete": self.delete_batches, "skip": self.skip_batches}

    def to_json(self) -> dict[str, Any]:
        return {
            "cursor": self.cursor,
            "done": self.done,
            "rounds": self.rounds,
            "copyBatches": self.copy_batches,
            "deleteBatches": self.delete_batches,
            "skipBatches": self.skip_batches,
            "totals": self.totals,
            "requests": self.requests,
            "inline": self.inline,
            "range": self.range_number,
            "end": self.end,
            "ranged": self.ranged,
            "newCopyBatches": list(self.new_copy_batches),
            "newCopyBatchCount": len(self.new_copy_batches),  # what the state machine's Choice can compare
            "copiedWhilePlanning": self.copied_while_planning,
            "copyPrefix": self.copy_prefix,
            "missingRanges": self.missing_ranges,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None, run: SyncRun) -> "PlanState":
        if not data:
            return cls(cursor=run.start_after)
        return cls(
            cursor=data["cursor"],
            done=data["done"],
            rounds=data["rounds"],
            copy_batches=data["copyBatches"],
            delete_batches=data["deleteBatches"],
            skip_batches=data["skipBatches"],
            totals=dict(data["totals"]),
            requests=dict(data["requests"]),
            inline=data.get("inline"),
            range_number=data.get("range", 0),
            end=data.get("end"),
            ranged=data.get("ranged", False),
            copied_while_planning=data.get("copiedWhilePlanning", False),
            copy_prefix=data.get("copyPrefix", "plan/copy/"),
            missing_ranges=data.get("missingRanges", 0),
        )

    @classmethod
    def for_range(cls, key_range: KeyRange, range_number: int, requests: dict[str, int] | None = None) -> "PlanState":
        """The first state of one of several ranges planned in parallel."""
        return cls(
            cursor=key_range.start_after,
            end=key_range.end,
            range_number=range_number,
            ranged=True,
            requests=dict(requests or {}),
        )

    def copies_while_planning(self, run: SyncRun) -> bool:
        """Whether this range's copy batches are copied as soon as they are planned."""
        return self.ranged and ranges_copy_while_planning(run)


def ranges_copy_while_planning(run: SyncRun) -> bool:
    """Ranges planned in parallel copy their batches as they plan them, unless the run plans first or is dry."""
    return not run.plan_first and not run.dry_run


class _BatchWriter:
    """Collects decisions of one kind and writes them in batches of bounded keys and bytes."""

    def __init__(
        self,
        kind: str,
        files: RunFiles,
        batches_before: int,
        max_keys: int,
        max_bytes: int | None = None,
        range_number: int = 0,
    ):
        self.kind, self.files, self.range_number = kind, files, range_number
        self.max_keys, self.max_bytes = max_keys, max_bytes
        self.keys: list[str] = []
        """The batches this round wrote."""
        self.pending: list[dict[str, Any]] = []
        self.pending_bytes = 0
        self.before = self.last = batches_before
        """Batches of this kind the rounds before wrote; this round numbers its own after them."""

    @property
    def written(self) -> int:
        """Batches this round wrote."""
        return self.last - self.before

    def add(self, decision: Decision, item: dict[str, Any]) -> None:
        size = decision.source.size if decision.source else 0
        if self.pending and self.max_bytes is not None and self.pending_bytes + size > self.max_bytes:
            self.flush()
        self.pending.append(item)
        self.pending_bytes += size
        if len(self.pending) >= self.max_keys:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        self.last += 1
        self.keys.append(self.files.write_plan_batch(self.kind, self.last, self.range_number, self.pending))
        self.pending, self.pending_bytes = [], 0


def forget_attempt(run: SyncRun, state: PlanState, work_s3: Any) -> None:
    """Delete what an earlier attempt of this round wrote (the batches numbered after those of the rounds before
    it): a retry may hand over sooner than the attempt that died, and its keys would otherwise be planned twice."""
    files = RunFiles(run, work_s3)
    for kind, batches in state.batches().items():
        files.forget_plan_batches_after(kind, state.range_number, batches)


def plan_round(
    run: SyncRun,
    state: PlanState,
    source_s3: Any,
    destination_s3: Any,
    work_s3: Any,
    out_of_time: Callable[[], bool],
    attempt: int = 0,
) -> PlanState:
    """Decide from ``state.cursor`` until the listings end or a budget is spent; return the next state.

    ``attempt`` is the state machine's retry count for this round: a first attempt has nothing to clean up.
    """
    settings = run.settings
    round_number = state.rounds + 1
    if attempt:
        forget_attempt(run, state, work_s3)
    before = state.batches()
    number, files = state.range_number, RunFiles(run, work_s3)
    writers = {
        Action.COPY: _BatchWriter(
            "copy", files, before["copy"], settings.copy_batch_keys, settings.copy_batch_bytes, number
        ),
        Action.DELETE: _BatchWriter("delete", files, before["delete"], settings.delete_batch_keys, None, number),
        Action.SKIP: _BatchWriter("skip", files, before["skip"], settings.delete_batch_keys, None, number),
    }
    copy_while_planning = state.copies_while_planning(run)
    # A range's first round hands over its first copy batch at once, so that copying starts within seconds.
    copy_round = (1 if not state.rounds else settings.round_copy_batches) if copy_while_planning else 0
    # The whole scope's first round plans alone up to two ranges' worth: a scope that ends within it costs nothing
    # to cut, and one that does not is cut after it (SplitKeySpace, from its cursor).
    may_be_cut = not state.ranged and not state.rounds and settings.list_ranges > 1
    first_round_keys = 2 * settings.min_range_keys if may_be_cut else 0
    totals: Counter[str] = Counter(state.totals)
    totals.update(dict.fromkeys(TOTALS, 0))  # every total present, even at 0: the state machine's choices read them
    start = state.cursor
    key_range = KeyRange(start, state.end)  # take_range inside the reading thread: no page past the range's end
    source = read_ahead(
        take_range(
            key_range, list_entries(source_s3, run.source, run.prefix, start, settings.page_size, restore_status=True)
        )
    )
    destination = read_ahead(
        take_range(key_range, list_entries(destination_s3, run.destination, run.prefix, start, settings.page_size))
    )
    cursor, done, decided = start, True, 0
    recorded = RecordedPairs(work_s3, run.work_bucket, run.destination)
    key_filter = KeyFilter(rules_of(run.filters), run.prefix)
    for decision in march(source, destination, recorded, key_filter, deletes=run.deletes):
        kind, item = planned(run, decision)
        _count(totals, decision, item)
        if kind is not None:
            writers[kind].add(decision, item)
        cursor, decided = decision.key, decided + 1
        if (
            (settings.max_keys_per_round and decided >= settings.max_keys_per_round)
            or (first_round_keys and decided >= first_round_keys)  # the rest is cut into ranges
            or (copy_round and writers[Action.COPY].written >= copy_round)  # hand them to the copies
            or out_of_time()
        ):
            done = False  # hand over: the next round lists from this cursor
            break
    inline = None
    pending = {writer.kind: writer.pending for writer in writers.values()}
    if (
        done
        and not state.ranged
        and not state.rounds
        and not any(writer.written for writer in writers.values())
        and inline_bytes(pending) <= settings.inline_plan_bytes
    ):
        inline = pending  # the whole plan is small: it travels in the state, not in files
    else:
        for writer in writers.values():
            writer.flush()
    return replace(
        state,
        cursor=cursor,
        done=done,
        rounds=round_number,
        inline=inline,
        copy_batches=writers[Action.COPY].last,
        delete_batches=writers[Action.DELETE].last,
        skip_batches=writers[Action.SKIP].last,
        totals=dict(sorted(totals.items())),
        new_copy_batches=tuple(writers[Action.COPY].keys) if copy_while_planning else (),
    )


PLANNED_REQUESTS = {"PutObject": 1}
"""A range's last round writes its final state: counted in it before it is written."""


def start_range(run: SyncRun, work_s3: Any, range_key: str, requests: dict[str, int] | None = None) -> PlanState:
    """The first state of the range whose file (``SplitKeySpace`` wrote it) is ``range_key``."""
    number, key_range = RunFiles(run, work_s3).read_range(range_key)
    return PlanState.for_range(key_range, number, requests)


def finish_range(run: SyncRun, state: PlanState, work_s3: Any) -> PlanState:
    """Write a planned range's final state for SumPlans, its own PutObject counted in it."""
    final = replace(state, requests=merge_counts(state.requests, PLANNED_REQUESTS))
    RunFiles(run, work_s3).write_planned(state.range_number, final.to_json())
    return final


def sum_ranges(run: SyncRun, work_s3: Any, ranges: int, first: PlanState) -> PlanState:
    """The run's plan from the whole scope's first round (range 0, ``first``) and the final states of the ``ranges``
    ranges the rest was cut into: one GET a range (a LIST per 1,000), holding one at a time."""
    totals: Counter[str] = Counter(dict.fromkeys(TOTALS, 0))
    totals.update(first.totals)
    requests: Counter[str] = Counter(first.requests)
    batches: Counter[str] = Counter(first.batches())
    planned, rounds = 0, first.rounds
    for document in RunFiles(run, work_s3).planned_states():
        state = PlanState.from_json(document, run)
        planned += 1
        rounds += state.rounds
        totals.update(state.totals)
        requests.update(state.requests)
        batches.update(state.batches())
    copied = ranges_copy_while_planning(run)
    return PlanState(
        done=True,
        rounds=rounds,
        copy_batches=batches["copy"],
        delete_batches=batches["delete"],
        skip_batches=batches["skip"],
        totals=dict(sorted(totals.items())),
        requests=dict(sorted(requests.items())),
        ranged=True,
        copied_while_planning=copied,
        copy_prefix=RunFiles(run, work_s3).plan_prefix("copy", 0).removeprefix(run.folder) if copied else "plan/copy/",
        missing_ranges=ranges - planned,
    )


def inline_bytes(pending: dict[str, list[dict[str, Any]]]) -> int:
    """What a plan carried in the state can come to: its items, and the worst result each copy and delete can
    add (a clipped error: see outcomes.compact)."""
    acted_on = len(pending["copy"]) + len(pending["delete"])
    return json_bytes(pending) + acted_on * WORST_RESULT_BYTES


TOTALS = (
    "sourceObjects",
    "destinationObjects",
    "unchanged",
    "toCopy",
    "toDelete",
    "skipped",
    "bytesToCopy",
    "excluded",
    "kept",
)


def planned(run: SyncRun, decision: Decision) -> tuple[Action | None, dict[str, Any]]:
    """Which plan batches a decision goes to (None: none) and its item there. A check's keys all go to the report:
    those the listings decide as skip items carrying their verdict, the others as copy items, which copy_keys
    verifies by their checksums; a kept orphan is a skip item too. A copy item carries its destination entry
    (``target``) when the run backs up what it overwrites, or verifies."""
    item = decision_to_json(decision)
    if decision.action is Action.EXCLUDE:
        return None, item
    if run.mode == CHECK:
        verdict = check_of(decision)
        if verdict is None:
            item["reason"] = TO_VERIFY
            assert decision.destination is not None  # only a key both sides have needs its checksums
            return Action.COPY, {**item, "action": CHECK_ACTION, "target": decision.destination.to_json()}
        return Action.SKIP, {**item, "action": CHECK_ACTION, "result": verdict.value}
    if decision.action is Action.KEEP:
        return Action.SKIP, {**item, "action": "delete", "result": KEPT}
    if decision.action is Action.COPY and run.backup and decision.destination is not None:
        return Action.COPY, {**item, "target": decision.destination.to_json()}
    if decision.action is Action.UNCHANGED:
        return None, item
    return decision.action, item


def _count(totals: Counter[str], decision: Decision, item: dict[str, Any]) -> None:
    if decision.action is Action.EXCLUDE:
        totals["excluded"] += 1
        return
    totals["sourceObjects"] += decision.source is not None
    totals["destinationObjects"] += decision.destination is not None
    if "result" in item and item.get("action") == CHECK_ACTION:
        totals[item["result"]] += 1
        return
    if item.get("reason") == TO_VERIFY:
        totals["toVerify"] += 1
        totals["toCopy"] += 1  # what the copy step acts on: CopyInline and CopySourceKeys verify them
        return
    if decision.action is Action.KEEP:
        totals["kept"] += 1
        return
    if decision.action is Action.COPY:
        totals["toCopy"] += 1
        assert decision.source is not None  # march decides a copy only for a key the source has
        totals["bytesToCopy"] += decision.source.size
    elif decision.action is Action.DELETE:
        totals["toDelete"] += 1
    elif decision.action is Action.SKIP:
        totals["skipped"] += 1
    else:
        totals["unchanged"] += 1
