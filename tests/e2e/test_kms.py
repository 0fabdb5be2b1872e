"""SSE-KMS on the deployed sync: buckets whose default encryption uses customer managed keys (moto's KMS), with
IAM enforced on the endpoint as AWS enforces it. S3 needs kms:Decrypt to read a source under its key and
kms:GenerateDataKey (and Decrypt, for a multipart copy's parts) to write the copy under the destination's; the
functions get exactly those, through S3 only, on the keys of KMS_KEYS."""

import uuid

import boto3
import pytest

from client import executions

from .conftest import MIN_PART_BYTES, put_multipart, report_lines, run

DESTINATION_ALIAS = "alias/e2e-sync-destination"


@pytest.fixture(scope="module")
def keys(endpoint):
    """(source key ARN, destination key ARN), the destination's known to the deployment by its alias only."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", endpoint.url)
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            patch.setenv(name, "testing")
        kms = boto3.client("kms", region_name="us-east-1")
        source = kms.create_key(Description="e2e source data")["KeyMetadata"]["Arn"]
        destination = kms.create_key(Description="e2e destination data")["KeyMetadata"]["Arn"]
        kms.create_alias(AliasName=DESTINATION_ALIAS, TargetKeyId=destination)
    return source, destination


@pytest.fixture(scope="module")
def kms_machine(endpoint, keys):
    from .conftest import deploy_sync

    return deploy_sync(endpoint, "e2e-kms", kms_keys=(keys[0], DESTINATION_ALIAS))


def encrypted_pair(s3, keys):
    tag = uuid.uuid4().hex[:8]
    pair = (f"kms-src-{tag}", f"kms-dst-{tag}")
    for bucket, key in zip(pair, keys, strict=True):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]
            },
        )
    return pair


def fill(client, source):
    for key in ("a", "b/c"):
        client.put_object(Bucket=source, Key=key, Body=key.encode() * 10)
    put_multipart(client, source, "big.bin")


def test_objects_under_customer_managed_keys_on_both_sides_are_copied_under_the_destinations_key(
    aws, kms_machine, s3, keys
):
    client = s3()
    source, destination = encrypted_pair(client, keys)
    fill(client, source)
    assert client.head_object(Bucket=source, Key="a")["SSEKMSKeyId"] == keys[0]

    result = run(
        aws, kms_machine, source=source, destination=destination, settings={"multipartThresholdBytes": MIN_PART_BYTES}
    )

    assert result.succeeded, result.cause
    assert result.output["copied"] == 3
    for key in ("a", "b/c", "big.bin"):
        head = client.head_object(Bucket=destination, Key=key)
        assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", keys[1]), key
        body = client.get_object(Bucket=destination, Key=key)["Body"].read()
        assert body == client.get_object(Bucket=source, Key=key)["Body"].read(), key


def test_without_the_keys_in_kms_keys_every_copy_is_refused_and_named(aws, machine, s3, keys):
    client = s3()
    source, destination = encrypted_pair(client, keys)
    fill(client, source)

    result = run(
        aws, machine, source=source, destination=destination, settings={"multipartThresholdBytes": MIN_PART_BYTES}
    )

    assert (result.status, result.error) == ("FAILED", "SyncFailedError")
    summary = executions.failure_summary(result)
    assert (summary["copied"], summary["failed"]) == (0, 3)
    errors = {line["key"]: line["error"] for line in report_lines(client, summary)}
    for key in ("a", "b/c"):  # CopyObject: reading the source is refused first
        assert "AccessDenied" in errors[key] and "kms:Decrypt" in errors[key], errors[key]
    # The multipart path heads the source (no decryption) and is refused the destination's data key.
    assert "CreateMultipartUpload" in errors["big.bin"] and "kms:GenerateDataKey" in errors["big.bin"]
    assert client.list_objects_v2(Bucket=destination)["KeyCount"] == 0
