"""Seeded torch random streams, named like the numpy ones in `gtl_ray.seeding`: a generator per
stream, and torch's global generator seeded inside a block (module initializers draw from it)."""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch

from gtl_ray.seeding import derive_seed


def torch_generator(seed: int, *keys: int | str) -> torch.Generator:
    """A CPU torch.Generator for the stream named by `keys` under the run `seed`."""
    gen = torch.Generator()
    gen.manual_seed(derive_seed(seed, *keys))
    return gen


@contextlib.contextmanager
def torch_init_seed(seed: int, *keys: int | str) -> Iterator[None]:
    """Seed torch's global generator inside the block only (module initializers draw from it)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(seed, *keys))
        yield
