"""Gap 11 (moto_gaps): S3 details the sync meets, answered as S3 answers them. Each rule below is one bridge,
patched into moto's S3 (``S3Response``, ``FakeKey``) in the endpoint process only, and tested with plain boto3
calls in ``tests/endpoint/test_s3_rules.py`` (the test names are given with each rule).

Rules bridged:
11.1 DeleteObjects refuses a body S3 would not accept with ``MalformedXML`` (400): XML that does not parse (a
     character XML 1.0 cannot carry, such as a raw or escaped ``\\x01``; moto answers a 500 ExpatError), a root
     that is not ``Delete``, no ``Object``, an ``Object`` without ``Key``, more than 1,000 objects
     (``test_delete_objects_*_is_malformed_xml``).
11.2 DeleteObjects in quiet mode answers only the keys whose deletion failed; moto lists every deleted key
     (``test_delete_objects_quiet_mode_answers_only_errors``).
11.3 DeleteObjects honours ``<ETag>`` per object: a mismatch, or no current object, is that key's error
     (``PreconditionFailed``, ``NoSuchKey``) in the response's ``Errors``, the key is not deleted, the other keys
     are; ``*`` matches any current object. moto deletes regardless (``test_delete_objects_etag_*``).
11.4 DeleteObject ``If-Match: *`` deletes any current object (moto compares ``*`` with the ETag and answers
     412); a mismatch is 412 and no current object 404 NoSuchKey, as moto already does
     (``test_delete_object_if_match_*``).
11.5 ``x-amz-if-match-last-modified-time`` and ``x-amz-if-match-size`` (DeleteObject), and ``<LastModifiedTime>``
     or ``<Size>`` in a DeleteObjects object, are documented as "only supported for directory buckets"; the
     endpoint has none, so they answer 501 ``NotImplemented`` instead of being silently ignored, as moto does
     (``test_directory_bucket_delete_conditions_are_not_implemented``).
11.6 PutObject and CompleteMultipartUpload accept only ``*`` in ``If-None-Match``; another value answers 501
     ``NotImplemented`` (moto ignores it and overwrites). ``If-None-Match: *`` on an existing key is 412 and
     ``If-Match`` with another ETag 412, with no object 404 NoSuchKey: moto does this for PutObject and for
     CompleteMultipartUpload's ``If-None-Match``; CompleteMultipartUpload's ``If-Match`` is bridged here
     (``test_put_object_*``, ``test_complete_multipart_upload_*``).
11.7 Restores are reported as S3 reports them: HeadObject's ``x-amz-restore`` is ``ongoing-request="true"``
     while the restore runs and ``ongoing-request="false", expiry-date="..."`` once done; ListObjectsV2 and
     ListObjects with ``x-amz-optional-object-attributes: RestoreStatus`` give each restored or restoring object
     a ``RestoreStatus`` (``IsRestoreInProgress``; ``RestoreExpiryDate`` only once restored), and none to an
     object never restored. moto ignores the header (``test_*restore*``).
11.8 A restored copy exists until its expiry date: after it, the object is archived again (no ``x-amz-restore``,
     no ``RestoreStatus``, not readable) and may be restored anew (202). moto keeps it readable forever
     (``restore_state``, unit-tested in ``test_restore_state_*``: the endpoint cannot wait a day).
11.9 An unrestored (or still restoring) GLACIER / DEEP_ARCHIVE object cannot be copied: CopyObject and
     UploadPartCopy answer 403 ``InvalidObjectState`` (moto: ``ObjectNotInActiveTierError`` for CopyObject, and
     UploadPartCopy copies it). GetObject already answers 403 InvalidObjectState in moto, and with 11.8 also
     after the expiry (``test_unrestored_archive_*``, ``test_restored_archive_is_readable_and_copyable``).
11.10 RestoreObject while a restore is in progress answers 409 ``RestoreAlreadyInProgress``; moto accepts it
     (``test_restore_in_progress_*``).

The restore's progress is moto's own state machine for ``s3::keyrestore`` (immediate by default; a test makes it
manual through moto's state-manager API to see a restore in progress). This module must not change what any
request without these headers or elements gets, and must not be imported by the deploy toolkit or Lambda code.
"""

