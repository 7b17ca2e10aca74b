"""Bounded reads: every read names the *kind* of file it reads (a key of `LIMITS`), refuses
anything but a regular file before opening it (a FIFO, a device such as /dev/zero, a folder),
reads at most the kind's limit (plus one byte, to notice a file larger than its stat said), and
never decompresses implicitly. Decoding the bytes (strict JSON, bounded gzip) is
`gtl_ray.formats`. `gtl_ray.storage` is the interface the rest of gtl_ray imports these through.
"""

from __future__ import annotations

import os
import stat
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs

from gtl_ray.errors import StorageError
from gtl_ray.locations import resolve

MiB = 1 << 20
GiB = 1 << 30
#: Largest file of each kind that is read, in bytes. `GTL_RAY_MAX_<KIND>_BYTES` (e.g.
#: GTL_RAY_MAX_DATA_BYTES=64000000000) raises one for data sets or networks larger than these.
LIMITS: dict[str, int] = {
    "config": 1 * MiB,  # a YAML config
    "manifest": 64 * MiB,  # a run's manifest.json
    "lease": 64 * 1024,  # a run's writer lease (RUN/lease/EEEEEEEE.json)
    "evaluation": 16 * MiB,  # evaluation JSON read by `report`
    "lineage": 256 * MiB,  # lineage.parquet (also its declared uncompressed size)
    "episodes": 256 * MiB,  # a per-episode scores Parquet file (also its declared uncompressed size)
    "learngene": 1 * GiB,  # a learngene .safetensors
    "weights": 4 * GiB,  # a descendant or a pre-training cache (.safetensors)
    "image": 64 * MiB,  # one encoded image file of an image folder
    "data": 16 * GiB,  # one data file: a Parquet shard, a CIFAR archive or .bin file
    "unpacked": 4 * GiB,  # what a compressed archive may inflate to
    "decoded": 16 * GiB,  # the decoded images of one split (uint8, N x 3 x S x S)
    "file": 256 * MiB,  # a read that names no kind
}
MAX_IMAGE_PIXELS = 40_000_000  #: width x height an image header may declare (GTL_RAY_MAX_IMAGE_PIXELS)
_CHUNK = 16 * MiB


def limit(kind: str) -> int:
    """The byte limit for files of `kind` (LIMITS, or GTL_RAY_MAX_<KIND>_BYTES when set)."""
    if kind not in LIMITS:
        raise ValueError(f"unknown file kind {kind!r}; known: {', '.join(LIMITS)}")
    return _env_int(f"GTL_RAY_MAX_{kind.upper()}_BYTES", LIMITS[kind])


def max_image_pixels() -> int:
    return _env_int("GTL_RAY_MAX_IMAGE_PIXELS", MAX_IMAGE_PIXELS)


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise StorageError(f"environment variable {name} must be a positive integer, got {text[:40]!r}")
    return value


def _too_big(location: str, kind: str, size: int | str) -> StorageError:
    return StorageError(
        f"{location}: {size} bytes is more than the {limit(kind)}-byte limit for {kind} files "
        f"(set GTL_RAY_MAX_{kind.upper()}_BYTES to allow more)"
    )


_SPECIAL = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISSOCK, "a socket"),
)


def _refuse_type(location: str, mode: int | None, info_type: Any = None) -> StorageError:
    if (mode is not None and stat.S_ISDIR(mode)) or info_type == pafs.FileType.Directory:
        return StorageError(f"{location}: is a folder, not a file")
    what = next((name for test, name in _SPECIAL if mode is not None and test(mode)), "something else")
    return StorageError(f"{location}: {what}, not a regular file; refusing to read it")


def check_file(location: str, kind: str = "file", resolved: tuple[pafs.FileSystem, str] | None = None) -> int:
    """Size in bytes of the regular file at `location`; refuses a missing file, anything that is
    not a regular file, and a file over the limit of `kind` — all without opening it.
    `resolved`: the (filesystem, path) of `location` when the caller has it already."""
    fs, path = resolved or resolve(location)
    if isinstance(fs, pafs.LocalFileSystem):
        st = _stat(location, path)
        if not stat.S_ISREG(st.st_mode):
            raise _refuse_type(location, st.st_mode)
        size = st.st_size
    else:
        try:
            info = fs.get_file_info(path)
        except OSError as exc:
            raise StorageError(f"cannot read {location}: {exc}") from None
        if info.type == pafs.FileType.NotFound:
            raise StorageError(f"file not found: {location}")
        if info.type != pafs.FileType.File:
            raise _refuse_type(location, None, info.type)
        size = info.size or 0
    if size > limit(kind):
        raise _too_big(location, kind, size)
    return size


def _stat(location: str, path: str) -> os.stat_result:
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise StorageError(f"file not found: {location}") from None
    except (OSError, ValueError) as exc:
        raise StorageError(f"cannot read {location}: {exc}") from None


def read_bytes(location: str, kind: str = "file") -> bytes:
    """The whole regular file at `location`, at most `limit(kind)` bytes, never decompressed.
    An object store answers a read with a size query then ranged gets, so a read racing a put
    of the same key (a manifest or a lease renewed meanwhile) can return part of the new object:
    it is read again until its length matches the object's size after the read."""
    size = check_file(location, kind)
    fs, path = resolve(location)
    cap = limit(kind)
    try:
        if isinstance(fs, pafs.LocalFileSystem):
            return _read_local(location, path, size, kind, cap)
        for _ in range(3):
            with fs.open_input_stream(path, compression=None) as stream:
                data = _read_capped(stream.read, location, size, kind, cap)
            size = check_file(location, kind, (fs, path))
            if len(data) == size:
                return data
        raise StorageError(f"cannot read {location}: it kept changing while being read")
    except FileNotFoundError:
        raise StorageError(f"file not found: {location}") from None
    except OSError as exc:
        raise StorageError(f"cannot read {location}: {exc}") from None


def _read_local(location: str, path: str, size: int, kind: str, cap: int) -> bytes:
    # O_NONBLOCK: should the file have been swapped for a FIFO since the stat, open does not hang.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb", buffering=0) as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _refuse_type(location, os.fstat(fd).st_mode)
        return _read_capped(handle.read, location, size, kind, cap)


def _read_capped(read: Any, location: str, size: int, kind: str, cap: int) -> bytes:
    """Read until EOF, failing as soon as more than `cap` bytes arrived (the first read asks for
    one byte more than the stat said, so a file that grew since is noticed)."""
    parts: list[bytes] = []
    total, want = 0, min(size, cap) + 1
    while total <= cap:
        chunk = read(want)
        if not chunk:
            return b"".join(parts)
        parts.append(bytes(chunk))
        total += len(chunk)
        want = min(_CHUNK, cap + 1 - total)
    raise _too_big(location, kind, f"more than {cap}")


def open_random_access(
    location: str, kind: str = "data", resolved: tuple[pafs.FileSystem, str] | None = None
) -> pa.NativeFile:
    """A seekable native (Arrow-owned, no Python object inside) file for formats read in pieces
    (Parquet), after the checks of `check_file`; the caller closes it. Arrow's I/O threads
    never hold a Python buffer this way: one they release while the interpreter exits takes
    the process down ("terminate called without an active exception")."""
    check_file(location, kind, resolved)
    fs, path = resolved or resolve(location)
    try:
        return fs.open_input_file(path)
    except FileNotFoundError:
        raise StorageError(f"file not found: {location}") from None
    except OSError as exc:
        raise StorageError(f"cannot read {location}: {exc}") from None
