"""What the tasks print about syncs: the status table, the lines while following, and the messages of a sync that
failed, was refused or was left running."""

import datetime
import io
import json

import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody

from client import executions
from client.console import print_dry_run, print_status, print_stopped, print_summary, run_sync, status_json, watch
from client.executions import (
    ExecutionNotFoundError,
    ExecutionResult,
    ExecutionSummary,
    FollowInterrupted,
    NotRunningError,
    Progress,
    failure_message,
    find_execution,
    planned_lines,
    sync_input,
)

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
    assert "Follow it again with 'fab watch -e run-1', or stop it with 'fab stop run-1'" in message
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


MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:app-sync_buckets-20261201T000000000"
OLDER = "arn:aws:states:us-east-1:123456789012:stateMachine:app-sync_buckets-20261101T000000000"


def not_found(operation):
    return ClientError({"Error": {"Code": "ExecutionDoesNotExist", "Message": "no"}}, operation)


class Executions:
    """Step Functions with some executions (ARN -> describe_execution's answer, status RUNNING unless given), their
    histories, and a record of the executions stopped."""

    def __init__(self, executions, events=()):
        self.executions = {arn: {"name": arn.rsplit(":", 1)[1], "startDate": STARTED, **d} for arn, d in executions}
        self.events, self.stopped = list(events), []

    def describe_execution(self, executionArn):
        if executionArn not in self.executions:
            raise not_found("DescribeExecution")
        return self.executions[executionArn]

    def stop_execution(self, executionArn, error, cause):
        self.stopped.append((executionArn, error))
        self.executions[executionArn] = {**self.executions[executionArn], "status": "ABORTED"}

    def get_paginator(self, name):
        owner = self

        class Pages:
            def paginate(self, executionArn=None, stateMachineArn=None, statusFilter=None):
                if name == "get_execution_history":
                    return [{"events": owner.events}]
                return [
                    {
                        "executions": [
                            {"executionArn": arn, **d}
                            for arn, d in owner.executions.items()
                            if arn.startswith(stateMachineArn.replace(":stateMachine:", ":execution:") + ":")
                            and d["status"] == statusFilter
                        ]
                    }
                ]

        return Pages()


def execution(machine, name):
    return machine.replace(":stateMachine:", ":execution:") + f":{name}"


def test_watch_without_a_name_finds_the_newest_running_sync_of_any_deployed_machine():
    sfn = Executions(
        [
            (execution(OLDER, "old-running"), {"status": "RUNNING"}),
            (execution(MACHINE, "new-running"), {"status": "RUNNING", "startDate": STARTED.replace(hour=10)}),
            (execution(MACHINE, "newest-done"), {"status": "SUCCEEDED", "startDate": STARTED.replace(hour=11)}),
        ]
    )

    assert find_execution(sfn, [OLDER, MACHINE]) == execution(MACHINE, "new-running")
    assert find_execution(sfn, [OLDER, MACHINE], "old-running") == execution(OLDER, "old-running")
    assert find_execution(sfn, [OLDER, MACHINE], execution(OLDER, "old-running")) == execution(OLDER, "old-running")


@pytest.mark.parametrize(
    "name, message",
    [
        pytest.param("nope", "no sync execution named 'nope'; 'fab status' lists them", id="unknown-name"),
        pytest.param(None, "no sync is running; name the execution", id="none-running"),
    ],
)
def test_watching_what_is_not_there_is_a_sentence(name, message):
    sfn = Executions([(execution(MACHINE, "done"), {"status": "SUCCEEDED"})])

    with pytest.raises(ExecutionNotFoundError, match=message):
        find_execution(sfn, [MACHINE], name)


def test_watching_a_finished_sync_prints_its_summary_at_once(capsys):
    sfn = Executions(
        [(ARN, {"status": "SUCCEEDED", "output": json.dumps({"copied": 4, "deleted": 0})})],
        [{"stateEnteredEventDetails": {"name": "WriteReport"}}],
    )

    result = watch(sfn, ARN)

    assert result.succeeded
    out = capsys.readouterr().out
    assert out.startswith(f"Watching execution {ARN}\n")
    assert "Sync succeeded:\n" in out and "  copied   4\n" in out