import datetime
import enum
from collections.abc import Callable, Iterable
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlparse
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from moto.core.common_types import TYPE_RESPONSE
from moto.core.responses import ActionResult
from moto.core.utils import iso_8601_datetime_without_milliseconds_s3, utcnow
from moto.s3.exceptions import MalformedXML, MissingKey, PreconditionFailed, S3ClientError
from moto.s3.models import FakeKey
from moto.s3.responses import S3Response
from moto.s3.utils import ARCHIVE_STORAGE_CLASSES
from werkzeug.datastructures import Headers

MAX_KEYS_PER_DELETE = 1000  # DeleteObjects: "a list of up to 1,000 keys"
OPTIONAL_ATTRIBUTES_HEADER = "x-amz-optional-object-attributes"
RESTORE_STATUS = "RestoreStatus"
ANY_ETAG = "*"
# DeleteObject headers and DeleteObjects elements that AWS documents for directory buckets only.
DIRECTORY_BUCKET_DELETE_HEADERS = ("x-amz-if-match-last-modified-time", "x-amz-if-match-size")
DIRECTORY_BUCKET_DELETE_ELEMENTS = ("LastModifiedTime", "Size")
S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
PRECONDITION_MESSAGE = "At least one of the pre-conditions you specified did not hold"
NO_SUCH_KEY_MESSAGE = "The specified key does not exist."


class SourceObjectInvalidState(S3ClientError):
    """CopyObject / UploadPartCopy of an archived source that is not restored (S3: 403 InvalidObjectState)."""

    code = "InvalidObjectState"

    def __init__(self, storage_class: str | None):
        super().__init__("Operation is not valid for the source object's storage class")
        self.storage_class = storage_class


def error_response(status: int, code: str, message: str, **details: str) -> TYPE_RESPONSE:
    """An S3 error document for errors moto's service model does not know (501, 409), so its status is kept."""
    extra = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in details.items())
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{escape(message)}'
        f"</Message>{extra}<RequestId>0</RequestId></Error>"
    )
    return status, {"Content-Type": "application/xml"}, body


def not_implemented(header: str) -> TYPE_RESPONSE:
    return error_response(
        501, "NotImplemented", "A header you provided implies functionality that is not implemented", Header=header
    )


def is_etag_match(expected: str, actual: str) -> bool:
    """S3 compares ETags with or without their quotes; ``*`` matches any current object."""
    return expected == ANY_ETAG or expected.strip('"') == actual.strip('"')


# --- restores (11.7, 11.8, 11.9, 11.10) -------------------------------------------------------------------------


class RestoreState(enum.Enum):
    ARCHIVED = "archived"  # never restored, or its restored copy expired
    IN_PROGRESS = "in progress"
    RESTORED = "restored"


def restore_state(expiry: datetime.datetime | None, status: str | None, now: datetime.datetime) -> RestoreState:
    """Where a restore stands, from moto's expiry date and restore status (naive UTC datetimes)."""
    if expiry is None:
        return RestoreState.ARCHIVED
    if status != "RESTORED":
        return RestoreState.IN_PROGRESS
    if now >= expiry:
        return RestoreState.ARCHIVED  # S3 deletes the restored copy at its expiry date
    return RestoreState.RESTORED


def key_restore_state(key: FakeKey) -> RestoreState:
    expiry = key._expiry
    # Read moto's status only once a restore was asked for: reading it advances moto's state machine.
    return restore_state(expiry, key.status if expiry is not None else None, utcnow())


def is_readable(key: FakeKey) -> bool:
    return key.storage_class not in ARCHIVE_STORAGE_CLASSES or key_restore_state(key) is RestoreState.RESTORED


def restore_status(key: FakeKey) -> dict[str, Any] | None:
    """The listing's RestoreStatus element: absent for an object never restored (or expired)."""
    state = key_restore_state(key)
    if state is RestoreState.IN_PROGRESS:
        return {"IsRestoreInProgress": True}
    if state is RestoreState.RESTORED and key._expiry is not None:  # restored: an expiry is set
        return {
            "IsRestoreInProgress": False,
            "RestoreExpiryDate": iso_8601_datetime_without_milliseconds_s3(key._expiry),
        }
    return None


