"""Config: a missing file or value is a sentence saying how to fix it; the AWS environment wins over defaults."""
import pytest

from deploy.config import config_from_values, load_config
from deploy.errors import ConfigError

VALUES = {"USER_EMAIL": "dev@example.com", "APP_NAME": "sync-buckets", "AWS_DEFAULT_PROFILE": "work",
          "AWS_DEFAULT_REGION": "eu-west-1"}


def test_missing_file_says_how_to_create_it(tmp_path):
    with pytest.raises(ConfigError, match=r"cp fabfile_config_template.py .*fabfile_config.py"):
        load_config(tmp_path / "fabfile_config.py", environ={})


def test_file_values_are_read(tmp_path):
    path = tmp_path / "fabfile_config.py"
    path.write_text("".join(f"{key} = {value!r}\n" for key, value in VALUES.items()))
    config = load_config(path, environ={})
    assert (config.app_name, config.region, config.profile) == ("sync-buckets", "eu-west-1", "work")
    assert config.stack_name == "sync-buckets"


def test_a_broken_file_is_one_line_not_a_traceback(tmp_path):
    path = tmp_path / "fabfile_config.py"
    path.write_text("USER_EMAIL = \n")
    with pytest.raises(ConfigError, match="could not be read: SyntaxError"):
        load_config(path, environ={})


@pytest.mark.parametrize("name", ["USER_EMAIL", "APP_NAME", "AWS_DEFAULT_REGION"])
def test_a_missing_value_is_named(name):
    values = {key: value for key, value in VALUES.items() if key != name}
    with pytest.raises(ConfigError, match=f"{name} is missing"):
        config_from_values(values, environ={})


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("APP_NAME", "Sync_Buckets", "lower case letters"),
    ("USER_EMAIL", "nobody", "not an email address"),
    ("AWS_DEFAULT_REGION", "Europe", "not an AWS region"),
    ("KEEP_STATE_MACHINES", 0, "at least 1"),
])
def test_a_wrong_value_is_named_with_what_is_expected(key, value, expected):
    with pytest.raises(ConfigError, match=expected):
        config_from_values({**VALUES, key: value}, environ={})


def test_standard_aws_environment_beats_the_config_defaults():
    config = config_from_values(VALUES, environ={"AWS_PROFILE": "other", "AWS_REGION": "ap-southeast-2"})
    assert (config.profile, config.region) == ("other", "ap-southeast-2")


def test_deployment_bucket_is_named_by_a_hash_of_the_email_and_is_a_valid_bucket_name():
    config = config_from_values(VALUES, environ={})
    other = config_from_values({**VALUES, "USER_EMAIL": "someone@example.com"}, environ={})
    assert config.deployment_bucket != other.deployment_bucket
    assert "dev" not in config.deployment_bucket  # the address itself is never in a name
    assert len(config.deployment_bucket) <= 63 and config.deployment_bucket == config.deployment_bucket.lower()
