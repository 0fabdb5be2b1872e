"""boto3 sessions and clients for the deploy stages, built from Config and nothing else."""
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config as BotocoreConfig
from botocore.exceptions import NoCredentialsError, ProfileNotFound

from .config import Config
from .errors import ConfigError

RETRIES = BotocoreConfig(retries={"mode": "standard", "max_attempts": 10})


@dataclass(frozen=True)
class Clients:
    s3: Any
    cloudformation: Any
    stepfunctions: Any


def make_clients(config: Config) -> Clients:
    """Clients for the configured profile and region; AWS_ENDPOINT_URL, when set, is honoured by boto3 itself."""
    try:
        session = boto3.Session(profile_name=config.profile, region_name=config.region)
        if session.get_credentials() is None:
            raise NoCredentialsError()
    except ProfileNotFound:
        raise ConfigError(f"AWS profile {config.profile!r} is not in ~/.aws/config or ~/.aws/credentials; fix "
                          "AWS_DEFAULT_PROFILE in fabfile_config.py or set AWS_PROFILE") from None
    except NoCredentialsError:
        raise ConfigError("no AWS credentials found: configure a profile (aws configure --profile NAME) and name it "
                          "in AWS_DEFAULT_PROFILE, or set AWS_PROFILE") from None
    return Clients(
        s3=session.client("s3", config=RETRIES),
        cloudformation=session.client("cloudformation", config=RETRIES),
        stepfunctions=session.client("stepfunctions", config=RETRIES),
    )