def _patch_restore_header() -> None:
    original = cast(property, FakeKey.response_dict)  # mypy reads a property on its class as the getter

    def response_dict(self: FakeKey) -> dict[str, Any]:
        headers = original.fget(self)  # type: ignore[misc]
        state = key_restore_state(self)
        if state is RestoreState.ARCHIVED:
            headers.pop("x-amz-restore", None)
        elif state is RestoreState.IN_PROGRESS:
            headers["x-amz-restore"] = 'ongoing-request="true"'
        return headers

    FakeKey.response_dict = property(response_dict)  # type: ignore[method-assign,assignment]


def requested_attributes(response: S3Response) -> set[str]:
    value = response.headers.get(OPTIONAL_ATTRIBUTES_HEADER) or ""
    return {name.strip() for name in value.split(",") if name.strip()}


def _with_restore_status(listing: Callable[[S3Response], TYPE_RESPONSE]) -> Callable[[S3Response], TYPE_RESPONSE]:
    """Wrap a listing so that its Contents carry RestoreStatus when the request asks for it."""

    def list_objects(self: S3Response) -> TYPE_RESPONSE:
        if RESTORE_STATUS not in requested_attributes(self):
            return listing(self)
        bucket = self.backend.get_bucket(self.bucket_name)
        url_encoded = self.querystring.get("encoding-type", [None])[0] == "url"
        serialize = self.serialized

        def serialized(action_result: ActionResult) -> TYPE_RESPONSE:
            result = action_result.result
            for item in result.get("Contents", []) if isinstance(result, dict) else []:
                key = bucket.keys.get(unquote(item["Key"]) if url_encoded else item["Key"])
                status = restore_status(key) if isinstance(key, FakeKey) else None
                if status is not None:
                    item[RESTORE_STATUS] = status
            return serialize(action_result)

        self.serialized = serialized  # type: ignore[method-assign]  # this request's instance only
        return listing(self)

    return list_objects


def copy_source_key(response: S3Response) -> FakeKey | None:
    """The source object a copy request names, parsed as moto's copy handlers parse it (moto_gaps uses it too)."""
    copy_source = response.headers.get("x-amz-copy-source")
    if isinstance(copy_source, bytes):
        copy_source = copy_source.decode("utf-8")
    parsed = urlparse(copy_source)
    bucket, key = unquote(parsed.path).lstrip("/").split("/", 1)
    version_id = parse_qs(parsed.query).get("versionId", [None])[0]
    return response.backend.get_object(bucket, key, version_id=version_id)


def _refuse_unrestored_source(copy: Callable[[S3Response], TYPE_RESPONSE]) -> Callable[[S3Response], TYPE_RESPONSE]:
    def checked(self: S3Response) -> TYPE_RESPONSE:
        source = copy_source_key(self)
        if source is not None and not is_readable(source):
            raise SourceObjectInvalidState(source.storage_class)
        return copy(self)

    return checked


def _restore_object(self: S3Response, bucket_name: str, key_name: str) -> TYPE_RESPONSE | None:
    """11.10 and 11.8 for RestoreObject: an answer of its own, or None to let moto restore."""
    key = self.backend.get_object(bucket_name, key_name)
    if key is None or key.storage_class not in ARCHIVE_STORAGE_CLASSES:
        return None  # moto answers NoSuchKey / InvalidObjectState itself
    state = key_restore_state(key)
    if state is RestoreState.IN_PROGRESS:
        return error_response(409, "RestoreAlreadyInProgress", "Object restore is already in progress")
    if state is RestoreState.ARCHIVED and key._expiry is not None:
        key.set_expiry(None)  # the expired copy is gone: a new restore starts afresh (202)
        key.status = None  # type: ignore[assignment]  # moto's setter says str, yet status starts as None
    return None


# --- conditional writes (11.6) ---------------------------------------------------------------------------------


def _check_if_none_match(response: S3Response) -> TYPE_RESPONSE | None:
    value = response.headers.get("If-None-Match")
    if value is not None and value != ANY_ETAG:
        return not_implemented("If-None-Match")
    return None


