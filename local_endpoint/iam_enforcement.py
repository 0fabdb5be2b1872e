"""Gap 9 (moto_gaps): IAM as AWS enforces it. Lambda code runs with its function's execution role, and every
request made with credentials the endpoint issued is authorised against the caller's policies and the resource's
own policy, with AWS's action mapping; Step Functions' own requests (ItemReader, ResultWriter, Lambda invocations)
run as the state machine's role. Keys the endpoint did not issue (the documented ``testing`` keys, the deploy
toolkit's, the tests') act as the account's administrator, so nothing else changes.

It must not change what moto answers to an administrator's request, and it knows nothing of the deploy toolkit or
the Lambda code: it patches moto, in the endpoint process only, at the internals named below.

Rules enforced (each tested in tests/endpoint/test_iam.py):

1. **Role credentials.** ``role_credentials`` (Lambda workers), the Step Functions client factory and
   ``scheduler_credentials`` (EventBridge Scheduler's invocations, ``scheduler_bridge.py``) take temporary
   credentials for the role from moto's STS backend, in process, cached per role and renewed before they expire,
   so warm workers stay warm. The role must trust the service (``lambda.amazonaws.com``, ``states.amazonaws.com``,
   ``scheduler.amazonaws.com``); Scheduler's trust is evaluated on every invocation with the ``aws:SourceAccount``
   and ``aws:SourceArn`` (the schedule's group) it sets, so a trust policy holding AWS's confused-deputy conditions
   works as on AWS. moto's own trust check crashes on a ``Service`` principal
   (``IAMPolicyStatement._check_principal``); it is never reached: this module evaluates trust itself.
2. **Who is checked.** Requests signed with a key moto's STS issued (``ASIA…``, an assumed role) are
   authenticated (moto's SigV4 check, ``IAMRequestBase.check_signature``) and authorised; every other key is the
   account's administrator. ``BaseResponse._authenticate_and_authorize_normal_action`` and
   ``_authenticate_and_authorize_s3_action`` are replaced, so ``INITIAL_NO_AUTH_ACTION_COUNT`` no longer matters.
3. **S3's action mapping** (AWS: "Required permissions for Amazon S3 API operations"): HeadObject and GetObject
   need ``s3:GetObject`` (``s3:GetObjectVersion`` for a version); ListObjects(V2) and HeadBucket
   ``s3:ListBucket``; CopyObject ``s3:GetObject`` on the source and ``s3:PutObject`` on the destination, plus
   ``s3:GetObjectTagging`` on the source and ``s3:PutObjectTagging`` on the destination when tags are copied
   (TaggingDirective COPY, the default, with a tagged source) or set; UploadPartCopy ``s3:GetObject`` on the
   source and ``s3:PutObject``; CreateMultipartUpload, UploadPart, CompleteMultipartUpload ``s3:PutObject``;
   AbortMultipartUpload ``s3:AbortMultipartUpload``; ListMultipartUploads ``s3:ListBucketMultipartUploads``;
   ListParts ``s3:ListMultipartUploadParts``; GetObjectTagging ``s3:GetObjectTagging``; PutObject with tags also
   ``s3:PutObjectTagging``; DeleteObject with ``If-Match`` also ``s3:GetObject`` (conditional deletes); bucket
   subresources their own actions (``BUCKET_SUBRESOURCE_ACTIONS``).
4. **DeleteObjects per key.** Each key needs ``s3:DeleteObject``, and ``s3:GetObject`` as well when it is deleted on
   the condition of its ``<ETag>`` (as DeleteObject with ``If-Match``); a denied key is an ``AccessDenied`` entry in
   the response's errors and the others are deleted, as S3 answers (moto's per-key check,
   ``FakeBucket.get_permission`` inside ``S3Response._bucket_response_delete_keys``, is where it is asked).
5. **Policy evaluation** (AWS: "Policy evaluation logic", same account): an explicit Deny in the role's identity
   policies (inline and managed), its session policy or the resource's policy (bucket policy, KMS key policy)
   wins; otherwise an Allow in an identity policy or in the resource policy naming the caller suffices. KMS is
   stricter: the key policy must allow the caller, directly or by enabling IAM policies (an Allow for the
   account's root), as AWS requires. Denied is S3's ``AccessDenied`` (403) or the service's
   ``AccessDeniedException``, with AWS's message (``User: <arn> is not authorized to perform: <action> on
   resource: "<arn>" because no identity-based policy allows the <action> action``).
6. **Conditions**: ``String*``, ``Arn*``, ``Bool``, ``Numeric*``, ``Null``, with ``ForAnyValue:`` /
   ``ForAllValues:`` and ``…IfExists``; keys ``aws:SecureTransport`` (always true: the endpoint is loopback HTTP
   standing in for TLS, cf. moto_gaps gap 4), ``aws:PrincipalArn``, ``aws:PrincipalAccount``,
   ``aws:PrincipalType``, ``aws:RequestedRegion``, ``s3:prefix``, ``s3:delimiter``, ``s3:max-keys``,
   ``s3:x-amz-server-side-encryption(-aws-kms-key-id)``, ``kms:ViaService``, ``kms:CallerAccount``,
   ``kms:ResourceAliases``. An unknown operator never matches (fail closed for Allow).
7. **Step Functions, Lambda, KMS** requests are authorised on their resource: the state machine, execution or
   Map Run ARN in the request; the function ARN (Invoke needs ``lambda:InvokeFunction``); the key ARN (aliases
   resolved). Other services are authorised on resource ``*``.
8. **Step Functions runs as its role**: ``boto_client_for`` (moto's ASL interpreter's client factory, with fixed
   fake keys) signs with the state machine role's credentials, so its Lambda invocations and S3 reads are
   authorised against that role.
9. **SSE-KMS through S3** (AWS: "Using server-side encryption with AWS KMS keys", permissions): reading an object
   under a customer-managed key (GetObject, the source of a copy) needs ``kms:Decrypt`` on it; writing under one
   (the request's key or the bucket's default) needs ``kms:GenerateDataKey``, and a multipart upload both; each is
   authorised as the caller with ``kms:ViaService`` = ``s3.<region>.amazonaws.com`` and the key's policy.

Known differences from AWS (not enforced): permissions boundaries, SCPs, ACLs, cross-account access, IAM users'
own keys (they act as administrators), policy variables (``${aws:username}``), session tags, presigned URLs'
signatures (authorised, not authenticated).
"""

