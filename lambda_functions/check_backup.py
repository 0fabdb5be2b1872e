# ---
# Description: "Check, before anything changes, that a sync's backup location exists and can be written."
# MemorySize: 128
# Timeout: 30
# Policies:
#   - AWSLambdaBasicExecutionRole
#   - Statement:
#       - Effect: Allow
#         Action: [s3:ListBucket]
#         Resource: ["{destination_buckets}"]
#       - Effect: Allow
#         Action: [s3:PutObject]  # the run's note beside its backups: proves the location writable
#         Resource: ["{destination_objects}"]
# ---
"""CheckBackup (only for a run with a ``backup``, after the regions are found and before anything is planned).

Input: ``{"run": {...}}``. Output: the backup bucket's region, which the state machine puts in the run. Two
requests: HeadBucket (the bucket exists, this deployment may list it, and where it is), then PutObject of the run's
note beside its backups, ``<prefix><runId>.json`` (what the run is, so a folder of backups explains itself), which
fails unless the location can be written. Raises BucketNotFoundError, BucketAccessError, or BackupFailedError
naming the location; the run then ends before any copy or delete.
"""

import json

from botocore.exceptions import BotoCoreError, ClientError

from bucket_sync.buckets import bucket_region
from bucket_sync.clients import S3Clients
from bucket_sync.errors import BackupFailedError
from bucket_sync.run import SyncRun


def handler(event, context):
    run = SyncRun.from_json(event["run"])
    clients = S3Clients(max_attempts=run.settings.s3_max_attempts)
    region = bucket_region(clients.for_region(""), run.backup_bucket)
    note = {
        "runId": run.run_id,
        "source": run.source,
        "destination": run.destination,
        "prefix": run.prefix,
        "backups": f"{run.backup}{run.run_id}/",
        "what": "the destination objects this run deleted or overwrote, as they were, under their own keys",
    }
    try:
        clients.for_region(region).put_object(
            Bucket=run.backup_bucket,
            Key=run.backup_manifest_key,
            Body=json.dumps(note, ensure_ascii=False).encode("utf-8"),
            ContentType="application/json",
        )
    except (ClientError, BotoCoreError) as error:
        detail = error.response.get("Error", {}) if isinstance(error, ClientError) else {"Code": type(error).__name__}
        raise BackupFailedError(
            f"'backup' is {run.backup!r}, which cannot be written ({detail.get('Code')}: {detail.get('Message', '')}); "
            "nothing was changed. Grant this deployment s3:PutObject there (it must be one of DESTINATION_BUCKETS), "
            "or name another location"
        ) from None
    return region
