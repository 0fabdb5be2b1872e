"""Gap 15 (``local_endpoint/listing_render.py``): listing pages rendered directly are moto's own bytes.

Every page is asked twice of the same in-process moto, with gap 14's index installed both times: once rendered by
moto's serializer (gap 15 uninstalled), once by the gap; the raw bodies must be equal byte for byte, and so must
boto3's parsed answers, following the pages to the end. The buckets hold random awkward keys in every storage
class, archived ones restored, restoring or not, and s3_rules' RestoreStatus wrapper is in place (as in the
endpoint) so OptionalObjectAttributes is answered. Everything is uninstalled after the module.
"""

import itertools
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto import settings as moto_settings
from moto.core.serialize import S3Serializer
from moto.moto_api import state_manager
from moto.s3.models import s3_backends
from moto.s3.responses import S3Response

from local_endpoint import listing_index, listing_render, s3_rules
from tests.awkward_keys import AWKWARD_KEYS

from .conftest import admin_client, listing_pages

ACCOUNT = "123456789012"
RESTORE_MODEL = "s3::keyrestore"
AWKWARD = [param.values[0] for param in AWKWARD_KEYS] + ["]]>", "a]]>b", "ctl\x01\x1f\x7f", "tab\there", "q?x=1&y"]
ALPHABET = ["a", "b", "/", "é", "&", "<", ">", "]", " ", "+", "%", "\x01", "\U0001f600", ".", "?", "#", "\u2028"]
STORAGE_CLASSES = ["STANDARD", "STANDARD_IA", "GLACIER", "DEEP_ARCHIVE", "REDUCED_REDUNDANCY"]
RESTORES = ["none", "in progress", "restored"]
PREFIXES = ["", "a", "a/", "b", "é", "&", "<", "]", "%", "\U0001f600", "zzz"]
DELIMITERS = [None, "/", "a", "]]>", "%", "é", "+"]
MAX_KEYS = [1, 2, 3, 1000]
counter = itertools.count()


@pytest.fixture(scope="module")
def s3():
    with mock_aws(), pytest.MonkeyPatch.context() as patch:
        # Restores stay where the test puts them: moto's default advances a restore on every read of its status.
        state_manager.set_transition(RESTORE_MODEL, {"progression": "manual", "times": 10**9})
        # The endpoint's RestoreStatus (gap 11.7), wrapped only for this module's life.
        for name in ("list_objects_v2", "list_objects"):
            patch.setattr(S3Response, name, s3_rules._with_restore_status(getattr(S3Response, name)))
        client = admin_client(None, "s3")
        listing_index.install()
        listing_render.install()
        yield client
        listing_render.uninstall()
        listing_index.uninstall()
        state_manager.unset_transition(RESTORE_MODEL)


def fill(s3, objects: list[tuple[str, str, str, bool]]) -> str:
    """A new bucket holding ``objects`` (key, storage class, restore, with a checksum); returns its name."""
    bucket = f"render-{next(counter)}"
    s3.create_bucket(Bucket=bucket)
    store = s3_backends[ACCOUNT]["aws"].get_bucket(bucket).keys
    for key, storage_class, restore, checksum in objects:
        extra = {"ChecksumAlgorithm": "SHA256"} if checksum else {}
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode(), StorageClass=storage_class, **extra)
        if restore != "none" and storage_class in ("GLACIER", "DEEP_ARCHIVE"):
            s3.restore_object(Bucket=bucket, Key=key, RestoreRequest={"Days": 2})
            if restore == "restored":
                store[key].status = "RESTORED"
    return bucket


def capture(s3):
    """The raw body of every response the client receives, before botocore parses it."""
    bodies: list[bytes] = []
    handler = lambda response_dict, **_: bodies.append(response_dict["body"])  # noqa: E731
    s3.meta.events.register_first("before-parse.s3.*", handler)
    return bodies, handler


