"""S3 details answered as S3 answers them (``local_endpoint/s3_rules.py``, gap 11), shown with plain boto3 calls
against an endpoint process of this module's own, and the bucket's contents afterwards.

The module starts its own endpoint (the e2e one's fixture, imported) because the restore-in-progress tests switch
moto's restore state machine to manual through moto's state-manager API, which is process-wide.
"""

import base64
import datetime
import hashlib
import json
import urllib.request
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from local_endpoint.s3_rules import RestoreState, restore_state
from tests.awkward_keys import AWKWARD_KEYS
from tests.e2e.conftest import MIN_PART_BYTES, endpoint  # noqa: F401  (the fixture, started for this module)

MALFORMED_XML = "MalformedXML"
RESTORE_MODEL = "s3::keyrestore"
ARCHIVE_CLASSES = ["GLACIER", "DEEP_ARCHIVE"]


@pytest.fixture
def s3(endpoint):
    return boto3.client("s3", endpoint_url=endpoint.url, region_name="us-east-1")


@pytest.fixture
def bucket(s3):
    name = f"rules-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def restores_stay_in_progress(endpoint):
    """Restores that never finish (moto's state manager: manual, never ticked far enough), reset afterwards."""

    def post(action: str, document: dict) -> None:
        request = urllib.request.Request(
            f"{endpoint.url}/moto-api/state-manager/{action}", data=json.dumps(document).encode(), method="POST"
        )
        urllib.request.urlopen(request).close()

    post("set-transition", {"model_name": RESTORE_MODEL, "transition": {"progression": "manual", "times": 10**9}})
    yield
    post("unset-transition", {"model_name": RESTORE_MODEL})


def error_of(call, *args, **kwargs) -> tuple[int, str]:
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    return caught.value.response["ResponseMetadata"]["HTTPStatusCode"], caught.value.response["Error"]["Code"]


def keys_in(s3, bucket) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def put(s3, bucket, *keys, **extra) -> dict[str, str]:
    return {key: s3.put_object(Bucket=bucket, Key=key, Body=key.encode(), **extra)["ETag"] for key in keys}


# --- 11.1 DeleteObjects: MalformedXML ---------------------------------------------------------------------------


def test_delete_objects_with_a_control_character_is_malformed_xml(s3, bucket):
    put(s3, bucket, "kept")
    # botocore writes "\x01" into the XML body as it is: XML 1.0 cannot carry it.
    assert error_of(s3.delete_objects, Bucket=bucket, Delete={"Objects": [{"Key": "bad\x01key"}, {"Key": "kept"}]}) == (
        400,
        MALFORMED_XML,
    )
    assert keys_in(s3, bucket) == ["kept"]  # the whole request was refused


def test_delete_objects_over_1000_keys_is_malformed_xml(s3, bucket):
    put(s3, bucket, "k0")
    objects = [{"Key": f"k{number}"} for number in range(1001)]
    assert error_of(s3.delete_objects, Bucket=bucket, Delete={"Objects": objects}) == (400, MALFORMED_XML)
    assert keys_in(s3, bucket) == ["k0"]
    assert s3.delete_objects(Bucket=bucket, Delete={"Objects": objects[:1000]})["Deleted"]  # 1,000 is allowed


@pytest.mark.parametrize(
    "body",
    [
        b"<Delete><Quiet>true</Quiet></Delete>",
        b"<Delete><Object><VersionId>v</VersionId></Object></Delete>",
        b"<Remove><Object><Key>k</Key></Object></Remove>",
        b"<Delete><Object><Key>k&#1;</Key></Object></Delete>",
    ],
    ids=["no-object", "object-without-key", "wrong-root", "escaped-control-character"],
)
def test_delete_objects_body_outside_the_schema_is_malformed_xml(s3, bucket, body):
    put(s3, bucket, "k")

    def replace_body(request, **kwargs):
        """Send ``body`` instead, with its own Content-MD5 (S3 requires one on DeleteObjects)."""
        request.data = body
        for name in [
            name
            for name in request.headers.keys()
            if name.lower() == "content-md5" or name.lower().startswith(("x-amz-checksum", "x-amz-sdk"))
        ]:
            del request.headers[name]
        request.headers["Content-MD5"] = base64.b64encode(hashlib.md5(body).digest()).decode()

    s3.meta.events.register_first("before-sign.s3.DeleteObjects", replace_body)
    try:
        assert error_of(s3.delete_objects, Bucket=bucket, Delete={"Objects": [{"Key": "k"}]}) == (400, MALFORMED_XML)
    finally:
        s3.meta.events.unregister("before-sign.s3.DeleteObjects", replace_body)
    assert keys_in(s3, bucket) == ["k"]


