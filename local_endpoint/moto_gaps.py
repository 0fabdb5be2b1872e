"""Every gap between moto and AWS that the embedded endpoint bridges, in one place, named one by one.

The deploy toolkit talks to the endpoint exactly as it talks to AWS; whatever moto does differently is mended
here, by patching moto inside the endpoint process only, never by branching the AWS path. Written against
moto >= 5.2.5, < 5.3 (requirements-dev.txt): 5.2.1 crashes on the second execution in an account and region
(cannot pickle an RLock). Each patch touches a moto internal named below; a moto upgrade must re-check them.

Gaps bridged:
1. Lambda needs Docker to run code. ``LambdaFunction._invoke_lambda`` is replaced so the function's real handler
   runs from its uploaded zip in a separate Python process (``lambda_runtime.py``).
2. CloudFormation does not apply the SAM transform. Templates with ``Transform: AWS::Serverless-2016-10-31`` are
   translated with aws-sam-translator, offline, when moto parses them (``Stack.parse_template``,
   ``ChangeSet._parse_template``).
3. Stacks created or updated through a change set keep the outputs of the template they had before (none for a
   new stack). ``CloudFormationBackend.execute_change_set`` re-reads the template and rebuilds the outputs.
4. moto ignores ``Bool`` conditions in S3 bucket policies, so a statement denying requests where
   ``aws:SecureTransport`` is false (the deployment bucket's) denies every request. The endpoint is plain HTTP on
   loopback standing in for AWS's TLS front door, so ``FakeBucket.get_permission`` drops exactly those
   statements before moto evaluates the policy. (Gap 9 replaces this check inside the endpoint with one that
   knows who asks and evaluates the condition, counting every request as secure; this one serves the in-process
   tests.)
5. StartExecution without a name gives the execution the name "None" (AWS generates a UUID), so every unnamed
   execution of a machine shares one ARN and ``$$.Execution.Name``. ``StepFunctionsParserBackend.start_execution``
   names it with a UUID, as AWS does.
6. S3 CopyObject and UploadPartCopy ignore ``x-amz-copy-source-if-match``, so a source that changed after it
   was listed is copied anyway; AWS answers 412 PreconditionFailed. ``S3Response.copy_object`` and
   ``S3Response.upload_part_copy`` check the header first.
7. S3 HeadObject with ``partNumber`` answers with the part's own headers: the part's ETag (so ``If-Match`` with
   the object's ETag always fails), no content type, no user metadata, no tag count. AWS answers with the
   object's headers, ETag and ``If-Match`` included, and only the length, range and part count of the part.
   ``S3Response.head_object`` heads the whole object, then describes the part.
8. Step Functions only executes definitions when moto's ``execute_state_machine`` config is on, and its
   interpreter calls Lambda on ``localhost:$MOTO_PORT``: ``configure`` sets both.
9. IAM is not enforced: ``iam_enforcement.py`` (Lambda code runs with its execution role's credentials, and every
   request is authorised as AWS would).
10. Distributed Map forgives what AWS refuses: ``distributed_map.py`` (Map Run failure, output limit, ItemReader
    pagination, ResultWriter).
11. S3 details: ``s3_rules.py`` (MalformedXML, restore status, conditional writes and deletes).
12. Lambda's Invoke refuses a response when ``sys.getsizeof`` of it passes 6,000,000, which counts Python's object
    overhead and refuses payloads AWS returns (its limit is 6,291,556 bytes of payload). The runtime enforces
    the exact limit itself (``lambda_runtime.py``, ``Function.ResponseSizeTooLarge``), so
    ``moto.awslambda.responses`` gets a ``sys`` whose ``getsizeof`` leaves the decision to it.
13. StartExecution with an input that is not JSON answers 400 with an empty error code (moto's parser raises its
    own ``InvalidExecutionInput``, which sets ``code`` where moto's responses read ``TYPE``), and the JSON parser's
    message. AWS answers 400 ``InvalidExecutionInput``, "The provided JSON input data is not valid." (the Step
    Functions API reference). ``StepFunctionsParserBackend.start_execution`` checks the input first and raises
    ``moto.stepfunctions.exceptions.InvalidExecutionInput`` with that message.
14. ListObjectsV2 and ListObjects copy, sort and scan the whole bucket for every page (``S3Backend.list_objects``,
    ``S3Backend.list_objects_v2``): about 0.5 s a page at 200,000 keys, hours of moto alone for a million-object
    sync; AWS's cost is per page. ``listing_index.py`` keeps each bucket's key names sorted (maintained by the
    key store's writes, ``moto.s3.utils._VersionedKeyStore``) and answers each page from where it starts, with
    exactly moto's answer. ListObjectVersions is moto's own.
15. Even answered from the index, a ListObjectsV2 or ListObjects page of 1,000 keys costs about 0.2 s of CPU in
    moto's generic serializer (``moto.core.serialize.S3Serializer``, reached through ``BaseResponse.serialized``),
    which walks the botocore shape of every key and re-parses each LastModified with dateutil: the one-process
    endpoint serves about 5 pages a second, however many listing streams ask. ``listing_render.py`` gives
    ``S3Response`` a ``serialized`` of its own: moto still reads the request and builds the answer dict (and
    ``s3_rules`` adds RestoreStatus to it), and only for ListObjectsV2 and ListObjects is the dict-to-XML step
    done by string building, byte for byte what moto sends. Left to moto's serializer: pretty printing, a
    response transformer on these paths, any member, value type or timestamp form it does not know.
    ListObjectVersions and every other operation are never touched. Install refuses a moto whose output shapes
    order the members otherwise.
16. EventBridge Scheduler stores schedules and never runs them, and takes requests AWS refuses (no check of names,
    expressions, role ARNs or states; UpdateSchedule without State leaves it None; CreateScheduleGroup of a name in
    use replaces the group, schedules and all): ``scheduler_bridge.py`` checks the requests as the Scheduler API
    reference does (``EventBridgeSchedulerBackend.create_schedule``, ``update_schedule``,
    ``create_schedule_group``, ``delete_schedule_group``) and, in a thread of the endpoint process, fires every
    enabled schedule at its due times on the wall clock: StartExecution of its Step Functions target (templated or
    universal), with Scheduler's context attributes, signed as its role, so gap 9 authorises it. A test-only admin
    route fires a schedule now.

Known and designed around (not bridged): the ASL interpreter rejects ``ItemBatcher`` and ``WriterConfig`` and
cannot run JSONata; Distributed Map children are not executions of their own.
"""

