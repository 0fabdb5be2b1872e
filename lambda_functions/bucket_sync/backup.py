"""Backups: a destination object copied, as it was listed, to the run's backup location before the run deletes or
overwrites it (``copy_keys`` before an overwrite, ``delete_orphaned_keys`` before a delete).

The copy is ``copy.copy_object`` from the destination bucket to ``run.backup_key(key)``: conditional on the listed
ETag, with the object's part layout, metadata, tags and storage class, so the backup's ETag is the original's. One
object's failure is that object's: the caller then leaves it as it is and reports why.
"""

from .clients import S3Clients
from .copy import CopySettings, copy_object
from .errors import SourceChangedError, SourceMissingError, SyncError
from .listing import Entry
from .outcomes import FAILED, SKIPPED
from .run import SyncRun


def back_up(run: SyncRun, clients: S3Clients, entry: Entry, settings: CopySettings) -> tuple[str | None, str | None]:
    """(the backup's s3:// URI, None), or (None, why not): ``DestinationChangedError: ...`` when the object was
    rewritten or deleted after it was listed (nothing to back up as listed: the next run decides again), else
    ``BackupFailedError: ...``."""
    key = run.backup_key(entry.key)
    try:
        copy_object(
            clients.for_region(run.destination_region, run.requester_pays),
            clients.for_region(run.backup_region),
            run.destination,
            run.backup_bucket,
            entry,
            settings,
            destination_key=key,
        )
    except (SourceChangedError, SourceMissingError):
        return None, (
            "DestinationChangedError: kept, as it was rewritten or deleted after it was listed; the next run decides "
            "again"
        )
    except SyncError as error:
        reason = f"{type(error).__name__}: {error}".replace("the source", "the destination object")
        return None, f"BackupFailedError: its backup to s3://{run.backup_bucket}/{key} failed: {reason}"
    return f"s3://{run.backup_bucket}/{key}", None


def held_back(failure: str, change: str) -> tuple[str, str]:
    """(result, error) of an object whose backup ``back_up`` could not make, so it was not ``change`` (deleted,
    overwritten): skipped when it changed since it was listed, failed otherwise."""
    result = SKIPPED if failure.startswith("DestinationChangedError") else FAILED
    return result, f"{failure}; not {change}"
