# Copy this file to fabfile_config.py and fill it in: cp fabfile_config_template.py fabfile_config.py
# fabfile_config.py is ignored by git; it holds your settings, not the project's.

# Only a hash of it is used: it makes the deployment bucket name unique, as in the 2015 sample.
USER_EMAIL = "you@example.com"

# Names the CloudFormation stack and prefixes every function and state machine.
# 1 to 40 lower case letters, digits and '-', starting with a letter.
APP_NAME = "sync-buckets"

# Used unless the AWS_PROFILE / AWS_REGION environment variables say otherwise.
# AWS_DEFAULT_PROFILE: a profile of ~/.aws/config ("work"); None uses the standard credential chain (environment
# variables, ~/.aws's default profile, an instance role), which is also what the local endpoint needs:
#   export AWS_ENDPOINT_URL=http://127.0.0.1:5000 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
AWS_DEFAULT_PROFILE = None
AWS_DEFAULT_REGION = "us-east-1"

# How many timestamped state machines each deploy keeps (older ones without running executions are deleted).
KEEP_STATE_MACHINES = 3

# Least privilege: the buckets a sync may read (SOURCE_BUCKETS) and write and delete in (DESTINATION_BUCKETS), as
# names or patterns such as "logs-*". The functions' IAM policies name only these, and an execution naming another
# bucket is refused before it starts. None allows any bucket (fab deploy then prints a warning).
SOURCE_BUCKETS = None
DESTINATION_BUCKETS = None

# A sync that plans more deletions than this stops before deleting anything; an execution's "maxDeletes" input
# overrides it. None: no limit.
MAX_DELETES = 10000

# SSE-KMS: the KMS keys that source or destination objects, or the buckets' default encryption, use, as key ARNs
# (arn:aws:kms:<region>:<account>:key/<key id>), alias names ("alias/my-key": a key of this account with that alias,
# in any region) or alias ARNs. The functions get kms:Decrypt and kms:GenerateDataKey on exactly these keys, through
# S3 only. AWS managed keys (alias/aws/s3) need no entry. None: no KMS key.
KMS_KEYS = None

# Days each sync's report and run files (runs/) and its record (history/, what fab status and fab report read) are
# kept in the deployment bucket; a lifecycle rule, set by every deploy, expires them after that. At least 1.
REPORT_RETENTION_DAYS = 90

# Syncs that run by themselves: each entry becomes an EventBridge Scheduler schedule that starts the newest sync
# state machine with its input (the same fields as fab sync's, checked by fab deploy before anything changes).
#   name: 1 to 32 letters, digits, '-' and '_'; its executions are named scheduled-<name>-<id> (fab status shows them)
#   expression: "rate(1 day)", "rate(6 hours)", "cron(0 3 * * ? *)" (03:00 UTC daily: minutes hours day-of-month
#     month day-of-week year, one of the two days '?') or "at(2027-01-31T12:00:00)" (once); times in UTC
#   input: the execution input, e.g. {"source": "my-data", "destination": "my-data-copy"}
#   enabled: optional, default True; False keeps the schedule but pauses it
# Every deploy points the schedules at the newest machine and deletes those no longer listed; fab schedules lists
# them with their next run and last execution. None: no schedules (a deploy deletes any it made before).
# SCHEDULES = [
#     {"name": "nightly", "expression": "cron(0 3 * * ? *)", "input": {"source": "my-data", "destination": "my-copy"}},
# ]
SCHEDULES = None
