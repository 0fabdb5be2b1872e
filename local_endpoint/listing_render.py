"""Gap 15: ListObjectsV2 and ListObjects (v1) pages rendered to XML directly, so a page costs what its text costs.

moto builds each listing answer as a dict and hands it to its generic, model-driven serializer
(``moto.core.serialize.S3Serializer`` through ``BaseResponse.serialized``), which walks the botocore shape of every
member of every key and parses each LastModified back into a datetime with dateutil only to print it again: about
0.2 s of CPU for a page of 1,000 keys, whatever the bucket size, so the one-process endpoint serves about 5 pages a
second however many listing streams ask.

Here moto's own ``S3Response.list_objects_v2`` and ``list_objects`` still parse the request and build the answer
dict (so every parameter is read as moto reads it); only the last step, dict to XML, is done by string building
with the escaping moto's xmltodict/XMLGenerator applies (``&``, ``<``, ``>``; nothing else, so a control character
goes out raw, as moto sends it). It must change no answer, byte for byte: elements in the shape's member order,
empty text as ``<Prefix/>``, LastModified as moto's zeroed ISO 8601, flattened lists. Anything it does not know
is left to moto's serializer: a member or value type outside the known answer, a LastModified in another form,
pretty printing (``MOTO_PRETTIFY_RESPONSES``), a response transformer registered for these paths, an ActionResult
subclass. Other operations (ListObjectVersions among them) never come here.

The hook is ``S3Response.serialized`` itself, at class level, not a wrapper of the two listing methods: ``s3_rules``
(gap 11.7) shadows ``self.serialized`` per request to add RestoreStatus to the answer dict, and whatever the order
the two are installed in, its enriched dict then reaches this renderer.
"""

import re
from collections.abc import Iterator
from typing import Any
from xml.sax.saxutils import escape

from moto import settings
from moto.core.responses import ActionResult, BaseResponse, get_service_model
from moto.core.serialize import S3Serializer, get_serializer_class
from moto.s3.responses import S3Response

DOCUMENT_START = (
    '<?xml version="1.0" encoding="utf-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
)
DOCUMENT_END = "</ListBucketResult>"
CONTENT_TYPE = "application/xml"
OPERATIONS = ("ListObjectsV2", "ListObjects")
ZEROED_ISO8601 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z")
"""What ``FakeKey.last_modified_ISO8601`` gives and moto's serializer prints back unchanged."""

V2_MEMBERS = (
    "IsTruncated",
    "Contents",
    "Name",
    "Prefix",
    "Delimiter",
    "MaxKeys",
    "CommonPrefixes",
    "EncodingType",
    "KeyCount",
    "ContinuationToken",
    "NextContinuationToken",
    "StartAfter",
)
V1_MEMBERS = (
    "IsTruncated",
    "Marker",
    "NextMarker",
    "Contents",
    "Name",
    "Prefix",
    "Delimiter",
    "MaxKeys",
    "CommonPrefixes",
    "EncodingType",
)
OBJECT_MEMBERS = (
    "Key",
    "LastModified",
    "ETag",
    "ChecksumAlgorithm",
    "ChecksumType",
    "Size",
    "StorageClass",
    "Owner",
    "RestoreStatus",
)
STRUCTURES = {"Owner": ("DisplayName", "ID"), "RestoreStatus": ("IsRestoreInProgress", "RestoreExpiryDate")}
"""The Object's nested structures and their members, in shape order (``s3_rules`` adds RestoreStatus)."""
INTEGERS = frozenset({"MaxKeys", "KeyCount", "Size"})
BOOLEANS = frozenset({"IsTruncated", "IsRestoreInProgress"})
TIMESTAMPS = frozenset({"LastModified", "RestoreExpiryDate"})
EXPECTED_SHAPES = {
    "ListObjectsV2": V2_MEMBERS + ("RequestCharged",),
    "ListObjects": V1_MEMBERS + ("RequestCharged",),
}
"""The botocore output shapes this renderer was written against, member order included (RequestCharged is a header
moto never sets): ``install`` refuses a model that differs, since the order is the answer's."""


class Unrendered(Exception):
    """A value this renderer does not know how moto's serializer prints: the page goes to moto's serializer."""


def _element(name: str, text: str) -> str:
    """One element as xmltodict writes it with short empty elements."""
    return f"<{name}>{escape(text)}</{name}>" if text else f"<{name}/>"


