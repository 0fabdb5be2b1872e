"""Run records: their keys list in start order, and they say what ran, how it ended and why; the client reads
them back into the rows ``fab status`` prints, whatever became of the state machine."""

import json
from datetime import UTC, datetime

import pytest

from bucket_sync import records
from client import history

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
        "dryRun": True,
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
