"""What a run cost, estimated from what it counted: its S3 requests by operation, its Lambda invocations and
GB-seconds (bucket_sync/requests.py carries them with the requests), the Step Functions state transitions they
imply, and the bytes copied across regions; priced from one table of list prices per region.

Prices: AWS's public list prices in USD, on-demand, without free tier, as published on
https://aws.amazon.com/s3/pricing/ (S3 Standard requests; data transfer between regions),
https://aws.amazon.com/lambda/pricing/ (x86, first tier) and https://aws.amazon.com/step-functions/pricing/
(Standard workflows), as those pages gave them in 2025 (recorded 2026-12-02, offline: re-check them before relying
on a figure, and edit ``PRICES``). A region not in the table is priced as ``DEFAULT_REGION`` and the estimate says so.

An estimate, and a floor: it leaves out what the run does not count. The Distributed Maps' own S3 requests
(ItemReader's listings, ResultWriter's writes) are not counted; transitions are estimated, not read from the history
(``TRANSITIONS_PER_INVOCATION`` and ``FIXED_TRANSITIONS``); storage, KMS requests and CloudWatch Logs are not priced.
"""

import math
from dataclasses import dataclass
from typing import Any

from .requests import INVOCATIONS, MB_MILLISECONDS, split_retries


@dataclass(frozen=True)
class Prices:
    tier1_per_1000: float
    """PUT, COPY, POST, LIST (S3 Standard)."""
    tier2_per_1000: float
    """GET, HEAD and every other request not in tier 1; DELETE and abort requests are free."""
    lambda_gb_second: float
    lambda_per_million: float
    transition_per_1000: float
    inter_region_per_gb: float


US = Prices(0.005, 0.0004, 0.0000166667, 0.20, 0.025, 0.02)
PRICES = {
    "us-east-1": US,
    "us-east-2": US,
    "us-west-2": US,
    "eu-west-1": US,
    "eu-central-1": Prices(0.0054, 0.00043, 0.0000166667, 0.20, 0.025, 0.02),
    "ap-northeast-1": Prices(0.0047, 0.00037, 0.0000166667, 0.20, 0.025, 0.09),
}
DEFAULT_REGION = "us-east-1"
PRICES_SOURCE = "AWS list prices, S3 Standard, Lambda x86, Step Functions Standard, as published in 2025"

TIER1 = frozenset(
    {
        "PutObject",
        "CopyObject",
        "UploadPart",
        "UploadPartCopy",
        "CreateMultipartUpload",
        "CompleteMultipartUpload",
        "ListObjectsV2",
        "ListObjects",
        "ListMultipartUploads",
        "ListParts",
        "PutObjectTagging",
        "RestoreObject",
    }
)
FREE = frozenset({"DeleteObject", "DeleteObjects", "AbortMultipartUpload"})

TRANSITIONS_PER_INVOCATION = 2
"""A Task state and the Choice or Pass that reads its answer."""
FIXED_TRANSITIONS = 12
"""The run's states that call no function of ours (regions' Choice, StartPlan, the guards, the Map states, the end)."""
GIGABYTE = 1024**3


def estimate(
    requests: dict[str, int], region: str, bytes_across_regions: int = 0, extra_invocations: int = 0
) -> dict[str, Any]:
    """``estimatedCostUSD`` of a summary from the run's merged counts (``requests``: S3 operations, retries and
    Lambda usage). ``extra_invocations``: functions that ran but carry no counts (the region look-ups)."""
    prices = PRICES.get(region, PRICES[DEFAULT_REGION])
    sent, _ = split_retries(requests)
    tier1 = sum(n for op, n in sent.items() if op in TIER1)
    tier2 = sum(n for op, n in sent.items() if op not in TIER1 and op not in FREE)
    invocations = requests.get(INVOCATIONS, 0) + extra_invocations
    gb_seconds = requests.get(MB_MILLISECONDS, 0) / 1024 / 1000
    transitions = FIXED_TRANSITIONS + TRANSITIONS_PER_INVOCATION * invocations
    parts = {
        "s3Requests": tier1 / 1000 * prices.tier1_per_1000 + tier2 / 1000 * prices.tier2_per_1000,
        "lambda": gb_seconds * prices.lambda_gb_second + invocations / 1e6 * prices.lambda_per_million,
        "stepFunctions": transitions / 1000 * prices.transition_per_1000,
        "dataTransfer": bytes_across_regions / GIGABYTE * prices.inter_region_per_gb,
    }
    return {
        "total": _usd(sum(parts.values())),
        **{name: _usd(value) for name, value in parts.items()},
        "s3RequestsByTier": {"putCopyPostList": tier1, "getHeadOther": tier2},
        "lambdaInvocations": invocations,
        "lambdaGBSeconds": round(gb_seconds, 3),
        "stateTransitions": transitions,
        "pricedAs": region if region in PRICES else DEFAULT_REGION,
        "prices": PRICES_SOURCE,
    }


COPY_SECONDS = 0.05
"""About what one CopyObject of a small object takes, in a copy_keys invocation (512 MB) running copyThreads."""
COPY_MEMORY_MB = 512


def real_run_requests(requests: dict[str, int], totals: dict[str, int], copy_threads: int) -> dict[str, int]:
    """What the run a dry run planned would add to the dry run's own counts: a CopyObject per copy (a multipart
    object costs its parts more), a DeleteObjects per 1,000 deletions, and the copying invocations' time."""
    copies, deletes = totals.get("toCopy", 0), totals.get("toDelete", 0)
    batches = math.ceil(copies / 2500) + math.ceil(deletes / 1000)
    added = {
        "CopyObject": copies,
        "DeleteObjects": math.ceil(deletes / 1000),
        "PutObject": 2 * batches,  # the plan batch and its result
        "GetObject": 2 * batches,
        INVOCATIONS: batches,
        MB_MILLISECONDS: round(copies * COPY_SECONDS / max(copy_threads, 1) * 1000) * COPY_MEMORY_MB,
    }
    merged = dict(requests)
    for name, count in added.items():
        merged[name] = merged.get(name, 0) + count
    return merged


def _usd(value: float) -> float:
    return round(value, 6)