# --- 11.2 quiet mode ------------------------------------------------------------------------------------------------


def test_delete_objects_quiet_mode_answers_only_errors(s3, bucket):
    put(s3, bucket, "a", "b")
    response = s3.delete_objects(
        Bucket=bucket,
        Delete={"Quiet": True, "Objects": [{"Key": "a"}, {"Key": "b", "ETag": '"0123456789abcdef0123456789abcdef"'}]},
    )
    assert "Deleted" not in response  # "a" was deleted, silently
    assert [(error["Key"], error["Code"]) for error in response["Errors"]] == [("b", "PreconditionFailed")]
    assert keys_in(s3, bucket) == ["b"]


def test_delete_objects_verbose_mode_lists_every_deleted_key(s3, bucket):
    put(s3, bucket, "a")
    response = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "never-there"}]})
    assert sorted(item["Key"] for item in response["Deleted"]) == ["a", "never-there"]  # absent: "deleted"
    assert "Errors" not in response


# --- 11.3 DeleteObjects per-object ETag --------------------------------------------------------------------------


def test_delete_objects_etag_mismatch_is_that_keys_error_and_the_others_are_deleted(s3, bucket):
    etags = put(s3, bucket, "match", "mismatch", "plain", "any")
    response = s3.delete_objects(
        Bucket=bucket,
        Delete={
            "Objects": [
                {"Key": "match", "ETag": etags["match"]},
                {"Key": "mismatch", "ETag": etags["match"]},
                {"Key": "plain"},
                {"Key": "any", "ETag": "*"},
            ]
        },
    )
    assert sorted(item["Key"] for item in response["Deleted"]) == ["any", "match", "plain"]
    assert [(error["Key"], error["Code"]) for error in response["Errors"]] == [("mismatch", "PreconditionFailed")]
    assert keys_in(s3, bucket) == ["mismatch"]
    assert s3.get_object(Bucket=bucket, Key="mismatch")["ETag"] == etags["mismatch"]


def test_delete_objects_etag_of_a_missing_key_is_no_such_key(s3, bucket):
    put(s3, bucket, "kept")
    response = s3.delete_objects(
        Bucket=bucket,
        Delete={"Objects": [{"Key": "absent", "ETag": '"0123456789abcdef0123456789abcdef"'}, {"Key": "kept"}]},
    )
    assert [(error["Key"], error["Code"]) for error in response["Errors"]] == [("absent", "NoSuchKey")]
    assert [item["Key"] for item in response["Deleted"]] == ["kept"]
    assert keys_in(s3, bucket) == []


def test_delete_objects_etag_unquoted_matches(s3, bucket):
    etags = put(s3, bucket, "k")
    response = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k", "ETag": etags["k"].strip('"')}]})
    assert [item["Key"] for item in response["Deleted"]] == ["k"]
    assert keys_in(s3, bucket) == []


@pytest.mark.parametrize("key", AWKWARD_KEYS)
def test_delete_objects_etag_keeps_awkward_keys_intact(s3, bucket, key):
    """The objects whose ETag held are handed on to moto: each key must reach it, and come back, unchanged."""
    etags = put(s3, bucket, key, "other")
    response = s3.delete_objects(
        Bucket=bucket,
        Delete={
            "Objects": [
                {"Key": key, "ETag": etags[key]},
                {"Key": "other", "ETag": '"0123456789abcdef0123456789abcdef"'},
            ]
        },
    )
    assert [item["Key"] for item in response["Deleted"]] == [key]
    assert keys_in(s3, bucket) == ["other"]


# --- 11.4 DeleteObject If-Match ---------------------------------------------------------------------------------


def test_delete_object_if_match_mismatch_is_412_and_the_object_stays(s3, bucket):
    etags = put(s3, bucket, "k")
    assert error_of(s3.delete_object, Bucket=bucket, Key="k", IfMatch='"0123456789abcdef0123456789abcdef"') == (
        412,
        "PreconditionFailed",
    )
    assert s3.get_object(Bucket=bucket, Key="k")["ETag"] == etags["k"]


