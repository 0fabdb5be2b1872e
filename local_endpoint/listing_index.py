"""Gap 14: a sorted index of each bucket's key names, so a listing page costs what the page holds, not the bucket.

moto answers every ListObjectsV2 and ListObjects page by copying the bucket's key store, sorting every key and
scanning to the page's start (``S3Backend.list_objects``, ``list_objects_v2``): about 0.5 s a page at 200,000
keys, so a million-object sync would spend hours in moto alone. Here each bucket's key store
(``moto.s3.utils._VersionedKeyStore``) gets a sorted list of its names, built on the first listing and kept up
to date by the store's own writes (``__setitem__``, ``setlist``, ``pop``, ``__delitem__``: what PutObject,
CopyObject, CompleteMultipartUpload, DeleteObject(s) and delete markers go through); a page starts by bisection
and walks only what it returns, jumping over each common prefix's keys.

It must change no answer: the two backend methods return exactly what moto's would (the same key objects, common
prefixes, truncation and continuation tokens, which moto also registers in its token table), and moto's
responses render them as before (EncodingType, FetchOwner, KeyCount, StartAfter). moto's own quirks are kept,
since "no answer changes" is the contract: a common prefix whose keys are all delete markers is still listed,
and ListObjects (v1) returns every common prefix whatever its Marker and MaxKeys. Python orders ``str`` by code
point, which is UTF-8 byte order, as moto's sort did. ListObjectVersions is moto's own, untouched. A request the
index does not answer the same way by construction (an unknown continuation token, a negative MaxKeys, a table
storage bucket) goes to moto's original.
"""

import bisect
import threading
from collections.abc import Callable, Iterator
from typing import Any

from moto.s3.models import FakeDeleteMarker, FakeKey, FakeTableStorageBucket, S3Backend
from moto.s3.utils import _VersionedKeyStore
from moto.utilities.utils import md5_hash

INDEX_ATTRIBUTE = "_sorted_key_index"
MAX_CODE_POINT = 0x10FFFF

_installed: dict[str, Callable[..., Any] | None] = {}
"""What install replaced, by name; None: the key store inherited it from dict, so uninstall deletes the patch."""
_generation = 0
"""Bumped by every install and uninstall: an index built under another generation missed writes, so is rebuilt."""


class KeyIndex:
    """The sorted names of one key store. Not pickled or copied with the store: a copy rebuilds its own."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.names: list[str] = []
        self.generation = -1  # not built

    def __reduce__(self) -> tuple[type, tuple[()]]:
        return KeyIndex, ()

    def sync(self, store: _VersionedKeyStore, name: str) -> None:
        """After a write of ``name``: the index holds it exactly when the store does."""
        with self.lock:
            if self.generation != _generation:
                return  # not built yet, or stale: the next listing rebuilds it
            at = bisect.bisect_left(self.names, name)
            indexed = at < len(self.names) and self.names[at] == name
            stored = dict.__contains__(store, name)
            if stored and not indexed:
                self.names.insert(at, name)
            elif indexed and not stored:
                del self.names[at]

    def current(self, store: _VersionedKeyStore) -> list[str]:
        """The sorted names, rebuilt if never built, built before an install, or not as many as the store's."""
        if self.generation != _generation or len(self.names) != dict.__len__(store):
            self.names = sorted(dict.keys(store))
            self.generation = _generation
        return self.names


def _original(name: str) -> Callable[..., Any]:
    method = _installed[name]
    assert method is not None, name  # S3Backend defines both listings itself
    return method


def index_of(store: _VersionedKeyStore) -> KeyIndex:
    index = store.__dict__.get(INDEX_ATTRIBUTE)
    if index is None:
        index = store.__dict__.setdefault(INDEX_ATTRIBUTE, KeyIndex())
    return index


def forget(store: _VersionedKeyStore) -> None:
    """Drop ``store``'s index, so the next listing sorts its names once: cheaper than keeping the index in step
    with a fill of many keys (``bulk_fill``), one sorted insertion per key."""
    store.__dict__.pop(INDEX_ATTRIBUTE, None)


def _end_of_group(names: list[str], group: str, start: int) -> int:
    """The position after the last name that starts with ``group``: every such name sorts in [group, successor)."""
    if ord(group[-1]) < MAX_CODE_POINT:
        return bisect.bisect_left(names, group[:-1] + chr(ord(group[-1]) + 1), start)
    end = start
    while end < len(names) and names[end].startswith(group):
        end += 1
    return end


def walk(
    store: _VersionedKeyStore, names: list[str], start: int, prefix: str, delimiter: str | None
) -> Iterator[FakeKey | str]:
    """From ``names[start]`` on, in order: each key's latest version that is not a delete marker, and each common
    prefix once (a str), as moto's ``list_objects`` forms them (``start`` is at or after the first name with
    ``prefix``)."""
    at = start
    while at < len(names):
        name = names[at]
        if not name.startswith(prefix):
            return  # names are sorted, so those with the prefix are together and this is past them
        cut = name.find(delimiter, len(prefix)) if delimiter else -1
        if cut >= 0:
            group = name[: cut + len(delimiter)]  # type: ignore[arg-type]  # cut >= 0 only with a delimiter
            yield group  # moto lists it even when its keys are all delete markers
            at = _end_of_group(names, group, at)
            continue
        versions = dict.get(store, name)
        if versions and not isinstance(versions[-1], FakeDeleteMarker):
            yield versions[-1]
        at += 1


def _name(entry: FakeKey | str) -> str:
    return entry.name if isinstance(entry, FakeKey) else entry