def _string(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise Unrendered(name)
    return _element(name, value)


def _scalar(name: str, value: Any) -> str:
    """A string, integer, boolean or timestamp member, as moto's serializer formats each type."""
    if name in BOOLEANS:
        if not isinstance(value, bool):
            raise Unrendered(name)
        return f"<{name}>{'true' if value else 'false'}</{name}>"
    if name in INTEGERS:
        if type(value) is not int:
            raise Unrendered(name)
        return f"<{name}>{value}</{name}>"
    if name in TIMESTAMPS and not (isinstance(value, str) and ZEROED_ISO8601.fullmatch(value)):
        raise Unrendered(name)
    return _string(name, value)


def _members(value: Any, names: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    """The members of a dict in shape order, without the absent (None), refusing any the shape does not name."""
    if not isinstance(value, dict) or not value.keys() <= set(names):
        raise Unrendered(names[0])
    for name in names:
        member = value.get(name)
        if member is not None:
            yield name, member


def _structure(name: str, value: Any) -> str:
    parts = [_scalar(member_name, member) for member_name, member in _members(value, STRUCTURES[name])]
    if not parts:
        raise Unrendered(name)  # an empty structure: moto's form of it is its own
    return f"<{name}>" + "".join(parts) + f"</{name}>"


def _object(value: Any) -> str:
    parts = []
    for name, member in _members(value, OBJECT_MEMBERS):
        if name in STRUCTURES:
            parts.append(_structure(name, member))
        elif name == "ChecksumAlgorithm":  # a flattened list: one element per algorithm, none when empty
            if not isinstance(member, list):
                raise Unrendered(name)
            parts.extend(_string(name, algorithm) for algorithm in member)
        else:
            parts.append(_scalar(name, member))
    return "<Contents>" + "".join(parts) + "</Contents>"


def _common_prefix(value: Any) -> str:
    parts = list(_members(value, ("Prefix",)))
    if not parts:
        raise Unrendered("CommonPrefixes")
    return "<CommonPrefixes>" + _string("Prefix", parts[0][1]) + "</CommonPrefixes>"


def render(result: Any, members: tuple[str, ...]) -> str:
    """The XML document moto's S3 serializer writes for ``result``, a listing answer with ``members``; raises
    Unrendered for anything outside what is known here."""
    parts = [DOCUMENT_START]
    for name, value in _members(result, members):
        if name in ("Contents", "CommonPrefixes"):  # flattened lists: nothing at all when empty
            if not isinstance(value, list):
                raise Unrendered(name)
            parts.extend(map(_object if name == "Contents" else _common_prefix, value))
        else:
            parts.append(_scalar(name, value))
    parts.append(DOCUMENT_END)
    return "".join(parts)


def _key_paths(operation: str, members: tuple[str, ...]) -> list[str]:
    """The paths moto's value picker matches response transformers against, for every member rendered here."""
    top = f"{operation}.{operation}Output"
    paths = [f"{top}.{name}" for name in members]
    paths += [f"{top}.Contents.Object.{name}" for name in OBJECT_MEMBERS]
    paths += [f"{top}.Contents.Object.{name}.{member}" for name, members in STRUCTURES.items() for member in members]
    paths.append(f"{top}.CommonPrefixes.CommonPrefix.Prefix")
    return paths


def is_left_to_moto(response: S3Response, action_result: ActionResult, operation: str) -> bool:
    """Pretty printing, a transformer of one of these members, or an ActionResult that does more than carry a
    dict (PaginatedResult): moto's serializer does what this renderer does not."""
    if settings.PRETTIFY_RESPONSES or type(action_result) is not ActionResult:
        return True
    transformers = getattr(response, "RESPONSE_KEY_PATH_TO_TRANSFORMER", None) or {}
    members = V2_MEMBERS if operation == "ListObjectsV2" else V1_MEMBERS
    return any(path.endswith(suffix) for suffix in transformers for path in _key_paths(operation, members))


def respond(response: S3Response, action_result: ActionResult, operation: str) -> tuple[int, dict[str, Any], str]:
    """What ``response.serialized(action_result)`` returns for a listing: status, headers, body. Raises
    Unrendered when the page is left to moto."""
    if is_left_to_moto(response, action_result, operation):
        raise Unrendered(operation)
    body = render(action_result.result, V2_MEMBERS if operation == "ListObjectsV2" else V1_MEMBERS)
    headers: dict[str, Any] = {"Content-Type": CONTENT_TYPE}
    headers.update(response.response_headers)
    return 200, headers, body


def serialized(self: S3Response, action_result: ActionResult) -> Any:
    """``BaseResponse.serialized`` for S3: a listing answered here, anything else by moto. At class level, so a
    wrapper that enriches the answer on its way (``s3_rules``' RestoreStatus shadows ``self.serialized``) is
    served by this whatever the order of installation."""
    operation = self._get_action()  # as moto's serialized picks the operation's shape
    if operation in OPERATIONS:
        try:
            if _is_s3_serializer(self):
                return respond(self, action_result, operation)
        except Unrendered:
            pass
    return BaseResponse.serialized(self, action_result)


def _is_s3_serializer(response: S3Response) -> bool:
    """moto's choice of serializer for this response is the S3 one this renderer imitates."""
    service_model = get_service_model("s3")
    return get_serializer_class("s3", response.determine_response_protocol(service_model)) is S3Serializer


def shape_members(operation: str) -> tuple[str, ...]:
    """The member names of ``operation``'s output shape in moto's model, in order."""
    return tuple(get_service_model("s3").operation_model(operation).output_shape.members)


def is_installed() -> bool:
    return S3Response.__dict__.get("serialized") is serialized


def install() -> None:
    """Render listings here in this (the endpoint's) process. Idempotent; ``uninstall`` undoes it. Refuses a moto
    whose model orders the answer otherwise than this renderer does: a moto upgrade must re-check this gap."""
    if "serialized" in S3Response.__dict__ and not is_installed():
        raise RuntimeError("gap 15: S3Response.serialized is patched by someone else; re-check listing_render.py")
    for operation, expected in EXPECTED_SHAPES.items():
        if shape_members(operation) != expected:
            raise RuntimeError(f"gap 15: moto's {operation} output shape changed; re-check listing_render.py")
    S3Response.serialized = serialized  # type: ignore[method-assign,assignment]


def uninstall() -> None:
    """moto's own rendering again (the tests compare the two)."""
    if is_installed():
        del S3Response.serialized
