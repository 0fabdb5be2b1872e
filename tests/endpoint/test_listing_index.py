"""Gap 14 (``local_endpoint/listing_index.py``): listings answered from a sorted key index are moto's own answers.

Every page is asked twice of the same in-process moto, once with the bridge uninstalled and once with it
installed, and the two answers (whole pages: keys, common prefixes, KeyCount, tokens, markers) must be equal,
for many combinations of every LIST parameter, following the pages to the end, on buckets with the awkward keys,
common prefixes and, in the versioned bucket, old versions and delete markers. The bridge is uninstalled after
the module, so no other test sees it.
"""

import hashlib

import boto3
import botocore.handlers
import pytest
from botocore.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.s3.models import s3_backends

from local_endpoint import listing_index
from tests.awkward_keys import AWKWARD_KEYS

from .conftest import admin_client, listing_pages

ACCOUNT = "123456789012"
PLAIN, VERSIONED = "listing-plain", "listing-versioned"
STRUCTURED_KEYS = [
    "a",
    "a/",
    "a/b",
    "a/b/c",
    "a/b/d",
    "a/c",
    "a//d",
    "b/x+y",
    "b/é/1",
    "b/é/2",
    "bé",
    "c/" + "z" * 20,
    "dm/only-marker",
    "dm/also-marker",
    "e\U0001f600/1",
    "e\uffff/1",
    "e\x7f",
    "~",
]
KEYS = sorted({param.values[0] for param in AWKWARD_KEYS} | set(STRUCTURED_KEYS))
PREFIXES = ["", "a", "a/", "a/b", "b/", "b/é", "c", "d", "dm/", "e", "zzz", "café", "d/é"]
DELIMITERS = [None, "/", "é", "b/", "+", "//"]
MAX_KEYS = [0, 1, 2, 3, 7, 1000]
BOUNDS = [None, ""] + KEYS[::3] + ["a/b/", "b/é", "c", "dm/", "\U0010ffff"]


@pytest.fixture(scope="module")
def s3():
    with mock_aws():
        client = admin_client(None, "s3")
        for bucket in (PLAIN, VERSIONED):
            client.create_bucket(Bucket=bucket)
        client.put_bucket_versioning(Bucket=VERSIONED, VersioningConfiguration={"Status": "Enabled"})
        for key in KEYS:
            client.put_object(Bucket=PLAIN, Key=key, Body=key.encode())
            client.put_object(Bucket=VERSIONED, Key=key, Body=b"first")
            client.put_object(Bucket=VERSIONED, Key=key, Body=key.encode())
        for key in ("dm/only-marker", "dm/also-marker", "a/b/c", "b/x+y", "~"):
            client.delete_object(Bucket=VERSIONED, Key=key)  # a delete marker is the latest version
        listing_index.install()
        yield client
        listing_index.uninstall()


@pytest.fixture(scope="module")
def unencoded(s3):
    """A client that sends no EncodingType unless asked: botocore asks for url encoding of every listing by
    itself (and decodes the answer), so without this EncodingType's absence would never be tested."""
    client = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )
    for operation in ("ListObjects", "ListObjectsV2"):
        client.meta.events.unregister(
            f"before-parameter-build.s3.{operation}", botocore.handlers.set_list_objects_encoding_type_url
        )
    return client


def pages(s3, version: int, **request):
    """Every page of one listing, followed to the end, without ResponseMetadata; an error ends it (moto's v1
    answers some delimited listings of these keys with a 500, and must go on doing so)."""
    return listing_pages(s3, version, request, limit=len(KEYS) + 2)


def moto_and_bridged(s3, version: int, **request):
    listing_index.uninstall()
    try:
        theirs = pages(s3, version, **request)
    finally:
        listing_index.install()
    return theirs, pages(s3, version, **request)


def request_of(bucket, prefix, delimiter, max_keys, bound, encoding, fetch_owner, version):
    request = {"Bucket": bucket, "MaxKeys": max_keys}
    if prefix:
        request["Prefix"] = prefix
    if delimiter:
        request["Delimiter"] = delimiter
    if bound is not None:
        request["StartAfter" if version == 2 else "Marker"] = bound
    if encoding:
        request["EncodingType"] = "url"
    if fetch_owner and version == 2:
        request["FetchOwner"] = True
    return request


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    bucket=st.sampled_from([PLAIN, VERSIONED]),
    prefix=st.sampled_from(PREFIXES),
    delimiter=st.sampled_from(DELIMITERS),
    max_keys=st.sampled_from(MAX_KEYS),
    bound=st.sampled_from(BOUNDS) | st.text(max_size=4),
    encoding=st.booleans(),
    fetch_owner=st.booleans(),
    version=st.sampled_from([1, 2]),
)
def test_every_listing_page_is_motos_own_answer(
    s3, unencoded, bucket, prefix, delimiter, max_keys, bound, encoding, fetch_owner, version
):
    request = request_of(bucket, prefix, delimiter, max_keys, bound, encoding, fetch_owner, version)
    theirs, ours = moto_and_bridged(s3 if encoding else unencoded, version, **request)
    assert ours == theirs


