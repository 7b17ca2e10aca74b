"""Local paths and pyarrow.fs URIs (file://, s3://, gs://) behind one small interface.

Writes are atomic (temp file + rename, or a single object put on object stores), so a reader
never sees half a file; a write the storage refuses raises `StorageFault` (`storage_faults`:
no space, permission, unreachable, missing, other), which is not bad input (exit 1).

Reads are bounded (`gtl_ray.reads`: a byte limit per kind of file, regular files only, never
decompressed implicitly). Where a location lives and how parts are joined onto it (S3 endpoint
overrides included) is `gtl_ray.locations`. This module re-exports both, so the rest of gtl_ray
imports `gtl_ray.storage` only.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlparse

import pyarrow.fs as pafs

from gtl_ray.errors import StorageError
from gtl_ray.locations import (  # noqa: F401 - part of this module's interface
    SUPPORTED_SCHEMES,
    TEST_SCHEME,
    TEST_SCHEME_ENV,
    check_scheme,
    is_uri,
    join,
    resolve,
)
from gtl_ray.reads import (  # noqa: F401 - part of this module's interface
    GiB,
    LIMITS,
    MAX_IMAGE_PIXELS,
    MiB,
    check_file,
    limit,
    max_image_pixels,
    open_random_access,
    read_bytes,
)
from gtl_ray.storage_faults import writing

TEMP_MARK = ".tmp-"  #: in the names of temp files of atomic writes (what a crash can leave behind)
OBJECT_STORES = ("s3", "gcs")  #: pyarrow type_names of filesystems whose folders are key prefixes


def exists(location: str) -> bool:
    fs, path = resolve(location)
    return fs.get_file_info(path).type != pafs.FileType.NotFound


def is_dir(location: str) -> bool:
    fs, path = resolve(location)
    return fs.get_file_info(path).type == pafs.FileType.Directory


def list_dir(location: str) -> list[str]:
    """Base names of the entries directly inside a folder, sorted."""
    fs, path = resolve(location)
    infos = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    return sorted(info.base_name for info in infos)


# ---------------------------------------------------------------- writes and folders


def check_storage_root(location: str) -> None:
    """A local storage root must be a folder or creatable (checked before Ray starts); object
    stores are checked when first written."""
    location = str(location)
    scheme = check_scheme(location)
    if scheme not in ("", "file"):
        return
    path = os.path.abspath(urlparse(location).path if scheme else location)
    if "\x00" in path:
        raise StorageError(f"{location[:200]!r} contains a NUL byte")
    probe = path
    while not os.path.lexists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if probe == path and os.path.isdir(path):
        return
    if not os.path.isdir(probe):
        what = "is a file" if probe == path else f"lies under {probe}, which is a file"
        raise StorageError(f"{location}: {what}, not a folder, so runs cannot be stored there")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise StorageError(f"{location}: cannot create it ({probe} is not writable)")


def write_bytes_atomic(location: str, data: bytes) -> None:
    """Write a whole file so that readers see either the old file or the complete new one.
    A failed write raises `StorageFault` (its kind: no space, permission, unreachable, ...)."""
    fs, path = resolve(location)
    with writing(location):
        _make_parent(fs, path)
        if not isinstance(fs, pafs.LocalFileSystem):
            # Object stores make a single put visible all at once; there is no rename to lean on.
            with fs.open_output_stream(path, compression=None) as stream:  # never compress by suffix
                stream.write(data)
            return
        tmp = _write_temp(path, data)
        try:
            os.replace(tmp, path)
        finally:
            _remove_quietly(tmp)


def create_exclusive(location: str, data: bytes) -> bool:
    """Write a whole new file only if `location` does not exist; False if it does.
    Local (and shared POSIX) file systems: atomic (a complete temp file hard-linked to the name,
    which fails if the name exists), so of two callers exactly one gets True. Object stores:
    pyarrow has no conditional put, so this checks then puts: two callers racing may both get
    True, and the last put wins; a caller that must be alone reads the file back."""
    fs, path = resolve(location)
    with writing(location):
        _make_parent(fs, path)
        if not isinstance(fs, pafs.LocalFileSystem):
            if fs.get_file_info(path).type != pafs.FileType.NotFound:
                return False
            with fs.open_output_stream(path, compression=None) as stream:
                stream.write(data)
            return True
        tmp = _write_temp(path, data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        finally:
            _remove_quietly(tmp)
        return True


def _make_parent(fs: pafs.FileSystem, path: str) -> None:
    """Create the folder of `path`; object stores have none to create (a put makes its key's
    prefixes listable), which also spares every write two requests."""
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    if parent and fs.type_name not in OBJECT_STORES:
        fs.create_dir(parent, recursive=True)


def _write_temp(path: str, data: bytes) -> str:
    """A complete, synced temp file beside `path` (removed again if writing it fails)."""
    tmp = f"{path}{TEMP_MARK}{uuid.uuid4().hex}"
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        _remove_quietly(tmp)  # a full disk must not keep half a file
        raise
    return tmp


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def make_dirs(location: str) -> None:
    fs, path = resolve(location)
    with writing(location):
        fs.create_dir(path, recursive=True)


def delete_file(location: str) -> None:
    fs, path = resolve(location)
    with writing(location):
        if fs.get_file_info(path).type == pafs.FileType.File:
            fs.delete_file(path)


def delete_dir(location: str) -> None:
    fs, path = resolve(location)
    with writing(location):
        if fs.get_file_info(path).type == pafs.FileType.Directory:
            fs.delete_dir(path)