import json
import os
import types
import uuid
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import boto3
import moto.awslambda.responses
from moto.awslambda.models import LambdaFunction
from moto.cloudformation.models import ChangeSet, CloudFormationBackend, Stack
from moto.core.config import default_user_config
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.s3.exceptions import PreconditionFailed, RangeNotSatisfiable
from moto.s3.models import FakeBucket
from moto.s3.responses import S3Response
from moto.stepfunctions.exceptions import InvalidExecutionInput
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from samtranslator.metrics.metrics import DummyMetricsPublisher, Metrics
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from . import distributed_map, iam_enforcement, listing_index, listing_render, s3_rules, scheduler_bridge
from .lambda_runtime import FunctionConfig, LambdaRuntime

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
INVALID_EXECUTION_INPUT_MESSAGE = "The provided JSON input data is not valid."
"""Gap 13: the Step Functions API reference's wording of InvalidExecutionInput."""


@lru_cache(maxsize=1)
def managed_policy_map() -> dict[str, str]:
    """aws-sam-translator asks IAM for managed policy ARNs; moto ships the list, so no call is needed."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    policies = json.loads(aws_managed_policies_data)
    return {name: f"arn:aws:iam::aws:policy{policy.get('Path', '/')}{name}" for name, policy in policies.items()}


def translate_sam(template: dict[str, Any]) -> dict[str, Any]:
    """The CloudFormation that AWS's SAM transform would produce for ``template``; others pass through."""
    transforms = template.get("Transform") if isinstance(template, dict) else None
    names = transforms if isinstance(transforms, list) else [transforms]
    if SAM_TRANSFORM not in names:
        return template
    # The region only picks the partition ("aws") here; moto resolves ${AWS::Region} itself, per stack.
    metrics = Metrics(metrics_publisher=DummyMetricsPublisher())
    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name="us-east-1"), metrics=metrics)
    translated = translator.translate(template, parameter_values={}, get_managed_policy_map=managed_policy_map)
    metrics.publish()  # to nowhere: unpublished metrics print a warning per template otherwise
    return translated


