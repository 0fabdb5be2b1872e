"""SCHEDULES in fabfile_config.py: each entry checked as the config is read (its name, its expression, the shape of
its input), then its input by the sync's own rules before a deploy changes anything; the first problem is named
with the schedule, the field and what to do."""

import json
import runpy
from pathlib import Path

import pytest

from deploy import pipeline, schedules
from deploy.aws import Clients
from deploy.config import config_from_values
from deploy.errors import ConfigError, ScheduleError
from deploy.specs import ScheduleSpec

ROOT = Path(__file__).resolve().parents[2]
VALUES = {"USER_EMAIL": "dev@example.com", "APP_NAME": "sync-buckets", "AWS_DEFAULT_REGION": "us-east-1"}
NIGHTLY = {"name": "nightly", "expression": "cron(0 3 * * ? *)", "input": {"source": "my-data", "destination": "copy"}}


def config_with(*entries, **values):
    return config_from_values({**VALUES, **values, "SCHEDULES": list(entries)}, environ={})


def test_schedules_default_to_none_and_the_template_file_documents_them_unset():
    assert config_from_values(VALUES, environ={}).schedules == ()
    assert config_from_values({**VALUES, "SCHEDULES": None}, environ={}).schedules == ()
    template = runpy.run_path(str(ROOT / "fabfile_config_template.py"))
    assert template["SCHEDULES"] is None
    assert "SCHEDULES = [" in (ROOT / "fabfile_config_template.py").read_text()  # the commented example


def test_each_entry_becomes_a_spec_with_its_input_as_json_in_order():
    paused = {"name": "weekly_full", "expression": "rate(7 days)", "input": {**NIGHTLY["input"]}, "enabled": False}
    config = config_with(NIGHTLY, paused)
    assert config_with({**NIGHTLY, "name": "x" * 32}).schedules[0].name == "x" * 32  # the longest name
    assert config.schedules == (
        ScheduleSpec("nightly", "cron(0 3 * * ? *)", '{"source":"my-data","destination":"copy"}', True),
        ScheduleSpec("weekly_full", "rate(7 days)", '{"source":"my-data","destination":"copy"}', False),
    )


@pytest.mark.parametrize(
    ("schedules_value", "message"),
    [
        pytest.param("nightly", "SCHEDULES must be a list of schedules", id="not-a-list"),
        pytest.param(["nightly"], "SCHEDULES entry 1 must be a dict with a name", id="entry-not-a-dict"),
        pytest.param([{**NIGHTLY, "name": "night ly"}], r"entry 1: name 'night ly' must be 1 to 32", id="space"),
        pytest.param([{**NIGHTLY, "name": "a.b"}], r"name 'a.b' must be 1 to 32 letters", id="dot"),
        pytest.param([{**NIGHTLY, "name": "x" * 33}], "must be 1 to 32", id="33-characters"),
        pytest.param([{**NIGHTLY, "name": "-x"}], "starting with a letter or digit", id="leading-dash"),
        pytest.param([{**NIGHTLY, "name": None}], r"entry 1: name None", id="no-name"),
        pytest.param(
            [NIGHTLY, {**NIGHTLY, "expression": "rate(1 day)"}],
            r"SCHEDULES names 'nightly' twice \(entries 1 and 2\)",
            id="duplicate",
        ),
        pytest.param(
            [{**NIGHTLY, "expresion": "x"}],
            r"entry 1 \('nightly'\): 'expresion' is no key of a schedule; a schedule takes name, expression, input, "
            "enabled",
            id="typo-key",
        ),
        pytest.param(
            [{**NIGHTLY, "expression": "cron(0 3 * * * *)"}],
            r"entry 1 \('nightly'\): expression 'cron\(0 3 \* \* \* \*\)': exactly one of day-of-month",
            id="cron-both-days",
        ),
        pytest.param(
            [{**NIGHTLY, "expression": "rate(2 day)"}], r"expression .*write rate\(2 days\)", id="rate-agreement"
        ),
        pytest.param([{**NIGHTLY, "expression": None}], "expression must be a string", id="no-expression"),
        pytest.param([{**NIGHTLY, "input": None}], r"\('nightly'\): input must be the execution input", id="no-input"),
        pytest.param([{**NIGHTLY, "input": '{"source": "a"}'}], "input must be the execution input", id="input-text"),
        pytest.param(
            [{**NIGHTLY, "input": {"source": "a", "destination": {1, 2}}}], "input cannot be written as JSON", id="set"
        ),
        pytest.param([{**NIGHTLY, "input": {"maxDeletes": float("nan")}}], "input cannot be written as JSON", id="nan"),
        pytest.param([{**NIGHTLY, "enabled": "yes"}], "enabled must be True or False", id="enabled-text"),
    ],
)
def test_a_wrong_entry_is_named_with_its_field_and_what_it_takes(schedules_value, message):
    with pytest.raises(ConfigError, match=message):
        config_from_values({**VALUES, "SCHEDULES": schedules_value}, environ={})


