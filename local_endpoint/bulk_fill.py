"""A test aid: fill a bucket straight into moto's S3 backend, 200,000 objects in seconds rather than an hour of
PutObject requests, so that scale can be measured on the endpoint.

Each object is a key with either a body (its ETag is the body's MD5, as PutObject gives it) or a size and an
ETag and no body (any ETag, a multipart one such as ``"...-3"`` included), and a storage class. A body-less
object lists and HEADs as an object of that size and ETag; anything that would read its bytes (GetObject,
CopyObject, UploadPartCopy) is refused with ``NotImplemented`` and a message saying so, rather than serving bytes
that do not match its ETag. The objects replace what their keys held (a new version in a versioned bucket), as
PutObject would, but without its side effects: no notification, no checksum, metadata only the default
Content-Type, the bucket's default encryption recorded as PutObject records it.

Reached in process (``fill_bucket``) or, for tests against a running endpoint, through its admin route
``POST /_endpoint/bulk-fill`` (``BulkFill``), which the Lambda code's keys may not use: the aid stands in for a
test's setup, never for anything the sync does. It must not be used as a way to write objects outside tests.
"""

import hashlib
import io
import json
import tempfile
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.exceptions import MissingBucket, S3ClientError
from moto.s3.models import FakeBucket, FakeKey, S3Backend, get_canned_acl, s3_backends
from moto.s3.utils import STORAGE_CLASS
from moto.utilities.utils import LowercaseDict

from . import listing_index
from .faults import _drain, _json, access_key_id_of
from .iam_enforcement import is_lambda_worker_key
from .lambda_runtime import WORKER_ACCESS_KEY_ID

ADMIN_PATH = "/_endpoint/bulk-fill"
MAX_ADMIN_BODY_BYTES = 512 * 1024 * 1024
"""A million objects with short keys is about 60 MB of JSON; the limit only stops a runaway body."""
PARTITION = "aws"
DEFAULT_CONTENT_TYPE = "binary/octet-stream"
BODYLESS_MESSAGE = (
    "This object was filled by the endpoint's test aid (local_endpoint/bulk_fill.py) with a size and an ETag but no "
    "body: it can be listed and HEADed, not read or copied. Fill it with a body to read or copy it."
)


class BulkFillError(Exception):
    """A fill names a bucket that does not exist or describes an object badly; the message says which and why."""


class BodylessObjectError(S3ClientError):
    """GetObject, CopyObject or UploadPartCopy of a body-less object (see the module docstring)."""

    code = "NotImplemented"

    def __init__(self) -> None:
        super().__init__(BODYLESS_MESSAGE)


