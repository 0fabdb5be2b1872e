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


@pytest.mark.parametrize(
    ("code", "status", "error", "message"),
    [
        pytest.param("404", 404, BucketNotFoundError, "bucket 'data' does not exist; check the name", id="missing"),
        pytest.param(
            "403",
            403,
            BucketAccessError,
            "bucket 'data' exists but cannot be listed with these credentials",
            id="not-listable",
        ),
        pytest.param("400", 400, BucketAccessError, "bucket 'data' cannot be used: 400", id="other"),
    ],
)
def test_a_bucket_that_cannot_be_synced_is_named_with_the_reason(s3, code, status, error, message):
    client, stubber = s3
    stubber.add_client_error(
        "head_bucket", service_error_code=code, http_status_code=status, expected_params={"Bucket": "data"}
    )
    with pytest.raises(error, match=message):
        bucket_region(client, "data")


@pytest.mark.parametrize("requester_pays, hinted", [(False, True), (True, False)])
def test_a_refused_bucket_suggests_requester_pays_unless_it_was_asked_for(s3, requester_pays, hinted):
    client, stubber = s3
    stubber.add_client_error("head_bucket", service_error_code="403", http_status_code=403)
    with pytest.raises(BucketAccessError) as raised:
        bucket_region(client, "data", requester_pays)
    assert ('"requesterPays": true' in str(raised.value)) is hinted


@pytest.mark.parametrize("requester_pays", [True, False])
def test_requester_pays_clients_say_so_on_every_request(requester_pays):
    from moto import mock_aws

    from bucket_sync.clients import REQUEST_PAYER_HEADER, S3Clients

    sent = []
    with mock_aws():
        client = S3Clients().for_region("us-east-1", requester_pays)
        client.meta.events.register(
            "before-send.s3",
            lambda request, **_: sent.append((request.method, REQUEST_PAYER_HEADER in request.headers)),
        )
        client.create_bucket(Bucket="data")
        client.put_object(Bucket="data", Key="k", Body=b"x")
        client.copy_object(Bucket="data", Key="k2", CopySource={"Bucket": "data", "Key": "k"})
        client.list_objects_v2(Bucket="data")
    assert sent == [("PUT", requester_pays), ("PUT", requester_pays), ("PUT", requester_pays), ("GET", requester_pays)]
