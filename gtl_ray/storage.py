"""Local paths and pyarrow.fs URIs (file://, s3://, gs://, mock://) behind one small interface.

Writes are atomic (temp file + rename, or a single object put on object stores), so a reader
never sees half a file.
"""
from __future__ import annotations

import os
import uuid
from urllib.parse import urlparse

import pyarrow.fs as pafs

from gtl_ray.errors import StorageError

SUPPORTED_SCHEMES = ("file", "s3", "gs", "gcs", "mock")
TEMP_MARK = ".tmp-"  #: in the names of temp files of atomic writes (what a crash can leave behind)
_MOCK_FILESYSTEMS: dict[str, pafs.FileSystem] = {}


def is_uri(location: str) -> bool:
    return "://" in str(location)


def check_scheme(location: str | os.PathLike) -> str:
    """The URI scheme of `location` ("" for a local path); refuses unsupported ones."""
    location = str(location)
    if not is_uri(location):
        return ""
    scheme = urlparse(location).scheme.lower()
    if scheme not in SUPPORTED_SCHEMES:
        raise StorageError(
            f"unsupported storage URI scheme {scheme!r} in {location!r}; "
            f"use a local path or one of: {', '.join(s + '://' for s in SUPPORTED_SCHEMES)}"
        )
    return scheme


def resolve(location: str | os.PathLike) -> tuple[pafs.FileSystem, str]:
    """The filesystem and path inside it for a local path or URI; refuses unknown schemes."""
    location = str(location)
    if not is_uri(location):
        return pafs.LocalFileSystem(), os.path.abspath(location)
    scheme = check_scheme(location)
    if scheme == "mock":
        # One in-memory filesystem per process, so that tests can write then read back.
        fs = _MOCK_FILESYSTEMS.setdefault("mock", pafs._MockFileSystem())
        return fs, location.split("://", 1)[1].lstrip("/")
    try:
        return pafs.FileSystem.from_uri(location)
    except Exception as exc:  # pyarrow raises ArrowInvalid / OSError with its own message
        raise StorageError(f"cannot open storage {location!r}: {exc}") from None


def join(location: str, *parts: str) -> str:
    location = str(location)
    if is_uri(location):
        return "/".join([location.rstrip("/")] + [p.strip("/") for p in parts])
    return os.path.join(location, *parts)


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


def read_bytes(location: str) -> bytes:
    fs, path = resolve(location)
    try:
        with fs.open_input_stream(path) as stream:
            return stream.read()
    except FileNotFoundError:
        raise StorageError(f"file not found: {location}") from None
    except OSError as exc:
        if fs.get_file_info(path).type == pafs.FileType.NotFound:
            raise StorageError(f"file not found: {location}") from None
        raise StorageError(f"cannot read {location}: {exc}") from None


def write_bytes_atomic(location: str, data: bytes) -> None:
    """Write a whole file so that readers see either the old file or the complete new one."""
    fs, path = resolve(location)
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    if parent:
        fs.create_dir(parent, recursive=True)
    if isinstance(fs, pafs.LocalFileSystem):
        tmp = f"{path}{TEMP_MARK}{uuid.uuid4().hex}"
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        return
    # Object stores make a single put visible all at once; there is no rename to lean on.
    with fs.open_output_stream(path) as stream:
        stream.write(data)


def make_dirs(location: str) -> None:
    fs, path = resolve(location)
    fs.create_dir(path, recursive=True)


def delete_file(location: str) -> None:
    fs, path = resolve(location)
    if fs.get_file_info(path).type == pafs.FileType.File:
        fs.delete_file(path)


def delete_dir(location: str) -> None:
    fs, path = resolve(location)
    if fs.get_file_info(path).type == pafs.FileType.Directory:
        fs.delete_dir(path)
