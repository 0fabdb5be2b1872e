"""The access log names the S3 operation of each request from method, path and query."""

import pytest

from local_endpoint.access_log import s3_operation


@pytest.mark.parametrize(
    ("method", "path", "query", "headers", "operation"),
    [
        ("GET", "/", {}, {}, "ListBuckets"),
        ("GET", "/b", {"list-type": ["2"], "prefix": [""]}, {}, "ListObjectsV2"),
        ("GET", "/b", {}, {}, "ListObjects"),
        ("GET", "/b", {"location": [""]}, {}, "GetBucketLocation"),
        ("GET", "/b", {"versions": [""]}, {}, "ListObjectVersions"),
        ("HEAD", "/b", {}, {}, "HeadBucket"),
        ("PUT", "/b", {}, {}, "CreateBucket"),
        ("PUT", "/b", {"publicAccessBlock": [""]}, {}, "PutBucketPublicAccessBlock"),
        ("PUT", "/b", {"encryption": [""]}, {}, "PutBucketEncryption"),
        ("DELETE", "/b", {}, {}, "DeleteBucket"),
        ("POST", "/b", {"delete": [""]}, {}, "DeleteObjects"),
        ("GET", "/b/k", {}, {}, "GetObject"),
        ("HEAD", "/b/a/b c", {}, {}, "HeadObject"),
        ("PUT", "/b/k", {}, {}, "PutObject"),
        ("PUT", "/b/k", {}, {"x-amz-copy-source": "src/k"}, "CopyObject"),
        ("DELETE", "/b/k", {}, {}, "DeleteObject"),
        ("POST", "/b/k", {"uploads": [""]}, {}, "CreateMultipartUpload"),
        ("PUT", "/b/k", {"uploadId": ["u"], "partNumber": ["1"]}, {}, "UploadPart"),
        ("PUT", "/b/k", {"uploadId": ["u"], "partNumber": ["1"]}, {"x-amz-copy-source": "s/k"}, "UploadPartCopy"),
        ("POST", "/b/k", {"uploadId": ["u"]}, {}, "CompleteMultipartUpload"),
        ("DELETE", "/b/k", {"uploadId": ["u"]}, {}, "AbortMultipartUpload"),
        ("GET", "/b/k", {"tagging": [""]}, {}, "GetObjectTagging"),
        ("PUT", "/b/k", {"tagging": [""]}, {}, "PutObjectTagging"),
    ],
)
def test_s3_operation(method, path, query, headers, operation):
    assert s3_operation(method, path, query, headers) == operation
