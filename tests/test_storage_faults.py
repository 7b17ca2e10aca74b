"""gtl_ray.storage_faults: writes that the storage refuses, each produced for real — a full
file system (a small tmpfs; and a file-size limit, which needs no privileges), a read-only one
(a tmpfs mounted read-only; an immutable folder), a missing bucket and an S3 endpoint that went
away — become one StorageFault (exit 1) with its kind, the location and the store's message."""

from __future__ import annotations

import json
import os
import pickle
import resource
import shutil
import signal
import subprocess
import sys

import pytest

from gtl_ray import storage
from gtl_ray.errors import GTLError, RunFailed, StorageFault

#: Run inside a private mount namespace (`unshare --mount`): mounts vanish with the process.
#: Writes 1 MiB into a 256 KiB tmpfs and into a read-only tmpfs; prints each fault as JSON.
IN_NAMESPACE = """
import json, os, subprocess, sys
from gtl_ray import storage
from gtl_ray.errors import StorageFault
full, read_only = sys.argv[1], sys.argv[2]
subprocess.run(["mount", "--make-rprivate", "/"], check=True)
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", full], check=True)
subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=256k", "tmpfs", read_only], check=True)
out = {}
for name, call in (
    ("full", lambda: storage.write_bytes_atomic(os.path.join(full, "gene.safetensors"), b"x" * (1 << 20))),
    ("read_only", lambda: storage.write_bytes_atomic(os.path.join(read_only, "gene.safetensors"), b"x")),
    ("read_only_dir", lambda: storage.make_dirs(os.path.join(read_only, "generations", "0001"))),
):
    try:
        call()
        out[name] = None
    except StorageFault as exc:
        out[name] = {"kind": exc.kind, "location": exc.location, "message": str(exc)}
out["left_in_full"] = os.listdir(full)
print(json.dumps(out))
"""


def _in_private_mounts(tmp_path) -> dict:
    if shutil.which("unshare") is None:
        pytest.skip("needs util-linux's unshare to mount a small tmpfs in a private mount namespace")
    full, read_only = tmp_path / "full", tmp_path / "ro"
    full.mkdir()
    read_only.mkdir()
    done = subprocess.run(
        ["unshare", "--mount", sys.executable, "-c", IN_NAMESPACE, str(full), str(read_only)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0 and ("Operation not permitted" in done.stderr or "permission denied" in done.stderr):
        pytest.skip(f"mounting a tmpfs needs CAP_SYS_ADMIN (root): {done.stderr.strip()[-200:]}")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_full_and_a_read_only_file_system(tmp_path):
    out = _in_private_mounts(tmp_path)
    full = out["full"]
    assert full["kind"] == "no space" and full["location"].endswith("full/gene.safetensors"), full
    assert "No space left on device" in full["message"] and "\n" not in full["message"]
    assert out["left_in_full"] == []  # the temp file of the failed write is gone
    for case in ("read_only", "read_only_dir"):
        assert out[case]["kind"] == "permission" and "Read-only file system" in out[case]["message"], out[case]


def test_a_file_size_limit_is_no_space(tmp_path):
    """RLIMIT_FSIZE (EFBIG) in a child process: no privileges needed."""
    target = tmp_path / "big.bin"
    code = (
        "import sys; from gtl_ray import storage; from gtl_ray.errors import StorageFault\n"
        "try:\n    storage.write_bytes_atomic(sys.argv[1], b'x' * 100000)\n"
        "except StorageFault as exc:\n    print(exc.kind, '|', exc)\n"
    )

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    done = subprocess.run(
        [sys.executable, "-c", code, str(target)],
        capture_output=True,
        text=True,
        preexec_fn=limit_file_size,
        timeout=60,
    )
    kind, _, message = done.stdout.partition(" | ")
    assert kind == "no space" and "File too large" in message and str(target) in message, done
    assert os.listdir(tmp_path) == []


def test_an_immutable_folder_refuses_writes_even_to_root(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not supported by this file system")
    try:
        with pytest.raises(StorageFault) as caught:
            storage.write_bytes_atomic(str(folder / "manifest.json"), b"{}")
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    assert caught.value.kind == "permission" and "Operation not permitted" in caught.value.detail


def test_a_missing_bucket(s3_bucket):
    with pytest.raises(StorageFault) as caught:
        storage.write_bytes_atomic(f"{s3_bucket}-gone/runs/x/manifest.json", b"{}")
    assert caught.value.kind == "missing" and "-gone/runs/x/manifest.json" in caught.value.location
    assert "NO_SUCH_BUCKET" in caught.value.detail or "not found" in caught.value.detail


def test_an_s3_endpoint_that_goes_away_and_comes_back(s3_bucket, s3_server):
    storage.write_bytes_atomic(f"{s3_bucket}/run/generations/0000/member-0000.safetensors", b"kept")
    s3_server.stop()
    try:
        with pytest.raises(StorageFault) as caught:
            storage.write_bytes_atomic(f"{s3_bucket}/run/manifest.json", b"{}")
    finally:
        s3_server.start()
    fault = caught.value
    assert fault.kind == "unreachable" and fault.location == f"{s3_bucket}/run/manifest.json"
    assert "Could not connect" in fault.detail and "\n" not in str(fault)
    assert storage.read_bytes(f"{s3_bucket}/run/generations/0000/member-0000.safetensors") == b"kept"
    storage.write_bytes_atomic(f"{s3_bucket}/run/manifest.json", b"{}")  # back, with its data


def test_a_fault_is_not_bad_input_and_crosses_processes_whole():
    fault = StorageFault("no space", "s3://b/run/manifest.json", "No space left on device")
    assert isinstance(fault, RunFailed) and not isinstance(fault, GTLError)  # exit 1, not 2
    back = pickle.loads(pickle.dumps(fault))  # how Ray carries it from the pool to the driver
    assert (back.kind, back.location, back.detail, str(back)) == (fault.kind, fault.location, fault.detail, str(fault))
    assert str(fault) == "cannot write s3://b/run/manifest.json: no space (No space left on device)"