def _truncate(backend: S3Backend, entries: list[Any], max_keys: int) -> tuple[list[Any], bool, str | None]:
    """moto's ``_truncate_result`` for ``entries``, which hold at most one entry more than the page."""
    if len(entries) <= max_keys:
        return entries, False, None
    page = entries[:max_keys]
    last = _name(page[-1])
    token = md5_hash(last.encode("utf-8")).hexdigest()
    backend._pagination_tokens[token] = last
    return page, True, token


def list_objects_v2(
    backend: S3Backend,
    bucket: Any,
    prefix: str | None,
    delimiter: str | None,
    continuation_token: str | None,
    start_after: str | None,
    max_keys: int,
) -> tuple[list[Any], bool, str | None]:
    """moto's ``S3Backend.list_objects_v2``, answered from the index."""
    original = _original("list_objects_v2")
    if (
        isinstance(bucket, FakeTableStorageBucket)
        or max_keys < 0
        or (continuation_token and continuation_token not in backend._pagination_tokens)
    ):
        return original(backend, bucket, prefix, delimiter, continuation_token, start_after, max_keys)
    if max_keys == 0:
        return [], False, None  # moto's answer to MaxKeys 0, whatever the bucket holds
    prefix = prefix or ""
    after = backend._pagination_tokens[continuation_token] if continuation_token else start_after or None
    index = index_of(bucket.keys)
    with index.lock:
        names = index.current(bucket.keys)
        start = bisect.bisect_left(names, prefix)
        if after is not None:
            start = max(start, bisect.bisect_right(names, after))
        entries: list[Any] = []
        for entry in walk(bucket.keys, names, start, prefix, delimiter):
            # A key here sorts after ``after`` already; a common prefix may not (``after`` inside its group).
            if after is None or _name(entry) > after:
                entries.append(entry)
                if len(entries) > max_keys:
                    break
    return _truncate(backend, entries, max_keys)


def list_objects(
    backend: S3Backend,
    bucket: Any,
    prefix: str | None,
    delimiter: str | None,
    marker: str | None,
    max_keys: int | None,
) -> tuple[list[Any], list[str], bool, str | None]:
    """moto's ``S3Backend.list_objects`` (ListObjects v1, and ListObjectsV2's helper), answered from the index:
    keys after the marker, truncated; every common prefix under ``prefix``, as moto returns them."""
    original = _original("list_objects")
    if isinstance(bucket, FakeTableStorageBucket) or (max_keys is not None and max_keys < 0):
        return original(backend, bucket, prefix, delimiter, marker, max_keys)
    prefix = prefix or ""
    limit = (backend._pagination_tokens.get(marker) or marker) if marker else None
    index = index_of(bucket.keys)
    keys: list[Any] = []
    folders: list[str] = []
    wanted = None if max_keys is None else max_keys + 1
    with index.lock:
        names = index.current(bucket.keys)
        start = bisect.bisect_left(names, prefix)
        if limit is not None and not delimiter:  # with a delimiter every common prefix is listed, so walk them all
            start = max(start, bisect.bisect_right(names, limit))
        for entry in walk(bucket.keys, names, start, prefix, delimiter):
            if isinstance(entry, str):
                folders.append(entry)
            elif (wanted is None or len(keys) < wanted) and (limit is None or entry.name > limit):
                keys.append(entry)
            elif not delimiter:
                break  # enough keys, and no common prefix can follow
    if max_keys is None:
        return keys, folders, False, None
    if max_keys == 0:
        return [], folders, False, None
    page, truncated, token = _truncate(backend, keys, max_keys)
    return page, folders, truncated, token


def _synced(method: Callable[..., Any]) -> Callable[..., Any]:
    """A key store write that then keeps the store's index (if built) in step for the name written."""

    def write(store: _VersionedKeyStore, name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(store, name, *args, **kwargs)
        finally:
            index = store.__dict__.get(INDEX_ATTRIBUTE)
            if index is not None:
                index.sync(store, name)

    write.__name__ = method.__name__
    return write


def _invalidating(method: Callable[..., Any]) -> Callable[..., Any]:
    """A key store write of many names at once: the index is rebuilt at the next listing."""

    def write(store: _VersionedKeyStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(store, *args, **kwargs)
        finally:
            forget(store)

    write.__name__ = method.__name__
    return write


SYNCED_WRITES = ("__setitem__", "setlist", "pop", "__delitem__", "setdefault")
BULK_WRITES = ("clear", "update", "popitem", "__ior__")


def install() -> None:
    """Answer listings from the index in this (the endpoint's) process. Idempotent; ``uninstall`` undoes it."""
    global _generation
    if _installed:
        return
    for name in SYNCED_WRITES + BULK_WRITES:
        _installed[name] = vars(_VersionedKeyStore).get(name)
        wrap = _synced if name in SYNCED_WRITES else _invalidating
        setattr(_VersionedKeyStore, name, wrap(getattr(_VersionedKeyStore, name)))
    _installed["list_objects"] = S3Backend.list_objects
    _installed["list_objects_v2"] = S3Backend.list_objects_v2
    S3Backend.list_objects = list_objects  # type: ignore[method-assign,assignment]
    S3Backend.list_objects_v2 = list_objects_v2  # type: ignore[method-assign,assignment]
    _generation += 1


def uninstall() -> None:
    """moto's own listings again (the tests compare the two answers)."""
    global _generation
    for name, method in _installed.items():
        owner = S3Backend if name.startswith("list_objects") else _VersionedKeyStore
        if method is None:
            delattr(owner, name)
        else:
            setattr(owner, name, method)
    _installed.clear()
    _generation += 1
