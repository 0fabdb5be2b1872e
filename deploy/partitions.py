"""The AWS partition a region belongs to (aws, aws-cn, aws-us-gov, ...): its ARN prefix and its DNS suffix.

The one place the deploy toolkit learns them, so that every ARN the template holds and every URL the stack stage
builds follow the configured region instead of a hard-coded ``aws`` (a role naming ``arn:aws:s3:::`` in cn-north-1
grants nothing; a Step Functions integration ``arn:aws:states:::`` there cannot be started). Both come from the
partition data botocore ships with (what ``boto3.Session().get_partition_for_region`` reads): no AWS call, no
network, no clock.
"""

import functools

import botocore.session
from botocore.exceptions import UnknownRegionError

from .errors import ConfigError


@functools.cache
def _botocore() -> botocore.session.Session:
    return botocore.session.get_session()


@functools.cache
def partition_of(region: str) -> str:
    """``"aws-cn"`` for ``cn-north-1``: what an ARN of that region starts with after ``arn:``."""
    try:
        return _botocore().get_partition_for_region(region)
    except UnknownRegionError:
        raise ConfigError(
            f"region {region!r} belongs to no AWS partition botocore knows (aws, aws-cn, aws-us-gov, "
            "...); check AWS_DEFAULT_REGION in fabfile_config.py or AWS_REGION"
        ) from None


@functools.cache
def dns_suffix(region: str) -> str:
    """``"amazonaws.com.cn"`` for ``cn-north-1``: the domain of the region's service endpoints."""
    partition = partition_of(region)
    data = _botocore().get_component("data_loader").load_data("partitions")
    for entry in data["partitions"]:
        if entry["id"] == partition:
            return entry["outputs"]["dnsSuffix"]
    raise ConfigError(f"botocore has no DNS suffix for partition {partition} of region {region}")  # its data is broken


def arn(region: str, service: str, resource: str, resource_region: str = "", account: str = "") -> str:
    """An ARN in ``region``'s partition: ``arn(r, "s3", "bucket/*")`` is ``arn:<partition>:s3:::bucket/*``."""
    return f"arn:{partition_of(region)}:{service}:{resource_region}:{account}:{resource}"
