"""gtl_ray.machine: what a measurement was taken on (the machine and the code)."""

from __future__ import annotations

import subprocess

from gtl_ray.machine import code_version, describe_code, machine_description


def test_the_machine_is_described_with_its_library_versions():
    import torch

    described = machine_description()
    assert described["cpu_count"] >= 1 and described["torch"] == torch.__version__
    assert described["device"] == ("cuda" if described["gpus"] else "cpu")


def test_the_code_is_a_commit_and_the_files_modified_on_top(tmp_path):
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "a.py").write_text("x = 1\n")
    git("add", "a.py")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    (tmp_path / "a.py").write_text("x = 2\n")
    code = code_version(tmp_path)
    assert len(code["commit"]) == 40 and code["modified"] == [" M a.py"]
    assert describe_code(code) == f"Code: commit {code['commit'][:10]} with 1 modified files (a.py)."
    assert code_version(tmp_path / "nowhere") == {"commit": None, "modified": []}
