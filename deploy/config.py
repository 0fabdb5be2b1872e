"""Deployment configuration: one object, read once from ``fabfile_config.py`` and the environment.

Precedence, as boto3's: a standard AWS environment variable (AWS_PROFILE, AWS_REGION) beats the config file's
default, which beats the built-in default. AWS_ENDPOINT_URL is honoured by boto3 itself.
"""
import hashlib
import os
import re
import runpy
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from .errors import ConfigError

CONFIG_FILE = Path("fabfile_config.py")
CONFIG_TEMPLATE = Path("fabfile_config_template.py")
APP_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+$")
REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
BUCKET_PATTERN = re.compile(r"^[a-z0-9*?][a-z0-9.*?-]{0,62}$")
DEFAULT_KEEP_STATE_MACHINES = 3


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
        raise ConfigError(f"{path} not found. Create it with: cp {CONFIG_TEMPLATE} {path}, then set USER_EMAIL, "
                          "APP_NAME, AWS_DEFAULT_REGION and AWS_DEFAULT_PROFILE in it.")
    try:
        values = runpy.run_path(str(path))
    except Exception as error:  # a user's file: any error in it is a config problem, said in one line
        raise ConfigError(f"{path} could not be read: {type(error).__name__}: {error}") from None
    return config_from_values(values, environ, source=str(path))


def config_from_values(values: Mapping[str, object], environ: Mapping[str, str] = os.environ,
                       source: str = "config") -> Config:
    def required(name: str) -> str:
        value = values.get(name)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{source}: {name} is missing or empty; set it as in {CONFIG_TEMPLATE}")
        return value.strip()

    app_name = required("APP_NAME")
    if not APP_NAME_PATTERN.match(app_name):
        raise ConfigError(f"{source}: APP_NAME {app_name!r} must be 1 to 40 lower case letters, digits and '-', "
                          "starting with a letter (it names the stack, the functions and a bucket)")
    user_email = required("USER_EMAIL")
    if not EMAIL_PATTERN.match(user_email):
        raise ConfigError(f"{source}: USER_EMAIL {user_email!r} is not an email address")
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or required("AWS_DEFAULT_REGION")
    if not REGION_PATTERN.match(region):
        raise ConfigError(f"{source}: region {region!r} is not an AWS region name such as us-east-1")
    profile = environ.get("AWS_PROFILE") or values.get("AWS_DEFAULT_PROFILE") or None
    if profile is not None and not isinstance(profile, str):
        raise ConfigError(f"{source}: AWS_DEFAULT_PROFILE must be a profile name or None")
    keep = values.get("KEEP_STATE_MACHINES", DEFAULT_KEEP_STATE_MACHINES)
    if not isinstance(keep, int) or isinstance(keep, bool) or keep < 1:
        raise ConfigError(f"{source}: KEEP_STATE_MACHINES must be a whole number of at least 1")
    max_deletes = values.get("MAX_DELETES")
    if max_deletes is not None and (not isinstance(max_deletes, int) or isinstance(max_deletes, bool)
                                    or max_deletes < 0):
        raise ConfigError(f"{source}: MAX_DELETES must be a whole number of at least 0, or None for no limit")
    return Config(app_name=app_name, user_email=user_email, region=region, profile=profile, keep_state_machines=keep,
                  source_buckets=_bucket_patterns(values, "SOURCE_BUCKETS", source),
                  destination_buckets=_bucket_patterns(values, "DESTINATION_BUCKETS", source),
                  max_deletes=max_deletes)


def _bucket_patterns(values: Mapping[str, object], name: str, source: str) -> tuple[str, ...]:
    patterns = values.get(name) or ()
    if isinstance(patterns, str) or not all(isinstance(p, str) and BUCKET_PATTERN.match(p) for p in patterns):
        raise ConfigError(f"{source}: {name} must be a list of bucket names or patterns such as "
                          "[\"my-data\", \"logs-*\"], or None for any bucket")
    return tuple(patterns)
