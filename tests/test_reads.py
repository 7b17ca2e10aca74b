"""gtl_ray.reads: bounded reads that refuse anything but a regular file under its kind's limit."""

from __future__ import annotations

import os

import pytest

from gtl_ray.errors import StorageError
from gtl_ray.reads import check_file, limit, read_bytes


def test_a_regular_file_under_its_limit_is_read(tmp_path):
    (tmp_path / "m.json").write_bytes(b"{}")
    assert check_file(str(tmp_path / "m.json"), "manifest") == 2 and read_bytes(str(tmp_path / "m.json")) == b"{}"


def test_limits_follow_the_environment_and_are_enforced(tmp_path, monkeypatch):
    monkeypatch.setenv("GTL_RAY_MAX_MANIFEST_BYTES", "10")
    assert limit("manifest") == 10
    (tmp_path / "m.json").write_bytes(b"x" * 11)
    with pytest.raises(StorageError, match="m.json"):
        read_bytes(str(tmp_path / "m.json"), "manifest")
    with pytest.raises(ValueError, match="unknown file kind 'movie'"):
        limit("movie")


def test_a_folder_a_fifo_or_nothing_is_refused(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    for name in ("pipe", "missing", ""):
        with pytest.raises(StorageError):
            check_file(str(tmp_path / name))
