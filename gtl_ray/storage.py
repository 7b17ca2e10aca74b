"""Local paths and pyarrow.fs URIs (file://, s3://, gs://) behind one small interface.

Writes are atomic (temp file + rename, or a single object put on object stores), so a reader
never sees half a file.

Reads are bounded: every read names the *kind* of file it reads (a key of `LIMITS`), refuses
anything but a regular file before opening it (a FIFO, a device such as /dev/zero, a folder),
reads at most the kind's limit (plus one byte, to notice a file larger than its stat said), and
never decompresses implicitly. Decoding the bytes (strict JSON, bounded gzip) is
`gtl_ray.formats`.
"""

from __future__ import annotations

import os
import stat
import uuid
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs as pafs

from gtl_ray.errors import StorageError

SUPPORTED_SCHEMES = ("file", "s3", "gs", "gcs")
TEST_SCHEME = "mock"  #: pyarrow's in-memory filesystem: keeps nothing, so only for tests
TEST_SCHEME_ENV = "GTL_RAY_ALLOW_MOCK_STORAGE"  #: "1" lets mock:// through (the test suite sets it)
TEMP_MARK = ".tmp-"  #: in the names of temp files of atomic writes (what a crash can leave behind)
_MOCK_FILESYSTEMS: dict[str, pafs.FileSystem] = {}

MiB = 1 << 20
GiB = 1 << 30
#: Largest file of each kind that is read, in bytes. `GTL_RAY_MAX_<KIND>_BYTES` (e.g.
#: GTL_RAY_MAX_DATA_BYTES=64000000000) raises one for data sets or networks larger than these.
LIMITS: dict[str, int] = {
    "config": 1 * MiB,  # a YAML config
    "manifest": 64 * MiB,  # a run's manifest.json
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


def is_uri(location: str) -> bool:
    return "://" in str(location)


def check_scheme(location: str | os.PathLike) -> str:
    """The URI scheme of `location` ("" for a local path); refuses unsupported ones (and the
    in-memory test scheme unless GTL_RAY_ALLOW_MOCK_STORAGE=1)."""
    location = str(location)
    if not is_uri(location):
        return ""
    scheme = urlparse(location).scheme.lower()
    if scheme == TEST_SCHEME and os.environ.get(TEST_SCHEME_ENV) == "1":
        return scheme
    if scheme not in SUPPORTED_SCHEMES:
        raise StorageError(
            f"unsupported storage URI scheme {scheme[:20]!r} in {location[:200]!r}; "
            f"use a local path or one of: {', '.join(s + '://' for s in SUPPORTED_SCHEMES)}"
        )
    return scheme


def resolve(location: str | os.PathLike) -> tuple[pafs.FileSystem, str]:
    """The filesystem and path inside it for a local path or URI; refuses unknown schemes."""
    location = str(location)
    if "\x00" in location:
        raise StorageError(f"path {location[:200]!r} contains a NUL byte")
    try:
        location.encode("utf-8")
    except UnicodeEncodeError:  # a name from bytes that are not UTF-8 (pyarrow takes UTF-8 only)
        raise StorageError(f"path {ascii(location)[:200]} is not valid UTF-8; rename it") from None
    if not is_uri(location):
        return pafs.LocalFileSystem(), os.path.abspath(location)
    scheme = check_scheme(location)
    if scheme == TEST_SCHEME:
        # One in-memory filesystem per process, so that tests can write then read back.
        fs = _MOCK_FILESYSTEMS.setdefault(TEST_SCHEME, pafs._MockFileSystem())
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


# ---------------------------------------------------------------- bounded reads


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
    """The whole regular file at `location`, at most `limit(kind)` bytes, never decompressed."""
    size = check_file(location, kind)
    fs, path = resolve(location)
    cap = limit(kind)
    try:
        if isinstance(fs, pafs.LocalFileSystem):
            return _read_local(location, path, size, kind, cap)
        with fs.open_input_stream(path, compression=None) as stream:
            return _read_capped(stream.read, location, size, kind, cap)
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
    with fs.open_output_stream(path, compression=None) as stream:  # never compress by suffix either
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