def _patch_sam_transform() -> None:
    original_parse: Callable[[str], dict[str, Any]] = Stack.parse_template
    original_change_set_parse = ChangeSet._parse_template

    def parse_template(template: str) -> dict[str, Any]:
        return translate_sam(original_parse(template))

    def change_set_parse(self: ChangeSet) -> None:
        original_change_set_parse(self)
        self.template_dict = translate_sam(self.template_dict)

    Stack.parse_template = staticmethod(parse_template)  # type: ignore[method-assign]
    ChangeSet._parse_template = change_set_parse  # type: ignore[method-assign]


def _patch_change_set_outputs() -> None:
    original = CloudFormationBackend.execute_change_set

    def execute_change_set(self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None) -> None:
        original(self, change_set_name, stack_name)
        change_set = self.describe_change_set(change_set_name)
        assert change_set is not None  # the original just executed it
        stack = self.stacks[change_set.stack_id]
        stack._parse_template()
        stack.description = stack.template_dict.get("Description")
        stack.output_map = stack._create_output_map()
        for export in stack.exports:
            self.exports[export.name] = export

    CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]


def _patch_secure_transport() -> None:
    insecure_only = {"Bool": {"aws:SecureTransport": "false"}}

    def get_permission(self: FakeBucket, action: str, resource: str) -> PermissionResult:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        policy = json.loads(self.policy)
        statements = policy["Statement"] if isinstance(policy["Statement"], list) else [policy["Statement"]]
        policy["Statement"] = [s for s in statements if s.get("Condition") != insecure_only]
        if not policy["Statement"]:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource)

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _patch_start_execution() -> None:
    """Gaps 5 and 13: an unnamed execution gets a UUID; input that is not JSON is InvalidExecutionInput."""
    original = StepFunctionsParserBackend.start_execution

    def start_execution(
        self: StepFunctionsParserBackend,
        state_machine_arn: str,
        name: str | None = None,
        execution_input: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        if execution_input is not None and not _is_json(execution_input):
            raise InvalidExecutionInput(INVALID_EXECUTION_INPUT_MESSAGE)
        # arg-type: moto types its execution_input str, yet defaults it to None itself.
        return original(self, state_machine_arn, name or str(uuid.uuid4()), execution_input, *args, **kwargs)  # type: ignore[arg-type]

    StepFunctionsParserBackend.start_execution = start_execution  # type: ignore[method-assign]


def _check_copy_source_if_match(response: S3Response) -> None:
    expected = response.headers.get("x-amz-copy-source-if-match")
    source = s3_rules.copy_source_key(response) if expected else None
    if source is not None and source.etag.strip('"') != expected.strip('"'):
        raise PreconditionFailed("x-amz-copy-source-If-Match")


def patch_s3_copy_semantics() -> None:
    """Gaps 6 and 7: copy preconditions and HeadObject of a part, as AWS answers them. Also used in process by
    the functional tests, which is why it is public."""
    copy_object, upload_part_copy, head_object = (
        S3Response.copy_object,
        S3Response.upload_part_copy,
        S3Response.head_object,
    )

    def checked_copy_object(self: S3Response) -> Any:
        _check_copy_source_if_match(self)
        return copy_object(self)

    def checked_upload_part_copy(self: S3Response) -> Any:
        _check_copy_source_if_match(self)
        return upload_part_copy(self)

    def head_part(
        self: S3Response, bucket_name: str, query: dict[str, Any], key_name: str, headers: dict[str, Any]
    ) -> Any:
        part_number = int(query.get("partNumber", [0])[0])
        if not part_number:
            return head_object(self, bucket_name, query, key_name, headers)
        whole = {name: value for name, value in query.items() if name != "partNumber"}
        status, response_headers, body = head_object(self, bucket_name, whole, key_name, headers)
        if status != 200:
            return status, response_headers, body
        key = self.backend.get_object(bucket_name, key_name, version_id=query.get("versionId", [None])[0])
        if key is None:  # deleted since the HEAD above: answered as the HEAD of a missing key
            return head_object(self, bucket_name, whole, key_name, headers)
        if key.multipart:
            numbers = key.multipart.partlist
            first_byte = sum(key.multipart.parts[number].size for number in numbers if number < part_number)
            size = key.multipart.parts[part_number].size
            response_headers["x-amz-mp-parts-count"] = str(len(numbers))
        elif part_number == 1:
            first_byte, size = 0, key.size
        else:
            raise RangeNotSatisfiable
        response_headers["content-length"] = str(size)
        response_headers["content-range"] = f"bytes {first_byte}-{first_byte + size - 1}/{key.size}"
        return 206, response_headers, body

    S3Response.copy_object = checked_copy_object  # type: ignore[method-assign]
    S3Response.upload_part_copy = checked_upload_part_copy  # type: ignore[method-assign]
    S3Response.head_object = head_part  # type: ignore[method-assign]


def _patch_lambda_invoke(runtime: LambdaRuntime, endpoint_url: str) -> None:
    def invoke_lambda(self: LambdaFunction, event: str | None = None) -> tuple[str, bool, str]:
        if event is None or event == {}:
            event = "{}"
        if not isinstance(event, str):
            event = json.dumps(event)
        function = FunctionConfig(
            name=self.function_name,
            arn=self.function_arn,
            handler=self.handler or "",  # Lambda requires one for a zip; without, the runtime answers "Bad handler"
            code_sha256=self.code_sha_256,
            code_zip=self.code_bytes,
            timeout_seconds=float(self.timeout),
            memory_mb=int(self.memory_size),
            region=self.region,
            environment=dict(self.environment_vars),
            endpoint_url=endpoint_url,
            credentials=iam_enforcement.role_credentials(self.role),
        )
        result = runtime.invoke(function, event)
        self.logs_backend.ensure_log_group(self.logs_group_name)
        if result.logs:
            self.save_logs(result.logs)
        return result.payload, result.errored, result.logs

    LambdaFunction._invoke_lambda = invoke_lambda  # type: ignore[method-assign]


def _patch_invoke_payload_check() -> None:
    """Gap 12: the runtime, not moto, decides whether a response is too large."""
    moto.awslambda.responses.sys = types.SimpleNamespace(getsizeof=lambda payload: 0)  # type: ignore[assignment]


def configure(runtime: LambdaRuntime, port: int) -> None:
    """Apply every bridge above. Call once, in the endpoint process, before it serves a request."""
    os.environ["MOTO_PORT"] = str(port)
    default_user_config["stepfunctions"]["execute_state_machine"] = True
    _patch_sam_transform()
    _patch_change_set_outputs()
    _patch_secure_transport()
    _patch_start_execution()
    patch_s3_copy_semantics()
    _patch_lambda_invoke(runtime, f"http://127.0.0.1:{port}")
    _patch_invoke_payload_check()
    iam_enforcement.install()
    distributed_map.install()
    s3_rules.install()
    listing_index.install()
    listing_render.install()
    scheduler_bridge.install()  # the requests' checks; the firing thread is the server's (it needs its URL)
