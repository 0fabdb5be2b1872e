"""The test aid that fills a bucket straight into moto's backend (``local_endpoint/bulk_fill.py``): in process, what
was filled lists, HEADs, reads and copies as PutObject's objects do, body-less objects are refused clearly when
read; through a running endpoint's admin route, the test process may fill and Lambda code may not.
"""

import hashlib
import io
import json
import re
import textwrap
import uuid
import zipfile

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from local_endpoint import bulk_fill, listing_index
from local_endpoint.bulk_fill import BODYLESS_MESSAGE, BulkFillError, fill_bucket, post_fill, with_body, without_body
from tests.awkward_keys import AWKWARD_KEYS

from .conftest import NO_RETRIES, REGION
from .test_iam import allow, make_role

MULTIPART_ETAG = '"0123456789abcdef0123456789abcdef-3"'


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name=REGION, config=Config(retries={"total_max_attempts": 1}))
        client.create_bucket(Bucket="filled")
        yield client


def described(s3, bucket, key):
    head = s3.head_object(Bucket=bucket, Key=key)
    return head["ContentLength"], head["ETag"], head.get("StorageClass", "STANDARD"), head["ContentType"]


def test_filled_objects_are_what_put_object_would_have_stored(s3):
    keys = [param.values[0] for param in AWKWARD_KEYS]
    assert fill_bucket("filled", [with_body(key, key.encode()) for key in keys]) == len(keys)
    s3.create_bucket(Bucket="put")
    for key in keys:
        s3.put_object(Bucket="put", Key=key, Body=key.encode())

    def listing(bucket):
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 5})
        return [(o["Key"], o["Size"], o["ETag"], o["StorageClass"]) for page in pages for o in page["Contents"]]

    assert listing("filled") == listing("put")
    for key in keys:
        assert described(s3, "filled", key) == described(s3, "put", key)
        assert s3.get_object(Bucket="filled", Key=key)["Body"].read() == key.encode()


def test_a_filled_object_copies_with_its_etag_and_keeps_its_storage_class(s3):
    fill_bucket("filled", [with_body("cold", b"cold data", "GLACIER_IR"), with_body("warm", b"warm")])
    s3.copy_object(Bucket="filled", Key="warm-copy", CopySource={"Bucket": "filled", "Key": "warm"})

    assert described(s3, "filled", "cold")[2] == "GLACIER_IR"
    assert described(s3, "filled", "warm-copy")[:2] == (4, f'"{hashlib.md5(b"warm").hexdigest()}"')


def test_a_bodyless_object_lists_and_heads_with_its_size_and_etag(s3):
    fill_bucket("filled", [without_body("big", 5 * 1024**3, MULTIPART_ETAG, "STANDARD_IA")])

    [entry] = s3.list_objects_v2(Bucket="filled")["Contents"]
    assert (entry["Key"], entry["Size"], entry["ETag"], entry["StorageClass"]) == (
        "big",
        5 * 1024**3,
        MULTIPART_ETAG,
        "STANDARD_IA",
    )
    assert described(s3, "filled", "big") == (5 * 1024**3, MULTIPART_ETAG, "STANDARD_IA", "binary/octet-stream")


@pytest.mark.parametrize(
    "read",
    [
        pytest.param(lambda s3: s3.get_object(Bucket="filled", Key="bodyless"), id="get-object"),
        pytest.param(
            lambda s3: s3.copy_object(Bucket="filled", Key="copy", CopySource={"Bucket": "filled", "Key": "bodyless"}),
            id="copy-object",
        ),
    ],
)
def test_reading_a_bodyless_object_is_refused_with_a_message_that_says_why(s3, read):
    fill_bucket("filled", [without_body("bodyless", 10, '"abc"')])

    with pytest.raises(ClientError) as raised:
        read(s3)

    assert raised.value.response["Error"]["Code"] == "NotImplemented"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400  # a client error: never retried
    assert raised.value.response["Error"]["Message"] == BODYLESS_MESSAGE
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="filled")["Contents"]] == ["bodyless"]  # no copy made


def test_a_fill_replaces_a_key_or_adds_a_version_as_put_object_does(s3):
    s3.put_object(Bucket="filled", Key="k", Body=b"old")
    s3.create_bucket(Bucket="versioned")
    s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="versioned", Key="k", Body=b"old")

    fill_bucket("filled", [with_body("k", b"new")])
    fill_bucket("versioned", [with_body("k", b"new")])

    assert s3.get_object(Bucket="filled", Key="k")["Body"].read() == b"new"
    assert s3.get_object(Bucket="versioned", Key="k")["Body"].read() == b"new"
    versions = s3.list_object_versions(Bucket="versioned")["Versions"]
    assert [(v["IsLatest"], v["Size"]) for v in versions] == [(True, 3), (False, 3)]
    assert len({v["VersionId"] for v in versions}) == 2


def test_a_fill_after_a_listing_is_listed_in_order_by_the_index(s3):
    listing_index.install()
    try:
        fill_bucket("filled", [with_body("b", b"")])
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="filled")["Contents"]] == ["b"]  # the index is built
        fill_bucket("filled", [with_body(key, b"") for key in ("c", "a", "é", "b/1")])
        listed = s3.list_objects_v2(Bucket="filled", Delimiter="/")
    finally:
        listing_index.uninstall()
    assert [o["Key"] for o in listed["Contents"]] == ["a", "b", "c", "é"]
    assert listed["CommonPrefixes"] == [{"Prefix": "b/"}]