def pages(s3, version: int, request: dict) -> tuple[list, list[bytes]]:
    """Every page of one listing, followed to the end: parsed answers (or the error) and raw bodies."""
    bodies, handler = capture(s3)
    try:
        answers = listing_pages(s3, version, request, limit=50)
    finally:
        s3.meta.events.unregister("before-parse.s3.*", handler)
    return answers, bodies


def moto_and_rendered(s3, version: int, request: dict):
    """Both renderings of one listing, each with the number of answers moto's serializer wrote."""
    listing_render.uninstall()
    try:
        with mock.patch.object(S3Serializer, "serialize", autospec=True, side_effect=S3Serializer.serialize) as spy:
            theirs = pages(s3, version, request)
        their_calls = spy.call_count
    finally:
        listing_render.install()
    with mock.patch.object(S3Serializer, "serialize", autospec=True, side_effect=S3Serializer.serialize) as spy:
        ours = pages(s3, version, request)
    return (theirs, their_calls), (ours, spy.call_count)


keys = st.sampled_from(AWKWARD) | st.builds(
    "".join, st.lists(st.sampled_from(ALPHABET), max_size=6).map(lambda characters: ["a", *characters])
)
"""An awkward key, or a short one of awkward characters (with a letter: a key of only dots and slashes is a path)."""
objects = st.lists(
    st.tuples(keys, st.sampled_from(STORAGE_CLASSES), st.sampled_from(RESTORES), st.booleans()),
    min_size=0,
    max_size=10,
    unique_by=lambda entry: entry[0],
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    contents=objects,
    prefix=st.sampled_from(PREFIXES),
    delimiter=st.sampled_from(DELIMITERS),
    max_keys=st.sampled_from(MAX_KEYS),
    start_after=st.none() | st.sampled_from(AWKWARD) | st.sampled_from(["", "a", "b/", "é"]),
    encoding=st.booleans(),
    fetch_owner=st.booleans(),
    restore_status=st.booleans(),
    version=st.sampled_from([1, 2]),
)
def test_every_rendered_page_is_motos_own_bytes(
    s3, contents, prefix, delimiter, max_keys, start_after, encoding, fetch_owner, restore_status, version
):
    bucket = fill(s3, contents)
    request: dict = {"Bucket": bucket, "MaxKeys": max_keys, "Prefix": prefix}
    if delimiter:
        request["Delimiter"] = delimiter
    if start_after is not None:
        request["StartAfter" if version == 2 else "Marker"] = start_after
    if not encoding:
        request["EncodingType"] = ""  # botocore asks for url encoding by itself unless told otherwise
    if fetch_owner and version == 2:
        request["FetchOwner"] = True
    if restore_status:
        request["OptionalObjectAttributes"] = ["RestoreStatus"]
    ((their_answers, their_bodies), their_calls), ((our_answers, our_bodies), our_calls) = moto_and_rendered(
        s3, version, request
    )
    assert (our_calls, their_calls) == (0, len(their_bodies))  # each rendering is the one under test
    assert our_bodies == their_bodies
    assert our_answers == their_answers
    assert len(our_bodies) == len(our_answers) >= 1


@pytest.fixture
def serializer_calls(monkeypatch):
    """How many times moto's S3 serializer serialized an answer."""
    calls = []
    serialize = S3Serializer.serialize

    def counted(self, result):
        calls.append(self.operation_model.name)
        return serialize(self, result)

    monkeypatch.setattr(S3Serializer, "serialize", counted)
    return calls


@pytest.fixture(scope="module")
def awkward_bucket(s3):
    return fill(
        s3,
        [
            (key, "GLACIER" if index % 3 else "STANDARD", "restored", index % 2 == 0)
            for index, key in enumerate(AWKWARD)
        ],
    )


