"""IAM on the embedded endpoint (``local_endpoint/iam_enforcement.py``): credentials the endpoint issued are
authorised as AWS authorises them; every other key is the account's administrator.

One endpoint for the module, started as its own process exactly as ``fab server`` runs it. Each test makes a role
with a policy (with the administrator's ``testing`` keys), takes credentials for it with STS AssumeRole, as the
Lambda runtime does in process, and asserts what S3, Lambda, Step Functions and KMS answered.
"""

import io
import json
import textwrap
import urllib.request
import uuid
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.e2e.conftest import wait_for_execution

from .conftest import NO_RETRIES, REGION

ACCOUNT = "123456789012"
EXECUTION_TIMEOUT_SECONDS = 60
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
STATES_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@pytest.fixture
def bucket(admin):
    """A fresh bucket holding ``plain`` (untagged) and ``tagged`` (one tag)."""
    name = f"iam-{uuid.uuid4().hex[:10]}"
    s3 = admin("s3")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="plain", Body=b"plain")
    s3.put_object(Bucket=name, Key="tagged", Body=b"tagged", Tagging="team=sync")
    return name


def make_role(admin, statements, trust=LAMBDA_TRUST, managed=()):
    """A role whose inline policy is ``statements`` (and whose managed policies are ``managed``): its ARN."""
    iam = admin("iam")
    name = f"role-{uuid.uuid4().hex[:10]}"
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if statements:
        iam.put_role_policy(
            RoleName=name,
            PolicyName="inline",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )
    for document in managed:
        policy_arn = iam.create_policy(
            PolicyName=f"managed-{uuid.uuid4().hex[:8]}", PolicyDocument=json.dumps(document)
        )["Policy"]["Arn"]
        iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    return arn


@pytest.fixture
def as_role(admin, endpoint_url):
    """``as_role(statements)`` -> a client factory signed with temporary credentials of a new role."""

    def make(statements, **role_options):
        arn = make_role(admin, statements, **role_options)
        credentials = admin("sts").assume_role(RoleArn=arn, RoleSessionName="test")["Credentials"]

        def client(service):
            return boto3.client(
                service,
                endpoint_url=endpoint_url,
                region_name=REGION,
                config=NO_RETRIES,
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
            )

        client.role_arn = arn
        return client

    return make


def allow(actions, *resources):
    return {"Effect": "Allow", "Action": actions, "Resource": list(resources)}


def objects(bucket):
    return f"arn:aws:s3:::{bucket}/*"


def bucket_arn(bucket):
    return f"arn:aws:s3:::{bucket}"


def error_code(call):
    """The error code the call was answered with, or None when it succeeded."""
    try:
        call()
    except ClientError as error:
        return error.response["Error"]["Code"]
    return None


# --- who is authorised ------------------------------------------------------------------------------------------


def test_get_object_is_denied_to_a_role_that_may_only_list_the_bucket(as_role, bucket):
    role = as_role([allow("s3:ListBucket", bucket_arn(bucket))])
    s3 = role("s3")

    assert [item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["plain", "tagged"]
    with pytest.raises(ClientError) as denied:
        s3.get_object(Bucket=bucket, Key="plain")
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role.role_arn.rsplit('/', 1)[1]}/test"
    assert denied.value.response["Error"]["Message"] == (
        f'User: {session} is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::{bucket}/plain" '
        "because no identity-based policy allows the s3:GetObject action"
    )


def test_the_documented_testing_keys_act_as_the_accounts_administrator(admin, bucket):
    s3 = admin("s3")
    assert s3.get_object(Bucket=bucket, Key="plain")["Body"].read() == b"plain"
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/someone-else"},
                        "Action": "s3:*",
                        "Resource": [bucket_arn(bucket), objects(bucket)],
                    }
                ],
            }
        ),
    )
    assert s3.get_object(Bucket=bucket, Key="plain")["Body"].read() == b"plain"


def test_a_wrong_secret_for_an_issued_key_is_refused(admin, endpoint_url, bucket):
    arn = make_role(admin, [allow("s3:ListBucket", bucket_arn(bucket))])
    credentials = admin("sts").assume_role(RoleArn=arn, RoleSessionName="test")["Credentials"]
    forged = boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=REGION,
        config=NO_RETRIES,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key="not-the-secret",
        aws_session_token=credentials["SessionToken"],
    )

    assert error_code(lambda: forged.list_objects_v2(Bucket=bucket)) == "SignatureDoesNotMatch"