import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse
from xml.etree import ElementTree

import boto3
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import JsonRESTError
from moto.iam.access_control import IAMRequest as MotoIAMRequest
from moto.iam.access_control import PermissionResult, S3IAMRequest
from moto.iam.models import iam_backends
from moto.s3.exceptions import S3ClientError
from moto.s3.models import FakeBucket
from moto.s3.responses import S3Response
from moto.sts.models import sts_backends

from .access_log import s3_operation
from .lambda_runtime import Credentials

ISSUED_KEY_PREFIX = "ASIA"
"""moto's STS gives temporary keys this prefix (as AWS does); no other key can be one the endpoint issued."""
SESSION_SECONDS = 3600
"""AssumeRole's default DurationSeconds, and the most a role allows unless its MaxSessionDuration says more."""
RENEW_BEFORE_EXPIRY_SECONDS = 300
"""Credentials this close to expiring are renewed before they are handed out again."""
LAMBDA_SERVICE = "lambda.amazonaws.com"
STATES_SERVICE = "states.amazonaws.com"
SCHEDULER_SERVICE = "scheduler.amazonaws.com"
S3_DENIED_STATUS = 403
LAMBDA_DENIED_STATUS = 403
JSON_DENIED_STATUS = 400
"""Step Functions and KMS answer AccessDeniedException with 400, Lambda with 403 (their API references)."""

BUCKET_SUBRESOURCE_ACTIONS = {
    "GetBucketPolicy": "s3:GetBucketPolicy",
    "PutBucketPolicy": "s3:PutBucketPolicy",
    "DeleteBucketPolicy": "s3:DeleteBucketPolicy",
    "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "DeleteBucketEncryption": "s3:PutEncryptionConfiguration",
    "GetBucketLifecycle": "s3:GetLifecycleConfiguration",
    "PutBucketLifecycle": "s3:PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "s3:PutLifecycleConfiguration",
    "GetBucketCors": "s3:GetBucketCORS",
    "PutBucketCors": "s3:PutBucketCORS",
    "DeleteBucketCors": "s3:PutBucketCORS",
    "DeleteBucketTagging": "s3:PutBucketTagging",
    "GetBucketReplication": "s3:GetReplicationConfiguration",
    "PutBucketReplication": "s3:PutReplicationConfiguration",
    "DeleteBucketReplication": "s3:PutReplicationConfiguration",
    "GetBucketAccelerate": "s3:GetAccelerateConfiguration",
    "PutBucketAccelerate": "s3:PutAccelerateConfiguration",
    "GetBucketObjectLockConfiguration": "s3:GetBucketObjectLockConfiguration",
    "PutBucketObjectLockConfiguration": "s3:PutBucketObjectLockConfiguration",
    "DeleteBucketWebsite": "s3:DeleteBucketWebsite",
    "DeleteBucketOwnershipControls": "s3:PutBucketOwnershipControls",
    "DeleteBucketPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
}
"""Bucket operations whose action is not ``s3:<operation>`` (the others are: GetBucketTagging, ...)."""
S3_OPERATION_ACTIONS = {
    "ListBuckets": "s3:ListAllMyBuckets",
    "HeadBucket": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads",
    "GetBucketLocation": "s3:GetBucketLocation",
    "CreateBucket": "s3:CreateBucket",
    "DeleteBucket": "s3:DeleteBucket",
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "DeleteObject": "s3:DeleteObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "ListParts": "s3:ListMultipartUploadParts",
    "GetObjectTagging": "s3:GetObjectTagging",
    "PutObjectTagging": "s3:PutObjectTagging",
    "DeleteObjectTagging": "s3:DeleteObjectTagging",
    "GetObjectAcl": "s3:GetObjectAcl",
    "PutObjectAcl": "s3:PutObjectAcl",
    "RestoreObject": "s3:RestoreObject",
    "GetObjectRetention": "s3:GetObjectRetention",
    "PutObjectRetention": "s3:PutObjectRetention",
    "GetObjectLegalHold": "s3:GetObjectLegalHold",
    "PutObjectLegalHold": "s3:PutObjectLegalHold",
    "GetObjectAttributes": "s3:GetObjectAttributes",
    **BUCKET_SUBRESOURCE_ACTIONS,
}
VERSIONED_ACTIONS = {
    "s3:GetObject": "s3:GetObjectVersion",
    "s3:DeleteObject": "s3:DeleteObjectVersion",
    "s3:GetObjectTagging": "s3:GetObjectVersionTagging",
    "s3:PutObjectTagging": "s3:PutObjectVersionTagging",
    "s3:DeleteObjectTagging": "s3:DeleteObjectVersionTagging",
    "s3:GetObjectAcl": "s3:GetObjectVersionAcl",
    "s3:PutObjectAcl": "s3:PutObjectVersionAcl",
}
"""What an object action becomes when the request names a version (``versionId``)."""
KMS_READ_OPERATIONS = frozenset({"GetObject", "CopyObject", "UploadPartCopy"})
"""Reading an object's bytes under SSE-KMS: Decrypt (a copy reads its source)."""
KMS_WRITE_OPERATIONS = frozenset({"PutObject", "CopyObject", "CreateMultipartUpload"})
"""Writing under SSE-KMS: GenerateDataKey (a multipart upload also Decrypt, to complete it)."""
LAMBDA_OPERATION_ACTIONS = {
    "Invoke": "lambda:InvokeFunction",
    "InvokeAsync": "lambda:InvokeFunction",
    "InvokeWithResponseStream": "lambda:InvokeFunction",
}
STATES_RESOURCE_FIELDS = ("executionArn", "stateMachineArn", "mapRunArn", "activityArn", "resourceArn")
KMS_KEY_FIELDS = ("KeyId", "TargetKeyId", "DestinationKeyId")
_LAMBDA_FUNCTION_PATH = re.compile(r"/functions/([^/]+)")


class RoleNotAssumableError(Exception):
    """A function's or state machine's role does not exist or does not trust the service that would assume it."""


class AccessDenied(S3ClientError):
    """S3's AccessDenied (403) with AWS's message for a same-account request."""

    code = "AccessDenied"

    def __init__(self, message: str):
        super().__init__("AccessDenied", message)


