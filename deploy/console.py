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
        shown = ", ".join(f"{op} {n}" for op, n in value.items()) if isinstance(value, dict) else value
        print(f"  {key:<{width}}  {shown}")


def run_sync(sfn: Any, state_machine_arn: str, document: dict[str, Any],
             quiet: bool = False) -> executions.ExecutionResult:
    """Start one execution, follow it state by state, print its summary; return the result."""
    arn = executions.start(sfn, state_machine_arn, document)
    say = (lambda *_: None) if quiet else print
    say(f"Execution {arn}")
    result = executions.follow(sfn, arn, lambda state: say(f"  {state}"))
    summary = result.output if result.succeeded else executions.failure_summary(result)
    if summary and not quiet:
        print(f"Sync {result.status.lower()}:")
        print_summary(summary)
    return result
