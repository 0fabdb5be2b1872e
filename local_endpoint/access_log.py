"""The endpoint's access log: one tab-separated line per request served, with the AWS operation where known.

It lets anyone count what a sync really cost at the endpoint, independent of what a tool says about itself.
Columns: time, method, host, path, query, status, service, operation.
"""

import io
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TextIO
from urllib.parse import parse_qs, unquote

CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")

_S3_BUCKET_SUBRESOURCES = (
    "acl",
    "cors",
    "encryption",
    "lifecycle",
    "location",
    "logging",
    "notification",
    "ownershipControls",
    "policy",
    "publicAccessBlock",
    "replication",
    "tagging",
    "versioning",
    "website",
    "object-lock",
    "accelerate",
    "requestPayment",
)


def _pascal(subresource: str) -> str:
    return {
        "publicAccessBlock": "PublicAccessBlock",
        "ownershipControls": "OwnershipControls",
        "object-lock": "ObjectLockConfiguration",
        "location": "Location",
    }.get(subresource, subresource[:1].upper() + subresource[1:])


def s3_operation(method: str, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> str:
    """The S3 API operation a path-style request is, from its method, path and query (a table, not a guess)."""
    parts = path.lstrip("/").split("/", 1)
    on_key = len(parts) == 2 and parts[1] != ""
    if not parts[0]:
        return "ListBuckets"
    if on_key:
        if "uploads" in query:
            return "CreateMultipartUpload"
        if "uploadId" in query:
            if method == "PUT":
                return "UploadPartCopy" if "x-amz-copy-source" in headers else "UploadPart"
            return {"POST": "CompleteMultipartUpload", "DELETE": "AbortMultipartUpload", "GET": "ListParts"}.get(
                method, method
            )
        for sub in ("tagging", "acl", "retention", "legal-hold", "attributes", "restore"):
            if sub in query:
                verb = {"GET": "Get", "PUT": "Put", "DELETE": "Delete", "POST": ""}[method]
                return f"{verb}Object{_pascal(sub)}" if sub != "restore" else "RestoreObject"
        if method == "PUT":
            return "CopyObject" if "x-amz-copy-source" in headers else "PutObject"
        return {"GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(method, method)
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    for sub in _S3_BUCKET_SUBRESOURCES:
        if sub in query:
            if sub == "location":
                return "GetBucketLocation"
            verb = {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}.get(method, method)
            return f"{verb}Bucket{_pascal(sub)}"
    if method == "GET":
        if "versions" in query:
            return "ListObjectVersions"
        if "uploads" in query:
            return "ListMultipartUploads"
        return "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
    return {"HEAD": "HeadBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method, method)


def operation_of(environ: dict[str, Any], body: bytes) -> tuple[str, str]:
    """(service, operation) of one request, or empty strings where the request does not say."""
    headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
    match = CREDENTIAL_SCOPE.search(headers.get("authorization", ""))
    service = match.group(1) if match else ""
    target = headers.get("x-amz-target", "")
    if target:
        return service, target.rsplit(".", 1)[-1]
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if service == "s3":
        return service, s3_operation(environ["REQUEST_METHOD"], unquote(environ.get("PATH_INFO", "")), query, headers)
    if "Action" in query:
        return service, query["Action"][0]
    if body[:7] == b"Action=":
        return service, parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
    if service == "lambda" and environ.get("PATH_INFO", "").endswith("/invocations"):
        return service, "Invoke"
    return service, ""


class AccessLog:
    """WSGI middleware that appends one line per request to a file."""

    def __init__(self, app: Callable[..., Iterable[bytes]], stream: TextIO):
        self._app = app
        self._stream = stream
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = self._peek_body(environ)
        status_holder: list[str] = []

        def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            status_holder.append(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        result = self._app(environ, recording_start_response)
        service, operation = operation_of(environ, body)
        line = "\t".join(
            [
                time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z",
                environ.get("REQUEST_METHOD", ""),
                environ.get("HTTP_HOST", ""),
                environ.get("PATH_INFO", ""),
                environ.get("QUERY_STRING", ""),
                status_holder[0] if status_holder else "",
                service,
                operation,
            ]
        )
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()
        return result

    @staticmethod
    def _peek_body(environ: dict[str, Any]) -> bytes:
        """Query-protocol services (CloudFormation, IAM, STS) name the operation in a form body; read it and put
        it back so the application still sees it."""
        content_type = environ.get("CONTENT_TYPE", "")
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return b""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return body