@dataclass(frozen=True)
class Caller:
    """The principal behind a key the endpoint issued: an assumed role's session."""

    access_key_id: str
    account_id: str
    partition: str
    role_arn: str
    session_arn: str
    session_policy: str | None

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Need:
    """One permission a request needs: an action on a resource, perhaps under a resource policy."""

    action: str
    resource: str
    resource_policy: str | None = None
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    kind: str = "identity"
    """``identity``: an Allow in either kind of policy suffices (S3, same account); ``kms``: the key policy
    must allow, directly or by enabling IAM policies."""


class Effect(Enum):
    NONE = "none"
    ALLOW = "allow"
    DENY = "deny"


# ----------------------------------------------------------------------------------------------------------------
# Credentials the endpoint issues

_issue_lock = threading.Lock()
_issued: dict[tuple[str, str], Any] = {}
"""(role ARN, service) -> moto's AssumedRole: the credentials handed out, renewed before they expire."""


def role_credentials(role_arn: str) -> Credentials | None:
    """Temporary credentials for a function's execution role, as Lambda gives its code (cached per role)."""
    return _credentials_for(role_arn, LAMBDA_SERVICE)


def state_machine_credentials(role_arn: str) -> Credentials:
    """Temporary credentials for a state machine's role, as Step Functions uses for its own calls."""
    return _credentials_for(role_arn, STATES_SERVICE)


def scheduler_credentials(role_arn: str, source_account: str, source_arn: str) -> Credentials:
    """Temporary credentials for a schedule's execution role, as Scheduler assumes it for one invocation: the trust
    policy is evaluated with the schedule's account and group ARN as ``aws:SourceAccount`` and ``aws:SourceArn``
    (RoleNotAssumableError when it does not allow that); the credentials are cached per role as the others are."""
    context = {"aws:SourceAccount": (source_account,), "aws:SourceArn": (source_arn,)}
    _check_trust(role_arn, SCHEDULER_SERVICE, context)
    return _credentials_for(role_arn, SCHEDULER_SERVICE, context)


def is_lambda_worker_key(access_key_id: str) -> bool:
    """True for a key the endpoint issued to Lambda code (what fault plans target by default)."""
    with _issue_lock:
        return any(
            service == LAMBDA_SERVICE and assumed.access_key_id == access_key_id
            for (_, service), assumed in _issued.items()
        )


def _credentials_for(role_arn: str, service: str, context: Mapping[str, tuple[str, ...]] | None = None) -> Credentials:
    with _issue_lock:
        assumed = _issued.get((role_arn, service))
        if assumed is None or _seconds_left(assumed) < RENEW_BEFORE_EXPIRY_SECONDS:
            assumed = _assume(role_arn, service, context or {})
            _issued[(role_arn, service)] = assumed
    return Credentials(assumed.access_key_id, assumed.secret_access_key, assumed.session_token)


def _seconds_left(assumed: Any) -> float:
    return assumed.expiration.timestamp() - time.time()


def _check_trust(role_arn: str, service: str, context: Mapping[str, tuple[str, ...]]) -> Any:
    """The role, if it exists and its trust policy lets ``service`` assume it in ``context``; else
    RoleNotAssumableError."""
    account_id, partition = _arn_account(role_arn), _arn_partition(role_arn)
    role = _role(account_id, partition, role_arn.rsplit("/", 1)[-1])
    if role is None:
        raise RoleNotAssumableError(f"the role {role_arn} does not exist")
    trust = _document(role.assume_role_policy_document)
    principal = _ServicePrincipal(service)
    if evaluate(trust, "sts:AssumeRole", role_arn, context, principal) is not Effect.ALLOW:
        raise RoleNotAssumableError(f"the role {role_arn} cannot be assumed by {service}")
    return role


def _assume(role_arn: str, service: str, context: Mapping[str, tuple[str, ...]]) -> Any:
    """AssumeRole in process: moto's HTTP path would run its trust check, which crashes on Service principals."""
    account_id, partition = _arn_account(role_arn), _arn_partition(role_arn)
    role = _check_trust(role_arn, service, context)
    session_name = service.split(".", 1)[0]  # Lambda names the session after the function; one per role here
    duration = max(SESSION_SECONDS, int(getattr(role, "max_session_duration", SESSION_SECONDS) or SESSION_SECONDS))
    return sts_backends[account_id][partition].assume_role(
        region_name=_partition_region(partition),
        role_session_name=session_name,
        role_arn=role_arn,
        policy=None,  # type: ignore[arg-type]  # moto's types say str; its own AssumeRole passes None when absent
        duration=duration,
        external_id=None,  # type: ignore[arg-type]
    )


def _arn_account(arn: str) -> str:
    return arn.split(":")[4]


def _arn_partition(arn: str) -> str:
    return arn.split(":")[1]


