# ---
# Description: "Find the region of one bucket, so each bucket is addressed in its own region."
# MemorySize: 128
# Timeout: 30
# Policies:
#   - AWSLambdaBasicExecutionRole
#   - Statement:
#       - Effect: Allow
#         Action: s3:GetBucketLocation
#         Resource: "arn:aws:s3:::*"
# ---
"""FindSourceRegion / FindDestinationRegion.

Input: ``{"bucket": name}``. Output: the region's name, e.g. ``"eu-west-1"``, which the state machine puts in the
run. It makes exactly one S3 request, GetBucketLocation, which the report counts.
Raises BucketNotFoundError or BucketAccessError, naming the bucket.
"""
import boto3
from botocore.exceptions import ClientError

from bucket_sync.clients import RETRY_CONFIG
from bucket_sync.errors import BucketAccessError, BucketNotFoundError

LEGACY_LOCATIONS = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}
"""GetBucketLocation still answers with these for buckets made before regions had names."""


def handler(event, context):
    bucket = event["bucket"]
    s3 = boto3.client("s3", config=RETRY_CONFIG)
    try:
        location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint")
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code == "NoSuchBucket":
            raise BucketNotFoundError(f"bucket {bucket!r} does not exist; check the name") from None
        raise BucketAccessError(f"bucket {bucket!r} cannot be used: {code}: "
                                f"{error.response['Error'].get('Message', '')}") from None
    return LEGACY_LOCATIONS.get(location, location)
