"""A delay-only S3 fault plan for one operation (``local_endpoint/faults.py``): AWS-like latency for the listing
alone, such as 100 ms per ListObjectsV2 page, with no error and nothing else slowed.

The delay is observed, not timed: the middleware's sleep is recorded instead of slept.
"""

import pytest

from local_endpoint import faults as faults_module
from local_endpoint.lambda_runtime import WORKER_ACCESS_KEY_ID

from .test_faults import StandInForMoto, s3_client, served  # noqa: F401  (served is a fixture)

LIST_PAGE_DELAY_SECONDS = 0.1


@pytest.fixture
def moto():
    return StandInForMoto()


@pytest.fixture
def plan():
    return faults_module.FaultPlan()


@pytest.fixture
def slept(monkeypatch):
    seconds = []
    monkeypatch.setattr(faults_module.time, "sleep", seconds.append)
    return seconds


def test_a_delay_limited_to_list_objects_v2_holds_back_only_its_pages(served, plan, moto, slept):
    plan.set({"s3": {"delaySeconds": LIST_PAGE_DELAY_SECONDS, "operations": ["ListObjectsV2"]}})
    worker = s3_client(served, WORKER_ACCESS_KEY_ID, attempts=1)

    for _ in range(3):
        worker.list_objects_v2(Bucket="b")
    worker.list_objects(Bucket="b")
    worker.head_bucket(Bucket="b")

    assert slept == [LIST_PAGE_DELAY_SECONDS] * 3
    assert len(moto.seen) == 5  # every request reached moto: a delay alone is no error
    assert plan.describe()["injected"] == {}


def test_the_test_processs_own_listings_are_delayed_only_when_the_plan_names_its_key(served, plan, slept):
    plan.set({"s3": {"delaySeconds": LIST_PAGE_DELAY_SECONDS, "operations": ["ListObjectsV2"]}})
    s3_client(served, "testing", attempts=1).list_objects_v2(Bucket="b")
    assert slept == []  # by default a plan targets the Lambda code only

    plan.set(
        {"s3": {"delaySeconds": LIST_PAGE_DELAY_SECONDS, "operations": ["ListObjectsV2"], "accessKeyId": "testing"}}
    )
    s3_client(served, "testing", attempts=1).list_objects_v2(Bucket="b")
    assert slept == [LIST_PAGE_DELAY_SECONDS]