class Bucket:
    """get_object and list_objects_v2 of S3 for a few objects of the deployment bucket."""

    def __init__(self, objects):
        self.objects = objects

    def get_object(self, Bucket, Key):
        if Key not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "no"}}, "GetObject")
        body = self.objects[Key]
        return {"Body": StreamingBody(io.BytesIO(body), len(body))}

    def get_paginator(self, name):
        class Pages:
            def paginate(self, Bucket, Prefix):
                return [{"Contents": []}]

        return Pages()


PLAN = {"rounds": 1, "totals": {"unchanged": 5, "toCopy": 40, "toDelete": 3, "bytesToCopy": 4096}}


def copying_events():
    return [
        {"stateEnteredEventDetails": {"name": "ListBucket"}},
        {"lambdaFunctionSucceededEventDetails": {"output": json.dumps(PLAN)}},
        {"stateExitedEventDetails": {"name": "ListBucket"}},
        {"stateEnteredEventDetails": {"name": "CopyInline"}},
    ]


def stop_run_1(sfn, objects):
    return executions.stop(sfn, Bucket(objects), "work", ARN)


def test_stopping_while_copying_says_where_it_was_that_no_delete_was_made_and_that_the_next_sync_can_go_on(capsys):
    sfn = Executions([(ARN, {"status": "RUNNING", "input": json.dumps({"destination": "dst"})})], copying_events())
    lock = json.dumps({"executionArn": ARN, "destination": "dst"}).encode()

    stopped = stop_run_1(sfn, {"locks/dst.json": lock})
    print_stopped(stopped)

    assert sfn.stopped == [(ARN, executions.STOP_ERROR)]
    out = capsys.readouterr().out
    assert out.startswith("Stopped execution run-1 in CopyInline.\n")
    assert "had copied 0 of 40 object(s)" in out and "deleted 0 of 3" in out
    assert "No deletion was made: deletions run only after every copy" in out
    assert "the next sync into it takes it over, since this execution is ABORTED: the next sync can go on" in out


def test_stopping_once_deletions_began_says_some_may_have_been_made(capsys):
    events = copying_events() + [
        {"stateExitedEventDetails": {"name": "CopyInline"}},
        {"stateEnteredEventDetails": {"name": "DeleteInline"}},
    ]
    sfn = Executions([(ARN, {"status": "RUNNING", "input": json.dumps({"destination": "dst"})})], events)

    print_stopped(stop_run_1(sfn, {}))

    out = capsys.readouterr().out
    assert "Stopped execution run-1 in DeleteInline." in out and "had copied 40 of 40" in out
    assert "Its deletions had begun" in out and "No deletion was made" not in out
    assert "no lock is left on dst: the next sync into it can go on" in out


@pytest.mark.parametrize("status", ["SUCCEEDED", "FAILED", "ABORTED"])
def test_stopping_a_finished_sync_is_a_sentence_and_stops_nothing(status):
    sfn = Executions([(ARN, {"status": status})])

    with pytest.raises(NotRunningError, match=f"execution run-1 is not running \\({status}\\): nothing to stop"):
        stop_run_1(sfn, {})
    assert sfn.stopped == []


REPORT = b"\n".join(
    json.dumps(line).encode()
    for line in [
        {"key": "archived", "action": "copy", "result": "skipped", "reason": "ARCHIVED", "size": 1},
        *(
            {"key": f"k{n:02d}", "action": "copy", "result": "planned", "reason": "MISSING", "size": 2}
            for n in range(12)
        ),
        {"key": "orphan", "action": "delete", "result": "planned", "reason": "ORPHANED", "size": 3},
    ]
)


