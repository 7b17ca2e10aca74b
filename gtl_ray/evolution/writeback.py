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
            delta = np.subtract(value, before.tensors[key], dtype=np.float64)  # exact: float32 inputs
            if key in step:
                step[key] += delta
            else:
                step[key] = delta
    return {key: value / len(inherited) for key, value in step.items()}


def take_steps(genes: Sequence[Learngene], step: dict[str, np.ndarray], size: float) -> list[dict[str, np.ndarray]]:
    """The tensors of each gene + size x step, added in float64 and rounded to the gene's dtypes.
    A gene holds dozens of small tensors, so each gene is added as one flat vector (one add, not
    one per tensor); size x step is computed once for all genes."""
    keys = list(step)
    scaled = size * np.concatenate([step[key].ravel() for key in keys])
    bounds = np.cumsum([0] + [step[key].size for key in keys]).tolist()
    out = []
    for gene in genes:
        moved = np.concatenate([gene.tensors[key].ravel() for key in keys], dtype=np.float64) + scaled
        dtypes = {gene.tensors[key].dtype for key in keys}
        if len(dtypes) == 1:  # the usual case: one rounding for the whole gene
            moved = moved.astype(dtypes.pop())
        tensors = {}
        for key, lo, hi in zip(keys, bounds, bounds[1:]):
            value = gene.tensors[key]
            tensors[key] = moved[lo:hi].astype(value.dtype, copy=False).reshape(value.shape)
        out.append(tensors)
    return out


def take_step(gene: Learngene, step: dict[str, np.ndarray], size: float) -> dict[str, np.ndarray]:
    """The tensors of `gene` + size x step, in the gene's dtypes."""
    return take_steps([gene], step, size)[0]
