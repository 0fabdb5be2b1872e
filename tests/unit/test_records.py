"""Run records: their keys list in start order, and they say what ran, how it ended and why; the client reads
them back into the rows ``fab status`` prints, whatever became of the state machine."""

import json
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from bucket_sync import records
from client import history
from client.console import print_status

ARN = "arn:aws:states:us-east-1:123456789012:execution:app-sync_buckets-20261201T000000000:run-1"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:app-sync_buckets-20261201T000000000"


@pytest.mark.parametrize(
    ("start_time", "stamp"),
    [
        pytest.param("2026-12-02T00:15:17.123Z", "20261202T001517123Z", id="milliseconds-Z"),
        pytest.param("2026-12-02T00:15:17Z", "20261202T001517000Z", id="no-fraction"),
        pytest.param("2026-12-02T00:15:17.1Z", "20261202T001517100Z", id="one-digit-fraction"),
        pytest.param("2026-12-02T01:15:17.123456+01:00", "20261202T001517123Z", id="offset-microseconds"),
        pytest.param("2026-12-02T00:15:17.123000", "20261202T001517123Z", id="naive-is-utc"),
    ],
)
def test_the_key_stamp_is_fixed_width_utc(start_time, stamp):
    assert records.key_stamp(start_time) == stamp
    assert records.record_key(start_time, "run-1") == f"history/{stamp}-run-1.json"


def test_keys_list_in_start_order_and_give_back_the_execution_name():
    starts = ["2026-12-02T00:15:17Z", "2026-12-02T00:15:17.05Z", "2026-12-02T00:15:17.5Z", "2026-12-02T09:00:00Z"]
    keys = [records.record_key(start, f"name-with-dashes-{n}") for n, start in enumerate(reversed(starts))]
    assert sorted(keys) == list(reversed(keys))  # S3 lists in byte order: that is start order
    assert [records.execution_name(key) for key in keys] == [f"name-with-dashes-{n}" for n in range(4)]


def test_a_started_record_names_the_run_and_its_input():
    record = records.started(ARN, "2026-12-02T00:15:17.123Z", {"source": "a", "destination": "b", "dryRun": True})
    assert record == {
        "key": "history/20261202T001517123Z-run-1.json",
        "execution": "run-1",
        "executionArn": ARN,
        "stateMachine": "app-sync_buckets-20261201T000000000",
        "startTime": "2026-12-02T00:15:17.123000+00:00",
        "source": "a",
        "destination": "b",
        "prefix": "",
        "startAfter": "",
        "dryRun": True,
        "mode": "sync",
        "filters": [],
        "backup": "",
        "status": "RUNNING",
    }


@pytest.mark.parametrize(
    "document",
    [None, [], "text", {"source": 3, "destination": ["x"], "prefix": None, "dryRun": "yes"}],
    ids=["null", "list", "string", "wrong-types"],
)
def test_a_refused_input_still_makes_a_record(document):
    record = records.started(ARN, "2026-12-02T00:15:17Z", document)
    assert (record["source"], record["destination"], record["prefix"], record["dryRun"]) == ("", "", "", False)


def test_a_finished_record_has_the_summary_and_the_report_or_the_error_and_the_first_line_of_its_cause():
    record = records.started(ARN, "2026-12-02T00:15:17Z", {"source": "a", "destination": "b"})
    now = datetime(2026, 12, 2, 0, 16, tzinfo=UTC)
    summary = {"copied": 1, "report": "s3://w/runs/run-1/report.jsonl"}
    done = records.finished(record, records.SUCCEEDED, summary, now=now)
    assert (done["status"], done["summary"], done["report"], done["stopTime"]) == (
        "SUCCEEDED",
        summary,
        summary["report"],
        "2026-12-02T00:16:00+00:00",
    )
    assert "error" not in done
    cause = json.dumps(
        {"errorMessage": "1 object(s) failed; see the report. Summary: {...}\nmore", "errorType": "SyncFailedError"}
    )
    failed = records.finished(record, records.FAILED, None, "SyncFailedError", cause, now=now)
    assert (failed["error"], failed["cause"]) == ("SyncFailedError", "1 object(s) failed; see the report.")
    assert records.first_line("Nothing was changed: line one\nline two") == "Nothing was changed: line one"
    assert records.first_line(None) == ""


