"""Copying one listed object, against moto's S3 (bridged where it differs from AWS: see conftest.py).

Each test lists the source as the sync does, copies, and checks the destination bucket afterwards. Requests are
counted with a ``before-send`` hook on both clients. Error codes AWS sends and moto does not are given with a
botocore Stubber.
"""

import hashlib
import unicodedata
from datetime import UTC, datetime

import boto3
import moto.s3.models
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError
from botocore.stub import Stubber
from moto import mock_aws

from bucket_sync.copy import CopyResult, CopySettings, copy_object
from bucket_sync.errors import (
    ArchivedObjectError,
    CopyFailedError,
    SourceChangedError,
    SourceMissingError,
    TransientS3Error,
)
from bucket_sync.listing import Entry, list_entries
from tests.awkward_keys import AWKWARD_KEYS

SOURCE, DESTINATION = "sync-source", "sync-destination"
MIN_PART_BYTES = 256
"""moto's minimum part size, lowered from S3's 5 MiB so that multipart objects stay tiny."""
PART = b"p" * 300
TINY = CopySettings(multipart_threshold_bytes=1024**2, part_copy_threads=4)
"""Everything here is far below 1 MiB: only multipart ETags and a lowered threshold take the multipart path."""

HEADERS = {
    "ContentType": "text/plain; charset=utf-8",
    "CacheControl": "max-age=60",
    "ContentDisposition": 'attachment; filename="report.txt"',
    "ContentEncoding": "identity",
    "ContentLanguage": "fr",
    "Expires": datetime(2030, 1, 1, tzinfo=UTC),
    "Metadata": {"origin": "unit-test", "mixed-case": "Value"},
}
TAGS = {"team": "a b", "formula": "x+y=z", "path": "p/q", "é": "ü"}
TAGGING = "&".join(
    f"{k}={v}" for k, v in {"team": "a%20b", "formula": "x%2By%3Dz", "path": "p%2Fq", "%C3%A9": "%C3%BC"}.items()
)


@pytest.fixture(autouse=True)
def moto_s3(moto_s3_as_aws, monkeypatch):
    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", MIN_PART_BYTES)
    with mock_aws():
        yield


def client(region):
    # A copy of a multipart object keeps a composite checksum in moto, which default validation rejects on GET.
    return boto3.client("s3", region_name=region, config=Config(response_checksum_validation="when_required"))


def create_bucket(s3, bucket):
    region = s3.meta.region_name
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **location)


@pytest.fixture
def s3():
    """One client for both buckets: the common, same-region case."""
    s3 = client("us-east-1")
    create_bucket(s3, SOURCE)
    create_bucket(s3, DESTINATION)
    return s3


class RequestLog:
    """The operation of every request the given clients send, in order."""

    def __init__(self, *clients):
        self.operations = []
        for s3 in clients:
            s3.meta.events.register("before-send.s3", self.record)

    def record(self, event_name, **_):
        self.operations.append(event_name.rsplit(".", 1)[-1])


def put_multipart(s3, key, parts, bucket=SOURCE, **arguments):
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, **arguments)["UploadId"]
    etags = [
        s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body)["ETag"]
        for number, body in enumerate(parts, start=1)
    ]
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": number, "ETag": etag} for number, etag in enumerate(etags, start=1)]},
    )


def listed(s3, key, bucket=SOURCE) -> Entry:
    """The source entry as the sync's listing gives it, before anything changes."""
    return next(entry for entry in list_entries(s3, bucket, prefix=key) if entry.key == key)


def described(s3, key, bucket):
    """Everything a copy must carry over, as the bucket now holds it."""
    head = s3.head_object(Bucket=bucket, Key=key)
    tags = s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    return {
        "Body": s3.get_object(Bucket=bucket, Key=key)["Body"].read(),
        "ETag": head["ETag"],
        **{field: head.get(field) for field in [*HEADERS, "WebsiteRedirectLocation"]},
        "StorageClass": head.get("StorageClass", "STANDARD"),
        "Tags": {tag["Key"]: tag["Value"] for tag in tags},
    }


def body_of(s3, key, bucket=DESTINATION):
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def multipart_etag(parts):
    digests = b"".join(hashlib.md5(part).digest() for part in parts)
    return f'"{hashlib.md5(digests).hexdigest()}-{len(parts)}"'


def no_uploads_left(s3, bucket=DESTINATION):
    return s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


# Single CopyObject


@pytest.mark.parametrize("key", AWKWARD_KEYS)
def test_single_copy_carries_body_headers_tags_and_storage_class(s3, key):
    s3.put_object(Bucket=SOURCE, Key=key, Body=key.encode() * 3, StorageClass="STANDARD_IA", Tagging=TAGGING, **HEADERS)

    result = copy_object(s3, s3, SOURCE, DESTINATION, listed(s3, key), TINY)

    copied = described(s3, key, DESTINATION)
    assert copied == described(s3, key, SOURCE)
    assert (copied["StorageClass"], copied["Tags"], copied["Metadata"]) == ("STANDARD_IA", TAGS, HEADERS["Metadata"])
    assert result == CopyResult(copied["ETag"], len(key.encode()) * 3, multipart=False, requests=1)


