"""gtl_ray.locations: local paths and URIs, the supported schemes, and joining onto either."""

from __future__ import annotations

import pytest

from gtl_ray.errors import StorageError
from gtl_ray.locations import check_scheme, is_uri, join, resolve, with_endpoint


def test_join_keeps_a_uris_query_at_the_end():
    assert join("/runs", "a", "b") == "/runs/a/b"
    assert join("s3://bucket/runs/?endpoint_override=h:1", "/a/", "b") == "s3://bucket/runs/a/b?endpoint_override=h:1"


def test_schemes_and_bad_paths_are_refused_by_name():
    assert not is_uri("/runs") and check_scheme("/runs") == "" and check_scheme("s3://b/k") == "s3"
    with pytest.raises(StorageError, match="unsupported storage URI scheme 'ftp'"):
        check_scheme("ftp://host/runs")
    with pytest.raises(StorageError, match="NUL byte"):
        resolve("/runs/a\x00b")


def test_the_environments_endpoint_is_added_unless_the_uri_names_one(monkeypatch):
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    assert with_endpoint("s3://b/k") == "s3://b/k"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")
    assert with_endpoint("s3://b/k") == "s3://b/k?endpoint_override=127.0.0.1%3A9000&scheme=http"
    assert with_endpoint("s3://b/k?endpoint_override=x:1") == "s3://b/k?endpoint_override=x:1"