def test_a_missing_bucket_is_named(s3):
    with pytest.raises(BulkFillError, match="no bucket 'nowhere' on the endpoint: create it first"):
        fill_bucket("nowhere", [with_body("k", b"")])


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"bucket": "b", "objects": [{"key": "k", "body": "x", "etag": "e"}]}, "give a body or a size and an etag"),
        ({"bucket": "b", "objects": [{"key": "k", "size": -1, "etag": "e"}]}, "objects[0].size must be a whole"),
        ({"bucket": "b", "objects": [{"key": "k", "size": 1}]}, "objects[0].etag must be an ETag"),
        ({"bucket": "b", "objects": [{"key": "", "body": ""}]}, "objects[0].key must be an S3 key"),
        ({"bucket": "b", "objects": [{"key": "k" * 1025, "body": ""}]}, "objects[0].key must be an S3 key"),
        ({"bucket": "b", "objects": [{"key": "k", "body": "", "storageClass": "COLD"}]}, "storageClass must be one"),
        ({"bucket": "b", "objects": [{"key": "k", "body": "", "tags": {}}]}, "unknown field 'tags'"),
        ({"bucket": "b", "objects": [{"key": "k", "body": b"x".hex(), "size": 1}]}, "give a body or a size"),
        ({"bucket": "b"}, "objects must be a list"),
        ({"objects": []}, "bucket must be the name"),
        ({"bucket": "b", "objects": [], "extra": 1}, "and nothing else"),
    ],
    ids=[
        "body-and-etag",
        "negative-size",
        "no-etag",
        "empty-key",
        "key-too-long",
        "unknown-storage-class",
        "unknown-field",
        "body-and-size",
        "no-objects",
        "no-bucket",
        "extra-field",
    ],
)
def test_a_malformed_fill_names_what_is_wrong(document, message):
    with pytest.raises(BulkFillError, match=re.escape(message)):
        bulk_fill.parse_fill(document)


# --- Through a running endpoint's admin route ---------------------------------------------------------------------


@pytest.fixture
def admin_s3(endpoint_url):
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=NO_RETRIES,
    )


def test_the_test_process_fills_a_bucket_through_the_admin_route(endpoint_url, admin_s3):
    bucket = f"fill-{uuid.uuid4().hex[:8]}"
    admin_s3.create_bucket(Bucket=bucket)
    objects = [{"key": f"k/{index:05d}", "size": index, "etag": f'"{index:032x}"'} for index in range(2500)]

    assert post_fill(endpoint_url, bucket, objects + [{"key": "text", "body": "héllo"}]) == 2501

    pages = admin_s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    listed = [(o["Key"], o["Size"], o["ETag"]) for page in pages for o in page["Contents"]]
    assert listed == [(o["key"], o["size"], o["etag"]) for o in objects] + [
        ("text", 6, f'"{hashlib.md5("héllo".encode()).hexdigest()}"')
    ]
    assert admin_s3.get_object(Bucket=bucket, Key="text")["Body"].read().decode() == "héllo"


def test_the_admin_route_names_a_malformed_fill_and_an_unsigned_one(endpoint_url):
    with pytest.raises(BulkFillError, match="no bucket 'missing-bucket' on the endpoint"):
        post_fill(endpoint_url, "missing-bucket", [{"key": "k", "body": ""}])
    with pytest.raises(BulkFillError, match="sign the fill with the test's own keys"):
        post_fill(endpoint_url, "missing-bucket", [], access_key_id="")


FILLER_CODE = """
import json
import re
import os
import urllib.error
import urllib.request


def handler(event, context):
    answers = {}
    for signed in (True, False):
        headers = {"Content-Type": "application/json"}
        if signed:
            headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=" + os.environ["AWS_ACCESS_KEY_ID"] + "/x"
        request = urllib.request.Request(
            os.environ["AWS_ENDPOINT_URL"] + "/_endpoint/bulk-fill",
            data=json.dumps({"bucket": event["bucket"], "objects": [{"key": "planted", "body": "x"}]}).encode(),
            headers=headers,
            method="POST",
        )
        try:
            with urllib.request.urlopen(request) as response:
                answers["signed" if signed else "unsigned"] = [response.status, json.load(response)]
        except urllib.error.HTTPError as error:
            answers["signed" if signed else "unsigned"] = [error.code, json.load(error)]
    return answers
"""


def test_lambda_code_may_not_fill_a_bucket(admin, admin_s3):
    bucket = f"fill-{uuid.uuid4().hex[:8]}"
    admin_s3.create_bucket(Bucket=bucket)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as package:
        package.writestr("filler.py", textwrap.dedent(FILLER_CODE))
    name = f"filler-{uuid.uuid4().hex[:8]}"
    admin("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=make_role(admin, [allow("s3:*", "*")]),
        Handler="filler.handler",
        Code={"ZipFile": archive.getvalue()},
        Timeout=30,
    )

    answer = json.loads(
        admin("lambda").invoke(FunctionName=name, Payload=json.dumps({"bucket": bucket}))["Payload"].read()
    )

    assert answer["signed"] == [403, {"error": "the bulk fill is a test aid: Lambda code may not use it"}]
    assert answer["unsigned"][0] == 403
    assert "Contents" not in admin_s3.list_objects_v2(Bucket=bucket)
