"""What the tasks print: stack events, sync progress and summaries. Presentation only; no decisions."""

import datetime
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from tqdm import tqdm

from . import executions


def print_event(event: dict[str, Any]) -> None:
    when = event.get("Timestamp")
    stamp = when.strftime("%H:%M:%S") if when else "        "
    reason = event.get("ResourceStatusReason") or ""
    print(f"  {stamp}  {event['LogicalResourceId']:<36} {event['ResourceStatus']:<20} {reason}".rstrip())


COST_FIELDS = ("estimatedCostUSD", "estimatedRealRunCostUSD")
"""Shown apart from the table, one line each: their figures are a breakdown, not counts."""


def print_summary(summary: dict[str, Any]) -> None:
    table = {key: value for key, value in summary.items() if key not in COST_FIELDS}
    width = max(len(key) for key in table)
    for key, value in table.items():
        shown = (", ".join(f"{op} {n}" for op, n in value.items()) or "none") if isinstance(value, dict) else value
        print(f"  {key:<{width}}  {shown}")
    cost = summary.get("estimatedCostUSD")
    if cost:
        print(f"  estimated cost  {cost_line(cost)}")


def cost_line(cost: dict[str, Any]) -> str:
    """``estimatedCostUSD`` in a line: the total, then what it is made of."""
    return (
        f"${cost['total']:.4f} (S3 requests ${cost['s3Requests']:.4f}, Lambda ${cost['lambda']:.4f} for "
        f"{cost['lambdaGBSeconds']} GB-s, Step Functions ${cost['stepFunctions']:.4f}, transfer "
        f"${cost['dataTransfer']:.4f}; list prices of {cost['pricedAs']})"
    )


PLANNING_FORMAT = "{desc}: {n_fmt}{unit} [{elapsed}]"
OBJECTS_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]"
"""tqdm's own rate is left out: it smooths over the jumps between polls (a whole batch at once) into rates no
sync reaches; the objects' rate is the sync's own, from when its copy phase began."""


class ProgressBar:
    """A live bar of a running sync on a terminal: keys compared while planning, then the objects copied and
    deleted (with the bytes copied) out of those planned, from the moment copying begins: as the batches finish,
    and within them as they say how far they got."""

    def __init__(self, stream: TextIO, now: Callable[[], datetime.datetime] | None = None):
        self._bar = tqdm(total=None, unit=" keys", file=stream, dynamic_ncols=True, bar_format=PLANNING_FORMAT)
        self._counting_objects = False
        self._now = now or (lambda: datetime.datetime.now(datetime.UTC))

    def __call__(self, progress: executions.Progress) -> None:
        bar = self._bar
        copying = progress.phase_started is not None or progress.copy_share or progress.delete_share
        if not self._counting_objects and progress.to_do and copying:
            bar.reset(total=progress.to_do)
            bar.unit, bar.bar_format, self._counting_objects = " objects", OBJECTS_FORMAT, True
        if self._counting_objects:
            done = progress.copied + progress.deleted
            rate = progress.rate(self._now())
            bar.set_postfix_str(
                f"copied {progress.copied:,}, deleted {progress.deleted:,}, "
                f"{executions.human_bytes(progress.bytes_copied)} of "
                f"{executions.human_bytes(progress.bytes_to_copy)}" + (f", {rate:,.0f} objects/s" if rate else ""),
                refresh=False,
            )
        else:
            done = progress.compared
        bar.set_description_str(progress.state, refresh=False)
        bar.update(max(0, done - bar.n))
        bar.refresh()

    def close(self) -> None:
        self._bar.close()


def run_sync(
    sfn: Any,
    state_machine_arn: str,
    document: dict[str, Any],
    quiet: bool = False,
    s3: Any = None,
    work_bucket: str = "",
) -> executions.ExecutionResult:
    """Start one execution, follow it (a live bar on a terminal, a line per change otherwise), print its summary,
    and for a dry run what it would do; return the result. With ``s3`` and the deployment's ``work_bucket``,
    copies are counted within the batches too."""
    arn = executions.start(sfn, state_machine_arn, document)
    return watch(sfn, arn, quiet, s3, work_bucket, started=True)


def watch(
    sfn: Any,
    execution_arn: str,
    quiet: bool = False,
    s3: Any = None,
    work_bucket: str = "",
    started: bool = False,
) -> executions.ExecutionResult:
    """Follow an execution to its end as ``fab sync`` does (``started``: it did start it), print its summary (at
    once for one that has ended), and for a dry run what it would do; Ctrl-C raises FollowInterrupted."""
    say = (lambda *_: None) if quiet else print
    last: list[executions.Progress] = []

    def say_progress(progress: executions.Progress) -> None:
        last[:] = [progress]
        if progress.line():  # before its first state, an execution has nothing to say
            say(f"  {progress.line()}")

    in_batches = (lambda run_id: executions.copies_in_batches(s3, work_bucket, run_id)) if s3 else None
    try:  # from the moment it started: a Ctrl-C even as its name is printed leaves it running
        say(f"Execution {execution_arn}" if started else f"Watching execution {execution_arn}")
        if quiet or not sys.stdout.isatty():
            result = executions.follow(sfn, execution_arn, say_progress, in_batches=in_batches)
        else:
            bar = ProgressBar(sys.stdout)

            def show(progress: executions.Progress) -> None:
                last[:] = [progress]
                bar(progress)

            try:
                result = executions.follow(sfn, execution_arn, show, in_batches=in_batches)
            finally:
                bar.close()
    except KeyboardInterrupt:
        raise executions.FollowInterrupted(execution_arn) from None
    summary = result.output if result.succeeded else executions.failure_summary(result)
    if summary and not quiet:
        print(f"Sync {result.status.lower()}:")
        print_summary(summary)
        if summary.get("dryRun") and s3 is not None:
            print_dry_run(summary, last[0] if last else executions.Progress(), s3)
    return result


