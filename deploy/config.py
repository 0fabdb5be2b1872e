"""Deployment configuration: one object, read once from ``fabfile_config.py`` and the environment.

Precedence, as boto3's: a standard AWS environment variable (AWS_PROFILE, AWS_REGION) beats the config file's
default, which beats the built-in default. AWS_ENDPOINT_URL is honoured by boto3 itself.
"""

import difflib
import hashlib
import json
import os
import re
import runpy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .partitions import partition_of
from .schedule_expressions import ExpressionError, parse_expression
from .specs import ScheduleSpec

CONFIG_FILE = Path("fabfile_config.py")
CONFIG_TEMPLATE = Path("fabfile_config_template.py")
APP_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+$")
REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
BUCKET_PATTERN = re.compile(r"^[a-z0-9*?][a-z0-9.*?-]{0,62}$")
DEFAULT_KEEP_STATE_MACHINES = 3
DEFAULT_REPORT_RETENTION_DAYS = 90
KEY_ID_PATTERN = r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
"""A KMS key ID: a UUID, or ``mrk-`` and 32 hex digits for a multi-Region key (KMS API reference, KeyId)."""
KMS_ARN_PATTERN = re.compile(
    r"^arn:(?P<partition>[a-z-]+):kms:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"(?P<kind>key|alias)/(?P<name>.+)$"
)
ALIAS_NAME_PATTERN = re.compile(r"^alias/[a-zA-Z0-9/_-]+$")
MAX_ALIAS_NAME_CHARACTERS = 256
"""CreateAlias: "The AliasName value must be string of 1-256 characters", ``alias/`` included."""
AWS_MANAGED_ALIAS_PREFIX = "alias/aws/"
SCHEDULE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
"""Scheduler takes 1 to 64 of ``0-9 a-z A-Z - _ .``; a schedule's executions are named ``scheduled-<name>-<id>``
(deploy/schedules.py), which Step Functions holds to 80 characters, and CloudWatch logging to letters, digits, '-'
and '_': so at most 32 characters without '.', which leaves 37 for the invocation's ID (AWS's example has 16; a
UUID would have 36)."""
SCHEDULE_KEYS = ("name", "expression", "input", "enabled")
SETTINGS = (
    "USER_EMAIL",
    "APP_NAME",
    "AWS_DEFAULT_PROFILE",
    "AWS_DEFAULT_REGION",
    "KEEP_STATE_MACHINES",
    "SOURCE_BUCKETS",
    "DESTINATION_BUCKETS",
    "MAX_DELETES",
    "KMS_KEYS",
    "REPORT_RETENTION_DAYS",
    "SCHEDULES",
)
"""The names fabfile_config.py may set; any other upper-case name in it is a typo, not silently ignored."""


@dataclass(frozen=True)
class Config:
    app_name: str
    """Names the stack, prefixes every function and state machine."""
    user_email: str
    """Only its hash is used: it makes the deployment bucket name unique, as in the 2015 sample."""
    region: str
    profile: str | None = None
    keep_state_machines: int = DEFAULT_KEEP_STATE_MACHINES
    """How many timestamped state machines a deploy keeps per definition (older idle ones are deleted)."""
    source_buckets: tuple[str, ...] = ()
    """Names or patterns (``logs-*``) of the buckets a sync may read; empty means any bucket."""
    destination_buckets: tuple[str, ...] = ()
    """Names or patterns of the buckets a sync may write and delete in; empty means any bucket."""
    max_deletes: int | None = None
    """Default of the ``maxDeletes`` input: a sync planning more deletions stops before any. None: no limit."""
    kms_keys: tuple[str, ...] = ()
    """KMS key ARNs, alias names (``alias/name``) or alias ARNs of the keys source or destination objects are
    encrypted with (SSE-KMS); what the ``{kms_keys}`` policy placeholder grants. Empty: no KMS key."""
    report_retention_days: int = DEFAULT_REPORT_RETENTION_DAYS
    """Days a run's files (``runs/``: plans, results, the report) and its record (``history/``) are kept in the
    deployment bucket before S3's lifecycle rule expires them."""
    schedules: tuple[ScheduleSpec, ...] = ()
    """EventBridge Scheduler schedules that start the newest sync state machine (deploy/schedules.py)."""

    @property
    def partition(self) -> str:
        """The region's partition (``aws``, ``aws-cn``, ``aws-us-gov``): every ARN the toolkit builds uses it."""
        return partition_of(self.region)

    @property
    def stack_name(self) -> str:
        return self.app_name

    @property
    def deployment_bucket(self) -> str:
        digest = hashlib.sha256(self.user_email.strip().lower().encode()).hexdigest()[:12]
        return f"{self.app_name}-deploy-{digest}-{self.region}"[:63].rstrip("-")


