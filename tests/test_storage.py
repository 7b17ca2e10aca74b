"""gtl_ray.storage: the bounded reader (limits per kind, only regular files, no implicit
decompression), the test-only scheme and storage roots."""

from __future__ import annotations

import gzip
import os
import threading
import uuid

import pytest

from gtl_ray import reads, storage
from gtl_ray.errors import StorageError


def test_reads_a_regular_file_local_file_uri_and_mock(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"abc")
    assert storage.read_bytes(str(tmp_path / "a.bin")) == b"abc"
    assert storage.read_bytes(f"file://{tmp_path}/a.bin", "learngene") == b"abc"
    uri = f"mock://bounded-{uuid.uuid4().hex}/a.bin"
    storage.write_bytes_atomic(uri, b"xyz")
    assert storage.read_bytes(uri, "config") == b"xyz"


def _refused_quickly(location: str, *names: str, kind: str = "learngene") -> str:
    """read_bytes refuses `location` within 5 s (a FIFO would block an open() for ever)."""
    box: dict[str, BaseException] = {}

    def read() -> None:
        try:
            storage.read_bytes(location, kind)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            box["error"] = exc

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(5)
    assert not worker.is_alive(), f"reading {location} hangs"
    assert isinstance(box.get("error"), StorageError), box
    message = str(box["error"])
    assert all(name in message for name in names), message
    return message


def test_fifo_device_folder_and_missing_file_are_refused_before_opening(tmp_path):
    fifo = tmp_path / "gene.safetensors"
    os.mkfifo(fifo)
    _refused_quickly(str(fifo), str(fifo), "FIFO")
    _refused_quickly("/dev/zero", "/dev/zero", "device")
    _refused_quickly(str(tmp_path), "folder")
    _refused_quickly(str(tmp_path / "nope"), "file not found")
    link = tmp_path / "link.safetensors"
    link.symlink_to("/dev/zero")
    _refused_quickly(str(link), "link.safetensors", "device")
    with pytest.raises(StorageError, match="FIFO"):
        storage.open_random_access(str(fifo), "lineage")


def test_size_limit_per_kind_and_its_override(tmp_path, monkeypatch):
    big = tmp_path / "config.yaml"
    big.write_bytes(b"#" * (storage.LIMITS["config"] + 1))
    message = _refused_quickly(
        str(big), "config.yaml", "limit for config files", "GTL_RAY_MAX_CONFIG_BYTES", kind="config"
    )
    assert str(storage.LIMITS["config"]) in message
    monkeypatch.setenv("GTL_RAY_MAX_CONFIG_BYTES", str(2 * storage.LIMITS["config"]))
    assert len(storage.read_bytes(str(big), "config")) == storage.LIMITS["config"] + 1
    monkeypatch.setenv("GTL_RAY_MAX_CONFIG_BYTES", "lots")
    with pytest.raises(StorageError, match="GTL_RAY_MAX_CONFIG_BYTES must be a positive integer"):
        storage.read_bytes(str(big), "config")
    with pytest.raises(ValueError, match="unknown file kind"):
        storage.limit("bogus")


def test_a_file_larger_than_its_stat_says_is_cut_at_the_limit(tmp_path, monkeypatch):
    """The reader asks for limit + 1 bytes at most, whatever size the stat reported."""
    path = tmp_path / "grows.json"
    path.write_bytes(b"x" * 5000)
    monkeypatch.setenv("GTL_RAY_MAX_EVALUATION_BYTES", "1000")
    monkeypatch.setattr(reads, "check_file", lambda *args, **kw: 10)  # a stat that lies
    asked = []
    real_read = reads._read_capped

    def spy(read, *args):
        return real_read(lambda n: asked.append(n) or read(n), *args)

    monkeypatch.setattr(reads, "_read_capped", spy)
    with pytest.raises(StorageError, match="more than 1000"):
        storage.read_bytes(str(path), "evaluation")
    assert sum(asked) <= 1001


def test_gz_files_are_never_inflated_implicitly(tmp_path):
    payload = gzip.compress(b"0" * 100_000)
    for uri in (str(tmp_path / "x.json.gz"), f"file://{tmp_path}/y.json.gz", f"mock://gz-{uuid.uuid4().hex}/z.json.gz"):
        storage.write_bytes_atomic(uri, payload)
        assert storage.read_bytes(uri) == payload  # the compressed bytes, as stored


def test_test_scheme_only_behind_its_flag(monkeypatch):
    monkeypatch.delenv(storage.TEST_SCHEME_ENV, raising=False)
    for call in (storage.check_scheme, storage.resolve):
        with pytest.raises(StorageError, match="unsupported storage URI scheme 'mock'"):
            call("mock://runs")
    monkeypatch.setenv(storage.TEST_SCHEME_ENV, "1")
    assert storage.check_scheme("mock://runs") == "mock"


def test_nul_or_non_utf8_in_a_path_is_refused(tmp_path):
    with pytest.raises(StorageError, match="NUL"):
        storage.read_bytes("a\0b")
    name = os.fsdecode(bytes(tmp_path) + b"/\xff.safetensors")  # what argv holds for such a file
    open(os.fsencode(name), "wb").close()
    for call in (storage.read_bytes, storage.exists, storage.is_dir):
        with pytest.raises(StorageError, match=r"\\udcff.safetensors' is not valid UTF-8"):
            call(name)


def test_storage_root_must_be_a_folder_or_creatable(tmp_path):
    storage.check_storage_root(str(tmp_path))
    storage.check_storage_root(str(tmp_path / "new" / "deeper"))
    storage.check_storage_root(f"file://{tmp_path}/new")
    storage.check_storage_root("s3://bucket/runs")  # object stores: checked when written
    (tmp_path / "file").write_text("x")
    with pytest.raises(StorageError, match="file: is a file, not a folder"):
        storage.check_storage_root(str(tmp_path / "file"))
    with pytest.raises(StorageError, match="runs: lies under .*file, which is a file"):
        storage.check_storage_root(str(tmp_path / "file" / "runs"))
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(StorageError, match="not writable"):
            storage.check_storage_root(str(locked / "runs"))