def test_single_copy_is_exactly_one_copy_object_request(s3):
    s3.put_object(Bucket=SOURCE, Key="k", Body=b"body", Tagging=TAGGING, **HEADERS)
    entry = listed(s3, "k")
    log = RequestLog(s3)

    copy_object(s3, s3, SOURCE, DESTINATION, entry, TINY)

    assert log.operations == ["CopyObject"]


def test_single_copy_of_an_empty_object(s3):
    s3.put_object(Bucket=SOURCE, Key="empty", Body=b"")

    copy_object(s3, s3, SOURCE, DESTINATION, listed(s3, "empty"), TINY)

    assert described(s3, "empty", DESTINATION) == described(s3, "empty", SOURCE)


def test_keys_that_differ_only_in_unicode_normalisation_stay_two_objects(s3):
    nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
    s3.put_object(Bucket=SOURCE, Key=nfc, Body=b"composed")
    s3.put_object(Bucket=SOURCE, Key=nfd, Body=b"decomposed")

    for key in (nfc, nfd):
        copy_object(s3, s3, SOURCE, DESTINATION, listed(s3, key), TINY)

    assert [entry.key for entry in list_entries(s3, DESTINATION)] == sorted([nfc, nfd], key=str.encode)
    assert (body_of(s3, nfc), body_of(s3, nfd)) == (b"composed", b"decomposed")


# Multipart: UploadPartCopy in the source's layout


@pytest.mark.parametrize("key", AWKWARD_KEYS)
def test_multipart_copy_keeps_the_source_etag_headers_and_tags(s3, key):
    parts = [PART, PART, b"last"]
    put_multipart(
        s3,
        key,
        parts,
        StorageClass="STANDARD_IA",
        Tagging=TAGGING,
        WebsiteRedirectLocation="/elsewhere.html",
        **HEADERS,
    )

    result = copy_object(s3, s3, SOURCE, DESTINATION, listed(s3, key), TINY)

    copied = described(s3, key, DESTINATION)
    assert copied == described(s3, key, SOURCE)
    assert copied["ETag"] == result.destination_etag == multipart_etag(parts)
    assert (copied["Tags"], copied["WebsiteRedirectLocation"]) == (TAGS, "/elsewhere.html")
    assert (result.bytes_copied, result.multipart) == (len(b"".join(parts)), True)


@pytest.mark.parametrize(
    "tagging, tag_requests",
    [
        pytest.param({"Tagging": TAGGING}, ["GetObjectTagging"], id="tagged"),
        pytest.param({}, [], id="untagged-skips-GetObjectTagging"),
    ],
)
def test_multipart_copy_requests_are_head_tags_create_parts_complete(s3, tagging, tag_requests):
    put_multipart(s3, "k", [PART, PART, b"last"], **tagging)
    entry = listed(s3, "k")
    log = RequestLog(s3)

    result = copy_object(s3, s3, SOURCE, DESTINATION, entry, TINY)

    expected = [
        "HeadObject",
        *tag_requests,
        "CreateMultipartUpload",
        *["UploadPartCopy"] * 3,
        "CompleteMultipartUpload",
    ]
    assert sorted(log.operations) == sorted(expected)  # the part copies run in threads, in any order
    assert (log.operations[0], log.operations[-1]) == ("HeadObject", "CompleteMultipartUpload")
    assert result.requests == len(expected)


def test_multipart_copy_of_an_empty_one_part_object(s3):
    put_multipart(s3, "empty", [b""])

    result = copy_object(s3, s3, SOURCE, DESTINATION, listed(s3, "empty"), TINY)

    assert described(s3, "empty", DESTINATION) == described(s3, "empty", SOURCE)
    assert result.destination_etag == multipart_etag([b""])


def test_multipart_copy_with_one_thread(s3):
    parts = [PART, PART, PART, b"last"]
    put_multipart(s3, "k", parts)

    copy_object(s3, s3, SOURCE, DESTINATION, listed(s3, "k"), CopySettings(1024**2, part_copy_threads=1))

    assert described(s3, "k", DESTINATION)["ETag"] == multipart_etag(parts)


def test_source_with_uneven_parts_is_copied_whole_under_a_different_etag(s3):
    # Not what SDKs upload; the first part's size is the only layout one HEAD reveals.
    parts = [PART, PART + PART, b"last"]
    put_multipart(s3, "uneven", parts)

    result = copy_object(s3, s3, SOURCE, DESTINATION, listed(s3, "uneven"), TINY)

    assert body_of(s3, "uneven") == b"".join(parts)
    assert result.destination_etag == multipart_etag([PART, PART, PART, b"last"]) != multipart_etag(parts)


