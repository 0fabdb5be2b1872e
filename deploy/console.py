"""What the tasks print: stack events, sync progress and summaries. Presentation only; no decisions."""
from typing import Any

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


def run_sync(sfn: Any, state_machine_arn: str, document: dict[str, Any],
             quiet: bool = False) -> executions.ExecutionResult:
    """Start one execution, follow it state by state, print its summary; return the result."""
    arn = executions.start(sfn, state_machine_arn, document)
    say = (lambda *_: None) if quiet else print
    say(f"Execution {arn}")
    result = executions.follow(sfn, arn, lambda progress: say(f"  {progress.line()}"))
    summary = result.output if result.succeeded else executions.failure_summary(result)
    if summary and not quiet:
        print(f"Sync {result.status.lower()}:")
        print_summary(summary)
    return result


def print_status(rows: list[executions.ExecutionSummary]) -> None:
    if not rows:
        print("No sync has run yet.")
        return
    print(f"{'started (UTC)':<20} {'status':<10} {'seconds':>8} {'copied':>8} {'deleted':>8} {'failed':>7}  "
          f"source -> destination  execution")
    for row in rows:
        summary = row.summary or {}
        seconds = f"{(row.stopped - row.started).total_seconds():.1f}" if row.stopped else "running"
        print(f"{row.started:%Y-%m-%d %H:%M:%S} {row.status:<10} {seconds:>8} {summary.get('copied', '-'):>8} "
              f"{summary.get('deleted', '-'):>8} {summary.get('failed', '-'):>7}  "
              f"{summary.get('source', '?')} -> {summary.get('destination', '?')}  {row.name}")


def print_report_line(line: dict[str, Any]) -> None:
    detail = line.get("error") or line.get("reason", "")
    print(f"{line['action']:<7} {line['result']:<8} {line.get('size', 0):>12}  {line['key']}  ({detail})")