def test_delete_object_if_match_current_etag_deletes(s3, bucket):
    etags = put(s3, bucket, "k")
    assert s3.delete_object(Bucket=bucket, Key="k", IfMatch=etags["k"])["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert keys_in(s3, bucket) == []


def test_delete_object_if_match_star_deletes_any_current_object(s3, bucket):
    put(s3, bucket, "k")
    assert s3.delete_object(Bucket=bucket, Key="k", IfMatch="*")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert keys_in(s3, bucket) == []


@pytest.mark.parametrize("if_match", ["*", '"0123456789abcdef0123456789abcdef"'])
def test_delete_object_if_match_without_an_object_is_no_such_key(s3, bucket, if_match):
    assert error_of(s3.delete_object, Bucket=bucket, Key="absent", IfMatch=if_match) == (404, "NoSuchKey")


# --- 11.5 directory-bucket-only conditions ------------------------------------------------------------------------


def test_directory_bucket_delete_conditions_are_not_implemented(s3, bucket):
    put(s3, bucket, "k")
    assert error_of(s3.delete_object, Bucket=bucket, Key="k", IfMatchSize=1) == (501, "NotImplemented")
    assert error_of(
        s3.delete_object, Bucket=bucket, Key="k", IfMatchLastModifiedTime=datetime.datetime(2026, 1, 1)
    ) == (501, "NotImplemented")
    assert error_of(s3.delete_objects, Bucket=bucket, Delete={"Objects": [{"Key": "k", "Size": 1}]}) == (
        501,
        "NotImplemented",
    )
    assert keys_in(s3, bucket) == ["k"]


# --- 11.6 conditional writes --------------------------------------------------------------------------------------


def test_put_object_if_none_match_star_on_an_existing_key_is_412(s3, bucket):
    put(s3, bucket, "k")
    assert error_of(s3.put_object, Bucket=bucket, Key="k", Body=b"new", IfNoneMatch="*") == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"k"
    s3.put_object(Bucket=bucket, Key="fresh", Body=b"new", IfNoneMatch="*")
    assert keys_in(s3, bucket) == ["fresh", "k"]


def test_put_object_if_none_match_other_than_star_is_not_implemented(s3, bucket):
    etags = put(s3, bucket, "k")
    assert error_of(
        s3.put_object, Bucket=bucket, Key="k", Body=b"new", IfNoneMatch='"0123456789abcdef0123456789abcdef"'
    ) == (501, "NotImplemented")
    assert s3.get_object(Bucket=bucket, Key="k")["ETag"] == etags["k"]


def test_put_object_if_match(s3, bucket):
    etags = put(s3, bucket, "k")
    assert error_of(
        s3.put_object, Bucket=bucket, Key="k", Body=b"new", IfMatch='"0123456789abcdef0123456789abcdef"'
    ) == (412, "PreconditionFailed")
    assert error_of(s3.put_object, Bucket=bucket, Key="absent", Body=b"new", IfMatch=etags["k"]) == (404, "NoSuchKey")
    assert keys_in(s3, bucket) == ["k"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"new", IfMatch=etags["k"])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"new"


def start_upload(s3, bucket, key) -> tuple[str, dict]:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"p" * MIN_PART_BYTES)["ETag"]
    return upload_id, {"Parts": [{"PartNumber": 1, "ETag": etag}]}


def test_complete_multipart_upload_if_none_match(s3, bucket):
    etags = put(s3, bucket, "k")
    upload_id, parts = start_upload(s3, bucket, "k")
    assert error_of(
        s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload=parts, IfNoneMatch="*"
    ) == (412, "PreconditionFailed")
    assert error_of(
        s3.complete_multipart_upload,
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        MultipartUpload=parts,
        IfNoneMatch=etags["k"],
    ) == (501, "NotImplemented")
    assert s3.get_object(Bucket=bucket, Key="k")["ETag"] == etags["k"]


def test_complete_multipart_upload_if_match(s3, bucket):
    etags = put(s3, bucket, "k")
    upload_id, parts = start_upload(s3, bucket, "k")
    assert error_of(
        s3.complete_multipart_upload,
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        MultipartUpload=parts,
        IfMatch='"0123456789abcdef0123456789abcdef"',
    ) == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="k")["ETag"] == etags["k"]
    absent_id, absent_parts = start_upload(s3, bucket, "absent")
    assert error_of(
        s3.complete_multipart_upload,
        Bucket=bucket,
        Key="absent",
        UploadId=absent_id,
        MultipartUpload=absent_parts,
        IfMatch=etags["k"],
    ) == (404, "NoSuchKey")
    s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload=parts, IfMatch=etags["k"])
    assert s3.get_object(Bucket=bucket, Key="k")["ETag"].endswith('-1"')
    assert keys_in(s3, bucket) == ["k"]


# --- 11.7 - 11.10 restores ----------------------------------------------------------------------------------------


def listed_restore_status(s3, bucket) -> dict[str, object]:
    contents = s3.list_objects_v2(Bucket=bucket, OptionalObjectAttributes=["RestoreStatus"])["Contents"]
    return {item["Key"]: item.get("RestoreStatus") for item in contents}


