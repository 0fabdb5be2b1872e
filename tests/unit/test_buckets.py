"""Bucket checks: one HeadBucket says the region, or why the bucket cannot be synced (botocore Stubber)."""
import boto3
import pytest
from botocore.stub import Stubber

from bucket_sync.buckets import bucket_region
from bucket_sync.errors import BucketAccessError, BucketNotFoundError


@pytest.fixture
def s3():
    client = boto3.client("s3", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber


def test_the_region_comes_from_head_bucket(s3):
    client, stubber = s3
    stubber.add_response("head_bucket", {"BucketRegion": "eu-west-1"}, {"Bucket": "data"})
    assert bucket_region(client, "data") == "eu-west-1"


@pytest.mark.parametrize(("code", "status", "error", "message"), [
    pytest.param("404", 404, BucketNotFoundError, "bucket 'data' does not exist; check the name", id="missing"),
    pytest.param("403", 403, BucketAccessError, "bucket 'data' exists but cannot be listed with these credentials",
                 id="not-listable"),
    pytest.param("400", 400, BucketAccessError, "bucket 'data' cannot be used: 400", id="other"),
])
def test_a_bucket_that_cannot_be_synced_is_named_with_the_reason(s3, code, status, error, message):
    client, stubber = s3
    stubber.add_client_error("head_bucket", service_error_code=code, http_status_code=status,
                             expected_params={"Bucket": "data"})
    with pytest.raises(error, match=message):
        bucket_region(client, "data")