def _partition_region(partition: str) -> str:
    return {"aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}.get(partition, "us-east-1")


def _role(account_id: str, partition: str, role_name: str) -> Any:
    backend = iam_backends[account_id][partition]
    try:
        return backend.get_role(role_name)
    except Exception:  # moto's NoSuchEntity (IAMNotFoundException); its class moved between versions
        return None


# ----------------------------------------------------------------------------------------------------------------
# Who signed a request


def caller_of(headers: Mapping[str, str], query: Mapping[str, list[str]]) -> Caller | None:
    """The assumed-role session behind a request's key, or None: the key is not one the endpoint issued."""
    key = _access_key_id(headers, query)
    if not key.startswith(ISSUED_KEY_PREFIX):
        return None
    for account_id in list(sts_backends.keys()):
        for partition in list(sts_backends[account_id].keys()):
            assumed = sts_backends[account_id][partition].get_assumed_role_from_access_key(key)
            if assumed is not None:
                return Caller(
                    access_key_id=key,
                    account_id=account_id,
                    partition=partition,
                    role_arn=assumed.role_arn,
                    session_arn=assumed.arn,
                    session_policy=assumed.policy,
                )
    return None


def _access_key_id(headers: Mapping[str, str], query: Mapping[str, list[str]]) -> str:
    authorization = headers.get("Authorization") or headers.get("authorization") or ""
    match = re.search(r"Credential=([^/,\s]+)/", authorization)
    if match:
        return match.group(1)
    credential = (query.get("X-Amz-Credential") or [""])[0]  # a presigned URL
    return credential.split("/", 1)[0]


def _verify_signature(response: Any, request_class: type) -> None:
    """moto's SigV4 check with the issued secret: a wrong secret or token is refused as AWS refuses it."""
    if "Authorization" not in response.headers:
        return  # presigned: moto's check reads the Authorization header only
    parsed = urlparse(response.uri)
    path = response.raw_path + (f"?{parsed.query}" if parsed.query else "")
    request = request_class(
        account_id=response.current_account,
        method=response.method,
        path=path,
        data=response.data,
        body=response.raw_body,
        headers=response.headers,
        action=response._get_action(),
    )
    request.check_signature()


# ----------------------------------------------------------------------------------------------------------------
# Policies


class _ServicePrincipal:
    """A service assuming a role (trust policies name it under ``Principal.Service``)."""

    def __init__(self, service: str):
        self.service = service

    def matches(self, principal: Any, effect: str) -> bool:
        if principal == "*":
            return True
        if not isinstance(principal, dict):
            return False
        return self.service in _as_list(principal.get("Service"))


class _RolePrincipal:
    """A role session named by a resource policy: by its role ARN, its session ARN, or (for Deny) its account."""

    def __init__(self, caller: Caller):
        self.caller = caller

    def identifiers(self, effect: str) -> set[str]:
        names = {self.caller.role_arn, self.caller.session_arn, "*"}
        if effect == "Deny":  # a Deny naming the account covers every principal in it
            names |= {self.caller.account_id, f"arn:{self.caller.partition}:iam::{self.caller.account_id}:root"}
        return names

    def matches(self, principal: Any, effect: str) -> bool:
        if principal == "*":
            return True
        if not isinstance(principal, dict):
            return False
        return any(value in self.identifiers(effect) for value in _as_list(principal.get("AWS")))

    def is_account_root(self, principal: Any) -> bool:
        root = {self.caller.account_id, f"arn:{self.caller.partition}:iam::{self.caller.account_id}:root"}
        return isinstance(principal, dict) and any(value in root for value in _as_list(principal.get("AWS")))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _document(policy: Any) -> dict[str, Any]:
    """A policy document from what moto stores: a dict, JSON text, or URL-encoded JSON text."""
    if isinstance(policy, dict):
        return policy
    if isinstance(policy, bytes):
        policy = policy.decode("utf-8")
    text = policy.strip()
    if not text.startswith("{"):
        text = unquote(text)
    return json.loads(text)


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return _as_list(document.get("Statement"))


def _wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's wildcards: ``*`` any run of characters, ``?`` one; nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None


def _matches_any(patterns: Any, value: str, ignore_case: bool = False) -> bool:
    return any(_wildcard(str(pattern), value, ignore_case) for pattern in _as_list(patterns))


def _statement_applies(
    statement: Mapping[str, Any], action: str, resource: str, context: Mapping[str, tuple[str, ...]], principal: Any
) -> bool:
    if "NotAction" in statement:
        if _matches_any(statement["NotAction"], action, ignore_case=True):
            return False
    elif not _matches_any(statement.get("Action"), action, ignore_case=True):
        return False
    if "NotResource" in statement:
        if _matches_any(statement["NotResource"], resource):
            return False
    elif "Resource" in statement and not _matches_any(statement["Resource"], resource):
        return False
    if principal is not None:
        effect = statement.get("Effect", "")
        if "NotPrincipal" in statement:
            if principal.matches(statement["NotPrincipal"], effect):
                return False
        elif not principal.matches(statement.get("Principal"), effect):
            return False
    return conditions_hold(statement.get("Condition") or {}, context)


def evaluate(
    document: Mapping[str, Any],
    action: str,
    resource: str,
    context: Mapping[str, tuple[str, ...]],
    principal: Any = None,
) -> Effect:
    """One policy's verdict on one request: DENY if a Deny applies, else ALLOW if an Allow does, else NONE."""
    effect = Effect.NONE
    for statement in _statements(document):
        if not _statement_applies(statement, action, resource, context, principal):
            continue
        if statement.get("Effect") == "Deny":
            return Effect.DENY
        if statement.get("Effect") == "Allow":
            effect = Effect.ALLOW
    return effect


def _combine(effects: Iterable[Effect]) -> Effect:
    result = Effect.NONE
    for effect in effects:
        if effect is Effect.DENY:
            return Effect.DENY
        if effect is Effect.ALLOW:
            result = Effect.ALLOW
    return result


def identity_documents(caller: Caller) -> list[dict[str, Any]]:
    """The role's inline and managed policies, as IAM holds them now (a change applies at once)."""
    role = _role(caller.account_id, caller.partition, caller.role_name)
    if role is None:
        return []
    documents = [_document(text) for text in role.policies.values()]
    for policy in role.managed_policies.values():
        version = next((v for v in getattr(policy, "versions", []) if v.is_default), None)
        text = version.document if version is not None else getattr(policy, "document", None)
        if text:
            documents.append(_document(text))
    return documents


# ----------------------------------------------------------------------------------------------------------------
# Conditions

_STRING_TESTS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda value, expected: value == expected,
    "StringEqualsIgnoreCase": lambda value, expected: value.lower() == expected.lower(),
    "StringLike": lambda value, expected: _wildcard(expected, value),
    "ArnEquals": lambda value, expected: _wildcard(expected, value),
    "ArnLike": lambda value, expected: _wildcard(expected, value),
    "Bool": lambda value, expected: value.lower() == expected.lower(),
    "NumericEquals": lambda value, expected: _number(value) == _number(expected),
    "NumericLessThan": lambda value, expected: _number(value) < _number(expected),
    "NumericLessThanEquals": lambda value, expected: _number(value) <= _number(expected),
    "NumericGreaterThan": lambda value, expected: _number(value) > _number(expected),
    "NumericGreaterThanEquals": lambda value, expected: _number(value) >= _number(expected),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
}


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")  # compares false with everything: a non-number never satisfies a numeric test


