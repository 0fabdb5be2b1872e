"""Validation of an execution's input: every mistake named with its field, what was wrong and what to do.

Pure: no AWS calls. The same checks run in ``fab sync`` before an execution starts and in the state machine's
first step, so the console and the command line give the same messages.
"""

import fnmatch
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from . import contract
from .errors import InvalidInputError
from .filters import KINDS, MAX_FILTERS, MAX_PATTERN_BYTES
from .run import BACKUP_SCHEME, CHECK, MODES, SYNC, Settings, SyncRun, backup_location, camel_case

FIELDS = {
    "source",
    "destination",
    "prefix",
    "startAfter",
    "dryRun",
    "allowDeleteAll",
    "planFirst",
    "maxDeletes",
    "requesterPays",
    "filters",
    "mode",
    "backup",
    "settings",
}
MAX_KEY_BYTES = 1024
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
IP_ADDRESS = re.compile(r"\d+\.\d+\.\d+\.\d+")


RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", ".mrap", "--table-s3")


def bucket_name_problem(name: str) -> str | None:
    """Why S3 would reject ``name`` as a bucket name, or None."""
    if not BUCKET_NAME.fullmatch(name):
        return (
            "must be 3 to 63 characters of lower case letters, digits, '.' and '-', starting and ending with a "
            "letter or digit (give the bucket's name, not an s3:// URL or ARN)"
        )
    if ".." in name or ".-" in name or "-." in name:
        return "must not contain '..', '.-' or '-.'"
    if IP_ADDRESS.fullmatch(name):
        return "must not look like an IP address"
    if name.startswith(RESERVED_PREFIXES) or name.endswith(RESERVED_SUFFIXES):
        return (
            f"uses a prefix or suffix S3 reserves ({', '.join(RESERVED_PREFIXES + RESERVED_SUFFIXES)}), so no "
            "general purpose bucket can have it"
        )
    return None


@dataclass(frozen=True)
class Limits:
    """What the deployment allows, set at deploy time from fabfile_config.py (see deploy/template.py)."""

    source_buckets: tuple[str, ...] = ()
    """Bucket names or patterns a sync may read; empty: any."""
    destination_buckets: tuple[str, ...] = ()
    """Bucket names or patterns a sync may write and delete in; empty: any."""
    max_deletes: int = contract.NO_LIMIT
    """Default of the maxDeletes input."""

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> "Limits":
        return cls(
            contract.patterns_from_environment(environ.get(contract.SOURCE_BUCKETS_VARIABLE, "")),
            contract.patterns_from_environment(environ.get(contract.DESTINATION_BUCKETS_VARIABLE, "")),
            contract.max_deletes_from_environment(environ.get(contract.MAX_DELETES_VARIABLE, "")),
        )


def _check_allowed(side: str, bucket: str, patterns: tuple[str, ...], setting: str) -> None:
    if patterns and not any(fnmatch.fnmatchcase(bucket, pattern) for pattern in patterns):
        raise InvalidInputError(
            f"{side!r} is {bucket!r}, which this deployment may not use: {setting} allows "
            f"{', '.join(patterns)}. Add it to {setting} in fabfile_config.py and deploy again, "
            "or name an allowed bucket"
        )