def test_execution_names_say_which_schedule_started_them():
    assert schedules.execution_name("nightly-full") == "scheduled-nightly-full-<aws.scheduler.execution-id>"
    assert schedules.schedule_of_execution("scheduled-nightly-full-d32c5kddcf5bb8c3") == "nightly-full"
    assert schedules.schedule_of_execution("scheduled-nightly-d32c5kddcf5bb8c3") == "nightly"
    assert schedules.schedule_of_execution("0b6a2f8e-4c1d-4f0e-9a57-3c2d1e0f9a8b") is None  # fab sync's
    assert schedules.schedule_of_execution("scheduled-") is None
    # The longest name with an ID as long as a UUID (AWS's example has 16 characters) fits Step Functions' 80.
    uuid_long = "0b6a2f8e-4c1d-4f0e-9a57-3c2d1e0f9a8b"
    assert len(schedules.execution_name("x" * 32).replace(schedules.EXECUTION_ID_ATTRIBUTE, uuid_long)) <= 80


def test_inputs_the_sync_accepts_pass():
    schedules.check_inputs(ROOT / "lambda_functions", config_with(NIGHTLY, {**NIGHTLY, "name": "other"}))


@pytest.mark.parametrize(
    ("entry_input", "values", "message"),
    [
        pytest.param({"source": "my-data"}, {}, "'destination' is missing", id="missing-destination"),
        pytest.param({**NIGHTLY["input"], "dryrun": True}, {}, "unknown field 'dryrun'", id="typo-field"),
        pytest.param({"source": "My_Data", "destination": "copy"}, {}, "not a valid bucket name", id="bad-bucket"),
        pytest.param({"source": "copy", "destination": "copy"}, {}, "the same bucket", id="same-bucket"),
        pytest.param(
            NIGHTLY["input"],
            {"SOURCE_BUCKETS": ["logs-*"]},
            "'source' is 'my-data', which this deployment may not use: SOURCE_BUCKETS allows logs-",
            id="outside-the-allow-list",
        ),
    ],
)
def test_an_input_the_sync_refuses_names_the_schedule_and_the_field(entry_input, values, message):
    fine = {**NIGHTLY, "name": "fine", "input": {"source": "logs-a", "destination": "copy"}}
    config = config_with(fine, {**NIGHTLY, "name": "broken", "input": entry_input}, **values)
    with pytest.raises(ScheduleError, match=rf"SCHEDULES entry 'broken': its input is refused .*{message}") as raised:
        schedules.check_inputs(ROOT / "lambda_functions", config)
    assert "Fix the input in fabfile_config.py; nothing was deployed." in str(raised.value)


def test_lambda_code_without_the_sync_cannot_check_inputs_and_says_so(tmp_path):
    with pytest.raises(ScheduleError, match="could not be checked with .*ModuleNotFoundError"):
        schedules.check_inputs(tmp_path, config_with(NIGHTLY))


class Untouchable:
    """A client that fails the test if the deploy calls it at all."""

    def __getattr__(self, name):
        raise AssertionError(f"the deploy called AWS ({name}) before refusing the schedules")


def untouchable_clients():
    return Clients(*(Untouchable() for _ in range(6)))


def test_a_refused_input_stops_the_deploy_before_any_aws_call():
    config = config_with({**NIGHTLY, "input": {"source": "my-data", "destination": "my-data"}})
    with pytest.raises(ScheduleError, match="'nightly': its input is refused .*the same bucket"):
        pipeline.deploy(pipeline.Project(ROOT), config, untouchable_clients(), lambda event: None)


def test_schedules_need_the_sync_state_machine(fixture_project):
    with pytest.raises(
        ScheduleError, match="SCHEDULES start the sync_buckets state machine, and this project has none"
    ):
        pipeline.deploy(pipeline.Project(fixture_project), config_with(NIGHTLY), untouchable_clients(), print)


def test_the_check_runs_the_projects_own_lambda_code(tmp_path):
    """The deploy ships the Lambda code and never imports it: the check runs in an interpreter of its own."""
    package = tmp_path / "bucket_sync"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "contract.py").write_text("NO_LIMIT = -1\n")
    (package / "errors.py").write_text("class InvalidInputError(Exception):\n    pass\n")
    (package / "inputs.py").write_text(
        "from .errors import InvalidInputError\n"
        "class Limits:\n    def __init__(self, *args):\n        self.args = args\n"
        "def parse_input(document, run_id, work_bucket, limits):\n"
        "    if document.get('source') == 'refused-here':\n"
        "        raise InvalidInputError(f'this project refuses it (limits {limits.args!r})')\n"
    )
    config = config_with(
        NIGHTLY, {**NIGHTLY, "name": "odd", "input": {"source": "refused-here"}}, DESTINATION_BUCKETS=["copy"]
    )
    with pytest.raises(ScheduleError, match=r"'odd': .*this project refuses it \(limits \(\(\), \('copy',\), -1\)\)"):
        schedules.check_inputs(tmp_path, config)
    assert json.loads(config.schedules[1].input) == {"source": "refused-here"}
