"""Explicit random streams derived from (run seed, purpose, generation, member index).

Every random draw in gtl_ray comes from one of these, never from global state, a trial id or
the clock, so that the same config and seed give the same lineage on any cluster layout.
The torch streams (`torch_generator`, `torch_init_seed`) are `gtl_ray.torch_streams`: the learngene
pool draws numpy streams alone and never imports torch.
"""

from __future__ import annotations

import hashlib

import numpy as np


def derive_seed(seed: int, *keys: int | str) -> int:
    """A 63-bit seed that depends on the run seed and every key, stable across processes."""
    text = ":".join([str(int(seed))] + [str(k) for k in keys])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


def numpy_rng(seed: int, *keys: int | str) -> np.random.Generator:
    """A numpy Generator for the stream named by `keys` under the run `seed`."""
    return np.random.default_rng(derive_seed(seed, *keys))
