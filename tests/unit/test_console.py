"""What the tasks print about syncs: the status table, the lines while following, and the messages of a sync that
failed, was refused or was left running."""

import datetime
import json

import pytest

from client import executions
from client.console import print_status, run_sync
from client.executions import ExecutionResult, ExecutionSummary, FollowInterrupted, failure_message, sync_input

ARN = "arn:aws:states:us-east-1:123456789012:execution:app-sync_buckets-20261201T000000000:run-1"
STARTED = datetime.datetime(2026, 12, 1, 9, 30, 5)


class StepFunctions:
    """The calls run_sync makes, answering with one execution that succeeds at its second look; ``interrupt``
    makes the given look raise KeyboardInterrupt, as Ctrl-C does."""

    def __init__(self, interrupt_at: int | None = None):
        self.looks, self.interrupt_at = 0, interrupt_at

    def start_execution(self, stateMachineArn, input):
        return {"executionArn": ARN}

    def describe_execution(self, executionArn):
        self.looks += 1
        if self.looks == self.interrupt_at:
            raise KeyboardInterrupt
        if self.looks == 1:
            return {"status": "RUNNING"}
        return {"status": "SUCCEEDED", "output": json.dumps({"copied": 1})}

    def get_paginator(self, name):
        events = [] if self.looks == 1 else [{"stateEnteredEventDetails": {"name": "WriteReport"}}]

        class Pages:
            def paginate(self, executionArn):
                return [{"events": events}]

        return Pages()


def test_following_off_a_terminal_prints_no_empty_line(capsys, monkeypatch):
    monkeypatch.setattr(executions, "POLL_SECONDS", 0)

    result = run_sync(StepFunctions(), "machine", {"source": "a", "destination": "b"})

    assert result.succeeded
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Execution {ARN}"
    assert all(line.strip() for line in lines), lines


def test_ctrl_c_while_following_says_the_execution_goes_on_and_how_to_follow_or_stop_it(capsys, monkeypatch):
    monkeypatch.setattr(executions, "POLL_SECONDS", 0)

    with pytest.raises(FollowInterrupted) as interrupted:
        run_sync(StepFunctions(interrupt_at=2), "machine", {"source": "a", "destination": "b"})

    message = str(interrupted.value)
    assert "Stopped following: execution run-1 goes on" in message
    assert "Step Functions console" in message
    assert f"aws stepfunctions stop-execution --execution-arn {ARN} --region us-east-1" in message


def row(status="SUCCEEDED", summary=None, stopped=STARTED + datetime.timedelta(seconds=12.5)):
    return ExecutionSummary("run-1", ARN, status, STARTED, stopped, summary, "src", "dst")


def test_the_status_header_sits_over_its_columns(capsys):
    print_status([row(summary={"copied": 12, "deleted": 3, "failed": 0})])

    header, line = capsys.readouterr().out.splitlines()
    assert line.index("SUCCEEDED") == header.index("status")
    for column, value in (("seconds", "12.5"), ("copied", "12"), ("deleted", "3"), ("failed", "0")):
        assert line.index(value, header.index(column) - len(value)) + len(value) == header.index(column) + len(column)
    assert line.index("src -> dst") == header.index("source -> destination")
    assert line.index("run-1") == header.index("execution")


def test_an_input_message_ending_in_a_full_stop_gets_no_second_one():
    with pytest.raises(executions.SyncInputError) as refused:
        sync_input("same-bucket", "same-bucket")

    message = str(refused.value)
    assert message.endswith("Name two different buckets. Nothing was started.")
    assert ".." not in message


@pytest.mark.parametrize(
    ("cause", "expected", "not_expected"),
    [
        pytest.param(
            "Nothing was changed: the source has no object in scope, so this sync would delete all 3 objects in "
            "scope in the destination. Check the source bucket and prefix; if emptying the destination is what "
            'you want, start again with "allowDeleteAll": true.',
            "start again with --allow-delete-all.",
            "allowDeleteAll",
            id="delete-all",
        ),
        pytest.param(
            'Nothing was changed: this sync plans 3 deletions, more than maxDeletes (2). Run it with "dryRun": '
            'true to see them; if they are right, start again with a higher "maxDeletes".',
            "more than --max-deletes (2). Run it with --dry-run to see them; if they are right, start again "
            "with a higher --max-deletes N.",
            "maxDeletes",
            id="too-many-deletes",
        ),
    ],
)
def test_a_guards_message_names_the_fab_flags_when_fab_started_the_sync(cause, expected, not_expected):
    result = ExecutionResult(ARN, "FAILED", None, "DeleteAllRefusedError", cause)

    assert expected in failure_message(result, fab_flags=True)
    assert not_expected not in failure_message(result, fab_flags=True)
    assert failure_message(result) == f"DeleteAllRefusedError: {cause}"  # the state machine's own words otherwise


class Described:
    """describe_execution of one execution, as Step Functions answers it."""

    def __init__(self, **answer):
        self.answer = {"name": "run-1", "startDate": STARTED, **answer}

    def describe_execution(self, executionArn):
        return self.answer


def test_a_failed_run_shows_its_buckets_from_the_input_and_its_error_with_the_first_line_of_its_cause(capsys):
    failed = executions.describe(
        Described(
            status="FAILED",
            stopDate=STARTED,
            input=json.dumps({"source": "src", "destination": "dst"}),
            error="DeleteAllRefusedError",
            cause="Nothing was changed: the source has no object in scope.\nMore.",
        ),
        ARN,
    )
    running = executions.describe(
        Described(status="RUNNING", input=json.dumps({"source": "a", "destination": "b"})), ARN
    )

    print_status([failed, running])

    header, failed_line, running_line = capsys.readouterr().out.splitlines()
    assert "src -> dst" in failed_line and "a -> b" in running_line
    error = failed_line[header.index("error") :]
    assert error == "DeleteAllRefusedError: Nothing was changed: the source has no object in scope."
    assert running_line.rstrip().endswith("run-1")


def test_the_error_column_gives_a_lambda_errors_message_without_the_summary_it_carries():
    summary = {"copied": 1, "failed": 2, "source": "src", "destination": "dst"}
    cause = json.dumps(
        {
            "errorType": "SyncFailedError",
            "stackTrace": ["..."],
            "errorMessage": (
                f"2 object(s) failed (1 copied, 0 deleted); see the report at s3://b/r. Summary: {json.dumps(summary)}"
            ),
        }
    )

    failed = executions.describe(
        Described(status="FAILED", stopDate=STARTED, input="{}", error="SyncFailedError", cause=cause), ARN
    )

    assert failed.problem == "SyncFailedError: 2 object(s) failed (1 copied, 0 deleted); see the report at s3://b/r."
    assert (failed.summary["failed"], failed.source, failed.destination) == (2, "src", "dst")


def test_ctrl_c_as_the_executions_name_is_printed_is_the_same_interruption(monkeypatch):
    from client import console

    def interrupted_print(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C between start_execution and the first look

    monkeypatch.setattr(console, "print", interrupted_print, raising=False)
    with pytest.raises(FollowInterrupted, match="execution run-1 goes on"):
        run_sync(StepFunctions(), "machine", {"source": "a", "destination": "b"})
