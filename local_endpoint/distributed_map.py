"""Gap 10 (moto_gaps): Distributed Map as AWS runs it: Map Run failure thresholds, aborted children, the
256 KiB limit on the Map's output, an S3 ItemReader that reads every page, and ResultWriter.

(Stub: filled in by the Distributed Map work of issue 9.)
"""


def install() -> None:
    """Patch moto's ASL interpreter in this (the endpoint's) process."""