def test_managed_policies_count_like_inline_ones(as_role, bucket):
    s3 = as_role([], managed=[{"Version": "2012-10-17", "Statement": [allow("s3:GetObject", objects(bucket))]}])("s3")

    assert s3.get_object(Bucket=bucket, Key="plain")["Body"].read() == b"plain"
    assert error_code(lambda: s3.list_objects_v2(Bucket=bucket)) == "AccessDenied"


# --- AWS's action mapping ---------------------------------------------------------------------------------------


def _multipart(s3, bucket, key="upload"):
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"part")["ETag"]
    s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]}
    )


MAPPING = [
    ("HeadObject", "s3:GetObject", "object", lambda s3, b: s3.head_object(Bucket=b, Key="plain")),
    ("GetObject", "s3:GetObject", "object", lambda s3, b: s3.get_object(Bucket=b, Key="plain")),
    ("ListObjectsV2", "s3:ListBucket", "bucket", lambda s3, b: s3.list_objects_v2(Bucket=b)),
    ("HeadBucket", "s3:ListBucket", "bucket", lambda s3, b: s3.head_bucket(Bucket=b)),
    ("GetObjectTagging", "s3:GetObjectTagging", "object", lambda s3, b: s3.get_object_tagging(Bucket=b, Key="tagged")),
    (
        "ListMultipartUploads",
        "s3:ListBucketMultipartUploads",
        "bucket",
        lambda s3, b: s3.list_multipart_uploads(Bucket=b),
    ),
    ("MultipartUpload", "s3:PutObject", "object", _multipart),
    ("PutObject", "s3:PutObject", "object", lambda s3, b: s3.put_object(Bucket=b, Key="new", Body=b"new")),
    ("DeleteObject", "s3:DeleteObject", "object", lambda s3, b: s3.delete_object(Bucket=b, Key="plain")),
]


@pytest.mark.parametrize("operation, action, resource, call", MAPPING, ids=[row[0] for row in MAPPING])
def test_each_s3_operation_needs_exactly_the_action_aws_names(as_role, bucket, operation, action, resource, call):
    arn = objects(bucket) if resource == "object" else bucket_arn(bucket)
    everything_else = [a for a in {row[1] for row in MAPPING} | {"s3:AbortMultipartUpload"} if a != action]
    without = as_role([allow(everything_else, bucket_arn(bucket), objects(bucket))])("s3")
    with_it = as_role([allow(action, arn)])("s3")

    assert error_code(lambda: call(without, bucket)) in ("AccessDenied", "403")  # HEAD errors have no body
    assert error_code(lambda: call(with_it, bucket)) is None


def test_abort_multipart_upload_needs_its_own_action_not_put_object(as_role, admin, bucket):
    upload = admin("s3").create_multipart_upload(Bucket=bucket, Key="upload")["UploadId"]
    writer = as_role([allow("s3:PutObject", objects(bucket))])("s3")
    aborter = as_role([allow("s3:AbortMultipartUpload", objects(bucket))])("s3")

    assert (
        error_code(lambda: writer.abort_multipart_upload(Bucket=bucket, Key="upload", UploadId=upload))
        == "AccessDenied"
    )
    assert error_code(lambda: aborter.abort_multipart_upload(Bucket=bucket, Key="upload", UploadId=upload)) is None


COPY_CASES = [
    ("untagged-source-with-read-and-write", "plain", ["s3:GetObject", "s3:PutObject"], None),
    ("no-source-read", "plain", ["s3:PutObject"], "AccessDenied"),
    ("no-destination-write", "plain", ["s3:GetObject"], "AccessDenied"),
    (
        "tagged-source-without-get-tagging",
        "tagged",
        ["s3:GetObject", "s3:PutObject", "s3:PutObjectTagging"],
        "AccessDenied",
    ),
    (
        "tagged-source-without-put-tagging",
        "tagged",
        ["s3:GetObject", "s3:PutObject", "s3:GetObjectTagging"],
        "AccessDenied",
    ),
    (
        "tagged-source-with-both-tagging-actions",
        "tagged",
        ["s3:GetObject", "s3:PutObject", "s3:GetObjectTagging", "s3:PutObjectTagging"],
        None,
    ),
]