def test_lowered_threshold_copies_a_single_part_source_part_by_part(s3):
    body = bytes(range(256)) * 4  # 1024 bytes: parts of 300, 300, 300 and 124
    s3.put_object(Bucket=SOURCE, Key="big", Body=body, Tagging=TAGGING, **HEADERS)
    log = RequestLog(s3)

    result = copy_object(s3, s3, SOURCE, DESTINATION, listed(s3, "big"), CopySettings(multipart_threshold_bytes=300))

    copied, source = described(s3, "big", DESTINATION), described(s3, "big", SOURCE)
    assert {**copied, "ETag": None} == {**source, "ETag": None}
    assert copied["ETag"] == multipart_etag([body[:300], body[300:600], body[600:900], body[900:]])
    assert log.operations.count("UploadPartCopy") == 4 and result.multipart


# Across regions


@pytest.mark.parametrize(
    "parts", [pytest.param([b"whole"], id="single"), pytest.param([PART, PART, b"last"], id="multipart")]
)
def test_copy_from_eu_west_1_to_us_east_1(parts):
    source_s3, destination_s3 = client("eu-west-1"), client("us-east-1")
    create_bucket(source_s3, SOURCE)
    create_bucket(destination_s3, DESTINATION)
    if len(parts) == 1:
        source_s3.put_object(Bucket=SOURCE, Key="k", Body=parts[0], Tagging=TAGGING, **HEADERS)
    else:
        put_multipart(source_s3, "k", parts, Tagging=TAGGING, **HEADERS)
    entry = listed(source_s3, "k")
    source_log, destination_log = RequestLog(source_s3), RequestLog(destination_s3)

    copy_object(source_s3, destination_s3, SOURCE, DESTINATION, entry, TINY)

    # The source's client only reads; every copy request goes to the destination's region.
    assert set(source_log.operations) <= {"HeadObject", "GetObjectTagging"}
    assert {"CopyObject", "UploadPartCopy"} & set(destination_log.operations)
    assert described(destination_s3, "k", DESTINATION) == described(source_s3, "k", SOURCE)


# The source changed or went away after it was listed


def put_source(s3, shape, body_byte):
    if shape == "single":
        s3.put_object(Bucket=SOURCE, Key="k", Body=body_byte * 10)
    else:
        put_multipart(s3, "k", [body_byte * 300, body_byte * 300, body_byte])


SHAPES = ["single", "multipart"]


@pytest.fixture
def old_destination(s3):
    s3.put_object(Bucket=DESTINATION, Key="k", Body=b"old")
    return lambda: (body_of(s3, "k"), no_uploads_left(s3))


@pytest.mark.parametrize("shape, refused_by", [("single", "CopyObject"), ("multipart", "HeadObject")])
def test_source_changed_after_listing_is_refused_by_the_first_request(s3, old_destination, shape, refused_by):
    put_source(s3, shape, b"a")
    entry = listed(s3, "k")
    put_source(s3, shape, b"b")
    log = RequestLog(s3)

    with pytest.raises(SourceChangedError):
        copy_object(s3, s3, SOURCE, DESTINATION, entry, TINY)

    assert log.operations == [refused_by]
    assert old_destination() == (b"old", True)


def test_source_changed_during_a_multipart_copy_aborts_it(s3, old_destination):
    put_source(s3, "multipart", b"a")
    entry = listed(s3, "k")
    # After the HEAD said the ETag still matched, before any part is copied.
    s3.meta.events.register("before-call.s3.CreateMultipartUpload", lambda **_: put_source(s3, "single", b"b"))

    with pytest.raises(SourceChangedError):
        copy_object(s3, s3, SOURCE, DESTINATION, entry, TINY)

    assert old_destination() == (b"old", True)


@pytest.mark.parametrize("shape", SHAPES)
def test_source_deleted_after_listing(s3, old_destination, shape):
    put_source(s3, shape, b"a")
    entry = listed(s3, "k")
    s3.delete_object(Bucket=SOURCE, Key="k")

    with pytest.raises(SourceMissingError):
        copy_object(s3, s3, SOURCE, DESTINATION, entry, TINY)

    assert old_destination() == (b"old", True)


# Failures S3 reports


def test_a_failed_part_copy_aborts_the_upload_and_reports_the_s3_error(s3, old_destination):
    put_multipart(s3, "k", [PART] * 5 + [b"last"])
    entry = listed(s3, "k")

    def deny_part_3(params, **_):
        if params["PartNumber"] == 3:
            raise ClientError(
                {
                    "Error": {"Code": "AccessDenied", "Message": "Access Denied"},
                    "ResponseMetadata": {"HTTPStatusCode": 403},
                },
                "UploadPartCopy",
            )

    s3.meta.events.register("before-parameter-build.s3.UploadPartCopy", deny_part_3)

    with pytest.raises(CopyFailedError, match="UploadPartCopy .*AccessDenied: Access Denied"):
        copy_object(s3, s3, SOURCE, DESTINATION, entry, TINY)

    assert old_destination() == (b"old", True)


