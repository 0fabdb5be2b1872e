"""Gap 9 (moto_gaps): IAM as AWS enforces it. Lambda code runs with its function's execution role, and every
request it makes to S3, Step Functions and KMS is authorised against that role's policies and the bucket policy;
Step Functions' own requests (ItemReader, ResultWriter, Lambda invocations) against the state machine's role.
Keys the endpoint did not issue (the documented ``testing`` keys) act as the account's administrator.

(Stub: filled in by the IAM work of issue 9.)
"""
from typing import Optional

from .lambda_runtime import Credentials


def role_credentials(role_arn: str) -> Optional[Credentials]:
    """Temporary credentials for a function's execution role; None keeps the runtime's fake ones."""
    return None


def install() -> None:
    """Turn enforcement on in this (the endpoint's) process."""
