"""The names the Lambda code, the state machine's YAML, the functions' front matter and the client must agree on,
in one place. Standard library only: the client imports it too.

- The environment: ValidateInput's front matter sets the limits' variables from ``{placeholder}`` values that deploy
  fills in from fabfile_config.py (deploy knows the placeholders, not these names); DEPLOYMENT_BUCKET is the one
  variable deploy gives every function of any project (``deploy.template.DEPLOYMENT_BUCKET_VARIABLE``).
- What "no limit" is: ``NO_LIMIT`` in the input and the run (the guard in the YAML reads it), ``None`` in
  fabfile_config.py, an empty value in the environment.
- The state names the client reads an execution's history by (``tests/unit/test_contract.py`` checks each against
  ``state_machines/sync_buckets.yaml``).
"""

WORK_BUCKET_VARIABLE = "DEPLOYMENT_BUCKET"
SOURCE_BUCKETS_VARIABLE = "SOURCE_BUCKETS"
DESTINATION_BUCKETS_VARIABLE = "DESTINATION_BUCKETS"
MAX_DELETES_VARIABLE = "MAX_DELETES"
"""Each is also the fabfile_config.py setting it comes from, which the messages name."""

NO_LIMIT = -1
"""``maxDeletes`` that sets no limit, in the input and in the run: GuardDeletes applies a limit of at least 0 only."""

PLAN_STATES = ("ListBucket", "SumPlans")
"""The planner's steps: their output carries the rounds and the totals so far (SumPlans': every range's)."""
COPY_STATES = ("CopySourceKeys", "CopyInline", "PlanRanges")
DELETE_STATES = ("DeleteOrphanedKeys", "DeleteInline")
"""The states that copy and delete: a Distributed Map over plan batches, one step for a small plan, or the key
ranges' Distributed Map, whose ranges copy as they are planned."""
REPORT_STATES = ("WriteReport", "EvaluateReport", "ReportWritten")
"""The report's steps (WriteReport, called again from each hand-over): one phase to the operator, shown as the
first."""


def patterns_from_environment(value: str) -> tuple[str, ...]:
    """A bucket allow-list as the environment carries it: comma-separated; empty: any bucket."""
    return tuple(pattern for pattern in value.split(",") if pattern)


def max_deletes_from_environment(value: str) -> int:
    """MAX_DELETES as the environment carries it: a whole number, or empty for no limit."""
    return int(value) if value else NO_LIMIT
