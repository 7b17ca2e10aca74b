"""gtl_ray.seeding: named random streams that depend on the run seed and every key, and on nothing
else (not the process, not the order streams are made in)."""

from __future__ import annotations

import subprocess
import sys

from gtl_ray.seeding import derive_seed, numpy_rng


def test_a_stream_depends_on_the_seed_and_every_key():
    seeds = {derive_seed(0, "lifetime", 1, 2), derive_seed(1, "lifetime", 1, 2), derive_seed(0, "lifetime", 2, 1)}
    assert len(seeds) == 3 and all(0 <= s < 2**63 for s in seeds)
    assert (
        numpy_rng(7, "a", 3).integers(1 << 30, size=5).tolist()
        == numpy_rng(7, "a", 3).integers(1 << 30, size=5).tolist()
    )


def test_a_seed_is_the_same_in_another_process():
    """No Python hash randomization or process state leaks into a stream."""
    code = "from gtl_ray.seeding import derive_seed; print(derive_seed(3, 'selection', 4))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert int(other.stdout) == derive_seed(3, "selection", 4)
