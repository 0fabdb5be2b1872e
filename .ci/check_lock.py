"""Check, offline, that requirements-dev.lock still agrees with the ranges it was compiled from (make check).

requirements.txt and requirements-dev.txt are the source of truth; the lock pins what is installed. A range changed
without ``make lock`` would be silently ignored by every install, so each requirement of the two files must be
pinned in the lock at a version its range allows. (Whether the lock is the newest the ranges allow is
``make lock``'s business, not a check's.)

Usage: python .ci/check_lock.py   (exit 1 with one line per disagreement)
"""

import re
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
RANGES = ("requirements.txt", "requirements-dev.txt")
LOCK = "requirements-dev.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def requirements(name: str) -> list[Requirement]:
    """The requirement lines of one ranges file (comments, blank lines and -r includes left out)."""
    lines = (line.split("#", 1)[0].strip() for line in (ROOT / name).read_text(encoding="utf-8").splitlines())
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def pins(name: str) -> dict[str, str]:
    matches = (PIN.match(line) for line in (ROOT / name).read_text(encoding="utf-8").splitlines())
    return {canonicalize_name(m[1]): m[2] for m in matches if m}


def disagreements() -> list[str]:
    locked = pins(LOCK)
    found = []
    for source in RANGES:
        for requirement in requirements(source):
            version = locked.get(canonicalize_name(requirement.name))
            if version is None:
                found.append(f"{source}: {requirement} is not in {LOCK}")
            elif not requirement.specifier.contains(version, prereleases=True):
                found.append(f"{source}: {requirement} does not allow the locked {requirement.name}=={version}")
    return found


if __name__ == "__main__":
    problems = disagreements()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        sys.exit(f"{LOCK} is out of date: run 'make lock' to recompile it from the ranges, and commit it.")
    print(f"{LOCK}: every range of {' and '.join(RANGES)} is pinned")