class BodylessKey(FakeKey):
    """A FakeKey whose bytes were never given: its size and ETag are set, reading its value is refused."""

    @property
    def value(self) -> bytes:
        raise BodylessObjectError

    @value.setter
    def value(self, new_value: bytes) -> None:
        raise BodylessObjectError

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_value_buffer"]
        del state["lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._value_buffer = io.BytesIO()  # type: ignore[assignment]  # never read: the value is refused
        self.lock = threading.Lock()


@dataclass(frozen=True)
class FillObject:
    key: str
    body: bytes | None
    """None: a body-less object of ``size`` bytes with ``etag``."""
    size: int
    etag: str
    """Without quotes: the body's MD5 in hex, or whatever ETag a body-less object was given."""
    storage_class: str = "STANDARD"


def with_body(key: str, body: bytes, storage_class: str = "STANDARD") -> FillObject:
    return FillObject(key, body, len(body), hashlib.md5(body).hexdigest(), storage_class)


def without_body(key: str, size: int, etag: str, storage_class: str = "STANDARD") -> FillObject:
    return FillObject(key, None, size, etag.strip('"'), storage_class)


def parse_object(document: Any, where: str) -> FillObject:
    """One object of the admin route's ``objects``: ``{"key", "body"}`` or ``{"key", "size", "etag"}``, and an
    optional ``storageClass``."""
    if not isinstance(document, dict):
        raise BulkFillError(f"{where} must be an object with a key and either a body or a size and an etag")
    unknown = sorted(set(document) - {"key", "body", "size", "etag", "storageClass"})
    if unknown:
        raise BulkFillError(f"{where}: unknown field {unknown[0]!r}")
    key = document.get("key")
    if not isinstance(key, str) or not key or len(key.encode("utf-8")) > 1024:
        raise BulkFillError(f"{where}.key must be an S3 key: 1 to 1,024 bytes of UTF-8, not {key!r}")
    storage_class = document.get("storageClass", "STANDARD")
    if storage_class not in STORAGE_CLASS:
        raise BulkFillError(f"{where}.storageClass must be one of {STORAGE_CLASS}, not {storage_class!r}")
    if "body" in document:
        if "size" in document or "etag" in document:
            raise BulkFillError(f"{where}: give a body or a size and an etag, not both (a body has its own)")
        body = document["body"]
        if not isinstance(body, str):
            raise BulkFillError(f"{where}.body must be text (stored as UTF-8), not {body!r}")
        return with_body(key, body.encode("utf-8"), storage_class)
    size, etag = document.get("size"), document.get("etag")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise BulkFillError(f"{where}.size must be a whole number of bytes from 0, not {size!r}")
    if not isinstance(etag, str) or not etag.strip('"'):
        raise BulkFillError(f"{where}.etag must be an ETag such as '\"9a0364b9e99bb480dd25e1f0284c8555\"'")
    return without_body(key, size, etag, storage_class)


def parse_fill(document: Any) -> tuple[str, list[FillObject]]:
    """The admin route's body, ``{"bucket": name, "objects": [...]}``: (bucket name, objects)."""
    if not isinstance(document, dict) or set(document) - {"bucket", "objects"}:
        raise BulkFillError('the fill must be {"bucket": name, "objects": [...]} and nothing else')
    bucket = document.get("bucket")
    objects = document.get("objects")
    if not isinstance(bucket, str) or not bucket:
        raise BulkFillError("bucket must be the name of a bucket on the endpoint")
    if not isinstance(objects, list):
        raise BulkFillError("objects must be a list of objects")
    return bucket, [parse_object(entry, f"objects[{index}]") for index, entry in enumerate(objects)]


def _prototype(backend: S3Backend, bucket: FakeBucket) -> FakeKey:
    """A key as PutObject would make it in ``bucket`` (default encryption included): each filled key is a copy
    of it with its own name, bytes, ETag, storage class, version, metadata, lock and ACL."""
    encryption = kms_key_id = bucket_key_enabled = None
    if bucket.encryption:  # what put_object takes from the bucket's default encryption
        default = bucket.encryption["Rule"]["ApplyServerSideEncryptionByDefault"]
        encryption, kms_key_id = default["SSEAlgorithm"], default.get("KMSMasterKeyID")
        bucket_key_enabled = bucket.encryption["Rule"].get("BucketKeyEnabled", False)
    return FakeKey(
        name="",
        value=b"",
        account_id=backend.account_id,
        region_name=backend.region_name,
        bucket_name=bucket.name,
        is_versioned=bucket.is_versioned,
        encryption=encryption,
        kms_key_id=kms_key_id,
        bucket_key_enabled=bucket_key_enabled,
    )


def _key_from(prototype: FakeKey, item: FillObject, versioned: bool, acl: Any) -> FakeKey:
    # Copying the prototype's attributes, not calling FakeKey(), is what makes a fill fast: the constructor's
    # metadata mapping and state machine cost about 30 µs a key. Every attribute a key may change for itself is
    # its own; the rest (account, region, bucket, encryption, time) is the same for every key of one fill, and so
    # is the private ACL: moto never changes a key's ACL in place (PutObjectAcl gives the key a new one).
    # cast: moto types BaseModel.__new__ as returning a BaseModel.
    key = cast(FakeKey, FakeKey.__new__(FakeKey if item.body is not None else BodylessKey))
    key.__dict__.update(prototype.__dict__)
    key.name = item.key
    key._etag = item.etag
    key._storage_class = item.storage_class
    key._version_id = str(uuid.uuid4()) if versioned else "null"
    metadata = LowercaseDict.__new__(LowercaseDict)
    metadata.store = {"content-type": DEFAULT_CONTENT_TYPE}
    key._metadata = metadata
    key.acl = acl
    key.lock = threading.Lock()
    if item.body is None:
        key._value_buffer = io.BytesIO()  # type: ignore[assignment]  # never read: the value is refused
    else:
        key._value_buffer = tempfile.SpooledTemporaryFile(prototype._max_buffer_size)
        key._value_buffer.write(item.body)
    key.contentsize = item.size
    return key


def fill_bucket(bucket_name: str, objects: Iterable[FillObject], account_id: str = DEFAULT_ACCOUNT_ID) -> int:
    """Store ``objects`` in the existing bucket ``bucket_name`` of this process's moto; returns how many."""
    backend = s3_backends[account_id][PARTITION]
    try:
        bucket = backend.get_bucket(bucket_name)
    except MissingBucket:
        raise BulkFillError(f"no bucket {bucket_name!r} on the endpoint: create it first") from None
    prototype = _prototype(backend, bucket)
    acl = get_canned_acl("private")
    store = bucket.keys
    versioned = bool(bucket.is_versioned)
    count = 0
    listing_index.forget(store)  # one rebuild at the next listing, not one insertion per key
    try:
        for item in objects:
            key = _key_from(prototype, item, versioned, acl)
            store.setlist(item.key, (dict.get(store, item.key) or []) + [key] if versioned else [key])
            count += 1
    finally:
        listing_index.forget(store)  # a listing during the fill may have built the index half-way
        prototype.dispose()
    return count


def refusal_for(access_key_id: str) -> str | None:
    """Why a fill signed with ``access_key_id`` is refused, or None. Not a security boundary (the endpoint is on
    loopback and runs the project's own code): it makes Lambda code that reaches for the aid fail loudly."""
    if not access_key_id:
        return "sign the fill with the test's own keys (Authorization: ... Credential=<access key id>/...)"
    if access_key_id == WORKER_ACCESS_KEY_ID or is_lambda_worker_key(access_key_id):
        return "the bulk fill is a test aid: Lambda code may not use it"
    return None


def post_fill(endpoint_url: str, bucket: str, objects: list[dict[str, Any]], access_key_id: str = "testing") -> int:
    """Fill ``bucket`` on a running endpoint through the admin route; returns how many objects it stored.
    ``objects`` as ``parse_object`` reads them. Raises BulkFillError with the endpoint's reason."""
    request = urllib.request.Request(
        endpoint_url.rstrip("/") + ADMIN_PATH,
        data=json.dumps({"bucket": bucket, "objects": objects}).encode("utf-8"),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"AWS4-HMAC-SHA256 Credential={access_key_id}/test-aid",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request) as response:  # noqa: S310 (the endpoint's own URL, on loopback)
            return int(json.load(response)["filled"])
    except urllib.error.HTTPError as error:
        raise BulkFillError(json.load(error).get("error", str(error))) from None


class BulkFill:
    """WSGI middleware that serves ``POST /_endpoint/bulk-fill`` to the test process and to nobody else: a
    request signed with a key the endpoint issued to Lambda code is refused (403)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]):
        self._app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") != ADMIN_PATH:
            return self._app(environ, start_response)
        refusal = refusal_for(access_key_id_of(environ))
        if refusal is not None:
            _drain(environ)
            return _json(start_response, "403 Forbidden", {"error": refusal})
        if environ.get("REQUEST_METHOD") != "POST":
            return _json(start_response, "405 Method Not Allowed", {"error": "use POST"})
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_ADMIN_BODY_BYTES:
            _drain(environ)
            return _json(start_response, "400 Bad Request", {"error": "the fill is too long: send it in parts"})
        try:
            bucket, objects = parse_fill(json.loads(environ["wsgi.input"].read(length) or b"null"))
            count = fill_bucket(bucket, objects)
        except ValueError as error:  # BulkFillError is not one; json's error is
            return _json(start_response, "400 Bad Request", {"error": f"not JSON: {error}"})
        except BulkFillError as error:
            return _json(start_response, "400 Bad Request", {"error": str(error)})
        return _json(start_response, "200 OK", {"bucket": bucket, "filled": count})
