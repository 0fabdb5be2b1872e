"""The operator's client: start, follow and read syncs, and the demo. What ``fab sync``, ``status``, ``report`` and
``local`` call; deploying is the ``deploy`` package's job, and deploy imports nothing of this one.

The client checks a sync's input with the Lambda code's own package, ``bucket_sync``. In Lambda that package is
top-level (each function's handler file sits beside it), so it is top-level here too: one name per module, so that
``bucket_sync.errors.InvalidInputError`` is one class wherever it is caught.
"""

import sys
from pathlib import Path

LAMBDA_CODE = str(Path(__file__).resolve().parent.parent / "lambda_functions")
if LAMBDA_CODE not in sys.path:
    sys.path.append(LAMBDA_CODE)
