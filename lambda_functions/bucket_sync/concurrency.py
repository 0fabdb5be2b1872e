"""One sync at a time into a destination: a lock object per destination in the work bucket.

``take`` writes ``locks/<destination>.json`` with ``If-None-Match: *``, which S3 makes atomic: of two executions
started together exactly one gets it, and the other fails with ConcurrentSyncError before anything is read or
written. (Listing the running executions, as this module once did, cannot decide that race: ListExecutions is
eventually consistent.) The lock holds the holder's execution ARN; a lock whose execution is no longer running
(stopped, timed out, or its machine deleted: the paths on which no release step runs) is taken over with
``If-Match`` on the lock's ETag, so two executions taking over the same stale lock cannot both win. ``release``
deletes the lock with ``If-Match`` on the ETag ``take`` wrote, so it never deletes a lock another execution has
taken over since: one request.

The conditional headers go on the requests through botocore's event hooks rather than as parameters: the
Lambda runtime's boto3 may predate PutObject's ``IfNoneMatch`` and ``IfMatch`` and DeleteObject's ``IfMatch``.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError

from .errors import SyncError

FOLDER = "locks/"
TAKE_ATTEMPTS = 3
"""A lock can change between the refused write and the read of its holder (released, taken over): look again,
a few times, then give up loudly."""


class ConcurrentSyncError(SyncError):
    """Another execution of this deployment is syncing into the same destination."""


class LockError(SyncError):
    """The lock kept changing under this execution (other syncs starting and ending in a tight loop)."""


def lock_key(destination: str) -> str:
    return f"{FOLDER}{destination}.json"


@contextmanager
def conditional(s3: Any, operation: str, headers: dict[str, str]) -> Iterator[None]:
    """Send ``headers`` on the ``operation`` requests made inside the block (one thread only)."""

    def add(request: Any, **_: Any) -> None:
        for name, value in headers.items():
            request.headers[name] = value

    event = f"before-sign.s3.{operation}"
    s3.meta.events.register_first(event, add)
    try:
        yield
    finally:
        s3.meta.events.unregister(event, add)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _holder(s3: Any, bucket: str, key: str) -> tuple[str, str] | None:
    """(holder's execution ARN, the lock's ETag), or None when there is no lock."""
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if _code(error) in ("NoSuchKey", "404"):
            return None
        raise
    return json.loads(response["Body"].read())["executionArn"], response["ETag"]


def _is_running(sfn: Any, execution_arn: str) -> bool:
    try:
        return sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING"
    except ClientError as error:
        if _code(error) == "ExecutionDoesNotExist":  # its state machine was deleted with its executions
            return False
        raise


def _write(s3: Any, bucket: str, key: str, body: bytes, headers: dict[str, str]) -> str | None:
    """Write the lock on a condition: its ETag, or None when S3 refused the condition (or a concurrent write)."""
    try:
        with conditional(s3, "PutObject", headers):
            return s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")["ETag"]
    except ClientError as error:
        if _code(error) in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409"):
            return None
        raise


def take(s3: Any, sfn: Any, bucket: str, destination: str, execution_arn: str) -> str:
    """Take the destination's lock for ``execution_arn`` and return its ETag, or raise ConcurrentSyncError
    naming the execution that holds it."""
    key = lock_key(destination)
    body = json.dumps({"executionArn": execution_arn, "destination": destination}).encode("utf-8")
    for _ in range(TAKE_ATTEMPTS):
        etag = _write(s3, bucket, key, body, {"If-None-Match": "*"})
        if etag:
            return etag
        held = _holder(s3, bucket, key)
        if held is None:
            continue  # released in between: try again
        holder, held_etag = held
        if holder == execution_arn:
            return held_etag  # this execution's own lock, from an attempt of this step that died after writing it
        if _is_running(sfn, holder):
            raise ConcurrentSyncError(
                f"another sync into {destination!r} is running ({holder}); wait for it to end or stop it, then "
                "start this one again. Nothing was changed."
            )
        etag = _write(s3, bucket, key, body, {"If-Match": held_etag})
        if etag:
            return etag  # the holder ended without releasing (stopped, timed out): taken over
    raise LockError(
        f"the lock s3://{bucket}/{key} kept changing while this sync tried to take it; start it again. "
        "Nothing was changed."
    )


def release(s3: Any, bucket: str, destination: str, etag: str) -> bool:
    """Delete the destination's lock if it is still the one ``take`` wrote (ETag ``etag``); True if it did."""
    try:
        with conditional(s3, "DeleteObject", {"If-Match": etag}):
            s3.delete_object(Bucket=bucket, Key=lock_key(destination))
    except ClientError as error:
        if _code(error) in ("PreconditionFailed", "NoSuchKey", "412", "404"):
            return False  # taken over meanwhile, or gone: no longer this execution's to delete
        raise
    return True