def conditions_hold(conditions: Mapping[str, Mapping[str, Any]], context: Mapping[str, tuple[str, ...]]) -> bool:
    """Every operator's every key holds (AND); a key's values are alternatives (OR), as IAM evaluates them."""
    lowered = {key.lower(): values for key, values in context.items()}
    return all(
        _condition_holds(operator, key, expected, lowered.get(key.lower()))
        for operator, block in conditions.items()
        for key, expected in block.items()
    )


def _condition_holds(operator: str, key: str, expected: Any, values: tuple[str, ...] | None) -> bool:
    set_operator, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base[: -len("IfExists")] if if_exists else base
    expected_values = [str(value).lower() if isinstance(value, bool) else str(value) for value in _as_list(expected)]
    if base == "Null":  # "true": the key must be absent; "false": present
        return (values is None) == (expected_values[0].lower() == "true") if expected_values else False
    negated = base in _NEGATED
    test = _STRING_TESTS.get(_NEGATED.get(base, base))
    if test is None or set_operator not in ("", "ForAnyValue", "ForAllValues"):
        return False  # an operator this endpoint does not know never matches: fail closed for Allow

    def holds(value: str) -> bool:
        matched = any(test(value, wanted) for wanted in expected_values)
        return not matched if negated else matched

    if not values:
        if if_exists or set_operator == "ForAllValues":
            return True
        return negated and set_operator == ""  # "the right key is not present: the condition is true"
    if set_operator == "ForAllValues":
        return all(holds(value) for value in values)
    return any(holds(value) for value in values)


def base_context(caller: Caller, region: str) -> dict[str, tuple[str, ...]]:
    return {
        "aws:SecureTransport": ("true",),  # loopback HTTP stands in for AWS's TLS front door (moto_gaps gap 4)
        "aws:PrincipalArn": (caller.role_arn,),
        "aws:PrincipalAccount": (caller.account_id,),
        "aws:PrincipalType": ("AssumedRole",),
        "aws:RequestedRegion": (region,),
    }


# ----------------------------------------------------------------------------------------------------------------
# Decisions


def decide(caller: Caller, need: Need) -> str | None:
    """None if ``caller`` may do ``need``; otherwise AWS's sentence saying why not."""
    identity = _combine([evaluate(doc, need.action, need.resource, need.context) for doc in identity_documents(caller)])
    session = (
        evaluate(_document(caller.session_policy), need.action, need.resource, need.context)
        if caller.session_policy
        else Effect.ALLOW
    )
    principal = _RolePrincipal(caller)
    resource = (
        evaluate(_document(need.resource_policy), need.action, need.resource, need.context, principal)
        if need.resource_policy
        else Effect.NONE
    )
    prefix = f'User: {caller.session_arn} is not authorized to perform: {need.action} on resource: "{need.resource}"'
    if identity is Effect.DENY or session is Effect.DENY:
        return f"{prefix} with an explicit deny in an identity-based policy"
    if resource is Effect.DENY:
        return f"{prefix} with an explicit deny in a resource-based policy"
    identity_allows = identity is Effect.ALLOW and session is Effect.ALLOW
    if need.kind == "kms":
        if resource is Effect.ALLOW or (identity_allows and _key_policy_enables_iam(need, principal)):
            return None
        if identity_allows:
            return f"{prefix} because no resource-based policy allows the {need.action} action"
        return f"{prefix} because no identity-based policy allows the {need.action} action"
    if identity_allows or resource is Effect.ALLOW:
        return None
    return f"{prefix} because no identity-based policy allows the {need.action} action"


def _key_policy_enables_iam(need: Need, principal: _RolePrincipal) -> bool:
    """A key policy statement allowing the account's root the action lets IAM policies grant it (AWS KMS)."""
    if not need.resource_policy:
        return False
    for statement in _statements(_document(need.resource_policy)):
        if statement.get("Effect") != "Allow" or not principal.is_account_root(statement.get("Principal")):
            continue
        if (
            _matches_any(statement.get("Action"), need.action, ignore_case=True)
            and _matches_any(statement.get("Resource", "*"), need.resource)
            and conditions_hold(statement.get("Condition") or {}, need.context)
        ):
            return True
    return False


# ----------------------------------------------------------------------------------------------------------------
# S3


def _lower_headers(headers: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(key).lower(): value.decode() if isinstance(value, bytes) else str(value) for key, value in headers.items()
    }


def _object_arn(partition: str, bucket: str, key: str) -> str:
    return f"arn:{partition}:s3:::{bucket}/{key}"


def _bucket_arn(partition: str, bucket: str) -> str:
    return f"arn:{partition}:s3:::{bucket}"


def _bucket_policy(backend: Any, bucket: str) -> str | None:
    try:
        policy = backend.get_bucket(bucket).policy
    except Exception:  # no such bucket: moto answers NoSuchBucket itself after authorisation
        return None
    return policy.decode("utf-8") if isinstance(policy, bytes) else policy


def parse_copy_source(header: str) -> tuple[str, str, str | None]:
    """(bucket, key, version id) of an ``x-amz-copy-source`` header (URL-encoded, leading slash optional)."""
    parsed = urlparse(header)
    bucket, _, key = unquote(parsed.path).lstrip("/").partition("/")
    return bucket, key, parse_qs(parsed.query).get("versionId", [None])[0]


def _s3_request_context(
    caller: Caller, region: str, query: Mapping[str, list[str]], headers: Mapping[str, str]
) -> dict[str, tuple[str, ...]]:
    context = base_context(caller, region)
    for name in ("prefix", "delimiter", "max-keys"):
        if name in query:
            context[f"s3:{name}"] = tuple(query[name])
    for name in (
        "x-amz-server-side-encryption",
        "x-amz-server-side-encryption-aws-kms-key-id",
        "x-amz-acl",
        "x-amz-copy-source",
        "x-amz-metadata-directive",
        "x-amz-storage-class",
    ):
        if name in headers:
            context[f"s3:{name}"] = (headers[name],)
    return context


def _versioned(action: str, version_id: str | None) -> str:
    return VERSIONED_ACTIONS.get(action, action) if version_id else action