@pytest.mark.parametrize(
    "source_key, actions, expected", [case[1:] for case in COPY_CASES], ids=[case[0] for case in COPY_CASES]
)
def test_copy_object_needs_source_read_destination_write_and_tagging_when_tags_are_copied(
    as_role, admin, bucket, source_key, actions, expected
):
    destination = f"iam-dst-{uuid.uuid4().hex[:8]}"
    admin("s3").create_bucket(Bucket=destination)
    statements = [
        allow([a for a in actions if a in ("s3:GetObject", "s3:GetObjectTagging")] or "s3:None", objects(bucket)),
        allow([a for a in actions if a in ("s3:PutObject", "s3:PutObjectTagging")] or "s3:None", objects(destination)),
    ]
    s3 = as_role(statements)("s3")

    assert (
        error_code(
            lambda: s3.copy_object(Bucket=destination, Key="copy", CopySource={"Bucket": bucket, "Key": source_key})
        )
        == expected
    )
    copied = admin("s3").list_objects_v2(Bucket=destination).get("KeyCount", 0)
    assert copied == (1 if expected is None else 0)


def test_upload_part_copy_needs_source_read_and_destination_write(as_role, admin, bucket):
    reader_only = as_role([allow(["s3:GetObject", "s3:PutObject"], objects(bucket))])("s3")
    upload = reader_only.create_multipart_upload(Bucket=bucket, Key="assembled")["UploadId"]
    no_read = as_role([allow("s3:PutObject", objects(bucket))])("s3")

    assert (
        error_code(
            lambda: no_read.upload_part_copy(
                Bucket=bucket,
                Key="assembled",
                UploadId=upload,
                PartNumber=1,
                CopySource={"Bucket": bucket, "Key": "plain"},
            )
        )
        == "AccessDenied"
    )
    assert (
        error_code(
            lambda: reader_only.upload_part_copy(
                Bucket=bucket,
                Key="assembled",
                UploadId=upload,
                PartNumber=1,
                CopySource={"Bucket": bucket, "Key": "plain"},
            )
        )
        is None
    )


def test_delete_objects_answers_a_denied_key_with_its_own_access_denied_and_deletes_the_others(as_role, admin, bucket):
    s3 = as_role(
        [
            allow("s3:DeleteObject", objects(bucket)),
            {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": f"{objects(bucket)[:-1]}tagged"},
        ]
    )("s3")

    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "plain"}, {"Key": "tagged"}]})

    assert [item["Key"] for item in answer.get("Deleted", [])] == ["plain"]
    assert [(item["Key"], item["Code"]) for item in answer["Errors"]] == [("tagged", "AccessDenied")]
    assert [item["Key"] for item in admin("s3").list_objects_v2(Bucket=bucket)["Contents"]] == ["tagged"]


def test_a_delete_objects_key_with_an_etag_needs_get_object_too(as_role, admin, bucket):
    etags = {key: admin("s3").head_object(Bucket=bucket, Key=key)["ETag"] for key in ("plain", "tagged")}
    delete_only = as_role([allow("s3:DeleteObject", objects(bucket))])("s3")
    conditional = [{"Key": key, "ETag": etag} for key, etag in etags.items()]

    refused = delete_only.delete_objects(Bucket=bucket, Delete={"Objects": conditional})
    assert [(item["Key"], item["Code"]) for item in refused["Errors"]] == [
        ("plain", "AccessDenied"),
        ("tagged", "AccessDenied"),
    ]
    # Without a condition, DeleteObject alone deletes; with GetObject too, the conditional delete does.
    assert delete_only.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "plain"}]}).get("Errors", []) == []
    both = as_role([allow(["s3:DeleteObject", "s3:GetObject"], objects(bucket))])("s3")
    answer = both.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "tagged", "ETag": etags["tagged"]}]})
    assert answer.get("Errors", []) == [] and "Contents" not in admin("s3").list_objects_v2(Bucket=bucket)


# --- bucket policies and conditions -----------------------------------------------------------------------------


def _bucket_policy(admin, bucket, *statements):
    admin("s3").put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    )


def test_a_bucket_policy_deny_wins_over_the_roles_allow(as_role, admin, bucket):
    role = as_role([allow("s3:GetObject", objects(bucket))])
    _bucket_policy(
        admin,
        bucket,
        {"Effect": "Deny", "Principal": {"AWS": role.role_arn}, "Action": "s3:GetObject", "Resource": objects(bucket)},
    )

    with pytest.raises(ClientError) as denied:
        role("s3").get_object(Bucket=bucket, Key="plain")
    assert denied.value.response["Error"]["Message"].endswith("with an explicit deny in a resource-based policy")


def test_a_bucket_policy_allow_suffices_in_the_same_account(as_role, admin, bucket):
    role = as_role([])
    _bucket_policy(
        admin,
        bucket,
        {"Effect": "Allow", "Principal": {"AWS": role.role_arn}, "Action": "s3:GetObject", "Resource": objects(bucket)},
    )

    assert role("s3").get_object(Bucket=bucket, Key="plain")["Body"].read() == b"plain"
    assert error_code(lambda: role("s3").list_objects_v2(Bucket=bucket)) == "AccessDenied"


