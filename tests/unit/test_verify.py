"""A check's verdict from both sides' whole-object checksums, as HeadObject with ChecksumMode reports them."""

import pytest

from bucket_sync.decide import Check
from bucket_sync.verify import checksums, verdict


def head(**headers):
    return {
        "ResponseMetadata": {"HTTPHeaders": {f"x-amz-checksum-{k.replace('_', '-')}": v for k, v in headers.items()}}
    }


def typed(kind, **headers):
    answer = head(**headers)
    answer["ResponseMetadata"]["HTTPHeaders"]["x-amz-checksum-type"] = kind
    return answer


@pytest.mark.parametrize(
    ("source", "destination", "expected", "why"),
    [
        pytest.param(head(crc64nvme="A"), head(crc64nvme="A"), Check.MATCHING, "CRC64NVME", id="crc64-equal"),
        pytest.param(head(crc64nvme="A"), head(crc64nvme="B"), Check.DIFFERING, "CRC64NVME", id="crc64-differs"),
        pytest.param(head(crc32="A"), head(crc32="B"), Check.DIFFERING, "CRC32", id="single-part-crc32-differs"),
        pytest.param(
            head(crc32="A-3"), head(crc32="B-2"), Check.UNVERIFIABLE, "part layouts", id="composite-layouts-differ"
        ),
        pytest.param(head(crc32="A-3"), head(crc32="A-3"), Check.MATCHING, "CRC32", id="composite-equal"),
        pytest.param(
            typed("FULL_OBJECT", crc32c="A"),
            typed("COMPOSITE", crc32c="B"),
            Check.UNVERIFIABLE,
            "part layouts",
            id="full-against-composite-proves-nothing",
        ),
        pytest.param(
            head(sha256="A", crc64nvme="X"),
            head(crc32="B", crc64nvme="X"),
            Check.MATCHING,
            "CRC64NVME",
            id="the-shared-algorithm-decides",
        ),
        pytest.param(head(sha256="A"), head(crc32="B"), Check.UNVERIFIABLE, "no checksum of one algorithm", id="none"),
        pytest.param(head(), head(), Check.UNVERIFIABLE, "no checksum of one algorithm", id="no-checksums-at-all"),
    ],
)
def test_verdicts(source, destination, expected, why):
    result, reason = verdict(checksums(source), checksums(destination))

    assert result is expected
    assert why in reason


def test_a_crc64nvme_is_always_of_the_whole_object():
    assert checksums(typed("COMPOSITE", crc64nvme="A", crc32="B-2")) == {
        "crc64nvme": ("A", "FULL_OBJECT"),
        "crc32": ("B-2", "COMPOSITE"),
    }