def _complete_multipart_if_match(self: S3Response, bucket_name: str, key_name: str, upload_id: str) -> None:
    expected = self.headers.get("If-Match")
    if expected is None:
        return
    existing = self.backend.get_object(bucket_name, key_name)
    if existing is not None and existing.multipart and existing.multipart.id == upload_id:
        return  # a repeated complete of this very upload: moto answers it idempotently
    if existing is None:
        raise MissingKey(key=key_name)
    if not is_etag_match(expected, existing.etag):
        raise PreconditionFailed("If-Match")


# --- conditional deletes (11.4, 11.5) ----------------------------------------------------------------------------


def _without_header(headers: Any, name: str) -> Headers:
    copied = Headers(list(headers.items()))
    copied.remove(name)
    return copied


def _delete_object(original: Callable[[S3Response], TYPE_RESPONSE]) -> Callable[[S3Response], TYPE_RESPONSE]:
    def delete_object(self: S3Response) -> TYPE_RESPONSE:
        for header in DIRECTORY_BUCKET_DELETE_HEADERS:
            if self.headers.get(header) is not None:
                return not_implemented(header)
        if self.headers.get("If-Match") == ANY_ETAG:
            if self.backend.get_object(self.bucket_name, self.parse_key_name()) is None:
                raise MissingKey(key=self.parse_key_name())
            self.headers = _without_header(self.headers, "If-Match")  # satisfied; moto would compare "*"
        return original(self)

    return delete_object


# --- DeleteObjects (11.1, 11.2, 11.3, 11.5) ---------------------------------------------------------------------


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child_text(element: ElementTree.Element, name: str) -> str | None:
    for child in element:
        if _local_name(child.tag) == name:
            return child.text or ""
    return None


class DeleteRequest:
    """A DeleteObjects body as S3's schema reads it: the objects (key, version, ETag, other elements) and Quiet."""

    def __init__(self, objects: list[dict[str, str | None]], quiet: bool):
        self.objects = objects
        self.quiet = quiet


def parse_delete_request(body: bytes) -> DeleteRequest:
    """Parse a DeleteObjects body, raising MalformedXML wherever S3 answers MalformedXML."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise MalformedXML() from None  # e.g. a character XML 1.0 cannot carry, raw or as a reference
    if _local_name(root.tag) != "Delete":
        raise MalformedXML()
    objects: list[dict[str, str | None]] = []
    for element in root:
        if _local_name(element.tag) != "Object":
            continue
        fields: dict[str, str | None] = {_local_name(child.tag): child.text or "" for child in element}
        if "Key" not in fields:
            raise MalformedXML()
        objects.append(fields)
    if not objects or len(objects) > MAX_KEYS_PER_DELETE:
        raise MalformedXML()
    return DeleteRequest(objects, (_child_text(root, "Quiet") or "").strip().lower() == "true")


def _delete_body(objects: Iterable[dict[str, str | None]]) -> bytes:
    """The body moto is given for the objects whose preconditions held (\\r kept as a reference, not newline).
    Their ``<ETag>`` is kept (moto reads only Key and VersionId): the endpoint's IAM asks ``s3:GetObject`` of a key
    deleted on a condition (``iam_enforcement``, rule 4)."""
    entities = {"\r": "&#13;"}
    parts = []
    for fields in objects:
        version = fields.get("VersionId")
        version_xml = f"<VersionId>{escape(version, entities)}</VersionId>" if version else ""
        etag = fields.get("ETag")
        etag_xml = f"<ETag>{escape(etag, entities)}</ETag>" if etag is not None else ""
        parts.append(f"<Object><Key>{escape(fields['Key'] or '', entities)}</Key>{version_xml}{etag_xml}</Object>")
    return f'<?xml version="1.0" encoding="UTF-8"?><Delete>{"".join(parts)}</Delete>'.encode()


def _precondition_error(self: S3Response, bucket_name: str, fields: dict[str, str | None]) -> dict[str, str] | None:
    """The per-key error an object's <ETag> earns, or None when it holds (or there is none)."""
    expected = fields.get("ETag")
    if expected is None:
        return None
    key = fields["Key"] or ""
    current = self.backend.get_object(bucket_name, key)  # conditions apply to the current version only
    if current is None:
        return {"Key": key, "Code": "NoSuchKey", "Message": NO_SUCH_KEY_MESSAGE}
    if not is_etag_match(expected, current.etag):
        return {"Key": key, "Code": "PreconditionFailed", "Message": PRECONDITION_MESSAGE}
    return None