def load_config(path: Path = CONFIG_FILE, environ: Mapping[str, str] = os.environ) -> Config:
    """Read ``fabfile_config.py``; every problem is a ConfigError saying how to fix it."""
    if not path.is_file():
        raise ConfigError(
            f"{path} not found. Create it with: cp {CONFIG_TEMPLATE} {path}, then set USER_EMAIL, "
            "APP_NAME, AWS_DEFAULT_REGION and AWS_DEFAULT_PROFILE in it."
        )
    try:
        values = runpy.run_path(str(path))
    except Exception as error:  # a user's file: any error in it is a config problem, said in one line
        raise ConfigError(f"{path} could not be read: {type(error).__name__}: {error}") from None
    _refuse_unknown_settings(values, source=str(path))
    return config_from_values(values, environ, source=str(path))


def _refuse_unknown_settings(values: Mapping[str, object], source: str) -> None:
    """An upper-case name that is no setting is a typo (``MAX_DELETE``): name it, and the setting it may mean.
    Lower-case names (imports, helpers) and names starting with '_' are the file's own business."""
    for name in values:
        if name.startswith("_") or not name.isupper() or name in SETTINGS:
            continue
        close = difflib.get_close_matches(name, SETTINGS, n=1)
        hint = f"did you mean {close[0]}?" if close else f"the settings are {', '.join(SETTINGS)}."
        raise ConfigError(f"{source}: {name} is not a setting; {hint} (A helper name of your own must start with '_'.)")


def config_from_values(
    values: Mapping[str, object], environ: Mapping[str, str] = os.environ, source: str = "config"
) -> Config:
    def required(name: str) -> str:
        value = values.get(name)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{source}: {name} is missing or empty; set it as in {CONFIG_TEMPLATE}")
        return value.strip()

    app_name = required("APP_NAME")
    if not APP_NAME_PATTERN.match(app_name):
        raise ConfigError(
            f"{source}: APP_NAME {app_name!r} must be 1 to 40 lower case letters, digits and '-', "
            "starting with a letter (it names the stack, the functions and a bucket)"
        )
    user_email = required("USER_EMAIL")
    if not EMAIL_PATTERN.match(user_email):
        raise ConfigError(f"{source}: USER_EMAIL {user_email!r} is not an email address")
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or required("AWS_DEFAULT_REGION")
    if not REGION_PATTERN.match(region):
        raise ConfigError(f"{source}: region {region!r} is not an AWS region name such as us-east-1")
    partition = partition_of(region)
    profile = environ.get("AWS_PROFILE") or values.get("AWS_DEFAULT_PROFILE") or None
    if profile is not None and not isinstance(profile, str):
        raise ConfigError(f"{source}: AWS_DEFAULT_PROFILE must be a profile name or None")
    keep = values.get("KEEP_STATE_MACHINES", DEFAULT_KEEP_STATE_MACHINES)
    if not isinstance(keep, int) or isinstance(keep, bool) or keep < 1:
        raise ConfigError(f"{source}: KEEP_STATE_MACHINES must be a whole number of at least 1")
    max_deletes = values.get("MAX_DELETES")
    if max_deletes is not None and (
        not isinstance(max_deletes, int) or isinstance(max_deletes, bool) or max_deletes < 0
    ):
        raise ConfigError(f"{source}: MAX_DELETES must be a whole number of at least 0, or None for no limit")
    retention = values.get("REPORT_RETENTION_DAYS", DEFAULT_REPORT_RETENTION_DAYS)
    if not isinstance(retention, int) or isinstance(retention, bool) or retention < 1:
        raise ConfigError(
            f"{source}: REPORT_RETENTION_DAYS must be a whole number of days of at least 1 (default "
            f"{DEFAULT_REPORT_RETENTION_DAYS}), not {retention!r}: how long reports and run records are kept"
        )
    return Config(
        app_name=app_name,
        user_email=user_email,
        region=region,
        profile=profile,
        keep_state_machines=keep,
        source_buckets=_bucket_patterns(values, "SOURCE_BUCKETS", source),
        destination_buckets=_bucket_patterns(values, "DESTINATION_BUCKETS", source),
        max_deletes=max_deletes,
        kms_keys=_kms_keys(values, partition, source),
        report_retention_days=retention,
        schedules=_schedules(values, source),
    )


def _bucket_patterns(values: Mapping[str, object], name: str, source: str) -> tuple[str, ...]:
    patterns = values.get(name) or ()
    if not isinstance(patterns, (list, tuple)) or not all(
        isinstance(p, str) and BUCKET_PATTERN.match(p) for p in patterns
    ):
        raise ConfigError(
            f"{source}: {name} must be a list of bucket names or patterns such as "
            '["my-data", "logs-*"], or None for any bucket'
        )
    return tuple(patterns)


def _schedules(values: Mapping[str, object], source: str) -> tuple[ScheduleSpec, ...]:
    """SCHEDULES, each entry checked as Scheduler would check it (the input is checked by the sync's own rules at
    deploy time: deploy/schedules.py)."""
    entries = values.get("SCHEDULES") or ()
    example = '[{"name": "nightly", "expression": "cron(0 3 * * ? *)", "input": {"source": "a", "destination": "b"}}]'
    if not isinstance(entries, (list, tuple)):
        raise ConfigError(f"{source}: SCHEDULES must be a list of schedules such as {example}, or None")
    found: dict[str, ScheduleSpec] = {}
    for number, entry in enumerate(entries, start=1):
        spec = _schedule(entry, f"{source}: SCHEDULES entry {number}", example)
        if spec.name in found:
            raise ConfigError(
                f"{source}: SCHEDULES names {spec.name!r} twice (entries {list(found).index(spec.name) + 1} and "
                f"{number}); give each schedule a name of its own"
            )
        found[spec.name] = spec
    return tuple(found.values())


