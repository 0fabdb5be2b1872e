"""What the tasks print: stack events, sync progress and summaries. Presentation only; no decisions."""

import sys
from typing import Any, TextIO

from tqdm import tqdm

from . import executions


def print_event(event: dict[str, Any]) -> None:
    when = event.get("Timestamp")
    stamp = when.strftime("%H:%M:%S") if when else "        "
    reason = event.get("ResourceStatusReason") or ""
    print(f"  {stamp}  {event['LogicalResourceId']:<36} {event['ResourceStatus']:<20} {reason}".rstrip())


def print_summary(summary: dict[str, Any]) -> None:
    width = max(len(key) for key in summary)
    for key, value in summary.items():
        shown = (", ".join(f"{op} {n}" for op, n in value.items()) or "none") if isinstance(value, dict) else value
        print(f"  {key:<{width}}  {shown}")


class ProgressBar:
    """A live bar of a running sync on a terminal: keys compared while planning, then the objects copied and
    deleted (with the bytes copied) out of those planned, as the execution's batches finish."""

    def __init__(self, stream: TextIO):
        self._bar = tqdm(total=None, unit=" keys", file=stream, dynamic_ncols=True)
        self._counting_objects = False

    def __call__(self, progress: executions.Progress) -> None:
        bar = self._bar
        if not self._counting_objects and progress.to_do and (progress.copy_share or progress.delete_share):
            bar.reset(total=progress.to_do)
            bar.unit, self._counting_objects = " objects", True
        if self._counting_objects:
            done = progress.copied + progress.deleted
            bar.set_postfix_str(
                f"copied {progress.copied:,}, deleted {progress.deleted:,}, "
                f"{executions.human_bytes(progress.bytes_copied)} of "
                f"{executions.human_bytes(progress.bytes_to_copy)}",
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
    sfn: Any, state_machine_arn: str, document: dict[str, Any], quiet: bool = False
) -> executions.ExecutionResult:
    """Start one execution, follow it (a live bar on a terminal, a line per change otherwise), print its summary;
    return the result."""
    arn = executions.start(sfn, state_machine_arn, document)
    say = (lambda *_: None) if quiet else print

    def say_progress(progress: executions.Progress) -> None:
        if progress.line():  # before its first state, an execution has nothing to say
            say(f"  {progress.line()}")

    try:  # from the moment it started: a Ctrl-C even as its name is printed leaves it running
        say(f"Execution {arn}")
        if quiet or not sys.stdout.isatty():
            result = executions.follow(sfn, arn, say_progress)
        else:
            bar = ProgressBar(sys.stdout)
            try:
                result = executions.follow(sfn, arn, bar)
            finally:
                bar.close()
    except KeyboardInterrupt:
        raise executions.FollowInterrupted(arn) from None
    summary = result.output if result.succeeded else executions.failure_summary(result)
    if summary and not quiet:
        print(f"Sync {result.status.lower()}:")
        print_summary(summary)
    return result


def print_status(rows: list[executions.ExecutionSummary]) -> None:
    if not rows:
        print("No sync has run yet.")
        return
    buckets = [f"{row.source} -> {row.destination}" for row in rows]
    width = max(len("source -> destination"), *(len(shown) for shown in buckets))
    name_width = max(len("execution"), *(len(row.name) for row in rows))
    # The start is 19 characters wide (%Y-%m-%d %H:%M:%S): its header is padded to the same width.
    print(
        f"{'started (UTC)':<19} {'status':<10} {'seconds':>8} {'copied':>8} {'deleted':>8} {'failed':>7}  "
        f"{'source -> destination':<{width}}  {'execution':<{name_width}}  error"
    )
    for row, shown in zip(rows, buckets, strict=True):
        summary = row.summary or {}
        seconds = f"{(row.stopped - row.started).total_seconds():.1f}" if row.stopped else "running"
        print(
            f"{row.started:%Y-%m-%d %H:%M:%S} {row.status:<10} {seconds:>8} {summary.get('copied', '-'):>8} "
            f"{summary.get('deleted', '-'):>8} {summary.get('failed', '-'):>7}  {shown:<{width}}  "
            f"{row.name:<{name_width}}  {row.problem}".rstrip()
        )


def print_report_line(line: dict[str, Any]) -> None:
    detail = line.get("error") or line.get("reason", "")
    print(f"{line['action']:<7} {line['result']:<8} {line.get('size', 0):>12}  {line['key']}  ({detail})")
