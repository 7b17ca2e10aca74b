"""`gtl-ray` exits cleanly: no abort at interpreter exit.

The abort ("terminate called without an active exception", rc 134, about 1 run in 7 of
`gtl-ray inspect RUN`) came from Arrow: the lineage was read from an io.BytesIO, so Arrow's I/O
threads held Python-owned buffers; one released while the interpreter was finalizing blocked on
the GIL, and Python ends such a thread with pthread_exit, whose unwinding through C++ code calls
std::terminate. Parquet is now read from native Arrow files only (storage.open_random_access).
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.helpers import GTL_RAY, ROOT, store_run, subprocess_env

RUNS = 30


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    return store_run(tmp_path_factory.mktemp("exit-run"))[1]


def _inspect(target: str) -> tuple[int, str]:
    done = subprocess.run(
        [GTL_RAY, "inspect", target], capture_output=True, text=True, timeout=120, env=subprocess_env(), cwd=ROOT
    )
    return done.returncode, done.stderr


@pytest.mark.slow
def test_inspect_exits_0_thirty_times(stored):
    """A run (manifest, lineage Parquet, final learngene) and a learngene file, 30 times each
    way, three at a time (the abort needed an exit racing Arrow's threads)."""
    targets = [stored.run_dir, stored.layout.final_learngene] * (RUNS // 2)
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(_inspect, targets))
    failures = [(t, rc, err[-300:]) for t, (rc, err) in zip(targets, results) if rc != 0]
    assert not failures, failures


def test_inspect_imports_neither_ray_nor_torch(stored):
    """Reading a run and its genes is numpy and Arrow only (torch alone takes ~1 s to import)."""
    code = f"import sys; from gtl_ray.cli import main; rc = main(['inspect', {stored.run_dir!r}]); heavy = {{'ray', 'torch'}} & set(sys.modules); assert not heavy, heavy; sys.exit(rc)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=subprocess_env(), cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-500:]