def test_requests_count_as_secure_transport_so_the_tls_only_deny_does_not_apply(as_role, admin, bucket):
    role = as_role([allow("s3:GetObject", objects(bucket))])
    _bucket_policy(
        admin,
        bucket,
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn(bucket), objects(bucket)],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    )

    assert role("s3").get_object(Bucket=bucket, Key="plain")["Body"].read() == b"plain"


def test_string_like_conditions_are_evaluated_and_an_operator_the_endpoint_lacks_never_allows(as_role, bucket):
    scoped = as_role(
        [
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket_arn(bucket),
                "Condition": {"StringLike": {"s3:prefix": ["tag*"]}},
            }
        ]
    )("s3")
    unknown = as_role(
        [
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": objects(bucket),
                "Condition": {"DateLessThan": {"aws:CurrentTime": "2999-01-01T00:00:00Z"}},
            }
        ]
    )("s3")

    assert scoped.list_objects_v2(Bucket=bucket, Prefix="tagged")["KeyCount"] == 1
    assert error_code(lambda: scoped.list_objects_v2(Bucket=bucket, Prefix="plain")) == "AccessDenied"
    assert error_code(lambda: scoped.list_objects_v2(Bucket=bucket)) == "AccessDenied"
    assert error_code(lambda: unknown.get_object(Bucket=bucket, Key="plain")) == "AccessDenied"


# --- Lambda code and Step Functions run as their roles ----------------------------------------------------------

READER_CODE = """
import boto3
from botocore.exceptions import ClientError


def handler(event, context):
    s3 = boto3.client("s3")
    identity = boto3.client("sts").get_caller_identity()["Arn"]
    try:
        body = s3.get_object(Bucket=event["bucket"], Key="plain")["Body"].read().decode()
        return {"identity": identity, "body": body}
    except ClientError as error:
        return {"identity": identity, "error": error.response["Error"]["Code"]}
"""


def _zip(source):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("reader.py", textwrap.dedent(source))
    return buffer.getvalue()


def make_function(admin, statements):
    role_arn = make_role(admin, statements)
    name = f"reader-{uuid.uuid4().hex[:8]}"
    admin("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role_arn,
        Handler="reader.handler",
        Code={"ZipFile": _zip(READER_CODE)},
        Timeout=30,
    )
    return name, role_arn


def invoke(admin, name, event):
    answer = admin("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode())
    return json.loads(answer["Payload"].read())


def test_lambda_code_whose_role_lacks_get_object_is_denied_and_runs_as_its_role(admin, bucket):
    name, role_arn = make_function(admin, [allow("s3:ListBucket", bucket_arn(bucket))])
    allowed_name, _ = make_function(admin, [allow("s3:GetObject", objects(bucket))])

    denied = invoke(admin, name, {"bucket": bucket})
    allowed = invoke(admin, allowed_name, {"bucket": bucket})

    assert denied["error"] == "AccessDenied"
    assert denied["identity"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_arn.rsplit('/', 1)[1]}/")
    assert allowed["body"] == "plain"


def _run_machine(admin, function_name, statements):
    role_arn = make_role(admin, statements, trust=STATES_TRUST)
    function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"
    definition = {"StartAt": "Read", "States": {"Read": {"Type": "Task", "Resource": function_arn, "End": True}}}
    sfn = admin("stepfunctions")
    machine = sfn.create_state_machine(
        name=f"m-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=role_arn
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"bucket": "none"}))["executionArn"]
    return wait_for_execution(sfn, execution, EXECUTION_TIMEOUT_SECONDS)


def test_step_functions_may_invoke_only_the_functions_its_role_allows(admin):
    name, _ = make_function(admin, [])
    function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"

    refused = _run_machine(admin, name, [allow("lambda:InvokeFunction", f"{function_arn}-other")])
    allowed = _run_machine(admin, name, [allow("lambda:InvokeFunction", function_arn)])

    assert refused["status"] == "FAILED"
    assert f'is not authorized to perform: lambda:InvokeFunction on resource: "{function_arn}"' in refused["cause"]
    assert allowed["status"] == "SUCCEEDED", allowed