def test_unrestored_glacier_source_is_archived(s3):
    # moto answers ObjectNotInActiveTierError, one of the two codes AWS uses for this.
    s3.put_object(Bucket=SOURCE, Key="cold", Body=b"cold", StorageClass="GLACIER")

    with pytest.raises(ArchivedObjectError, match="ObjectNotInActiveTierError"):
        copy_object(s3, s3, SOURCE, DESTINATION, listed(s3, "cold"), TINY)

    assert s3.list_objects_v2(Bucket=DESTINATION)["KeyCount"] == 0


@pytest.fixture
def stubbed():
    """A client whose answers are given, for codes moto does not send."""
    s3 = client("us-east-1")
    with Stubber(s3) as stubber:
        yield s3, stubber
        stubber.assert_no_pending_responses()


ENTRY = Entry("k", 10, '"9a0364b9e99bb480dd25e1f0284c8555"', "2026-01-01T00:00:00.000+00:00", "GLACIER")


@pytest.mark.parametrize(
    "code, status, error",
    [
        pytest.param("InvalidObjectState", 403, ArchivedObjectError, id="InvalidObjectState-archived"),
        pytest.param("PreconditionFailed", 412, SourceChangedError, id="PreconditionFailed-changed"),
        pytest.param("NoSuchKey", 404, SourceMissingError, id="NoSuchKey-missing"),
        pytest.param("AccessDenied", 403, CopyFailedError, id="AccessDenied-failed"),
    ],
)
def test_s3_error_codes_become_named_errors(stubbed, code, status, error):
    s3, stubber = stubbed
    stubber.add_client_error("copy_object", code, "message from S3", status)

    with pytest.raises(error, match=code):
        copy_object(s3, s3, SOURCE, DESTINATION, ENTRY)


@pytest.mark.parametrize("code, status", [("SlowDown", 503), ("InternalError", 500), ("ServiceUnavailable", 503)])
def test_errors_that_outlived_the_retries_are_that_objects_named_failure(stubbed, code, status):
    s3, stubber = stubbed
    stubber.add_client_error("copy_object", code, "Please reduce your request rate.", status)

    with pytest.raises(TransientS3Error, match=f"CopyObject of s3://{SOURCE}/k: {code}: Please reduce"):
        copy_object(s3, s3, SOURCE, DESTINATION, ENTRY)


def test_a_connection_that_kept_failing_is_that_objects_named_failure():
    s3 = client("us-east-1")

    def drop(**_):
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    s3.meta.events.register("before-send.s3.CopyObject", drop)

    with pytest.raises(TransientS3Error, match="CopyObject of s3://sync-source/k: EndpointConnectionError"):
        copy_object(s3, s3, SOURCE, DESTINATION, ENTRY)


def test_a_request_the_sdk_refuses_is_a_bug_and_fails_loudly(s3):
    bad = Entry("k", 10, ENTRY.etag, ENTRY.last_modified, storage_class=7)  # not a string: refused before sending

    with pytest.raises(ParamValidationError):
        copy_object(s3, s3, SOURCE, DESTINATION, bad)


def test_settings_refuse_zero_threads():
    with pytest.raises(ValueError, match="positive"):
        CopySettings(part_copy_threads=0)


@pytest.mark.parametrize("abort_stale", [True, False], ids=["retry-aborts-them", "first-attempt-leaves-them"])
def test_a_retry_aborts_the_uploads_a_dead_attempt_left_of_that_key_only(s3, abort_stale):
    put_multipart(s3, "big", [PART, PART, b"last"])
    stale = s3.create_multipart_upload(Bucket=DESTINATION, Key="big")["UploadId"]
    s3.upload_part(Bucket=DESTINATION, Key="big", UploadId=stale, PartNumber=1, Body=PART)
    other = s3.create_multipart_upload(Bucket=DESTINATION, Key="big-other")["UploadId"]  # same prefix, other key
    settings = CopySettings(multipart_threshold_bytes=TINY.multipart_threshold_bytes, abort_stale_uploads=abort_stale)

    copy_object(s3, s3, SOURCE, DESTINATION, listed(s3, "big"), settings)

    left = {(u["Key"], u["UploadId"]) for u in s3.list_multipart_uploads(Bucket=DESTINATION).get("Uploads", [])}
    assert left == ({("big-other", other)} if abort_stale else {("big-other", other), ("big", stale)})
    assert body_of(s3, "big") == PART + PART + b"last"
