"""The sync's named errors: one class per failure mode, so the state machine's Retry and Catch can match them.

Lambda reports a raised exception's class name as the error type, which is what ``ErrorEquals`` names.
"""


class SyncError(Exception):
    """Base class of every error the sync functions raise on purpose."""


class InvalidInputError(SyncError):
    """The execution input is wrong: the message names the field, what was wrong and what to do."""


class BucketNotFoundError(SyncError):
    """A bucket named in the input does not exist."""


class BucketAccessError(SyncError):
    """A bucket named in the input exists but cannot be listed or read by this deployment."""


class SyncFailedError(SyncError):
    """Some objects failed to copy or delete; the message gives the counts and the report location."""


class SourceChangedError(SyncError):
    """The source object changed after it was listed (its ETag no longer matches); the next run converges."""


class SourceMissingError(SyncError):
    """The source object was deleted after it was listed; the next run converges."""


class ArchivedObjectError(SyncError):
    """The source object is archived (GLACIER, DEEP_ARCHIVE) and not restored, so it cannot be copied."""


class CopyFailedError(SyncError):
    """S3 refused a copy for a reason that is not transient (AccessDenied, for example)."""


class TransientS3Error(SyncError):
    """S3 kept answering a transient error (SlowDown, InternalError, a dropped connection) for one object after
    every retry; that object failed, the others go on, and the next run copies it."""


class BackupFailedError(SyncError):
    """The destination object could not be backed up, so it was neither overwritten nor deleted."""


class DestinationChangedError(SyncError):
    """An orphan was rewritten in the destination after it was listed, so it was kept; the next run decides again."""


class NotInSyncError(SyncError):
    """A check found keys that are not the same in both buckets (or could not prove them so); its cause gives the
    counts and the report's location."""


class DeleteAllRefusedError(SyncError):
    """The in-scope source is empty, so the sync would delete everything in scope, and allowDeleteAll is false."""


class TooManyDeletesError(SyncError):
    """The plan has more deletions than maxDeletes allows."""


class PlanningFailedError(SyncError):
    """A key range could not be planned, so the sync does not know what to delete."""


REFUSALS = {error.__name__: error for error in (DeleteAllRefusedError, TooManyDeletesError, PlanningFailedError)}
"""The delete guards' errors by name: the state machine names them when it refuses a plan, and WriteReport raises
the one it was given once the report of the copies made before the refusal is written."""