DRY_RUN_LINES = 10
"""How many of a dry run's planned actions ``fab sync --dry-run`` shows; ``fab report --planned`` has them all."""


def print_dry_run(summary: dict[str, Any], progress: executions.Progress, s3: Any) -> None:
    """What a dry run would do: its counts, the bytes it would copy, and its first planned actions."""
    print(
        f"Dry run, nothing changed: it would copy {summary.get('toCopy', 0):,} object(s) "
        f"({executions.human_bytes(progress.bytes_to_copy)}) and delete {summary.get('toDelete', 0):,}; "
        f"{summary.get('unchanged', 0):,} unchanged, {summary.get('skipped', 0):,} skipped."
    )
    real = summary.get("estimatedRealRunCostUSD")
    if real:
        print(f"The real run would cost about {cost_line(real)}.")
    if not summary.get("report"):
        return
    lines = list(executions.planned_lines(s3, summary["report"], DRY_RUN_LINES))
    if lines:
        print(f"First {len(lines)} planned action(s):")
        for line in lines:
            print(f"  {line['action']:<7} {line['key']}  ({line.get('reason', '')})")
    total = summary.get("toCopy", 0) + summary.get("toDelete", 0)
    if total > len(lines):
        print(f"All {total:,}: fab report --planned --execution {summary.get('runId', '')}".rstrip())


def print_stopped(stopped: executions.Stopped) -> None:
    """What ``fab stop`` did, in sentences."""
    progress = stopped.progress
    print(f"Stopped execution {stopped.name} in {progress.state or 'its first step'}.")
    if progress.to_do or progress.rounds:
        print(
            f"  It had copied {progress.copied:,} of {progress.to_copy:,} object(s) "
            f"({executions.human_bytes(progress.bytes_copied)} of {executions.human_bytes(progress.bytes_to_copy)})"
            f" and deleted {progress.deleted:,} of {progress.to_delete:,}; copies already under way finish, and "
            "nothing starts after them."
        )
    if stopped.deletes_started:
        print(
            "  Its deletions had begun: those made stay made; the rest will not be made by this run. The next sync "
            "deletes what is still orphaned."
        )
    else:
        print(
            "  No deletion was made: deletions run only after every copy, and this run holds them back as a failed "
            "copy does. The next sync deletes what is still orphaned."
        )
    print(f"  Lock: {stopped.lock}.")


def print_status(rows: list[executions.ExecutionSummary]) -> None:
    if not rows:
        print("No sync has run yet.")
        return
    buckets = [f"{row.source} -> {row.destination}" for row in rows]
    width = max(len("source -> destination"), *(len(shown) for shown in buckets))
    name_width = max(len("execution"), *(len(row.name) for row in rows))
    flags = [" ".join(row.flags) or "-" for row in rows]
    flags_width = max(len("flags"), *(len(shown) for shown in flags))
    # The start is 19 characters wide (%Y-%m-%d %H:%M:%S): its header is padded to the same width.
    print(
        f"{'started (UTC)':<19} {'status':<10} {'seconds':>8} {'copied':>8} {'deleted':>8} {'failed':>7}  "
        f"{'source -> destination':<{width}}  {'flags':<{flags_width}}  {'execution':<{name_width}}  error"
    )
    for row, shown, marks in zip(rows, buckets, flags, strict=True):
        summary = row.summary or {}
        print(
            f"{row.started:%Y-%m-%d %H:%M:%S} {row.status:<10} {seconds_of(row):>8} {summary.get('copied', '-'):>8} "
            f"{summary.get('deleted', '-'):>8} {summary.get('failed', '-'):>7}  {shown:<{width}}  "
            f"{marks:<{flags_width}}  {row.name:<{name_width}}  {row.problem}".rstrip()
        )


def seconds_of(row: executions.ExecutionSummary) -> str:
    """How long the run took; "running" only while it runs ("-" when how it ended is unknown)."""
    if row.stopped:
        return f"{(row.stopped - row.started).total_seconds():.1f}"
    return "running" if row.status == "RUNNING" else "-"


def status_json(rows: list[executions.ExecutionSummary]) -> str:
    """``fab status --json``: the rows as one JSON array, newest first; times in ISO 8601, ``seconds`` null while
    running, ``error`` the error's name and the first line of its cause (empty when none), ``summary`` the
    execution output (or the summary a failed sync's error carries, or null)."""
    return json.dumps(
        [
            {
                "name": row.name,
                "arn": row.arn,
                "status": row.status,
                "started": row.started.isoformat(),
                "stopped": row.stopped.isoformat() if row.stopped else None,
                "seconds": (row.stopped - row.started).total_seconds() if row.stopped else None,
                "source": row.source,
                "destination": row.destination,
                "prefix": row.prefix,
                "startAfter": row.start_after,
                "dryRun": row.dry_run,
                "flags": row.flags,
                "error": row.problem,
                "summary": row.summary,
            }
            for row in rows
        ],
        ensure_ascii=False,
    )


def print_report_line(line: dict[str, Any]) -> None:
    detail = line.get("error") or line.get("reason", "")
    print(f"{line['action']:<7} {line['result']:<8} {line.get('size', 0):>12}  {line['key']}  ({detail})")