def parse_input(event: Any, run_id: str, work_bucket: str, limits: Limits = Limits()) -> SyncRun:
    if not isinstance(event, dict):
        raise InvalidInputError(
            'the input must be a JSON object such as {"source": "my-bucket", "destination": "my-copy"}'
        )
    unknown = sorted(set(event) - FIELDS)
    if unknown:
        raise InvalidInputError(
            f"unknown field {unknown[0]!r}: the input takes {', '.join(sorted(FIELDS))}; check the spelling"
        )
    buckets = {}
    for name in ("source", "destination"):
        value = event.get(name)
        if value is None or value == "":
            raise InvalidInputError(f"{name!r} is missing: give the {name} bucket's name")
        if not isinstance(value, str):
            raise InvalidInputError(f"{name!r} must be a string (a bucket name), not {type(value).__name__}")
        problem = bucket_name_problem(value)
        if problem:
            raise InvalidInputError(f"{name!r} is {value!r}, which is not a valid bucket name: it {problem}")
        buckets[name] = value
    _check_allowed("source", buckets["source"], limits.source_buckets, contract.SOURCE_BUCKETS_VARIABLE)
    _check_allowed(
        "destination", buckets["destination"], limits.destination_buckets, contract.DESTINATION_BUCKETS_VARIABLE
    )
    if buckets["source"] == buckets["destination"]:
        raise InvalidInputError(
            "'source' and 'destination' are the same bucket; a sync into itself would read "
            "and write the same objects. Name two different buckets."
        )
    scope = {}
    for name in ("prefix", "startAfter"):
        value = event.get(name, "")
        if not isinstance(value, str):
            raise InvalidInputError(f"{name!r} must be a string, not {type(value).__name__}")
        if len(value.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
            raise InvalidInputError(f"{name!r} is longer than S3's key limit of {MAX_KEY_BYTES} bytes in UTF-8")
        scope[name] = value
    flags = {}
    for name in ("dryRun", "allowDeleteAll", "planFirst", "requesterPays"):
        flags[name] = event.get(name, False)
        if not isinstance(flags[name], bool):
            raise InvalidInputError(f"{name!r} must be true or false, not {flags[name]!r}")
    max_deletes = event.get("maxDeletes", limits.max_deletes)
    if not isinstance(max_deletes, int) or isinstance(max_deletes, bool) or max_deletes < contract.NO_LIMIT:
        raise InvalidInputError(
            f"'maxDeletes' must be a whole number of at least 0 (or {contract.NO_LIMIT} for no limit), "
            f"not {max_deletes!r}"
        )
    mode = event.get("mode", SYNC)
    if mode not in MODES:
        raise InvalidInputError(
            f'\'mode\' is {mode!r}: it takes "sync" (copy and delete, the default), "copy" (never delete) or '
            '"check" (change nothing; say whether the buckets are equal)'
        )
    if mode == CHECK and flags["dryRun"]:
        raise InvalidInputError(
            '\'dryRun\' is true with "mode": "check", which changes nothing already: drop dryRun to run the check'
        )
    backup = parse_backup(event.get("backup", ""), buckets, scope["prefix"], mode, limits)
    return SyncRun(
        run_id=run_id,
        source=buckets["source"],
        destination=buckets["destination"],
        prefix=scope["prefix"],
        start_after=scope["startAfter"],
        dry_run=flags["dryRun"],
        allow_delete_all=flags["allowDeleteAll"],
        max_deletes=max_deletes,
        plan_first=flags["planFirst"],
        requester_pays=flags["requesterPays"],
        filters=parse_filters(event.get("filters", [])),
        mode=mode,
        backup=backup,
        work_bucket=work_bucket,
        settings=parse_settings(event.get("settings", {})),
    )


def parse_filters(value: Any) -> tuple[dict[str, str], ...]:
    example = '[{"exclude": "*.tmp"}, {"include": "logs/*"}]'
    if not isinstance(value, list):
        raise InvalidInputError(f"'filters' must be a list such as {example}, not {type(value).__name__}")
    if len(value) > MAX_FILTERS:
        raise InvalidInputError(
            f"'filters' has {len(value)} filters, more than {MAX_FILTERS}: narrow the scope with 'prefix' instead"
        )
    filters = []
    for number, item in enumerate(value, start=1):
        where = f"filter {number} of 'filters'"
        if not isinstance(item, dict) or len(item) != 1 or next(iter(item)) not in KINDS:
            raise InvalidInputError(
                f'{where} is {item!r}: each filter is an object with one field, "exclude" or "include", as in {example}'
            )
        ((kind, pattern),) = item.items()
        if not isinstance(pattern, str) or not pattern:
            raise InvalidInputError(f"{where}: its {kind!r} pattern must be a non-empty string, not {pattern!r}")
        if len(pattern.encode("utf-8", "surrogatepass")) > MAX_PATTERN_BYTES:
            raise InvalidInputError(f"{where}: its pattern is longer than S3's key limit of {MAX_PATTERN_BYTES} bytes")
        filters.append({kind: pattern})
    return tuple(filters)


def parse_backup(value: Any, buckets: dict[str, str], prefix: str, mode: str, limits: Limits) -> str:
    """The backup location, ``s3://bucket/prefix/``, checked: a valid bucket this deployment may write, a prefix
    ending in '/', and outside the sync's scope in the source and destination."""
    if value == "":
        return ""
    if not isinstance(value, str) or not value.startswith(BACKUP_SCHEME):
        raise InvalidInputError(
            f"'backup' is {value!r}: give an S3 location such as \"s3://my-backups/sync/\", where the run keeps "
            "what it deletes or overwrites"
        )
    if mode == CHECK:
        raise InvalidInputError('\'backup\' is given with "mode": "check", which deletes and overwrites nothing')
    bucket, backup_prefix = backup_location(value)
    problem = bucket_name_problem(bucket)
    if problem:
        raise InvalidInputError(f"'backup' names the bucket {bucket!r}, which is not a valid bucket name: it {problem}")
    if backup_prefix and not backup_prefix.endswith("/"):
        raise InvalidInputError(
            f"'backup' has the prefix {backup_prefix!r}: end it with '/' (\"{value}/\"), so that the run's folder is "
            "a folder of it"
        )
    if len(backup_prefix.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES // 2:
        raise InvalidInputError(
            f"'backup' has a prefix longer than {MAX_KEY_BYTES // 2} bytes: no key would fit under it"
        )
    _check_allowed("backup", bucket, limits.destination_buckets, contract.DESTINATION_BUCKETS_VARIABLE)
    for side in ("source", "destination"):
        if bucket == buckets[side] and (backup_prefix.startswith(prefix) or prefix.startswith(backup_prefix)):
            raise InvalidInputError(
                f"'backup' is {value!r}, inside the sync's scope in the {side} bucket (prefix {prefix!r}): the "
                "backups would be synced themselves. Keep them in another bucket, or under a prefix outside the scope"
            )
    return value


MAX_COPY_THREADS = 64
MAX_MAP_CONCURRENCY = 10_000
MAX_LIST_RANGES = 256
SETTING_LIMITS = {
    "pageSize": (1000, "S3 lists at most 1,000 keys a request"),
    "deleteBatchKeys": (1000, "S3 deletes at most 1,000 keys a request"),
    "copyThreads": (
        MAX_COPY_THREADS,
        "a copy_keys invocation has 64 connections, and each multipart copy runs "
        "8 part copies in threads of its own, which keeps it far under Lambda's "
        "1,024 processes and threads",
    ),
    "listRanges": (
        MAX_LIST_RANGES,
        "each range copies through a Distributed Map of its own, and an account may have at most 1,000 "
        "Map Runs open at a time, other syncs' included",
    ),
    "maxConcurrency": (MAX_MAP_CONCURRENCY, "a Distributed Map runs at most 10,000 child executions at a time"),
    "multipartThresholdBytes": (5 * 1024**3, "CopyObject copies at most 5 GiB"),
    "s3MaxAttempts": (20, "with backoff up to 20 s each, more would outlast a copy invocation's time budget"),
}
"""Settings bounded by what S3, Lambda and Step Functions allow, with the reason given to the user."""


def parse_settings(value: Any) -> Settings:
    if not isinstance(value, dict):
        raise InvalidInputError("'settings' must be an object of tuning values")
    known = {camel_case(f.name): f.name for f in fields(Settings)}
    values = {}
    for key, setting in value.items():
        if key not in known:
            raise InvalidInputError(f"unknown setting {key!r}: settings are {', '.join(sorted(known))}")
        minimum = 0 if key in ("maxKeysPerRound", "inlinePlanBytes", "roundCopyBatches") else 1
        if not isinstance(setting, int) or isinstance(setting, bool) or setting < minimum:
            raise InvalidInputError(f"setting {key!r} must be a whole number of at least {minimum}")
        values[known[key]] = setting
    for key, (limit, why) in SETTING_LIMITS.items():
        if values.get(known[key], 0) > limit:
            raise InvalidInputError(f"setting {key!r} is at most {limit:,}: {why}")
    if values.get("inline_plan_bytes", 0) > 128 * 1024:
        raise InvalidInputError(
            "setting 'inlinePlanBytes' is at most 131072: with its results the plan must stay "
            "far below Step Functions' 256 KB state limit"
        )
    return Settings(**values)
