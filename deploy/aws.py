"""boto3 sessions and clients for the deploy stages, built from Config and nothing else.

Against AWS the clients keep botocore's connect timeout and retry connection errors as the standard retry mode
does. Against an endpoint on loopback (the embedded one, ``fab server``) nothing is in between to recover: a refused
connection means nothing listens there, so those clients connect with a short timeout and do not retry it.
"""

import ipaddress
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config as BotocoreConfig
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, NoCredentialsError, ProfileNotFound

from .config import Config
from .errors import ConfigError

RETRIES = BotocoreConfig(retries={"mode": "standard", "max_attempts": 10})
LOOPBACK_CONNECT_TIMEOUT_SECONDS = 1
"""A loopback connection is made or refused within microseconds; a second is generous for a busy machine."""
LOCAL_ENDPOINT_URL = "http://127.0.0.1:5000"
"""What ``fab server`` prints by default, for hints given before any endpoint is set."""
SERVICES = {
    "s3": "s3",
    "cloudformation": "cloudformation",
    "stepfunctions": "stepfunctions",
    "lambda_": "lambda",
    "scheduler": "scheduler",
    "iam": "iam",
}
"""Each of Clients' fields and the service it is a client of."""


@dataclass(frozen=True)
class Clients:
    s3: Any
    cloudformation: Any
    stepfunctions: Any
    lambda_: Any
    """The Lambda client ("lambda" is a Python keyword)."""
    scheduler: Any
    """EventBridge Scheduler: the SCHEDULES (deploy/schedules.py)."""
    iam: Any
    """IAM: the role the schedules start executions as."""


def endpoint_exports(endpoint_url: str | None = None) -> str:
    """The shell line that points every AWS tool at the embedded endpoint, with the keys it accepts."""
    return (
        f"export AWS_ENDPOINT_URL={endpoint_url or LOCAL_ENDPOINT_URL} AWS_ACCESS_KEY_ID=testing "
        "AWS_SECRET_ACCESS_KEY=testing"
    )


def is_loopback(url: str | None) -> bool:
    host = urlsplit(url or "").hostname
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: only "localhost" is known to be loopback without asking a resolver
        return False


def make_clients(config: Config) -> Clients:
    """Clients for the configured profile and region; AWS_ENDPOINT_URL, when set, is honoured by boto3 itself."""
    try:
        session = boto3.Session(profile_name=config.profile, region_name=config.region)
        if session.get_credentials() is None:
            raise NoCredentialsError()
    except ProfileNotFound:
        origin = " (from AWS_PROFILE)" if os.environ.get("AWS_PROFILE") == config.profile else ""
        raise ConfigError(
            f"AWS profile {config.profile!r}{origin} is not in ~/.aws/config or ~/.aws/credentials: name a profile "
            "you have (AWS_DEFAULT_PROFILE in fabfile_config.py, or AWS_PROFILE), or set AWS_DEFAULT_PROFILE = None "
            "in fabfile_config.py to use the standard credential chain (the environment, such as "
            f"{endpoint_exports(os.environ.get('AWS_ENDPOINT_URL'))} for the local endpoint)"
        ) from None
    except NoCredentialsError:
        raise ConfigError(
            "no AWS credentials found: configure a profile (aws configure --profile NAME) and name it in "
            "AWS_DEFAULT_PROFILE or AWS_PROFILE; or, for the local endpoint (fab server), "
            f"{endpoint_exports(os.environ.get('AWS_ENDPOINT_URL'))}"
        ) from None
    return Clients(**{field: _client(session, service) for field, service in SERVICES.items()})


def _client(session: boto3.Session, service: str) -> Any:
    client = session.client(service, config=RETRIES)
    if not is_loopback(client.meta.endpoint_url):
        return client
    client = session.client(
        service, config=RETRIES.merge(BotocoreConfig(connect_timeout=LOOPBACK_CONNECT_TIMEOUT_SECONDS))
    )
    # First in line among the needs-retry handlers, before the standard retry mode's own: a handler can only ask
    # for a retry by returning a delay, so refusing one for a connection error means raising that error.
    client.meta.events.register_first(
        f"needs-retry.{client.meta.service_model.service_id.hyphenize()}", _no_connect_retry
    )
    return client


def _no_connect_retry(caught_exception: Exception | None = None, **kwargs: Any) -> None:
    if isinstance(caught_exception, (EndpointConnectionError, ConnectTimeoutError)):
        raise caught_exception
