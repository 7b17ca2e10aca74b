"""What a selected member passes on to the next generation (`evolution.inheritance`):

- `lamarckian`: the gene as its lifetime left it (everything it learned is inherited);
- `darwinian`: the gene it inherited (its slots were frozen in its lifetime);
- `reptile`: the gene it inherited, moved `step_size` of the way along the mean learning step
  (trained - inherited) of the `top_k` fittest members of the generation — a population
  write-back (Reptile, Nichol et al. 2018) in which every fit lifetime contributes, instead of
  sequential fine-tuning along one lineage.

Pure numpy on the genes' tensors; accumulation in float64.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from gtl_ray.learngene import Learngene


def mean_step(inherited: Sequence[Learngene], trained: Sequence[Learngene]) -> dict[str, np.ndarray]:
    """Per tensor, the mean of (trained - inherited) over the given members (float64)."""
    if not inherited or len(inherited) != len(trained):
        raise ValueError(f"need as many inherited as trained genes (>= 1), got {len(inherited)} and {len(trained)}")
    step: dict[str, np.ndarray] = {}
    for before, after in zip(inherited, trained):
        for key, value in after.tensors.items():
            delta = value.astype(np.float64) - before.tensors[key].astype(np.float64)
            step[key] = step[key] + delta if key in step else delta
    return {key: value / len(inherited) for key, value in step.items()}


def take_step(gene: Learngene, step: dict[str, np.ndarray], size: float) -> dict[str, np.ndarray]:
    """The tensors of `gene` + size x step, in the gene's dtypes."""
    return {
        key: (value.astype(np.float64) + size * step[key]).astype(value.dtype) for key, value in gene.tensors.items()
    }
