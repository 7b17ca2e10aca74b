"""What a measurement was taken on, for results pages (`gtl-ray report`, benchmarks/): the
machine (CPU, memory, GPU, load, library versions) and the code (git commit, modified files)."""

from __future__ import annotations

import os
import platform
from typing import Any


def machine_description() -> dict[str, Any]:
    """What a timing was measured on: CPU, memory, GPU, load and library versions."""
    import numpy
    import ray
    import torch

    cpu = next(
        (line.split(":", 1)[1].strip() for line in _read_lines("/proc/cpuinfo") if line.startswith("model name")),
        platform.processor(),
    )
    mem = next(
        (int(line.split()[1]) * 1024 for line in _read_lines("/proc/meminfo") if line.startswith("MemTotal")), None
    )
    gpus = (
        [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    )
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu,
        "memory_bytes": mem,
        "gpus": gpus,
        "device": "cuda" if gpus else "cpu",
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "ray": ray.__version__,
        "numpy": numpy.__version__,
    }


def code_version(root: str | os.PathLike) -> dict[str, Any]:
    """The git commit of `root` and the tracked files changed since (results depend on them)."""
    import subprocess

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10
            ).stdout.rstrip("\n")
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "commit": git("rev-parse", "HEAD").strip() or None,
        "modified": git("status", "--porcelain", "--untracked-files=no").splitlines(),
    }


def describe_code(code: dict[str, Any]) -> str:
    """One line for a results page: the commit and what was modified on top of it."""
    changed = (
        f" with {len(code['modified'])} modified files ({', '.join(m[3:] for m in code['modified'])})"
        if code["modified"]
        else ""
    )
    return f"Code: commit {(code['commit'] or 'unknown')[:10]}{changed}."


def _read_lines(path: str) -> list[str]:
    try:
        with open(path) as handle:
            return handle.readlines()
    except OSError:
        return []
