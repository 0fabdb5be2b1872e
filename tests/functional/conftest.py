"""Functional tests run Lambda code against moto's S3, in process.

``moto_s3_as_aws`` applies the endpoint's own bridges of the S3 gaps that copying and deleting depend on
(``local_endpoint/moto_gaps.py``, gaps 6 and 7, and gap 11's conditional deletes, ``s3_rules`` 11.3 and 11.4) for
the test that asks for it, and undoes them afterwards.
"""

import pytest
from moto.s3.responses import S3Response

from local_endpoint import moto_gaps, s3_rules


@pytest.fixture
def moto_s3_as_aws(monkeypatch):
    """moto's S3, with the copy preconditions, the part HEAD and the conditional deletes of AWS's."""
    for name in ("copy_object", "upload_part_copy", "head_object"):
        monkeypatch.setattr(S3Response, name, getattr(S3Response, name))  # so the test's end restores them
    moto_gaps.patch_s3_copy_semantics()
    monkeypatch.setattr(S3Response, "delete_object", s3_rules._delete_object(S3Response.delete_object))
    monkeypatch.setattr(
        S3Response,
        "_bucket_response_delete_keys",
        s3_rules._delete_objects(S3Response._bucket_response_delete_keys),
    )
