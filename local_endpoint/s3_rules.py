"""Gap 11 (moto_gaps): S3 details the sync meets, answered as S3 answers them: MalformedXML for a DeleteObjects
body XML 1.0 cannot carry, restore status in listings and HeadObject, conditional writes and deletes.

(Stub: filled in by the S3 work of issue 9.)
"""


def install() -> None:
    """Patch moto's S3 in this (the endpoint's) process."""
