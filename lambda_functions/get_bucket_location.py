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

Input: ``{"bucket": name, "requesterPays": bool}``. Output: the region's name, e.g. ``"eu-west-1"``, which the state
machine puts in the run. One request, HeadBucket: it answers with the bucket's region, and it fails unless the bucket
exists and this function may list it, so a sync that could not list a bucket stops here, before anything is written.
Raises BucketNotFoundError or BucketAccessError, naming the bucket.
"""

from bucket_sync.buckets import bucket_region
from bucket_sync.clients import S3Clients

_clients = S3Clients()


def handler(event, context):
    requester_pays = event.get("requesterPays", False)
    return bucket_region(_clients.for_region("", requester_pays), event["bucket"], requester_pays)