def test_planned_lines_are_the_dry_runs_copies_and_deletions_in_report_order():
    s3 = Bucket({"runs/run-1/report.jsonl": REPORT})

    everything = list(planned_lines(s3, "s3://work/runs/run-1/report.jsonl"))
    first = list(planned_lines(s3, "s3://work/runs/run-1/report.jsonl", limit=2))

    assert [line["key"] for line in everything] == [f"k{n:02d}" for n in range(12)] + ["orphan"]
    assert [line["key"] for line in first] == ["k00", "k01"]


def test_a_dry_run_says_what_it_would_do_its_first_actions_and_how_to_see_all(capsys):
    summary = {
        "runId": "run-1",
        "dryRun": True,
        "toCopy": 12,
        "toDelete": 1,
        "unchanged": 7,
        "skipped": 1,
        "report": "s3://work/runs/run-1/report.jsonl",
    }

    print_dry_run(summary, Progress(bytes_to_copy=24), Bucket({"runs/run-1/report.jsonl": REPORT}))

    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[0] == "Dry run, nothing changed: it would copy 12 object(s) (24 B) and delete 1; 7 unchanged, 1 skipped."
    )
    assert lines[1] == "First 10 planned action(s):"
    assert lines[2] == "  copy    k00  (MISSING)" and len(lines) == 13
    assert lines[-1] == "All 13: fab report --planned --execution run-1"


def scoped(**fields):
    return ExecutionSummary("run-1", ARN, "SUCCEEDED", STARTED, STARTED, {"copied": 1}, "src", "dst", **fields)


def test_status_marks_dry_runs_and_scoped_runs_in_a_flags_column(capsys):
    print_status([scoped(dry_run=True, prefix="logs/"), scoped(start_after="k"), scoped()])

    header, dry, after, plain = capsys.readouterr().out.splitlines()
    column = header.index("flags")
    assert dry[column:].startswith("dry-run prefix=logs/  run-1")
    assert after[column:].startswith("start-after=k")
    assert plain[column:].startswith("-  ")


def test_describe_reads_the_scope_from_the_input_of_a_run_without_a_summary():
    row = executions.describe(
        Described(
            status="RUNNING", input=json.dumps({"source": "a", "destination": "b", "dryRun": True, "prefix": "p/"})
        ),
        ARN,
    )

    assert (row.dry_run, row.prefix, row.start_after, row.flags) == (True, "p/", "", ["dry-run", "prefix=p/"])


def test_status_json_is_one_array_of_the_rows():
    rows = json.loads(status_json([scoped(dry_run=True), row(status="RUNNING", stopped=None)]))

    assert [r["status"] for r in rows] == ["SUCCEEDED", "RUNNING"]
    assert rows[0]["flags"] == ["dry-run"] and rows[0]["dryRun"] is True and rows[0]["seconds"] == 0.0
    assert rows[1]["seconds"] is None and rows[1]["stopped"] is None
    assert rows[0]["started"] == "2026-12-01T09:30:05" and rows[0]["summary"] == {"copied": 1}


def test_a_stopped_sync_without_a_cause_says_it_was_stopped():
    assert failure_message(ExecutionResult(ARN, "ABORTED", None)) == (
        "ABORTED: the execution was stopped before it ended"
    )


def test_the_summary_shows_its_cost_on_a_line_of_its_own(capsys):
    cost = {
        "total": 0.1124,
        "s3Requests": 0.1017,
        "lambda": 0.0097,
        "stepFunctions": 0.001,
        "dataTransfer": 0.0,
        "lambdaGBSeconds": 583.7,
        "pricedAs": "us-east-1",
    }

    print_summary({"copied": 1, "deleted": 0, "estimatedCostUSD": cost, "estimatedRealRunCostUSD": cost})

    assert capsys.readouterr().out.splitlines() == [
        "  copied   1",
        "  deleted  0",
        "  estimated cost  $0.1124 (S3 requests $0.1017, Lambda $0.0097 for 583.7 GB-s, Step Functions $0.0010, "
        "transfer $0.0000; list prices of us-east-1)",
    ]
