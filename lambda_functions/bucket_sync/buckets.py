"""Bucket checks: does a bucket exist, may we list it, and which region is it in. One HeadBucket each.

Used by the FindSourceRegion / FindDestinationRegion steps and by ``fab sync`` before it starts anything, so both
say the same thing about the same bucket.
"""

from typing import Any

from botocore.exceptions import ClientError

from .errors import BucketAccessError, BucketNotFoundError

REQUESTER_PAYS_HINT = '; if it is a requester-pays bucket of another account, start again with "requesterPays": true'


def bucket_region(s3: Any, bucket: str, requester_pays: bool = False) -> str:
    """The bucket's region; BucketNotFoundError or BucketAccessError when it cannot be synced. ``s3`` sends
    ``x-amz-request-payer`` itself when ``requester_pays`` (clients.pay_for_requests); without it, a 403 may be
    S3 refusing a requester-pays bucket, and the message says so."""
    try:
        response = s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code in ("404", "NoSuchBucket", "NotFound"):
            raise BucketNotFoundError(f"bucket {bucket!r} does not exist; check the name") from None
        if code in ("403", "AccessDenied", "Forbidden"):
            hint = "" if requester_pays else REQUESTER_PAYS_HINT
            raise BucketAccessError(
                f"bucket {bucket!r} exists but cannot be listed with these credentials "
                f"(s3:ListBucket is denied); grant it, or name another bucket{hint}"
            ) from None
        raise BucketAccessError(
            f"bucket {bucket!r} cannot be used: {code}: {error.response['Error'].get('Message', '')}"
        ) from None
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return response.get("BucketRegion") or headers.get("x-amz-bucket-region") or "us-east-1"
