"""The stack stage: template to change set to stack, and the deployment bucket that carries the package.

Only this module, ``state_machines.py`` and ``schedules.py`` talk to AWS. Waiting uses botocore waiters; stack events
are shown by a watcher thread while the waiter blocks. Service errors become StackError with the stack, resource and
reason.
"""

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from .errors import DeployError, StackError
from .partitions import dns_suffix, partition_of
from .specs import Package

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
NO_CHANGES_REASONS = ("didn't contain changes", "No updates are to be performed")
EVENT_POLL_SECONDS = 5.0
WAITER_CONFIG = {"Delay": 5, "MaxAttempts": 720}
"""An hour: a first deploy takes a few minutes; IAM propagation is the slow part."""

EventCallback = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class StackResult:
    status: str
    """"created", "updated" or "unchanged"."""
    outputs: dict[str, str] = field(default_factory=dict)


def error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def ensure_deployment_bucket(s3: Any, bucket: str, region: str) -> bool:
    """Create the private, encrypted, TLS-only deployment bucket if it is missing. True when it was created."""
    try:
        s3.head_bucket(Bucket=bucket)
        return False
    except ClientError as error:
        if error_code(error) in ("403", "AccessDenied"):
            raise DeployError(
                f"deployment bucket {bucket} exists but this account cannot use it; change APP_NAME "
                "or USER_EMAIL in fabfile_config.py to get another name"
            ) from None
        if error_code(error) not in ("404", "NoSuchBucket"):
            raise
    create: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":  # us-east-1 is the one region that rejects its own LocationConstraint
        create["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**create)
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_bucket_policy(Bucket=bucket, Policy=_deny_insecure_transport(bucket, partition_of(region)))
    return True


EXPIRING_FOLDERS = ("runs/", "history/")
"""A sync's files (plans, results, its report) and its record: what the retention rule expires."""
INCOMPLETE_UPLOAD_DAYS = 7
"""Days after which S3 aborts a multipart upload of the deployment bucket that nothing completed: a report or
ETag-pair upload whose WriteReport failed every retry after a hand-over (an upload an invocation started itself
is aborted at once when it fails). A report's upload lasts hours at most."""


def expire_run_files(s3: Any, bucket: str, days: int) -> None:
    """Set the deployment bucket's lifecycle rules, every deploy (one request, which replaces the bucket's
    lifecycle configuration, so a changed REPORT_RETENTION_DAYS takes effect): each folder of
    ``EXPIRING_FOLDERS`` expires after ``days``. Packages, templates, locks and ETag pairs are kept. And
    multipart uploads never completed are aborted after ``INCOMPLETE_UPLOAD_DAYS``, in the whole bucket."""
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": f"expire-{folder.rstrip('/')}",
                    "Filter": {"Prefix": folder},
                    "Status": "Enabled",
                    "Expiration": {"Days": days},
                }
                for folder in EXPIRING_FOLDERS
            ]
            + [
                {
                    "ID": "abort-incomplete-uploads",
                    "Filter": {"Prefix": ""},
                    "Status": "Enabled",
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": INCOMPLETE_UPLOAD_DAYS},
                }
            ]
        },
    )


def _deny_insecure_transport(bucket: str, partition: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:{partition}:s3:::{bucket}", f"arn:{partition}:s3:::{bucket}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


def upload_package(s3: Any, bucket: str, package: Package) -> bool:
    """Upload the package unless an object of that content hash is already there. True when uploaded."""
    try:
        s3.head_object(Bucket=bucket, Key=package.key)
        return False
    except ClientError as error:
        if error_code(error) not in ("404", "NoSuchKey"):
            raise
    with open(package.path, "rb") as body:
        s3.put_object(Bucket=bucket, Key=package.key, Body=body, ChecksumAlgorithm="SHA256")
    return True


def upload_template(s3: Any, bucket: str, region: str, body: str) -> str:
    """Store the template by content hash and return its URL: TemplateURL has no 51,200-byte TemplateBody limit
    (its own, 1 MB, is checked with the template, in ``limits.py``)."""
    key = f"templates/{hashlib.sha256(body.encode()).hexdigest()}.json"
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType="application/json")
    return template_url(bucket, region, key)


def template_url(bucket: str, region: str, key: str) -> str:
    """The object's virtual-hosted URL in its region's domain: amazonaws.com.cn in China, amazonaws.com elsewhere."""
    return f"https://{bucket}.s3.{region}.{dns_suffix(region)}/{key}"


def describe_stack(cfn: Any, stack_name: str) -> dict[str, Any] | None:
    try:
        return cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise


