"""Config: a missing file or value is a sentence saying how to fix it; the AWS environment wins over defaults."""

import re
import runpy
from pathlib import Path

import pytest

from deploy.config import config_from_values, load_config
from deploy.errors import ConfigError

VALUES = {
    "USER_EMAIL": "dev@example.com",
    "APP_NAME": "sync-buckets",
    "AWS_DEFAULT_PROFILE": "work",
    "AWS_DEFAULT_REGION": "eu-west-1",
}


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


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("APP_NAME", "Sync_Buckets", "lower case letters"),
        ("USER_EMAIL", "nobody", "not an email address"),
        ("AWS_DEFAULT_REGION", "Europe", "not an AWS region"),
        ("KEEP_STATE_MACHINES", 0, "at least 1"),
        ("REPORT_RETENTION_DAYS", 0, "REPORT_RETENTION_DAYS must be a whole number of days of at least 1"),
        ("REPORT_RETENTION_DAYS", 7.5, "REPORT_RETENTION_DAYS must be a whole number .*not 7.5"),
        ("REPORT_RETENTION_DAYS", True, "REPORT_RETENTION_DAYS must be a whole number"),
        ("REPORT_RETENTION_DAYS", "90", "REPORT_RETENTION_DAYS must be a whole number .*not '90'"),
    ],
)
def test_a_wrong_value_is_named_with_what_is_expected(key, value, expected):
    with pytest.raises(ConfigError, match=expected):
        config_from_values({**VALUES, key: value}, environ={})


def test_reports_are_kept_90_days_unless_the_config_says_otherwise():
    assert config_from_values(VALUES, environ={}).report_retention_days == 90
    assert config_from_values({**VALUES, "REPORT_RETENTION_DAYS": 7}, environ={}).report_retention_days == 7
    template = runpy.run_path(str(Path(__file__).resolve().parents[2] / "fabfile_config_template.py"))
    assert template["REPORT_RETENTION_DAYS"] == 90


def test_standard_aws_environment_beats_the_config_defaults():
    config = config_from_values(VALUES, environ={"AWS_PROFILE": "other", "AWS_REGION": "ap-southeast-2"})
    assert (config.profile, config.region) == ("other", "ap-southeast-2")


def test_deployment_bucket_is_named_by_a_hash_of_the_email_and_is_a_valid_bucket_name():
    config = config_from_values(VALUES, environ={})
    other = config_from_values({**VALUES, "USER_EMAIL": "someone@example.com"}, environ={})
    assert config.deployment_bucket != other.deployment_bucket
    assert "dev" not in config.deployment_bucket  # the address itself is never in a name
    assert len(config.deployment_bucket) <= 63 and config.deployment_bucket == config.deployment_bucket.lower()


KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_kms_keys_default_to_none_and_keep_key_arns_and_aliases_in_order():
    assert config_from_values(VALUES, environ={}).kms_keys == ()
    assert config_from_values({**VALUES, "KMS_KEYS": None}, environ={}).kms_keys == ()
    entries = [
        KEY_ARN,
        "alias/data-key",
        "arn:aws:kms:eu-west-1:444455556666:alias/team/their_key",
        "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
        "alias/" + "k" * 250,
        "alias/data-key",
    ]  # 256 characters is CreateAlias's longest name
    assert config_from_values({**VALUES, "KMS_KEYS": entries}, environ={}).kms_keys == tuple(entries[:5])


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param("1234abcd-12ab-34cd-56ef-1234567890ab", "is a bare key ID", id="key-id"),
        pytest.param("arn:aws:kms:us-east-1:111122223333:key/not-a-key", "ends in no valid key ID", id="bad-key-id"),
        pytest.param(
            "arn:aws:kms:us-east-1:1111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "is neither a key ARN",
            id="short-account",
        ),
        pytest.param("arn:aws:s3:::my-bucket", "is neither a key ARN", id="not-kms"),
        pytest.param("my-key", "is neither a key ARN", id="bare-name"),
        pytest.param("alias/has space", "is not a valid alias name", id="alias-space"),
        pytest.param("alias/" + "k" * 251, "is not a valid alias name.*at most 256 characters", id="alias-too-long"),
        pytest.param("arn:aws:kms:us-east-1:111122223333:alias/a*b", "is not a valid alias name", id="alias-arn-star"),
        pytest.param("alias/aws/s3", "names an AWS managed key", id="aws-managed"),
        pytest.param("arn:aws-cn:kms:cn-north-1:111122223333:alias/k", "is in partition aws-cn", id="other-partition"),
        pytest.param(42, "is not a string", id="not-a-string"),
    ],
)
def test_a_wrong_kms_keys_entry_is_named_with_what_is_wrong(entry, expected):
    with pytest.raises(ConfigError, match=rf"KMS_KEYS entry {re.escape(repr(entry))} {expected}"):
        config_from_values({**VALUES, "KMS_KEYS": [entry]}, environ={})