def s3_needs(
    operation: str,
    caller: Caller,
    backend: Any,
    region: str,
    bucket: str | None,
    key: str | None,
    query: Mapping[str, list[str]],
    headers: Mapping[str, str],
) -> list[Need]:
    """Every permission an S3 request needs, per AWS's mapping (module docstring, rule 3)."""
    partition = caller.partition
    context = _s3_request_context(caller, region, query, headers)
    if not bucket:
        return [Need("s3:ListAllMyBuckets", "*", context=context)]
    policy = _bucket_policy(backend, bucket)
    version_id = query["versionId"][0] if query.get("versionId") else None
    if operation == "DeleteObjects":
        return []  # authorised per key (rule 4)
    if operation in ("CopyObject", "UploadPartCopy"):
        return _copy_needs(operation, caller, backend, bucket, key or "", headers, context, policy)
    action = S3_OPERATION_ACTIONS.get(operation, f"s3:{operation}")
    if key:
        resource = _object_arn(partition, bucket, key)
        needs = [Need(_versioned(action, version_id), resource, policy, context)]
        if operation == "GetObjectAttributes":
            needs.append(Need(_versioned("s3:GetObject", version_id), resource, policy, context))
        if operation == "PutObject" and headers.get("x-amz-tagging"):
            needs.append(Need("s3:PutObjectTagging", resource, policy, context))
        if operation == "DeleteObject" and _header(headers, "If-Match"):
            # S3 User Guide, conditional deletes: "you must have the s3:DeleteObject and s3:GetObject permissions".
            needs.append(Need(_versioned("s3:GetObject", version_id), resource, policy, context))
        return needs + _kms_needs_of_object(operation, caller, backend, bucket, key, version_id, headers, region)
    return [Need(action, _bucket_arn(partition, bucket), policy, context)]


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A request header by name, whatever its case."""
    return next((value for key, value in headers.items() if key.lower() == name.lower()), None)


def _copy_needs(
    operation: str,
    caller: Caller,
    backend: Any,
    bucket: str,
    key: str,
    headers: Mapping[str, str],
    context: Mapping[str, tuple[str, ...]],
    policy: str | None,
) -> list[Need]:
    partition = caller.partition
    source_bucket, source_key, source_version = parse_copy_source(headers.get("x-amz-copy-source", ""))
    source_arn = _object_arn(partition, source_bucket, source_key)
    destination_arn = _object_arn(partition, bucket, key)
    source_policy = _bucket_policy(backend, source_bucket)
    needs = [
        Need(_versioned("s3:GetObject", source_version), source_arn, source_policy, context),
        Need("s3:PutObject", destination_arn, policy, context),
    ]
    if operation == "CopyObject":
        directive = headers.get("x-amz-tagging-directive", "COPY").upper()
        if directive == "COPY" and _has_tags(backend, source_bucket, source_key, source_version):
            needs.append(Need(_versioned("s3:GetObjectTagging", source_version), source_arn, source_policy, context))
            needs.append(Need("s3:PutObjectTagging", destination_arn, policy, context))
        elif directive == "REPLACE" and headers.get("x-amz-tagging"):
            needs.append(Need("s3:PutObjectTagging", destination_arn, policy, context))
    region = context["aws:RequestedRegion"][0]
    source = _fake_key(backend, source_bucket, source_key, source_version)
    if source is not None:
        needs += _kms_need(caller, "kms:Decrypt", _object_kms_key(source), region)
    if operation == "CopyObject":
        needs += _kms_need(caller, "kms:GenerateDataKey", _write_kms_key(backend, bucket, headers), region)
    return needs


def _fake_key(backend: Any, bucket: str, key: str, version_id: str | None) -> Any:
    try:
        return backend.get_object(bucket, key, version_id=version_id)
    except Exception:  # missing source or bucket: moto answers NoSuchKey/NoSuchBucket after authorisation
        return None


def _has_tags(backend: Any, bucket: str, key: str, version_id: str | None) -> bool:
    source = _fake_key(backend, bucket, key, version_id)
    return source is not None and bool(backend.get_object_tagging(source).get("Tags"))


# ----------------------------------------------------------------------------------------------------------------
# SSE-KMS through S3 (rule 9)


def _kms_needs_of_object(
    operation: str,
    caller: Caller,
    backend: Any,
    bucket: str,
    key: str,
    version_id: str | None,
    headers: Mapping[str, str],
    region: str,
) -> list[Need]:
    needs: list[Need] = []
    if operation in KMS_READ_OPERATIONS:
        stored = _fake_key(backend, bucket, key, version_id)
        if stored is not None:
            needs += _kms_need(caller, "kms:Decrypt", _object_kms_key(stored), region)
    if operation in KMS_WRITE_OPERATIONS:
        key_id = _write_kms_key(backend, bucket, headers)
        needs += _kms_need(caller, "kms:GenerateDataKey", key_id, region)
        if operation == "CreateMultipartUpload":
            needs += _kms_need(caller, "kms:Decrypt", key_id, region)
    return needs


def _object_kms_key(stored: Any) -> str | None:
    return stored.kms_key_id if getattr(stored, "encryption", None) == "aws:kms" else None


def _write_kms_key(backend: Any, bucket: str, headers: Mapping[str, str]) -> str | None:
    """The KMS key a write encrypts under: the request's, else the bucket's default encryption's."""
    if headers.get("x-amz-server-side-encryption") == "aws:kms":
        return headers.get("x-amz-server-side-encryption-aws-kms-key-id") or None
    if headers.get("x-amz-server-side-encryption"):
        return None  # AES256 asked for explicitly
    try:
        encryption = backend.get_bucket(bucket).encryption or {}
    except Exception:
        return None
    rules = _as_list(encryption.get("Rule"))
    for rule in rules:
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        if default.get("SSEAlgorithm") == "aws:kms":
            return default.get("KMSMasterKeyID") or None
    return None


def _kms_need(caller: Caller, action: str, key_id: str | None, region: str) -> list[Need]:
    """The KMS permission S3 asks for on the caller's behalf, for a customer-managed key; none otherwise."""
    if not key_id:
        return []  # the AWS managed key aws/s3, whose policy allows every principal of the account via S3
    key = _kms_key(caller, key_id, region)
    if key is None or key.key_manager != "CUSTOMER":
        return []
    context = base_context(caller, region) | _kms_context(caller, key)
    context["kms:ViaService"] = (f"s3.{key.region}.amazonaws.com",)
    return [Need(action, key.arn, key.policy, context, kind="kms")]