def test_listing_pages_are_rendered_without_motos_serializer(s3, awkward_bucket, serializer_calls):
    s3.list_objects_v2(Bucket=awkward_bucket, FetchOwner=True, OptionalObjectAttributes=["RestoreStatus"])
    s3.list_objects_v2(Bucket=awkward_bucket, Delimiter="/", MaxKeys=2)
    s3.list_objects(Bucket=awkward_bucket, Prefix="a", OptionalObjectAttributes=["RestoreStatus"])
    assert serializer_calls == []
    restored = s3.list_objects_v2(Bucket=awkward_bucket, OptionalObjectAttributes=["RestoreStatus"])["Contents"]
    assert {"IsRestoreInProgress": False} in [
        {name: value for name, value in item["RestoreStatus"].items() if name != "RestoreExpiryDate"}
        for item in restored
        if "RestoreStatus" in item
    ]


def test_other_operations_are_left_to_moto(s3, awkward_bucket, serializer_calls):
    s3.list_object_versions(Bucket=awkward_bucket, Prefix="plain")  # its raw control characters are not XML
    s3.get_bucket_location(Bucket=awkward_bucket)
    assert serializer_calls == ["ListObjectVersions", "GetBucketLocation"]


def test_pretty_printing_is_left_to_moto(s3, awkward_bucket, serializer_calls, monkeypatch):
    monkeypatch.setattr(moto_settings, "PRETTIFY_RESPONSES", True)
    bodies, handler = capture(s3)
    s3.list_objects_v2(Bucket=awkward_bucket, Prefix="plain")
    s3.meta.events.unregister("before-parse.s3.*", handler)
    assert serializer_calls == ["ListObjectsV2"]
    assert b"\n\t<IsTruncated>" in bodies[0]


def test_a_transformer_of_a_listing_member_is_left_to_moto(s3, awkward_bucket, serializer_calls, monkeypatch):
    monkeypatch.setitem(S3Response.RESPONSE_KEY_PATH_TO_TRANSFORMER, "Object.StorageClass", lambda value: "X")
    page = s3.list_objects_v2(Bucket=awkward_bucket, Prefix="plain")
    assert serializer_calls == ["ListObjectsV2"]
    assert page["Contents"][0]["StorageClass"] == "X"


V2 = listing_render.V2_MEMBERS
GOOD_OBJECT = {"Key": "k", "LastModified": "2026-12-02T05:00:00.000Z", "ETag": '"e"', "Size": 1, "StorageClass": "S"}


@pytest.mark.parametrize(
    "result",
    [
        pytest.param({"Name": "b", "Unknown": 1}, id="unknown-member"),
        pytest.param({"IsTruncated": "true"}, id="boolean-as-string"),
        pytest.param({"MaxKeys": "1000"}, id="integer-as-string"),
        pytest.param({"MaxKeys": True}, id="integer-as-boolean"),
        pytest.param({"Contents": [{**GOOD_OBJECT, "LastModified": "2026-12-02T05:00:00Z"}]}, id="other-timestamp"),
        pytest.param({"Contents": [{**GOOD_OBJECT, "Owner": {}}]}, id="empty-owner"),
        pytest.param({"Contents": [{**GOOD_OBJECT, "Tags": []}]}, id="unknown-object-member"),
        pytest.param({"Contents": [{**GOOD_OBJECT, "ChecksumAlgorithm": "CRC32"}]}, id="checksum-not-a-list"),
        pytest.param({"CommonPrefixes": [{}]}, id="empty-common-prefix"),
        pytest.param({"Contents": {"Key": "k"}}, id="contents-not-a-list"),
        pytest.param(["not", "a", "dict"], id="not-a-dict"),
    ],
)
def test_what_the_renderer_does_not_know_is_refused(result):
    with pytest.raises(listing_render.Unrendered):
        listing_render.render(result, V2)


def test_install_refuses_a_model_that_orders_the_answer_otherwise(monkeypatch):
    monkeypatch.setitem(listing_render.EXPECTED_SHAPES, "ListObjectsV2", tuple(reversed(V2)))
    monkeypatch.delattr(S3Response, "serialized", raising=False)
    with pytest.raises(RuntimeError, match="output shape changed"):
        listing_render.install()
    assert not listing_render.is_installed()
