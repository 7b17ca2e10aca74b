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

from gtl_ray.evolution.moved import MovedTensors, ScaledStep, add_step
from gtl_ray.learngene import Learngene


def mean_step(inherited: Sequence[Learngene], trained: Sequence[Learngene]) -> dict[str, np.ndarray]:
    """Per tensor, the mean of (trained - inherited) over the given members (float64)."""
    if not inherited or len(inherited) != len(trained):
        raise ValueError(f"need as many inherited as trained genes (>= 1), got {len(inherited)} and {len(trained)}")
    step: dict[str, np.ndarray] = {}
    for before, after in zip(inherited, trained):
        for key, value in after.tensors.items():
            delta = np.subtract(value, before.tensors[key], dtype=np.float64)  # exact: float32 inputs
            if key in step:
                step[key] += delta
            else:
                step[key] = delta
    return {key: value / len(inherited) for key, value in step.items()}


def take_steps(genes: Sequence[Learngene], step: dict[str, np.ndarray], size: float) -> list[dict[str, np.ndarray]]:
    """The tensors of each gene + size x step, added in float64 and rounded to the gene's dtypes
    (`moved.add_step`); size x step is computed once for all genes."""
    scaled = ScaledStep.of(step, size)
    return [add_step(gene.tensors, scaled) for gene in genes]


def moved_lazily(genes: Sequence[Learngene], step: dict[str, np.ndarray], size: float) -> list[MovedTensors]:
    """What `take_steps` gives, each computed when first read (`moved.MovedTensors`)."""
    scaled = ScaledStep.of(step, size)
    return [MovedTensors(gene.tensors, scaled) for gene in genes]


def take_step(gene: Learngene, step: dict[str, np.ndarray], size: float) -> dict[str, np.ndarray]:
    """The tensors of `gene` + size x step, in the gene's dtypes."""
    return take_steps([gene], step, size)[0]