def _kms_key(caller: Caller, key_id: str, region: str) -> Any:
    from moto.kms.models import kms_backends

    key_region = key_id.split(":")[3] if key_id.startswith("arn:") else region
    backend = kms_backends[caller.account_id][key_region]
    try:
        return backend.describe_key(key_id)
    except Exception:  # unknown key: S3 (moto) answers for it
        return None


def _kms_context(caller: Caller, key: Any) -> dict[str, tuple[str, ...]]:
    return {
        "kms:CallerAccount": (caller.account_id,),
        "kms:ResourceAliases": tuple(sorted(key.aliases)) if getattr(key, "aliases", None) else (),
    }


# ----------------------------------------------------------------------------------------------------------------
# Hooks into moto


def _s3_query(response: Any) -> dict[str, list[str]]:
    query = getattr(response, "querystring", None) or {}
    return {name: list(values) if isinstance(values, list) else [values] for name, values in query.items()}


def authorize_s3(response: S3Response, bucket_name: str | None = None, key_name: str | None = None) -> None:
    """Replaces ``_authenticate_and_authorize_s3_action``: raise AccessDenied unless the caller may."""
    query = _s3_query(response)
    caller = caller_of(response.headers, query)
    if caller is None:
        return
    _verify_signature(response, S3IAMRequest)
    headers = _lower_headers(response.headers)
    path = f"/{bucket_name}/{key_name}" if bucket_name and key_name else f"/{bucket_name or ''}"
    operation = s3_operation(response.method, path, query, headers)
    for need in s3_needs(operation, caller, response.backend, response.region, bucket_name, key_name, query, headers):
        reason = decide(caller, need)
        if reason is not None:
            raise AccessDenied(reason)


_request = threading.local()
"""The S3 request this server thread is answering (``response``) and whether it is in DeleteObjects' per-key
loop (``deleting``): moto asks ``FakeBucket.get_permission`` without saying who is asking."""
OBJECT_METHOD_ACTIONS = {
    "GET": "s3:GetObject",
    "HEAD": "s3:GetObject",
    "PUT": "s3:PutObject",
    "DELETE": "s3:DeleteObject",
}
"""moto's bucket-policy pre-check names its action ``s3:<Method>Object`` (``s3:HeadObject``); AWS's names."""


class _AdministratorPrincipal:
    """The holder of a key the endpoint did not issue: some administrator of the account, name unknown. A bucket
    policy statement applies to it when it names everyone (``*``) or, for a Deny, the account."""

    def __init__(self, account_id: str, partition: str):
        self.names = {"*", account_id, f"arn:{partition}:iam::{account_id}:root"}

    def matches(self, principal: Any, effect: str) -> bool:
        if principal == "*":
            return True
        if not isinstance(principal, dict):
            return False
        names = self.names if effect == "Deny" else {"*"}
        return any(value in names for value in _as_list(principal.get("AWS")))


def _bucket_permission(bucket: FakeBucket, action: str, resource: str, response: Any) -> PermissionResult:
    """What moto's bucket-policy checks should answer for the request being served (rules 4 and 5)."""
    caller = caller_of(response.headers, _s3_query(response))
    policy = bucket.policy.decode("utf-8") if isinstance(bucket.policy, bytes) else bucket.policy
    if caller is None:  # an administrator: only a Deny that names it (or everyone) stops it
        account_id = getattr(response, "current_account", None) or bucket.account_id
        principal = _AdministratorPrincipal(account_id, bucket.partition)
        context = {"aws:SecureTransport": ("true",), "aws:PrincipalAccount": (account_id,)}
        if policy and evaluate(_document(policy), action, resource, context, principal) is Effect.DENY:
            return PermissionResult.DENIED
        return PermissionResult.NEUTRAL
    if not getattr(_request, "deleting", False):
        return PermissionResult.NEUTRAL  # the caller's request is authorised in full by authorize_s3
    request_context = base_context(caller, response.region)
    needs = [Need(action, resource, policy, request_context)]
    if action == "s3:DeleteObject" and resource in getattr(_request, "conditional", frozenset()):
        needs.append(Need("s3:GetObject", resource, policy, request_context))  # a delete on its ETag (rule 4)
    denied = any(decide(caller, need) is not None for need in needs)
    return PermissionResult.DENIED if denied else PermissionResult.PERMITTED


def conditional_resources(bucket: str, body: Any) -> frozenset[str]:
    """The objects of a DeleteObjects body deleted on the condition of an ``<ETag>``, as moto names them when it
    asks for each key's permission (``arn:aws:s3:::<bucket>/<key>``); a body that does not parse has none (moto and
    ``s3_rules`` refuse it)."""
    try:
        root = ElementTree.fromstring(body)
    except (ElementTree.ParseError, TypeError):
        return frozenset()
    found = set()
    for element in root:
        if element.tag.rsplit("}", 1)[-1] != "Object":
            continue
        fields = {child.tag.rsplit("}", 1)[-1]: child.text or "" for child in element}
        if "ETag" in fields and "Key" in fields:
            found.add(f"arn:aws:s3:::{bucket}/{fields['Key']}")
    return frozenset(found)


def _patch_bucket_permissions() -> None:
    """moto consults the bucket policy alone, ignoring its Principal, before every object request and per key of
    DeleteObjects; answer those for the request's real principal instead."""
    original_setup, original_delete_keys = S3Response.setup_class, S3Response._bucket_response_delete_keys
    original_permission = FakeBucket.get_permission

    def setup_class(self: S3Response, *args: Any, **kwargs: Any) -> None:
        original_setup(self, *args, **kwargs)
        _request.response = self

    def delete_keys(self: S3Response, bucket_name: str, authenticated: bool = True) -> Any:
        _request.deleting = True
        _request.conditional = conditional_resources(bucket_name, self.body)
        try:
            return original_delete_keys(self, bucket_name, authenticated)
        finally:
            _request.deleting = False
            _request.conditional = frozenset()

    def get_permission(self: FakeBucket, action: str, resource: str) -> PermissionResult:
        response = getattr(_request, "response", None)
        if response is None:
            return original_permission(self, action, resource)
        action = OBJECT_METHOD_ACTIONS.get(response.method, action) if action.endswith("Object") else action
        return _bucket_permission(self, action, resource, response)

    S3Response.setup_class = setup_class  # type: ignore[method-assign]
    S3Response._bucket_response_delete_keys = delete_keys  # type: ignore[method-assign]
    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


