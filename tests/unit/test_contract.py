"""The names in bucket_sync/contract.py are what the other side of each boundary uses: the YAML's states, the
environment deploy writes from the front matter, and the variable deploy gives every function."""

from pathlib import Path

import yaml

from bucket_sync import contract
from bucket_sync.inputs import Limits
from deploy import pipeline
from deploy.config import Config
from deploy.template import DEPLOYMENT_BUCKET_VARIABLE

ROOT = Path(__file__).resolve().parents[2]


def state_names(states: dict) -> set[str]:
    names = set(states)
    for state in states.values():
        for nested in ("ItemProcessor", "Iterator"):
            if nested in state:
                names |= state_names(state[nested]["States"])
    return names


def test_every_state_the_client_reads_is_in_the_sync_definition():
    definition = yaml.safe_load((ROOT / "state_machines" / "sync_buckets.yaml").read_text())
    named = {*contract.PLAN_STATES, *contract.COPY_STATES, *contract.DELETE_STATES}
    assert named <= state_names(definition["States"])


def test_the_guard_applies_only_limits_of_at_least_zero_so_no_limit_is_below_it():
    definition = yaml.safe_load((ROOT / "state_machines" / "sync_buckets.yaml").read_text())
    guard = next(
        rule for rule in definition["States"]["GuardDeletes"]["Choices"] if rule.get("Next") == "RefuseTooManyDeletes"
    )
    assert {"Variable": "$.run.maxDeletes", "NumericGreaterThanEquals": 0} in guard["And"]
    assert contract.NO_LIMIT < 0


def test_validate_input_reads_the_limits_deploy_writes_into_its_environment():
    for source, destination, max_deletes, expected in (
        (("logs-*", "b"), ("copy",), 3, Limits(("logs-*", "b"), ("copy",), 3)),
        ((), (), None, Limits((), (), contract.NO_LIMIT)),
    ):
        config = Config(
            app_name="contract",
            user_email="dev@example.com",
            region="eu-west-1",
            source_buckets=source,
            destination_buckets=destination,
            max_deletes=max_deletes,
        )
        template = pipeline.plan(pipeline.Project(ROOT), config).template
        variables = template["Resources"]["ValidateInputFunction"]["Properties"]["Environment"]["Variables"]
        assert Limits.from_environment(variables) == expected
        assert variables[contract.WORK_BUCKET_VARIABLE] == config.deployment_bucket


def test_the_work_bucket_variable_is_the_one_deploy_gives_every_function():
    assert contract.WORK_BUCKET_VARIABLE == DEPLOYMENT_BUCKET_VARIABLE