def stack_outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def deploy_stack(
    cfn: Any, stack_name: str, template_url: str, change_set_name: str, on_event: EventCallback
) -> StackResult:
    """Create or update the stack through a change set and wait for it; "no changes" is a result, not an error."""
    stack = describe_stack(cfn, stack_name)
    if stack is not None and stack["StackStatus"] in ("ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS"):
        # A stack that never got created cannot be updated; CloudFormation's own advice is to delete it.
        on_event(
            {
                "LogicalResourceId": stack_name,
                "ResourceStatus": stack["StackStatus"],
                "ResourceStatusReason": "never created; deleting it before creating it again",
            }
        )
        delete_stack(cfn, stack_name, on_event)
        stack = None
    change_set_type = "CREATE" if stack is None else "UPDATE"
    history = _event_ids(cfn, stack_name) if stack else set()
    try:
        change_set = cfn.create_change_set(
            StackName=stack_name,
            ChangeSetName=change_set_name,
            ChangeSetType=change_set_type,
            TemplateURL=template_url,
            Capabilities=CAPABILITIES,
        )
    except ClientError as error:
        raise StackError(f"stack {stack_name}: CloudFormation refused the change set: {error}") from None
    try:
        cfn.get_waiter("change_set_create_complete").wait(
            ChangeSetName=change_set["Id"], StackName=stack_name, WaiterConfig={"Delay": 2, "MaxAttempts": 300}
        )
    except WaiterError:
        described = cfn.describe_change_set(ChangeSetName=change_set["Id"], StackName=stack_name)
        reason = described.get("StatusReason", "")
        if any(text in reason for text in NO_CHANGES_REASONS):
            cfn.delete_change_set(ChangeSetName=change_set["Id"], StackName=stack_name)
            return StackResult("unchanged", stack_outputs(describe_stack(cfn, stack_name) or {}))
        raise StackError(f"stack {stack_name}: change set {change_set_name} failed: {reason}") from None
    cfn.execute_change_set(ChangeSetName=change_set["Id"], StackName=stack_name)
    waiter = "stack_create_complete" if change_set_type == "CREATE" else "stack_update_complete"
    _wait_showing_events(cfn, stack_name, waiter, on_event, history)
    return StackResult(
        "created" if change_set_type == "CREATE" else "updated", stack_outputs(describe_stack(cfn, stack_name) or {})
    )


def delete_stack(cfn: Any, stack_name: str, on_event: EventCallback) -> bool:
    """Delete the stack and wait until it is gone. False when there was no stack."""
    stack = describe_stack(cfn, stack_name)
    if stack is None:
        return False
    history = _event_ids(cfn, stack_name)
    cfn.delete_stack(StackName=stack["StackId"])
    _wait_showing_events(cfn, stack["StackId"], "stack_delete_complete", on_event, history)
    return True


def _event_ids(cfn: Any, stack_name: str) -> set[str]:
    """The events a stack already has: history, not news, when the next operation's events are shown."""
    return {event["EventId"] for event in cfn.describe_stack_events(StackName=stack_name).get("StackEvents", [])}


def _new_events(cfn: Any, stack_name: str, seen: set[str]) -> list[dict[str, Any]]:
    """Events not yet seen, oldest first (the API lists newest first)."""
    fresh: list[dict[str, Any]] = []
    for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack_name):
        for event in page["StackEvents"]:
            if event["EventId"] in seen:
                return list(reversed(fresh))
            fresh.append(event)
    return list(reversed(fresh))


def _wait_showing_events(
    cfn: Any, stack_name: str, waiter_name: str, on_event: EventCallback, history: set[str]
) -> None:
    seen = set(history)
    done = threading.Event()

    def show_new_events() -> None:
        try:
            for event in _new_events(cfn, stack_name, seen):
                seen.add(event["EventId"])
                on_event(event)
        except ClientError:
            pass  # a deleted stack has no events to list; the waiter reports the outcome

    def watch() -> None:
        while not done.wait(EVENT_POLL_SECONDS):
            show_new_events()

    watcher = threading.Thread(target=watch, name="stack-events", daemon=True)
    watcher.start()
    try:
        cfn.get_waiter(waiter_name).wait(StackName=stack_name, WaiterConfig=WAITER_CONFIG)
    except WaiterError as error:
        done.set()
        watcher.join()
        show_new_events()
        raise StackError(_failure_message(cfn, stack_name, error)) from None
    done.set()
    watcher.join()
    show_new_events()


def _failure_message(cfn: Any, stack_name: str, error: WaiterError) -> str:
    status = (error.last_response or {}).get("Stacks", [{}])[0].get("StackStatus", "unknown")
    failures = []
    try:
        for event in cfn.describe_stack_events(StackName=stack_name)["StackEvents"]:
            if event["ResourceStatus"].endswith("_FAILED"):
                failures.append(
                    f"{event['LogicalResourceId']} ({event['ResourceType']}): "
                    f"{event.get('ResourceStatusReason', 'no reason given')}"
                )
    except ClientError:
        pass
    detail = "; ".join(reversed(failures)) or str(error)
    return f"stack {stack_name} ended {status}: {detail}"
