"""Where a file lives: a local path or a pyarrow.fs URI (file://, s3://, gs://), its filesystem,
and joining parts onto it.

S3-compatible stores (MinIO, Ceph, a local test server) are reached through an endpoint override,
given either in the URI's query (`s3://bucket/runs?endpoint_override=host:9000&scheme=http`,
which travels with the storage string to every Ray node) or in the environment
(`AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`, e.g. `http://host:9000`, which every node's
environment must then hold). The environment is read here, not left to pyarrow, because only
recent pyarrow releases read it themselves. A query stays at the end of a URI when parts are
joined onto it (`join`), so a run folder under such a root keeps its endpoint.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qsl, urlencode, urlparse

import pyarrow.fs as pafs

from gtl_ray.errors import StorageError

SUPPORTED_SCHEMES = ("file", "s3", "gs", "gcs")
TEST_SCHEME = "mock"  #: pyarrow's in-memory filesystem: keeps nothing, so only for tests
TEST_SCHEME_ENV = "GTL_RAY_ALLOW_MOCK_STORAGE"  #: "1" lets mock:// through (the test suite sets it)
ENDPOINT_ENV = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")  #: read in this order for s3:// URIs
_MOCK_FILESYSTEMS: dict[str, pafs.FileSystem] = {}


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
        return fs, location.split("://", 1)[1].split("?", 1)[0].lstrip("/")
    if scheme == "s3":
        location = with_endpoint(location)
    try:
        return pafs.FileSystem.from_uri(location)
    except Exception as exc:  # pyarrow raises ArrowInvalid / OSError with its own message
        raise StorageError(f"cannot open storage {location!r}: {' '.join(str(exc).split())}") from None


def with_endpoint(uri: str) -> str:
    """`uri` with the environment's S3 endpoint (ENDPOINT_ENV) as query parameters, unless the
    URI names an endpoint itself or the environment names none."""
    endpoint = next((os.environ[name] for name in ENDPOINT_ENV if os.environ.get(name)), "")
    path, _, query = uri.partition("?")
    params = parse_qsl(query, keep_blank_values=True)
    if not endpoint or any(key == "endpoint_override" for key, _ in params):
        return uri
    parsed = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        names = " or ".join(ENDPOINT_ENV)
        raise StorageError(f"{names}={endpoint[:200]!r}: expected http://HOST:PORT or https://HOST:PORT")
    params += [("endpoint_override", parsed.netloc + parsed.path.rstrip("/"))]
    if not any(key == "scheme" for key, _ in params):
        params.append(("scheme", parsed.scheme))
    return f"{path}?{urlencode(params)}"


def join(location: str, *parts: str) -> str:
    """`location`/part/...; a URI's query (an endpoint override) stays at the end."""
    location = str(location)
    if is_uri(location):
        base, mark, query = location.partition("?")
        return "/".join([base.rstrip("/")] + [p.strip("/") for p in parts]) + mark + query
    return os.path.join(location, *parts)
