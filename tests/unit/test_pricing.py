"""The cost estimate, priced by hand from the table's list prices."""

import pytest

from bucket_sync.pricing import FIXED_TRANSITIONS, PRICES, estimate, real_run_requests
from bucket_sync.requests import INVOCATIONS, MB_MILLISECONDS, RequestCounter


def test_a_run_is_priced_by_request_tier_lambda_time_transitions_and_transfer():
    counts = {
        "CopyObject": 10_000,  # tier 1: $0.05
        "ListObjectsV2": 20,  # tier 1
        "HeadObject": 5,  # tier 2
        "GetObject": 995,  # tier 2: with the HEADs, 1,000 = $0.0004
        "DeleteObjects": 3,  # free
        "retry:CopyObject": 7,  # retries are in CopyObject's count already
        INVOCATIONS: 10,
        MB_MILLISECONDS: 1024 * 60_000,  # 60 GB-seconds
    }

    cost = estimate(counts, "us-east-1", bytes_across_regions=2 * 1024**3, extra_invocations=2)

    assert cost["s3RequestsByTier"] == {"putCopyPostList": 10_020, "getHeadOther": 1_000}
    assert cost["s3Requests"] == pytest.approx(10_020 / 1000 * 0.005 + 0.0004)
    assert cost["lambdaInvocations"] == 12 and cost["lambdaGBSeconds"] == 60
    assert cost["lambda"] == pytest.approx(60 * 0.0000166667 + 12 * 0.2 / 1e6, abs=1e-6)
    assert cost["stateTransitions"] == FIXED_TRANSITIONS + 24
    assert cost["stepFunctions"] == pytest.approx((FIXED_TRANSITIONS + 24) * 0.025 / 1000)
    assert cost["dataTransfer"] == pytest.approx(0.04)
    assert cost["total"] == pytest.approx(
        cost["s3Requests"] + cost["lambda"] + cost["stepFunctions"] + cost["dataTransfer"], abs=1e-5
    )


def test_a_region_without_prices_is_priced_as_us_east_1_and_says_so():
    assert "mars-north-1" not in PRICES
    assert estimate({"PutObject": 1000}, "mars-north-1")["pricedAs"] == "us-east-1"
    assert estimate({"PutObject": 1000}, "eu-central-1")["s3Requests"] == pytest.approx(0.0054)


def test_a_dry_run_prices_the_copies_and_deletes_it_planned():
    dry = {"ListObjectsV2": 4, INVOCATIONS: 3, MB_MILLISECONDS: 0}

    real = real_run_requests(dry, {"toCopy": 5000, "toDelete": 1500}, copy_threads=16)

    assert (real["CopyObject"], real["DeleteObjects"], real["ListObjectsV2"]) == (5000, 2, 4)
    assert real[INVOCATIONS] == 3 + 2 + 2  # two copy batches of 2,500, two delete batches
    assert estimate(real, "us-east-1")["total"] > estimate(dry, "us-east-1")["total"] > 0


def test_the_counter_carries_the_invocation_only_inside_lambda(monkeypatch):
    assert INVOCATIONS not in RequestCounter().snapshot()

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
    snapshot = RequestCounter().snapshot()

    assert snapshot[INVOCATIONS] == 1 and snapshot[MB_MILLISECONDS] % 512 == 0