def test_a_record_reads_back_as_a_status_row():
    record = records.finished(
        records.started(ARN, "2026-12-02T00:15:17Z", {"source": "a", "destination": "b"}),
        records.FAILED,
        None,
        "TooManyDeletesError",
        "Nothing was changed: this sync plans 9 deletions",
        now=datetime(2026, 12, 2, 0, 15, 27, tzinfo=UTC),
    )
    row = history.from_record(record)
    assert (row.name, row.arn, row.status, row.source, row.destination, row.summary) == (
        "run-1",
        ARN,
        "FAILED",
        "a",
        "b",
        None,
    )
    assert (row.stopped - row.started).total_seconds() == 10
    assert row.problem == "TooManyDeletesError: Nothing was changed: this sync plans 9 deletions"


def test_a_running_record_whose_machine_is_gone_has_an_unknown_end():
    record = records.started(ARN, "2026-12-02T00:15:17Z", {"source": "a", "destination": "b"})
    row = history.row_of(sfn=None, record=record, machine_arns=set())  # no machine: Step Functions is not asked
    assert (row.status, row.stopped, row.source) == ("UNKNOWN", None, "a")
    assert "ended without writing its record" in row.problem
    assert history.machine_arn_of(ARN) == MACHINE


class FakeStepFunctions:
    """The two Step Functions calls the history makes, over a fixed set of executions of existing machines."""

    def __init__(self, executions):
        self.executions = executions  # arn -> DescribeExecution's answer
        self.described = []

    def get_paginator(self, name):
        assert name == "list_executions"
        fake = self

        class Paginator:
            def paginate(self, stateMachineArn):
                mine = [e for e in fake.executions.values() if e["stateMachineArn"] == stateMachineArn]
                mine.sort(key=lambda e: e["startDate"], reverse=True)
                yield {"executions": [{k: e[k] for k in ("executionArn", "name", "startDate")} for e in mine]}

        return Paginator()

    def describe_execution(self, executionArn):
        self.described.append(executionArn)
        return self.executions[executionArn]


def test_recent_merges_the_newest_records_with_unrecorded_executions_and_reads_only_what_it_shows():
    def at(second):
        return f"2026-12-02T00:00:{second:02d}Z"

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="work")
        for second, name, status in ((1, "old", "SUCCEEDED"), (3, "mid", "FAILED"), (5, "new", "RUNNING")):
            arn = ARN.replace("run-1", name)
            record = records.started(arn, at(second), {"source": "s", "destination": "d"})
            if status != "RUNNING":
                record = records.finished(record, status, {"source": "s", "destination": "d", "copied": second})
            records.put(s3, "work", record)
        # Started on the existing machine before records existed (no record), between "mid" and "new":
        legacy = ARN.replace("run-1", "legacy")
        sfn = FakeStepFunctions(
            {
                legacy: {
                    "executionArn": legacy,
                    "stateMachineArn": MACHINE,
                    "name": "legacy",
                    "status": "SUCCEEDED",
                    "startDate": datetime(2026, 12, 2, 0, 0, 4, tzinfo=UTC),
                    "stopDate": datetime(2026, 12, 2, 0, 0, 4, 500000, tzinfo=UTC),
                    "input": json.dumps({"source": "s", "destination": "d"}),
                    "output": json.dumps({"source": "s", "destination": "d", "copied": 4}),
                },
                ARN.replace("run-1", "new"): {
                    "executionArn": ARN.replace("run-1", "new"),
                    "stateMachineArn": MACHINE,
                    "name": "new",
                    "status": "ABORTED",
                    "startDate": datetime(2026, 12, 2, 0, 0, 5, tzinfo=UTC),
                    "stopDate": datetime(2026, 12, 2, 0, 0, 6, tzinfo=UTC),
                    "input": json.dumps({"source": "s", "destination": "d"}),
                },
            }
        )
        reads = []
        s3.meta.events.register("before-send.s3.GetObject", lambda request, **_: reads.append(request.url))

        rows = history.recent(s3, sfn, "work", [MACHINE], limit=3)

        assert [(row.name, row.status) for row in rows] == [
            ("new", "ABORTED"),
            ("legacy", "SUCCEEDED"),
            ("mid", "FAILED"),
        ]
        assert [row.summary["copied"] for row in rows[1:]] == [4, 3]
        assert len(reads) == 2  # "new" and "mid": "old" is not shown, so not read
        # Once the machine is gone, the run left RUNNING has no known end, and the legacy one is no longer found.
        gone = history.recent(s3, sfn, "work", [], limit=3)
        assert [(row.name, row.status) for row in gone] == [("new", "UNKNOWN"), ("mid", "FAILED"), ("old", "SUCCEEDED")]
        assert history.find(s3, sfn, "work", [], "old").summary["copied"] == 1
        assert history.find(s3, sfn, "work", [], ARN.replace("run-1", "mid")).status == "FAILED"
        assert history.find(s3, sfn, "work", [MACHINE], "legacy").status == "SUCCEEDED"
        assert history.find(s3, sfn, "work", [], "legacy") is None
        assert history.recent(s3, sfn, "no-such-bucket", [], limit=3) == []


