"""How a recipe changes from parent to child, as in Population Based Training's explore step
(Jaderberg et al. 2017): each value the space ranges over is multiplied by 0.8 or 1.25 (clipped to
its range), or, with probability `resample`, redrawn from the space. Under Reptile write-back a
line's recipe also moves part of the way toward the fittest members' recipes, averaged in log
space (Nichol et al. 2018, applied to hyper-parameters).

Pure functions of a `RecipeSpace`, a recipe and a numpy Generator; numpy only (the learngene pool
runs them).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Sequence

import numpy as np

from gtl_ray.recipe import INTEGER_KEYS, Recipe, RecipeSpace

FACTORS = (0.8, 1.25)  #: PBT's perturbation factors


def explore(space: RecipeSpace, recipe: Recipe, rng: np.random.Generator, resample: float) -> Recipe:
    """A child's recipe: per ranged key (RECIPE_KEYS order), one uniform draw decides resample
    (below `resample`) or perturb, then the new value is drawn. An integer perturbed to its own
    value (small counts round back) moves one step in the factor's direction instead."""
    values = {}
    for key in space.ranges:
        if rng.random() < resample:
            values[key] = space.sample(key, rng)
            continue
        factor = FACTORS[int(rng.integers(len(FACTORS)))]
        old = getattr(recipe, key)
        new = space.clip(key, old * factor)
        if key in INTEGER_KEYS and new == old:
            new = space.clip(key, old + (1 if factor > 1 else -1))
        values[key] = new
    return replace(recipe, **values)


def toward_mean(
    space: RecipeSpace | None, recipe: Recipe | None, fittest: Sequence[Recipe | None], step_size: float
) -> Recipe | None:
    """`recipe` moved `step_size` of the way toward the mean of `fittest` in log space, per
    ranged key (integers rounded half up, every value kept inside its range); None stays None
    (no recipe space)."""
    if space is None or recipe is None:
        return recipe
    if not fittest or any(r is None for r in fittest):
        raise ValueError("toward_mean needs the recipes of the fittest members")
    values = {}
    for key in space.ranges:
        target = float(np.mean([math.log(getattr(r, key)) for r in fittest]))
        here = math.log(getattr(recipe, key))
        values[key] = space.clip(key, math.exp(here + step_size * (target - here)))
    return replace(recipe, **values)