def test_kms_keys_must_be_a_list():
    with pytest.raises(ConfigError, match="KMS_KEYS must be a list"):
        config_from_values({**VALUES, "KMS_KEYS": "alias/data-key"}, environ={})


@pytest.mark.parametrize("value", [5, "logs-*", {"logs-*": True}], ids=["number", "string", "dict"])
def test_bucket_patterns_must_be_a_list(value):
    # A number is not iterable: it used to end in a TypeError's traceback, not this sentence.
    with pytest.raises(ConfigError, match="SOURCE_BUCKETS must be a list of bucket names or patterns"):
        config_from_values({**VALUES, "SOURCE_BUCKETS": value}, environ={})


def test_a_china_region_accepts_only_china_keys():
    china = {**VALUES, "AWS_DEFAULT_REGION": "cn-north-1"}
    assert (
        config_from_values(
            {**china, "KMS_KEYS": ["arn:aws-cn:kms:cn-north-1:111122223333:alias/k"]}, environ={}
        ).partition
        == "aws-cn"
    )
    with pytest.raises(ConfigError, match="is in partition aws, but the deployment's region is in aws-cn"):
        config_from_values({**china, "KMS_KEYS": [KEY_ARN]}, environ={})


@pytest.mark.parametrize(
    ("region", "partition"), [("eu-west-1", "aws"), ("cn-northwest-1", "aws-cn"), ("us-gov-east-1", "aws-us-gov")]
)
def test_the_partition_follows_the_region(region, partition):
    assert config_from_values({**VALUES, "AWS_DEFAULT_REGION": region}, environ={}).partition == partition


def test_a_region_of_no_partition_is_refused():
    with pytest.raises(ConfigError, match="region 'xx-nowhere-1' belongs to no AWS partition"):
        config_from_values({**VALUES, "AWS_DEFAULT_REGION": "xx-nowhere-1"}, environ={})


def test_the_template_file_documents_kms_keys_unset():
    values = runpy.run_path(str(Path(__file__).resolve().parents[2] / "fabfile_config_template.py"))
    assert "KMS_KEYS" in values and values["KMS_KEYS"] is None


def test_a_misspelt_setting_is_named_with_the_closest_known_one(tmp_path):
    path = tmp_path / "fabfile_config.py"
    path.write_text("".join(f"{key} = {value!r}\n" for key, value in VALUES.items()) + "MAX_DELETE = 5\n")
    with pytest.raises(ConfigError, match=r"MAX_DELETE is not a setting; did you mean MAX_DELETES\?"):
        load_config(path, environ={})


def test_an_unknown_setting_with_no_close_one_lists_the_known_ones(tmp_path):
    path = tmp_path / "fabfile_config.py"
    path.write_text("".join(f"{key} = {value!r}\n" for key, value in VALUES.items()) + "COLOUR = 'blue'\n")
    with pytest.raises(ConfigError, match=r"COLOUR is not a setting; the settings are .*APP_NAME.*MAX_DELETES"):
        load_config(path, environ={})


def test_lower_case_names_imports_and_private_helpers_are_not_settings(tmp_path):
    path = tmp_path / "fabfile_config.py"
    path.write_text(
        "import os\n_PREFIX = 'sync'\nhelper = 1\n" + "".join(f"{key} = {value!r}\n" for key, value in VALUES.items())
    )
    assert load_config(path, environ={}).app_name == "sync-buckets"


def test_every_setting_of_the_template_file_is_known(tmp_path):
    path = tmp_path / "fabfile_config.py"
    path.write_text((Path(__file__).resolve().parents[2] / "fabfile_config_template.py").read_text())
    assert load_config(path, environ={"AWS_PROFILE": "x"}).app_name