def test_step_functions_api_calls_of_a_role_are_authorised_on_their_resource(as_role, admin):
    role = as_role([allow("states:ListStateMachines", "*")])
    sfn = role("stepfunctions")

    assert "stateMachines" in sfn.list_state_machines()
    assert (
        error_code(lambda: sfn.list_executions(stateMachineArn=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:any"))
        == "AccessDeniedException"
    )


# --- SSE-KMS ----------------------------------------------------------------------------------------------------


@pytest.fixture
def kms_key(admin):
    return admin("kms").create_key(Description="customer managed")["KeyMetadata"]["Arn"]


def test_reading_an_object_under_a_customer_managed_key_needs_kms_decrypt(as_role, admin, bucket, kms_key):
    admin("s3").put_object(
        Bucket=bucket, Key="secret", Body=b"secret", ServerSideEncryption="aws:kms", SSEKMSKeyId=kms_key
    )
    without = as_role([allow("s3:GetObject", objects(bucket))])("s3")
    with_decrypt = as_role(
        [
            allow("s3:GetObject", objects(bucket)),
            {
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": kms_key,
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}},
            },
        ]
    )("s3")

    assert error_code(lambda: without.get_object(Bucket=bucket, Key="secret")) == "AccessDenied"
    assert with_decrypt.get_object(Bucket=bucket, Key="secret")["Body"].read() == b"secret"
    assert without.get_object(Bucket=bucket, Key="plain")["Body"].read() == b"plain"


def test_writing_into_a_bucket_whose_default_key_is_customer_managed_needs_generate_data_key(
    as_role, admin, bucket, kms_key
):
    admin("s3").put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_key}}]
        },
    )
    without = as_role([allow("s3:PutObject", objects(bucket))])("s3")
    with_key = as_role([allow("s3:PutObject", objects(bucket)), allow("kms:GenerateDataKey", kms_key)])("s3")

    assert error_code(lambda: without.put_object(Bucket=bucket, Key="new", Body=b"new")) == "AccessDenied"
    assert error_code(lambda: with_key.put_object(Bucket=bucket, Key="new", Body=b"new")) is None


def test_a_key_policy_that_does_not_enable_iam_policies_denies_despite_the_roles_allow(as_role, admin, bucket):
    role = as_role([allow("s3:GetObject", objects(bucket)), allow("kms:Decrypt", "*")])
    only_admin = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/key-admin"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    key = admin("kms").create_key(Policy=json.dumps(only_admin), BypassPolicyLockoutSafetyCheck=True)
    admin("s3").put_object(
        Bucket=bucket,
        Key="secret",
        Body=b"secret",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=key["KeyMetadata"]["Arn"],
    )

    assert error_code(lambda: role("s3").get_object(Bucket=bucket, Key="secret")) == "AccessDenied"
    assert error_code(lambda: role("kms").describe_key(KeyId=key["KeyMetadata"]["KeyId"])) == "AccessDeniedException"


# --- fault plans still target Lambda code -----------------------------------------------------------------------


def _set_faults(endpoint_url, plan):
    request = urllib.request.Request(
        f"{endpoint_url}/_endpoint/faults",
        data=json.dumps(plan).encode(),
        method="POST" if plan else "DELETE",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def test_the_default_fault_target_is_the_requests_of_lambda_code_whatever_its_role(admin, endpoint_url, bucket):
    name, _ = make_function(admin, [allow("s3:GetObject", objects(bucket))])
    _set_faults(endpoint_url, {"s3": {"rate": 1, "errors": ["InternalError"], "operations": ["GetObject"]}})
    try:
        faulted = invoke(admin, name, {"bucket": bucket})
        untouched = admin("s3").get_object(Bucket=bucket, Key="plain")["Body"].read()
    finally:
        injected = _set_faults(endpoint_url, {})["injected"]

    assert faulted["error"] == "InternalError"
    assert untouched == b"plain"
    assert injected["s3:GetObject:InternalError"] >= 1


def test_a_conditional_delete_needs_get_object_as_well_as_delete_object(as_role, admin, bucket):
    etag = admin("s3").head_object(Bucket=bucket, Key="plain")["ETag"]
    delete_only = as_role([allow("s3:DeleteObject", objects(bucket))])("s3")
    both = as_role([allow(["s3:DeleteObject", "s3:GetObject"], objects(bucket))])("s3")

    assert error_code(lambda: delete_only.delete_object(Bucket=bucket, Key="plain", IfMatch=etag)) == "AccessDenied"
    assert error_code(lambda: both.delete_object(Bucket=bucket, Key="plain", IfMatch=etag)) is None
    assert "Contents" not in admin("s3").list_objects_v2(Bucket=bucket, Prefix="plain")