def _parse_delete_result(body: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """moto's DeleteResult back into its Deleted and Errors entries."""
    root = ElementTree.fromstring(body.encode("utf-8") if isinstance(body, str) else body)
    deleted: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for element in root:
        fields: dict[str, Any] = {_local_name(child.tag): child.text or "" for child in element}
        if "DeleteMarker" in fields:
            fields["DeleteMarker"] = fields["DeleteMarker"] == "true"
        (deleted if _local_name(element.tag) == "Deleted" else errors).append(fields)
    return deleted, errors


def _delete_objects(original: Callable[..., TYPE_RESPONSE]) -> Callable[..., TYPE_RESPONSE]:
    def delete_keys(self: S3Response, bucket_name: str, authenticated: bool = True) -> TYPE_RESPONSE:
        request = parse_delete_request(self.body)
        for fields in request.objects:
            for element in DIRECTORY_BUCKET_DELETE_ELEMENTS:
                if element in fields:
                    return not_implemented(element)
        if not authenticated:
            return original(self, bucket_name, authenticated)  # every key AccessDenied: nothing to evaluate
        failed: list[dict[str, str]] = []
        passing: list[dict[str, str | None]] = []
        for fields in request.objects:
            error = _precondition_error(self, bucket_name, fields)
            if error:
                failed.append(error)
            else:
                passing.append(fields)
        deleted: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        if passing:
            self.body = _delete_body(passing)
            status, _, body = original(self, bucket_name, authenticated)
            if status != 200:
                return status, _, body
            deleted, errors = _parse_delete_result(body)
        self.data["Action"] = "DeleteObjects"
        return self.serialized(ActionResult({"Deleted": [] if request.quiet else deleted, "Errors": errors + failed}))

    return delete_keys


# --- POST on a key: CompleteMultipartUpload, RestoreObject ------------------------------------------------------


def _key_post(original: Callable[..., TYPE_RESPONSE]) -> Callable[..., TYPE_RESPONSE]:
    def key_response_post(
        self: S3Response, request: Any, body: bytes, bucket_name: str, query: dict[str, Any], key_name: str
    ) -> TYPE_RESPONSE:
        if query.get("uploadId") and "uploads" not in query:
            refused = _check_if_none_match(self)
            if refused is not None:
                return refused
            _complete_multipart_if_match(self, bucket_name, key_name, query["uploadId"][0])
        elif "restore" in query:
            answered = _restore_object(self, bucket_name, key_name)
            if answered is not None:
                return answered
        return original(self, request, body, bucket_name, query, key_name)

    return key_response_post


def _put_object(original: Callable[[S3Response], TYPE_RESPONSE]) -> Callable[[S3Response], TYPE_RESPONSE]:
    def put_object(self: S3Response) -> TYPE_RESPONSE:
        return _check_if_none_match(self) or original(self)

    return put_object


def install() -> None:
    """Patch moto's S3 in this (the endpoint's) process. Wraps whatever is installed, so call it once, last."""
    _patch_restore_header()
    # assignment: mypy checks a function set on a class against the method as if bound twice ("self, self").
    S3Response.list_objects_v2 = _with_restore_status(S3Response.list_objects_v2)  # type: ignore[method-assign,assignment]
    S3Response.list_objects = _with_restore_status(S3Response.list_objects)  # type: ignore[method-assign,assignment]
    S3Response.copy_object = _refuse_unrestored_source(S3Response.copy_object)  # type: ignore[method-assign,assignment]
    S3Response.upload_part_copy = _refuse_unrestored_source(  # type: ignore[method-assign,assignment]
        S3Response.upload_part_copy
    )
    S3Response._key_response_post = _key_post(S3Response._key_response_post)  # type: ignore[method-assign]
    S3Response.put_object = _put_object(S3Response.put_object)  # type: ignore[method-assign,assignment]
    S3Response.delete_object = _delete_object(S3Response.delete_object)  # type: ignore[method-assign,assignment]
    S3Response._bucket_response_delete_keys = _delete_objects(  # type: ignore[method-assign]
        S3Response._bucket_response_delete_keys
    )
