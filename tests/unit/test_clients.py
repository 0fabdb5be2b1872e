"""The sync's S3 clients: timestamps read by the fast parser exactly as botocore reads them."""

from datetime import timedelta, timezone

import pytest
from botocore.utils import parse_timestamp
from moto import mock_aws

from bucket_sync.clients import S3Clients, iso_timestamp


@pytest.mark.parametrize(
    "value",
    [
        "2026-12-02T05:50:36.000Z",
        "2026-12-02T05:50:36Z",
        "2026-12-02T05:50:36.123456+00:00",
        "2026-12-02T07:50:36.5+02:00",
        "Wed, 02 Dec 2026 05:50:36 GMT",  # a header's HTTP date: left to botocore
        "1764654636",  # an epoch: left to botocore
        1764654636,
    ],
)
def test_the_fast_timestamp_parser_reads_what_botocores_reads(value):
    assert iso_timestamp(value) == parse_timestamp(value)
    assert iso_timestamp(value).utcoffset() == parse_timestamp(value).utcoffset()


def test_clients_parse_listing_timestamps_with_the_fast_parser():
    with mock_aws():
        client = S3Clients().for_region("us-east-1")
        client.create_bucket(Bucket="timestamps")
        client.put_object(Bucket="timestamps", Key="k", Body=b"x")
        [item] = client.list_objects_v2(Bucket="timestamps")["Contents"]
    assert item["LastModified"].utcoffset() == timedelta(0)
    assert type(item["LastModified"].tzinfo) is timezone  # datetime's own UTC: fromisoformat read it
