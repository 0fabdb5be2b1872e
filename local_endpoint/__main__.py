"""``python -m local_endpoint [--port N] [--access-log FILE] [--log FILE]``: what ``fab server`` runs."""

import argparse
from pathlib import Path

from .server import EndpointError, serve


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m local_endpoint", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--access-log", type=Path, help="append one line per request served to this file")
    parser.add_argument(
        "--log",
        type=Path,
        help="append the endpoint's log (moto's, and each failed execution's "
        "details) to this file (default: a file in the endpoint's temp dir, named in the banner)",
    )
    args = parser.parse_args()
    try:
        serve(port=args.port, access_log=args.access_log, log=args.log)
    except EndpointError as error:
        parser.exit(2, f"error: {error}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