@pytest.mark.parametrize("bucket", [PLAIN, VERSIONED])
@pytest.mark.parametrize("delimiter", [None, "/"])
def test_one_key_a_page_walks_every_key_in_utf8_byte_order(s3, bucket, delimiter):
    request = request_of(bucket, "", delimiter, 1, None, False, False, 2)
    theirs, ours = moto_and_bridged(s3, 2, **request)
    assert ours == theirs
    listed = [page["Contents"][0]["Key"] for page in ours if page.get("Contents")]
    assert listed == sorted(listed, key=lambda key: key.encode("utf-8"))
    if delimiter is None and bucket == PLAIN:
        assert listed == sorted(KEYS, key=lambda key: key.encode("utf-8"))


def test_a_folder_of_delete_markers_is_still_listed_as_moto_lists_it(s3):
    """moto's quirk, kept: the answer must not change, even where AWS would answer otherwise."""
    theirs, ours = moto_and_bridged(s3, 2, Bucket=VERSIONED, Prefix="dm/", Delimiter="/")
    assert ours == theirs
    assert [page.get("CommonPrefixes") for page in ours] == [None]  # "dm/" itself is the prefix: no group
    theirs, ours = moto_and_bridged(s3, 2, Bucket=VERSIONED, Delimiter="/")
    assert {"Prefix": "dm/"} in ours[0]["CommonPrefixes"]


def test_an_unknown_continuation_token_is_left_to_moto(s3):
    theirs, ours = moto_and_bridged(s3, 2, Bucket=PLAIN, Prefix="zzz", ContinuationToken="not-a-token")
    assert ours == theirs
    assert ours[0]["KeyCount"] == 0


def names_of(bucket_name):
    store = s3_backends[ACCOUNT]["aws"].get_bucket(bucket_name).keys
    return listing_index.index_of(store), sorted(dict.keys(store))


def listed(s3, bucket_name, **request):
    return [
        entry["Key"]
        for page in pages(s3, 2, Bucket=bucket_name, MaxKeys=4, **request)
        for entry in page.get("Contents", [])
    ]


def test_writes_keep_the_index_in_step_without_a_rebuild(s3):
    s3.create_bucket(Bucket="listing-writes")
    s3.put_bucket_versioning(Bucket="listing-writes", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="listing-writes", Key="m", Body=b"m")
    assert listed(s3, "listing-writes") == ["m"]  # the first listing builds the index
    index, _ = names_of("listing-writes")
    built = index.names

    s3.put_object(Bucket="listing-writes", Key="b", Body=b"b")
    s3.copy_object(Bucket="listing-writes", Key="z", CopySource={"Bucket": "listing-writes", "Key": "m"})
    upload = s3.create_multipart_upload(Bucket="listing-writes", Key="a/multipart")
    part = s3.upload_part(
        Bucket="listing-writes", Key="a/multipart", UploadId=upload["UploadId"], PartNumber=1, Body=b"p"
    )
    s3.complete_multipart_upload(
        Bucket="listing-writes",
        Key="a/multipart",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
    )
    assert listed(s3, "listing-writes") == ["a/multipart", "b", "m", "z"]
    s3.delete_object(Bucket="listing-writes", Key="m")  # a delete marker: the name stays, the key is not listed
    s3.delete_objects(Bucket="listing-writes", Delete={"Objects": [{"Key": "b"}]})
    assert listed(s3, "listing-writes") == ["a/multipart", "z"]
    versions = s3.list_object_versions(Bucket="listing-writes", Prefix="m")
    for version in versions["Versions"] + versions["DeleteMarkers"]:
        s3.delete_object(Bucket="listing-writes", Key="m", VersionId=version["VersionId"])  # the name goes

    index, stored = names_of("listing-writes")
    assert index.names is built  # kept in step by the writes, never rebuilt
    assert index.names == stored == ["a/multipart", "b", "z"]
    assert listed(s3, "listing-writes") == ["a/multipart", "z"]
    assert listed(s3, "listing-writes", Prefix="a/", Delimiter="/") == ["a/multipart"]


def test_a_non_versioned_delete_removes_the_name(s3):
    s3.put_object(Bucket=PLAIN, Key="gone-soon", Body=b"x")
    assert "gone-soon" in listed(s3, PLAIN, Prefix="gone")
    s3.delete_object(Bucket=PLAIN, Key="gone-soon")
    index, stored = names_of(PLAIN)
    assert index.names == stored
    assert listed(s3, PLAIN, Prefix="gone") == []


def test_the_continuation_token_is_motos_md5_of_the_last_name(s3):
    page = s3.list_objects_v2(Bucket=PLAIN, MaxKeys=2)
    last = page["Contents"][-1]["Key"]
    assert page["NextContinuationToken"] == hashlib.md5(last.encode("utf-8")).hexdigest()
