"""Storage faults: the OSErrors that the OS or pyarrow raise when a write fails, turned into one
`StorageFault` with a kind, the location and the original message, on one line.

A fault is not bad input: a command that started and cannot save exits 1 (`StorageFault` is a
`RunFailed`), while bad input (a malformed URI, a missing run) stays a `StorageError` and exit 2.

How `evolve` uses it: the learngene pool writes each generation (genes, lineage, then the
manifest) inside `gtl_ray.storage`, whose writes raise `StorageFault`. The first generation that
cannot be saved stops the run: no further generation is lived, and the driver prints one line
naming the storage, the kind and the store's message, the last generation saved (the manifest's
`generations_completed`, untouched by the failed write) and the exact `--resume` command, then
exits 1. The traceback shows only with `--debug`. Once the fault is cleared (space freed,
permissions restored, the endpoint back), `--resume` continues from the last saved generation.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Iterator
from contextlib import contextmanager

from gtl_ray.errors import StorageError, StorageFault

NO_SPACE, PERMISSION, UNREACHABLE, MISSING, OTHER = "no space", "permission", "unreachable", "missing", "other"
KINDS = (NO_SPACE, PERMISSION, UNREACHABLE, MISSING, OTHER)
MAX_DETAIL = 400  #: characters of the original message kept in the one-line report

_BY_ERRNO = {
    NO_SPACE: {errno.ENOSPC, errno.EDQUOT, errno.EFBIG},
    PERMISSION: {errno.EROFS, errno.EACCES, errno.EPERM},
    UNREACHABLE: {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EHOSTUNREACH,
        errno.EHOSTDOWN,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.ETIMEDOUT,
        errno.ENOTCONN,
        errno.ESTALE,
    },
    MISSING: {errno.ENOENT},
}
#: Object stores' errors carry no errno: the store's error names (AWS SDK, GCS) and curl's texts.
_BY_MESSAGE = (
    (NO_SPACE, re.compile(r"No space left|Disk quota|QuotaExceeded|File too large", re.IGNORECASE)),
    (
        UNREACHABLE,
        re.compile(
            r"NETWORK_CONNECTION|curlCode|connect to server|Connection refused|resolve host|timed? ?out|UNAVAILABLE",
            re.IGNORECASE,
        ),
    ),
    (
        PERMISSION,
        re.compile(
            r"ACCESS_DENIED|AccessDenied|Forbidden|PERMISSION_DENIED|Permission denied|Read-only file system|\b403\b",
            re.IGNORECASE,
        ),
    ),
    (
        MISSING,
        re.compile(r"NO_SUCH_BUCKET|NoSuchBucket|Bucket '[^']*' not found|No such file or directory", re.IGNORECASE),
    ),
)


def classify(exc: OSError) -> str:
    """The kind of a failed write: by its errno where the OS set one, else by the store's message."""
    for kind, numbers in _BY_ERRNO.items():
        if exc.errno in numbers:
            return kind
    text = str(exc)
    return next((kind for kind, pattern in _BY_MESSAGE if pattern.search(text)), OTHER)


def fault(exc: OSError, location: str) -> StorageFault:
    detail = " ".join(str(exc).split()) or type(exc).__name__
    if len(detail) > MAX_DETAIL:
        detail = detail[: MAX_DETAIL - 3] + "..."
    return StorageFault(classify(exc), str(location), detail)


@contextmanager
def writing(location: str) -> Iterator[None]:
    """Turn an OSError raised inside the block (a write to `location`) into a StorageFault."""
    try:
        yield
    except OSError as exc:
        if exc.errno == errno.ENOTDIR:  # a part of the path the user gave is a file: bad input
            raise StorageError(f"cannot write {location}: a folder on its path is a file") from None
        raise fault(exc, location) from exc
