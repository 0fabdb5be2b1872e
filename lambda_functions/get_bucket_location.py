# ---
# Description: "Find the region of one bucket and check this deployment may list it."
# MemorySize: 128
# Timeout: 30
# Policies:
#   - AWSLambdaBasicExecutionRole
#   - Statement:
#       - Effect: Allow
#         Action: [s3:ListBucket]
#         Resource: ["{source_buckets}", "{destination_buckets}"]
# ---
"""FindSourceRegion / FindDestinationRegion.

Input: ``{"bucket": name}``. Output: the region's name, e.g. ``"eu-west-1"``, which the state machine puts in the
run. One request, HeadBucket: it answers with the bucket's region, and it fails unless the bucket exists and this
function may list it, so a sync that could not list a bucket stops here, before anything is written.
Raises BucketNotFoundError or BucketAccessError, naming the bucket.
"""
import boto3

from bucket_sync.buckets import bucket_region
from bucket_sync.clients import RETRY_CONFIG

_s3 = None


def s3():
    global _s3
    if _s3 is None:
        _s3 = boto3.client("s3", config=RETRY_CONFIG)
    return _s3


def handler(event, context):
    return bucket_region(s3(), event["bucket"])