def _credential_scope(headers: Mapping[str, str]) -> tuple[str, str]:
    """(region, service) of a SigV4 Authorization header."""
    authorization = headers.get("Authorization") or headers.get("authorization") or ""
    match = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request", authorization)
    return (match.group(1), match.group(2)) if match else ("", "")


def _json_body(response: Any) -> dict[str, Any]:
    try:
        body = json.loads(response.body or "{}")
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def service_need(response: Any, caller: Caller) -> Need | None:
    """The permission a non-S3 request needs; None for calls anyone may make (sts:GetCallerIdentity)."""
    region, service = _credential_scope(response.headers)
    operation = response._get_action() or ""
    context = base_context(caller, region)
    if service == "sts" and operation == "GetCallerIdentity":
        return None  # "No permissions are required to perform this operation" (STS API reference)
    if service == "lambda":
        return _lambda_need(response, caller, region, operation, context)
    if service == "states":
        body = _json_body(response)
        resource = next((body[field] for field in STATES_RESOURCE_FIELDS if isinstance(body.get(field), str)), "*")
        return Need(f"states:{operation}", resource, context=context)
    if service == "kms":
        return _kms_api_need(response, caller, region, operation, context)
    if service == "sts" and operation == "AssumeRole":
        role_arn = (response.querystring.get("RoleArn") or [""])[0]
        return Need("sts:AssumeRole", role_arn, _trust_policy(role_arn), context)
    return Need(f"{service}:{operation}", "*", context=context)


def _lambda_need(
    response: Any, caller: Caller, region: str, operation: str, context: Mapping[str, tuple[str, ...]]
) -> Need:
    action = LAMBDA_OPERATION_ACTIONS.get(operation, f"lambda:{operation}")
    match = _LAMBDA_FUNCTION_PATH.search(unquote(response.path))
    if not match:
        return Need(action, "*", context=context)
    name = match.group(1)
    if name.startswith("arn:"):
        resource = name
    else:
        parts = name.split(":")  # name, name:qualifier, account:function:name[:qualifier]
        if len(parts) >= 3 and parts[1] == "function":
            resource = f"arn:{caller.partition}:lambda:{region}:{':'.join(parts)}"
        else:
            resource = f"arn:{caller.partition}:lambda:{region}:{caller.account_id}:function:{name}"
    qualifier = (response.querystring.get("Qualifier") or [None])[0]
    if qualifier and resource.count(":") == 6:
        resource = f"{resource}:{qualifier}"
    return Need(action, resource, context=context)


def _kms_api_need(
    response: Any, caller: Caller, region: str, operation: str, context: Mapping[str, tuple[str, ...]]
) -> Need:
    body = _json_body(response)
    key_id = next((body[field] for field in KMS_KEY_FIELDS if isinstance(body.get(field), str)), None)
    key = _kms_key(caller, key_id, region) if key_id else None
    if key is None:
        return Need(f"kms:{operation}", "*", context=context)
    return Need(f"kms:{operation}", key.arn, key.policy, {**context, **_kms_context(caller, key)}, kind="kms")


def _trust_policy(role_arn: str) -> str | None:
    if not role_arn.startswith("arn:"):
        return None
    role = _role(_arn_account(role_arn), _arn_partition(role_arn), role_arn.rsplit("/", 1)[-1])
    if role is None:
        return None
    document = role.assume_role_policy_document
    return document if isinstance(document, str) else json.dumps(document)


def _denied_error(service: str, message: str) -> JsonRESTError:
    error = JsonRESTError("AccessDeniedException", message)
    error.code = LAMBDA_DENIED_STATUS if service == "lambda" else JSON_DENIED_STATUS
    return error


def authorize_service(response: Any, resource: str = "*") -> None:
    """Replaces ``_authenticate_and_authorize_normal_action`` for every service but S3."""
    caller = caller_of(response.headers, _s3_query(response))
    if caller is None:
        return
    _, service = _credential_scope(response.headers)
    _verify_signature(response, MotoIAMRequest)
    need = service_need(response, caller)
    if need is None:
        return
    reason = decide(caller, need)  # AssumeRole: the trust policy is the resource policy (same account)
    if reason is not None:
        if service in ("sts", "iam"):
            from moto.core.exceptions import AccessDeniedError

            raise AccessDeniedError(user_arn=caller.session_arn, action=need.action)
        raise _denied_error(service, reason)


def _client_factory(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto's ASL client factory, signing with the state machine role's credentials (rule 8)."""

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        role_arn = getattr(state_credentials, "role_arn", None)
        client = original(region=region, service=service, state_credentials=state_credentials)
        if not role_arn:
            return client
        credentials = state_machine_credentials(role_arn)
        return boto3.client(
            service_name=service,
            region_name=region,
            endpoint_url=client.meta.endpoint_url,
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
            config=client.meta.config,
        )

    boto_client_for.__wrapped__ = original  # type: ignore[attr-defined]
    return boto_client_for


def _patch_step_functions_clients() -> None:
    """Every module of the ASL interpreter imported ``boto_client_for`` by name: replace it in each."""
    import importlib
    import pkgutil
    import sys

    import moto.stepfunctions.parser.asl as asl
    from moto.stepfunctions.parser.asl.utils import boto_client

    original = boto_client.boto_client_for
    if hasattr(original, "__wrapped__"):
        return
    for module_info in pkgutil.walk_packages(asl.__path__, prefix=f"{asl.__name__}."):
        try:
            importlib.import_module(module_info.name)
        except Exception:  # an optional integration's import (e.g. a missing extra) is not ours to fix
            continue
    patched = _client_factory(original)
    for module in list(sys.modules.values()):
        if module is not None and getattr(module, "boto_client_for", None) is original:
            module.boto_client_for = patched  # type: ignore[attr-defined]


def install() -> None:
    """Turn enforcement on in this (the endpoint's) process: rules 1 to 9 of the module docstring."""
    # assignment: mypy checks a function set on a class against the method as if bound twice ("self, self").
    ActionAuthenticatorMixin._authenticate_and_authorize_s3_action = authorize_s3  # type: ignore[method-assign,assignment]
    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = authorize_service  # type: ignore[method-assign,assignment]
    _patch_bucket_permissions()
    _patch_step_functions_clients()