def _schedule(entry: object, where: str, example: str) -> ScheduleSpec:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where} must be a dict with a name, an expression and an input, as in {example}")
    name = entry.get("name")
    if not isinstance(name, str) or not SCHEDULE_NAME_PATTERN.match(name):
        raise ConfigError(
            f"{where}: name {name!r} must be 1 to 32 letters, digits, '-' and '_', starting with a letter or digit "
            "(it names the schedule and the executions it starts)"
        )
    where = f"{where} ({name!r})"
    unknown = sorted(str(key) for key in entry if key not in SCHEDULE_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: {unknown[0]!r} is no key of a schedule; a schedule takes {', '.join(SCHEDULE_KEYS)}"
        )
    expression = entry.get("expression")
    try:
        parse_expression(expression)
    except ExpressionError as error:
        raise ConfigError(f"{where}: expression {error}") from None
    document = entry.get("input")
    if not isinstance(document, Mapping):
        raise ConfigError(
            f"{where}: input must be the execution input, a dict such as "
            '{"source": "my-data", "destination": "my-data-copy"}'
        )
    try:
        text = json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise ConfigError(
            f"{where}: input cannot be written as JSON ({error}); use strings, numbers, true/false"
        ) from None
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where}: enabled must be True or False (False keeps the schedule but pauses it)")
    assert isinstance(expression, str)  # parse_expression accepted it
    return ScheduleSpec(name, expression, text, enabled)


def _kms_keys(values: Mapping[str, object], partition: str, source: str) -> tuple[str, ...]:
    """KMS_KEYS, each entry checked: a key ARN, an alias name or an alias ARN, in the deployment's partition."""
    entries = values.get("KMS_KEYS") or ()
    if isinstance(entries, str) or not isinstance(entries, (list, tuple)):
        raise ConfigError(
            f"{source}: KMS_KEYS must be a list of KMS key ARNs or aliases such as "
            '["arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", '
            '"alias/my-key"], or None'
        )
    for entry in entries:
        problem = kms_key_problem(entry, partition)
        if problem:
            raise ConfigError(f"{source}: KMS_KEYS entry {entry!r} {problem}")
    return tuple(dict.fromkeys(entries))  # one grant per key, in the order given


def kms_key_problem(entry: object, partition: str) -> str | None:
    """Why ``entry`` cannot name a KMS key in an IAM policy of this partition, or None when it can."""
    if not isinstance(entry, str):
        return "is not a string"
    if re.fullmatch(KEY_ID_PATTERN, entry):
        return (
            "is a bare key ID: IAM policies name a KMS key by its key ARN "
            "(arn:<partition>:kms:<region>:<account>:key/<key id>)"
        )
    if entry.startswith("alias/"):
        return _alias_name_problem(entry)
    matched = KMS_ARN_PATTERN.match(entry)
    if not matched:
        return (
            "is neither a key ARN (arn:<partition>:kms:<region>:<account>:key/<key id>), an alias name "
            "(alias/<name>) nor an alias ARN (arn:<partition>:kms:<region>:<account>:alias/<name>)"
        )
    if matched["partition"] != partition:
        return (
            f"is in partition {matched['partition']}, but the deployment's region is in {partition}; a policy "
            "there cannot grant a key of another partition"
        )
    if matched["kind"] == "key":
        if not re.fullmatch(KEY_ID_PATTERN, matched["name"]):
            return "ends in no valid key ID (a UUID such as 1234abcd-12ab-34cd-56ef-1234567890ab, or mrk-<32 hex>)"
        return None
    return _alias_name_problem(f"alias/{matched['name']}")


def _alias_name_problem(alias: str) -> str | None:
    if len(alias) > MAX_ALIAS_NAME_CHARACTERS or not ALIAS_NAME_PATTERN.match(alias):
        return (
            f"is not a valid alias name: alias/ and then letters, digits, '/', '_' and '-', at most "
            f"{MAX_ALIAS_NAME_CHARACTERS} characters in all"
        )
    if alias.startswith(AWS_MANAGED_ALIAS_PREFIX):
        return (
            "names an AWS managed key: its key policy already lets every principal of the account use it "
            "through S3, and an IAM policy cannot narrow it; leave it out"
        )
    return None


def alias_name(entry: str) -> str:
    """``alias/name`` of an alias name or alias ARN: what the ``kms:ResourceAliases`` condition key compares."""
    matched = KMS_ARN_PATTERN.match(entry)
    return f"alias/{matched['name']}" if matched else entry


def is_key_arn(entry: str) -> bool:
    matched = KMS_ARN_PATTERN.match(entry)
    return matched is not None and matched["kind"] == "key"