def test_a_records_scope_and_dry_run_are_marked_and_an_unknown_end_has_no_seconds(capsys):
    scoped = {"source": "s", "destination": "d", "prefix": "logs/", "startAfter": "logs/2026", "dryRun": True}
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="work")
        records.put(s3, "work", records.started(ARN, "2026-12-02T00:00:01Z", scoped))

        (row,) = history.recent(s3, FakeStepFunctions({}), "work", [], limit=5)

    assert (row.status, row.flags) == ("UNKNOWN", ["dry-run", "prefix=logs/", "start-after=logs/2026"])
    print_status([row])
    line = capsys.readouterr().out.splitlines()[1]
    assert " UNKNOWN " in line and " running " not in line
    assert "dry-run prefix=logs/ start-after=logs/2026" in line


def test_a_scheduled_run_and_its_mode_filters_and_backup_are_marked():
    fields = {"source": "s", "destination": "d", "mode": "copy", "filters": [{"exclude": "*.tmp"}], "backup": "s3://b/"}
    scheduled = ARN.replace("run-1", "scheduled-nightly-1a2b")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="work")
        records.put(s3, "work", records.started(scheduled, "2026-12-02T00:00:01Z", fields))

        (row,) = history.recent(s3, FakeStepFunctions({}), "work", [], limit=5)

    assert row.flags == ["scheduled", "copy", "filters", "backup"]


@pytest.mark.parametrize(
    ("ended", "expected"),
    [(None, ("ABORTED", "StoppedByFab")), ("SUCCEEDED", ("SUCCEEDED", None))],
    ids=["still-running", "its-end-step-wrote-first"],
)
def test_fab_stop_finishes_a_record_that_still_says_running_and_only_that(ended, expected):
    from client import executions

    started = datetime(2026, 12, 2, 0, 0, 1, 250000, tzinfo=UTC)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="work")
        record = records.started(ARN, "2026-12-02T00:00:01.250Z", {"source": "s", "destination": "d"})
        if ended:
            record = records.finished(record, ended, {"source": "s", "destination": "d"})
        records.put(s3, "work", record)

        written = executions.finish_record(s3, "work", "run-1", started)

        stored = json.loads(s3.get_object(Bucket="work", Key=record["key"])["Body"].read())
    assert written is (ended is None)
    assert (stored["status"], stored.get("error")) == expected


def test_fab_stop_of_a_run_without_a_record_writes_none():
    from client import executions

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="work")
        assert executions.finish_record(s3, "work", "run-1", datetime(2026, 12, 2, tzinfo=UTC)) is False
        assert s3.list_objects_v2(Bucket="work")["KeyCount"] == 0
