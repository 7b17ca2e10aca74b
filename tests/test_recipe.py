"""The fine-tuning recipe as a value and a search space (`gtl_ray.recipe`), how it changes from
parent to child (`evolution.explore`), and the strategy that decides it: deterministic by seed,
inside its ranges, inherited with the gene, refused before anything starts when declared badly."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from gtl_ray.errors import ConfigError, LearngeneError
from gtl_ray.evolution.explore import explore, toward_mean
from gtl_ray.evolution.strategy import INITIAL, Strategy
from gtl_ray.recipe import RECIPE_KEYS, Recipe, config_recipe, gene_recipe, recipe_space
from gtl_ray.seeding import numpy_rng
from tests.conftest import tiny
from tests.evolution.test_strategy import FITNESS, genes

SPACE = "evolution.recipe={lr: [0.001, 0.1], lr_mult_early: [0.1, 1.0], steps: [2, 40], lifetime_lr: [0.01, 0.2]}"
DESCENDANT = "evolution.fitness=descendant"


def config(*extra: str):
    base = ["population.size=6", "evolution.tournament_size=2", "evolution.elites=2", "evolution.hall_of_fame=3"]
    return tiny(*base, SPACE, DESCENDANT, *extra)


def test_a_recipe_round_trips_through_json_and_refuses_bad_values():
    recipe = config_recipe(config())
    assert Recipe.from_json(recipe.to_json(), "here") == recipe and list(recipe.to_json()) == list(RECIPE_KEYS)
    assert recipe.stage_lrs == (0.01, 0.01, 0.01, 0.01)
    for key, value in (("lr", 0), ("steps", 2.5), ("weight_decay", -1.0), ("lr", math.inf), ("lr", True)):
        with pytest.raises(ConfigError, match=f"here: recipe '{key}' must be"):
            Recipe.from_json({**recipe.to_json(), key: value}, "here")
    with pytest.raises(LearngeneError, match="exactly the keys"):
        Recipe.from_json({"lr": 0.1}, "here", LearngeneError)


def test_the_space_draws_inside_its_ranges_log_uniformly_and_keeps_the_other_keys():
    space = recipe_space(config())
    assert list(space.ranges) == ["lr", "lr_mult_early", "steps", "lifetime_lr"]  # RECIPE_KEYS order
    draws = [space.draw(numpy_rng(0, "t", i)) for i in range(400)]
    for recipe in draws:
        assert 0.001 <= recipe.lr <= 0.1 and 2 <= recipe.steps <= 40 and isinstance(recipe.steps, int)
        assert recipe.lr_mult_head == 1.0 and recipe.weight_decay == 5e-4  # not in the space: the config's
    below = sum(r.lr < 0.01 for r in draws) / len(draws)  # log-uniform: half the draws below the geometric middle
    assert 0.4 < below < 0.6
    assert space.draw(numpy_rng(0, "t", 1)) == draws[1] != draws[2]
    assert recipe_space(tiny()) is None  # no space: no recipe evolves


def test_explore_perturbs_by_pbt_factors_within_range_or_resamples():
    space = recipe_space(config())
    parent = replace(space.base, lr=0.01, lr_mult_early=0.5, steps=2, lifetime_lr=0.19)
    for i in range(50):
        child = explore(space, parent, numpy_rng(0, "x", i), resample=0.0)
        assert child.lr in (pytest.approx(0.008), pytest.approx(0.0125))
        assert child.lr_mult_early in (pytest.approx(0.4), pytest.approx(0.625))
        assert child.lifetime_lr in (pytest.approx(0.152), pytest.approx(0.2))  # 0.2375 clipped to the range
        assert child.steps in (2, 3)  # 2 x 1.25 rounds back to 2: one step up; 2 x 0.8 clipped to the low end
        assert child.weight_decay == parent.weight_decay
    resampled = [explore(space, parent, numpy_rng(0, "x", i), resample=1.0) for i in range(20)]
    assert len({r.lr for r in resampled}) == 20 and all(0.001 <= r.lr <= 0.1 for r in resampled)
    assert explore(space, parent, numpy_rng(0, "x", 3), 0.25) == explore(space, parent, numpy_rng(0, "x", 3), 0.25)


def test_toward_mean_moves_in_log_space_and_rounds_steps():
    space = recipe_space(config())
    here = replace(space.base, lr=0.001, lr_mult_early=1.0, steps=4, lifetime_lr=0.1)
    top = [replace(here, lr=0.1, steps=16), replace(here, lr=0.01, steps=4)]
    moved = toward_mean(space, here, top, 0.5)
    assert moved.lr == pytest.approx(10 ** (-3 + 0.5 * 1.5))  # halfway from 1e-3 to the geometric mean 10^-1.5
    assert moved.steps == 6  # exp(log 4 + 0.5 (log 8 - log 4)) = 5.66 -> 6
    assert moved.lr_mult_early == 1.0 and toward_mean(space, here, top, 1.0).steps == 8
    assert toward_mean(None, None, [], 0.5) is None


@pytest.mark.parametrize(
    "override, message",
    [
        ("evolution.recipe={lr: [0.1, 0.01]}", "evolution.recipe.lr: must be 0 < low < high"),
        ("evolution.recipe={lr: [0, 0.01]}", "evolution.recipe.lr: must be 0 < low < high"),
        ("evolution.recipe={momentum: [0.1, 0.9]}", "evolution.recipe: unknown key 'momentum'; recipe keys: lr,"),
        ("evolution.recipe={steps: [2.5, 10]}", "evolution.recipe.steps: must be integers"),
        ("evolution.recipe={lr: 0.1}", r"evolution.recipe.lr: must be \[low, high\]"),
        ("evolution.recipe={lr: [0.001, .inf]}", r"evolution.recipe.lr: must be \[low, high\]"),
        ("evolution.recipe=[1, 2]", "evolution.recipe: expected a mapping"),
        ("evolution.recipe_resample=1.5", r"evolution.recipe_resample: must be in \[0, 1\]"),
        ("evaluation.lr_mult.head=0", "evaluation.lr_mult.head: must be > 0"),
        ("evaluation.weight_decay=-1", "evaluation.weight_decay: must be >= 0"),
        ("evaluation.recipe=best", "evaluation.recipe: 'best' is not allowed; choose one of config, gene"),
    ],
)
def test_bad_recipe_settings_are_refused_naming_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        tiny(DESCENDANT, override)


def test_fine_tuning_keys_need_a_fitness_that_scores_them():
    with pytest.raises(ConfigError, match=r"evolution.recipe: fine-tuning keys \(lr, steps\) that this run never"):
        tiny("evolution.recipe={lr: [0.001, 0.1], steps: [2, 9], lifetime_lr: [0.01, 0.1]}")
    tiny("evolution.recipe={lifetime_lr: [0.01, 0.1]}")  # the lifetime's lr: any fitness


def test_generation_zero_draws_elites_keep_and_children_explore_their_parents_recipe():
    s = Strategy(config())
    state = s.init(genes(1)[0])
    births = [s.inherit(a, state.parents[0]) for a in state.assignments]
    recipes = [b.recipe for b in births]
    assert len(set(recipes)) == 6  # drawn per member, elites too: the initial gene carries no recipe
    assert recipes[4] == recipe_space(s.config).draw(numpy_rng(s.config.seed, "recipe", 0, 4))
    assert state.parents[0].id == INITIAL and state.parents[0].recipe is None
    passed_on = [g.replace_tensors(g.tensors, recipe=r.to_json()) for g, r in zip(genes(6), recipes)]
    nxt = s.tell(state, FITNESS, passed_on)
    for p in nxt.parents:  # each parent carries the recipe its member lived with
        assert p.recipe == recipes[int(p.id[-4:])] and p.gene.info["recipe"] == p.recipe.to_json()
    for a in nxt.assignments:
        parent, child = nxt.find_parent(a.parent_id), s.inherit(a, nxt.find_parent(a.parent_id)).recipe
        assert (child == parent.recipe) == a.elite  # elites unchanged, every other child explored
        assert child == s.recipe_of(a, parent)  # one decision, wherever it is asked


def test_reptile_moves_each_line_toward_the_fittest_recipes():
    s = Strategy(config("evolution.inheritance=reptile", "evolution.top_k=2", "evolution.step_size=0.5"))
    state = s.init(None)
    recipes = [s.recipe_of(a, None) for a in state.assignments]
    born, trained = genes(6), genes(6, seed=1)
    nxt = s.tell(state, FITNESS, trained, born)
    top = [recipes[1], recipes[3]]  # FITNESS ranks members 1 and 3 first
    for p in nxt.parents:
        mine = recipes[int(p.id[-4:])]
        expected = math.exp(math.log(mine.lr) + 0.5 * (np.mean([math.log(r.lr) for r in top]) - math.log(mine.lr)))
        assert p.recipe.lr == pytest.approx(expected) and p.gene.info["recipe"] == p.recipe.to_json()


def test_gene_recipe_reads_the_header_or_refuses_naming_the_gene():
    recipe = config_recipe(config())
    assert gene_recipe(config(), {}, "a.safetensors") is None  # evaluation.recipe: config
    asked = config("evaluation.recipe=gene")
    assert gene_recipe(asked, {"recipe": recipe.to_json()}, "a.safetensors") == recipe
    with pytest.raises(ConfigError, match="evaluation.recipe=gene: learngene a.safetensors carries no recipe"):
        gene_recipe(asked, {"provenance": {}}, "a.safetensors")
    with pytest.raises(LearngeneError, match="learngene a.safetensors: header info: recipe 'lr' must be"):
        gene_recipe(asked, {"recipe": {**recipe.to_json(), "lr": -1}}, "a.safetensors")
