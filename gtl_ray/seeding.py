"""Explicit random streams derived from (run seed, purpose, generation, member index).

Every random draw in gtl_ray comes from one of these, never from global state, a trial id or
the clock, so that the same config and seed give the same lineage on any cluster layout.
torch is imported by the torch streams only (the learngene pool draws numpy streams alone).
"""

from __future__ import annotations

import contextlib
import hashlib
from typing import TYPE_CHECKING, Iterator

import numpy as np

if TYPE_CHECKING:
    import torch


def derive_seed(seed: int, *keys: int | str) -> int:
    """A 63-bit seed that depends on the run seed and every key, stable across processes."""
    text = ":".join([str(int(seed))] + [str(k) for k in keys])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


def numpy_rng(seed: int, *keys: int | str) -> np.random.Generator:
    """A numpy Generator for the stream named by `keys` under the run `seed`."""
    return np.random.default_rng(derive_seed(seed, *keys))


def torch_generator(seed: int, *keys: int | str) -> torch.Generator:
    """A CPU torch.Generator for the stream named by `keys` under the run `seed`."""
    import torch

    gen = torch.Generator()
    gen.manual_seed(derive_seed(seed, *keys))
    return gen


@contextlib.contextmanager
def torch_init_seed(seed: int, *keys: int | str) -> Iterator[None]:
    """Seed torch's global generator inside the block only (module initializers draw from it)."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(seed, *keys))
        yield
