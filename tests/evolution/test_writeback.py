"""gtl_ray.evolution.writeback: Reptile's step, the mean of (trained - inherited) over members,
taken by every gene in float64 and rounded back to the gene's dtypes."""

from __future__ import annotations

import numpy as np
import pytest

from gtl_ray import create_model, extract_learngene
from gtl_ray.evolution.writeback import mean_step, take_step, take_steps


def _genes():
    gene = extract_learngene(create_model("vgg11", width=0.125, num_classes=5))
    moved = [gene.replace_tensors({k: v + d for k, v in gene.tensors.items()}) for d in (1.0, 3.0)]
    return gene, moved


def test_the_mean_step_and_a_fraction_of_it():
    gene, trained = _genes()
    step = mean_step([gene, gene], trained)
    assert all(v.dtype == np.float64 and np.allclose(v, 2.0) for v in step.values())
    half = take_step(gene, step, 0.5)
    assert all(half[k].dtype == gene.tensors[k].dtype and np.allclose(half[k], gene.tensors[k] + 1.0) for k in half)
    assert all(np.array_equal(a[k], half[k]) for a in take_steps([gene, gene], step, 0.5) for k in half)


def test_members_and_genes_must_pair():
    gene, trained = _genes()
    with pytest.raises(ValueError, match="need as many inherited as trained genes"):
        mean_step([gene], trained)
