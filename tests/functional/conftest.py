"""Functional tests run Lambda code against moto's S3, in process.

``moto_s3_as_aws`` applies the endpoint's own bridges of the S3 gaps that copying depends on
(``local_endpoint/moto_gaps.py``, gaps 6 and 7) for the test that asks for it, and undoes them afterwards.
"""

import pytest
from moto.s3.responses import S3Response

from local_endpoint import moto_gaps


@pytest.fixture
def moto_s3_as_aws(monkeypatch):
    """moto's S3, with the copy preconditions and the part HEAD of AWS's."""
    for name in ("copy_object", "upload_part_copy", "head_object"):
        monkeypatch.setattr(S3Response, name, getattr(S3Response, name))  # so the test's end restores them
    moto_gaps.patch_s3_copy_semantics()