@pytest.mark.parametrize("storage_class", ARCHIVE_CLASSES)
def test_unrestored_archive_is_neither_readable_nor_copyable(s3, bucket, storage_class):
    put(s3, bucket, "cold", StorageClass=storage_class)
    assert error_of(s3.get_object, Bucket=bucket, Key="cold") == (403, "InvalidObjectState")
    assert error_of(s3.copy_object, Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "cold"}) == (
        403,
        "InvalidObjectState",
    )
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="part-copy")["UploadId"]
    assert error_of(
        s3.upload_part_copy,
        Bucket=bucket,
        Key="part-copy",
        UploadId=upload_id,
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "cold"},
    ) == (403, "InvalidObjectState")
    assert "Restore" not in s3.head_object(Bucket=bucket, Key="cold")
    assert listed_restore_status(s3, bucket) == {"cold": None}
    assert keys_in(s3, bucket) == ["cold"]


@pytest.mark.parametrize("storage_class", ARCHIVE_CLASSES)
def test_restored_archive_is_readable_and_copyable(s3, bucket, storage_class):
    put(s3, bucket, "cold", StorageClass=storage_class)
    put(s3, bucket, "warm")
    restore = s3.restore_object(Bucket=bucket, Key="cold", RestoreRequest={"Days": 2})
    assert restore["ResponseMetadata"]["HTTPStatusCode"] == 202  # not restored before
    head = s3.head_object(Bucket=bucket, Key="cold")
    assert head["Restore"].startswith('ongoing-request="false", expiry-date="')
    assert head["StorageClass"] == storage_class  # a restore does not change the class
    statuses = listed_restore_status(s3, bucket)
    assert statuses["warm"] is None
    assert statuses["cold"]["IsRestoreInProgress"] is False
    assert statuses["cold"]["RestoreExpiryDate"] > datetime.datetime.now(datetime.UTC)
    assert s3.get_object(Bucket=bucket, Key="cold")["Body"].read() == b"cold"
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "cold"})
    assert s3.get_object(Bucket=bucket, Key="copy")["Body"].read() == b"cold"
    again = s3.restore_object(Bucket=bucket, Key="cold", RestoreRequest={"Days": 3})
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200  # previously restored


def test_restore_status_is_absent_without_the_optional_attribute(s3, bucket):
    put(s3, bucket, "cold", StorageClass="GLACIER")
    s3.restore_object(Bucket=bucket, Key="cold", RestoreRequest={"Days": 1})
    assert "RestoreStatus" not in s3.list_objects_v2(Bucket=bucket)["Contents"][0]
    v1 = s3.list_objects(Bucket=bucket, OptionalObjectAttributes=["RestoreStatus"])["Contents"][0]
    assert v1["RestoreStatus"]["IsRestoreInProgress"] is False


def test_restore_in_progress_is_reported_and_refuses_reads_copies_and_a_second_restore(
    s3, bucket, restores_stay_in_progress
):
    put(s3, bucket, "cold", StorageClass="DEEP_ARCHIVE")
    assert (
        s3.restore_object(Bucket=bucket, Key="cold", RestoreRequest={"Days": 1})["ResponseMetadata"]["HTTPStatusCode"]
        == 202
    )
    assert s3.head_object(Bucket=bucket, Key="cold")["Restore"] == 'ongoing-request="true"'
    assert listed_restore_status(s3, bucket) == {"cold": {"IsRestoreInProgress": True}}
    assert error_of(s3.get_object, Bucket=bucket, Key="cold") == (403, "InvalidObjectState")
    assert error_of(s3.copy_object, Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "cold"}) == (
        403,
        "InvalidObjectState",
    )
    assert error_of(s3.restore_object, Bucket=bucket, Key="cold", RestoreRequest={"Days": 2}) == (
        409,
        "RestoreAlreadyInProgress",
    )
    assert keys_in(s3, bucket) == ["cold"]


# --- 11.8 restored copies expire (the rule itself: the endpoint cannot wait a day) ---------------------------------

NOW = datetime.datetime(2026, 12, 1, 12, 0, 0)


@pytest.mark.parametrize(
    "expiry, status, expected",
    [
        (None, None, RestoreState.ARCHIVED),
        (NOW + datetime.timedelta(days=1), None, RestoreState.IN_PROGRESS),
        (NOW + datetime.timedelta(days=1), "IN_PROGRESS", RestoreState.IN_PROGRESS),
        (NOW + datetime.timedelta(days=1), "RESTORED", RestoreState.RESTORED),
        (NOW, "RESTORED", RestoreState.ARCHIVED),
        (NOW - datetime.timedelta(seconds=1), "RESTORED", RestoreState.ARCHIVED),
    ],
    ids=["never-restored", "requested", "in-progress", "restored", "expires-now", "expired"],
)
def test_restore_state_of_a_restore(expiry, status, expected):
    assert restore_state(expiry, status, NOW) is expected
