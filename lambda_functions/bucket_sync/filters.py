"""Filters: which keys of the scope a sync looks at, as ``aws s3 sync --exclude/--include`` chooses them.

A run's ``filters`` are ``[{"exclude": PATTERN} | {"include": PATTERN}, ...]``, applied in order, the last match
winning; a key no filter matches is included. A pattern matches the key after the run's ``prefix``, whole:
``*`` matches any characters, ``/`` included, ``?`` one character, ``[...]`` one of a set (``[!...]`` one not in
it), as Python's ``fnmatch`` reads them, case-sensitively, as S3 keys are.

A key excluded is out of scope on both sides: the merge-join decides it ``excluded`` without comparing it
(bucket_sync/decide.py), so it is never copied, never deleted, and never read beyond its listing line.
"""

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass

KINDS = ("exclude", "include")
MAX_FILTERS = 100
"""Enough for any hand-written list; a longer one is a mistake (or a list of keys, which a prefix serves better)."""
MAX_PATTERN_BYTES = 1024
"""S3's key limit: a longer pattern can match no key."""


@dataclass(frozen=True)
class Rule:
    kind: str
    pattern: str


class KeyFilter:
    """The filters of a run, compiled once: ``verdict(key)`` says whether a key is included and, if not, which
    filter excluded it."""

    def __init__(self, rules: Sequence[Rule], prefix: str = ""):
        self._prefix = prefix
        # Last match wins: test from the last rule back, and stop at the first that matches.
        self._compiled = [(rule, re.compile(fnmatch.translate(rule.pattern))) for rule in reversed(rules)]

    def __bool__(self) -> bool:
        return bool(self._compiled)

    def excluded_by(self, key: str) -> Rule | None:
        """The filter that excludes ``key``, or None when it is included."""
        relative = key[len(self._prefix) :] if key.startswith(self._prefix) else key
        for rule, compiled in self._compiled:
            if compiled.match(relative):
                return rule if rule.kind == "exclude" else None
        return None

    def includes(self, key: str) -> bool:
        return self.excluded_by(key) is None


def rules_of(filters: Sequence[dict[str, str]]) -> list[Rule]:
    """Rules from validated filters (bucket_sync/inputs.py checks them)."""
    return [Rule(kind, pattern) for item in filters for kind, pattern in item.items()]
