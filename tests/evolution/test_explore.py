"""gtl_ray.evolution.explore: PBT's explore step on a recipe, and Reptile's move toward the
fittest recipes, inside the space's ranges and seeded."""

from __future__ import annotations

import math

import pytest

from gtl_ray.evolution.explore import FACTORS, explore, toward_mean
from gtl_ray.recipe import config_recipe, recipe_space
from gtl_ray.seeding import numpy_rng
from tests.conftest import tiny

SPACE = "evolution.recipe={lr: [0.001, 0.1], steps: [2, 40], lifetime_lr: [0.01, 0.2]}"


def test_a_child_is_perturbed_by_a_factor_inside_the_range_and_seeded():
    config = tiny(SPACE, "evolution.fitness=descendant")
    space, parent = recipe_space(config), config_recipe(config)
    child = explore(space, parent, numpy_rng(0, "explore"), resample=0.0)
    assert child == explore(space, parent, numpy_rng(0, "explore"), resample=0.0)
    for key, (low, high) in space.ranges.items():
        value = getattr(child, key)
        assert low <= value <= high
        if key != "steps":  # an integer may round back and step by one instead
            clipped = {space.clip(key, getattr(parent, key) * f) for f in FACTORS}
            assert value in clipped


def test_toward_the_fittest_in_log_space():
    config = tiny(SPACE, "evolution.fitness=descendant")
    space, recipe = recipe_space(config), config_recipe(config)
    low, high = space.ranges["lr"]
    fittest = [space.draw(numpy_rng(1, m)) for m in range(2)]
    moved = toward_mean(space, recipe, fittest, 1.0)
    target = math.exp(sum(math.log(r.lr) for r in fittest) / 2)
    assert moved.lr == pytest.approx(min(high, max(low, target)))
    assert toward_mean(None, None, [], 0.5) is None
    with pytest.raises(ValueError, match="needs the recipes of the fittest"):
        toward_mean(space, recipe, [None], 0.5)
