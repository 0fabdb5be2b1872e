"""deploy/aws.py: the credential errors say how to fix them, and a dead loopback endpoint fails at once while AWS
keeps botocore's defaults. No request reaches anything but a closed loopback port."""

import socket

import pytest
from botocore.exceptions import EndpointConnectionError

from deploy.aws import LOOPBACK_CONNECT_TIMEOUT_SECONDS, is_loopback, make_clients
from deploy.config import Config
from deploy.errors import ConfigError

EXPORTS = "export AWS_ENDPOINT_URL=http://127.0.0.1:5000 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing"


def config(profile=None):
    return Config(app_name="sync-buckets", user_email="dev@example.com", region="us-east-1", profile=profile)


@pytest.fixture
def no_credentials(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance metadata lookup on a CI machine


def test_a_missing_profile_names_the_setting_none_and_the_exports():
    with pytest.raises(ConfigError) as error:
        make_clients(config(profile="default"))
    message = str(error.value)
    assert message.startswith("AWS profile 'default' is not in ~/.aws/config or ~/.aws/credentials")
    assert "AWS_DEFAULT_PROFILE = None in fabfile_config.py" in message
    assert EXPORTS in message


def test_a_missing_profile_named_by_aws_profile_says_so(monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "work")
    with pytest.raises(ConfigError, match=r"AWS profile 'work' \(from AWS_PROFILE\) is not in ~/.aws/config"):
        make_clients(config(profile="work"))


def test_no_credentials_gives_the_three_exports_of_the_local_endpoint(no_credentials):
    with pytest.raises(ConfigError) as error:
        make_clients(config())
    assert str(error.value).startswith("no AWS credentials found")
    assert EXPORTS in str(error.value)


def test_no_credentials_with_an_endpoint_set_gives_that_endpoint_in_the_exports(no_credentials, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5123")
    with pytest.raises(ConfigError) as error:
        make_clients(config())
    assert (
        "export AWS_ENDPOINT_URL=http://127.0.0.1:5123 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing"
        in str(error.value)
    )


@pytest.mark.parametrize(
    "url, expected",
    [
        ("http://127.0.0.1:5000", True),
        ("http://127.0.0.2:5000", True),
        ("http://localhost:5000", True),
        ("http://[::1]:5000", True),
        ("https://s3.us-east-1.amazonaws.com", False),
        ("http://10.0.0.5:4566", False),
        ("http://minio.internal:9000", False),
    ],
    ids=["127.0.0.1", "127.0.0.2", "localhost", "ipv6", "aws", "private-address", "name"],
)
def test_which_endpoints_are_loopback(url, expected):
    assert is_loopback(url) is expected


def closed_loopback_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def attempts_until_failure(client, call) -> int:
    attempts = []
    client.meta.events.register("before-send", lambda **kwargs: attempts.append(1))
    with pytest.raises(EndpointConnectionError):
        call()
    return len(attempts)


def test_a_dead_loopback_endpoint_is_tried_once_with_a_short_connect_timeout(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed_loopback_url())
    clients = make_clients(config())
    for client in (clients.s3, clients.cloudformation, clients.stepfunctions):
        assert client.meta.config.connect_timeout == LOOPBACK_CONNECT_TIMEOUT_SECONDS
    assert attempts_until_failure(clients.s3, clients.s3.list_buckets) == 1
    assert attempts_until_failure(clients.stepfunctions, clients.stepfunctions.list_state_machines) == 1
    assert attempts_until_failure(clients.cloudformation, clients.cloudformation.list_stacks) == 1


def test_aws_itself_keeps_botocores_connect_timeout_and_retries():
    clients = make_clients(config())
    for client in (clients.s3, clients.cloudformation, clients.stepfunctions):
        assert client.meta.config.connect_timeout == 60
        assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 11}  # 10 retries
