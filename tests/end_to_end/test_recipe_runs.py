"""A recipe evolved with the gene, end to end in one process: every member lives and is scored
with its recipe, the lineage, the manifest and the gene files keep it, the final learngene carries
the recipe it was chosen with, `evaluate` / `descend` / `inspect` use it when asked, and the
recipe search (the fair baseline) scores the same space; deterministic by seed."""

from __future__ import annotations

import dataclasses

import pytest

from gtl_ray.errors import ConfigError
from gtl_ray.evaluation import evaluate
from gtl_ray.evaluation.recipe_search import (
    evaluate_overrides,
    evolution_budget,
    plan_search,
    prepare_search,
    score_recipe,
)
from gtl_ray.evolution import evolve_local
from gtl_ray.finetune import finetune_sample_grads
from gtl_ray.inspection import format_inspection, inspect_gene, inspect_run
from gtl_ray.learngene import Learngene
from gtl_ray.preflight.genes import check_gene_fits
from gtl_ray.recipe import Recipe, config_recipe
from gtl_ray.run.store import RunStore
from tests.conftest import tiny
from tests.helpers import comparable

SPACE = "evolution.recipe={lr: [0.003, 0.1], lr_mult_head: [0.5, 4.0], steps: [2, 6], lifetime_lr: [0.01, 0.2]}"
RECIPE_RUN = [
    SPACE,
    "evolution.fitness=descendant",
    "evolution.fitness_episodes=1",
    "final.selection=val",
    "final.val_episodes=2",
    "evolution.generations=2",
    "evolution.elites=1",
]


@pytest.fixture(scope="module")
def recipe_run(tmp_path_factory):
    """(config, result, store) of a tiny evolution with a recipe space, its files written."""
    root = tmp_path_factory.mktemp("runs")
    config = tiny(*RECIPE_RUN, storage=root, name="recipe")
    store = RunStore(config.storage, config.name)
    return config, evolve_local(config, cache_dir=str(root / "cache"), store=store), store


def test_every_member_lives_and_is_scored_with_its_recipe(recipe_run):
    config, result, _ = recipe_run
    support = config.evaluation.n_way * config.evolution.fitness_shots
    for record in result.lineage:
        recipe = Recipe.from_json(record.recipe, record.id)
        assert record.fitness_sample_grads == finetune_sample_grads(recipe, support)  # 1 episode of its own steps
        assert 0.003 <= recipe.lr <= 0.1 and recipe.weight_decay == config.evaluation.weight_decay
    assert len({r.lifetime_sample_grads for r in result.lineage}) == 1  # the lifetime's length is not in the space
    by_id = {r.id: r for r in result.lineage}
    for record in result.lineage:
        if record.elite:
            assert record.recipe == by_id[record.parent].recipe  # lamarckian: the line's recipe passes unchanged
        elif record.parent is not None:
            assert record.recipe != by_id[record.parent].recipe


def test_the_final_learngene_carries_the_recipe_it_was_chosen_with(recipe_run):
    _, result, store = recipe_run
    chosen = result.choice.final
    assert chosen.recipe is not None and result.final.info["recipe"] == chosen.recipe.to_json()
    saved = Learngene.load(store.path("final", "learngene.safetensors"))
    assert saved.checksum == result.final.checksum and saved.info["recipe"] == chosen.recipe.to_json()
    assert chosen.recipe.to_json() == next(r.recipe for r in result.lineage if r.id == chosen.id)


def test_the_manifest_state_and_the_lineage_file_keep_the_recipes(recipe_run):
    _, result, store = recipe_run
    manifest = store.read_manifest()
    state = store.load_state(manifest)
    assert [p.recipe for p in state.parents] == [p.recipe for p in result.state.parents]
    assert all(p.recipe is not None for p in state.parents + state.hall_of_fame + state.leaders)
    assert comparable(store.load_lineage(manifest)) == comparable(result.lineage)


def test_a_recipe_run_is_deterministic_by_seed_and_the_seed_matters(recipe_run, tmp_path):
    _, result, _ = recipe_run
    again = evolve_local(tiny(*RECIPE_RUN), cache_dir=str(tmp_path))
    assert comparable(again.lineage) == comparable(result.lineage) and again.final.checksum == result.final.checksum
    other = evolve_local(tiny(*RECIPE_RUN, "seed=1"), cache_dir=str(tmp_path))
    assert [r.recipe for r in other.lineage] != [r.recipe for r in result.lineage]


def test_inspect_shows_the_recipe(recipe_run):
    _, result, store = recipe_run
    info = inspect_run(store.run_dir)
    assert info["final_learngene"]["recipe"] == result.choice.final.recipe.to_json()
    assert "its recipe (evolution.recipe): lr 0." in format_inspection(info)
    assert "recipe         lr 0." in format_inspection(inspect_gene(store.path("final", "learngene.safetensors")))
    gene = inspect_gene(store.path("final", "learngene.safetensors"))
    assert gene["recipe"] == result.final.info["recipe"] and "recipe" not in gene["info"]


def test_evaluate_fine_tunes_the_learngene_with_its_recipe_when_asked(recipe_run, tmp_path):
    config, result, _ = recipe_run
    methods = ["scratch", "learngene"]
    asked = dataclasses.replace(config, evaluation=dataclasses.replace(config.evaluation, recipe="gene"))
    with_gene = evaluate(asked, result.final, methods, cache_dir=str(tmp_path)).rows()
    with_config = evaluate(config, result.final, methods, cache_dir=str(tmp_path)).rows()
    support = config.evaluation.n_way * 1  # evaluation.shots=[1]
    steps = {r["method"]: r["finetune_sample_grads"] for r in with_gene}
    assert steps["learngene"] == finetune_sample_grads(result.choice.final.recipe, support)
    assert steps["scratch"] == finetune_sample_grads(config_recipe(config), support)  # baselines: the config's
    assert [r["mean"] for r in with_config if r["method"] == "scratch"] == [
        r["mean"] for r in with_gene if r["method"] == "scratch"
    ]
    assert {r["method"]: r["finetune_sample_grads"] for r in with_config}["learngene"] == steps["scratch"]


def test_a_gene_without_a_recipe_is_refused_before_anything_runs(tmp_path):
    plain = evolve_local(tiny("evolution.generations=1"), cache_dir=str(tmp_path)).final
    asked = tiny("evaluation.recipe=gene")
    with pytest.raises(ConfigError, match="evaluation.recipe=gene: learngene g.safetensors carries no recipe"):
        check_gene_fits(asked, plain, "g.safetensors")
    with pytest.raises(ConfigError, match="carries no recipe"):
        evaluate(asked, plain, ["learngene"], cache_dir=str(tmp_path))


def test_the_descend_settings_follow_the_gene_recipe_only_when_asked(recipe_run):
    from gtl_ray.descend import descend_settings
    from gtl_ray.models import create_model

    config, result, _ = recipe_run
    model, recipe = create_model("vgg11", width=0.125), result.choice.final.recipe
    plain, groups = descend_settings(config, model, None)
    assert groups is None and plain.lr == config.descend.lr and plain.epochs == 1
    settings, groups = descend_settings(config, model, recipe)
    assert settings.weight_decay == recipe.weight_decay and settings.steps is None and settings.epochs == 1
    assert groups[-1]["lr"] == pytest.approx(recipe.lr * recipe.lr_mult_head)


def test_the_recipe_search_plans_within_budget_and_scores_with_common_random_numbers(recipe_run, tmp_path):
    config, result, _ = recipe_run
    budget = evolution_budget(result.compute)
    assert budget == result.compute["total"] - result.compute["pretrain"] > 0
    plan = plan_search(config, "narrow", budget, episodes=2)
    assert sum(plan.costs) <= budget < sum(plan.costs) + 2 * 25 * 6  # the next trial would not fit
    assert plan_search(config, "narrow", budget, episodes=2).recipes == plan.recipes  # deterministic by seed
    assert plan_search(config, "full", budget, episodes=2).recipes != plan.recipes  # a stream per method
    assert len(plan_search(config, "narrow", budget, episodes=2, max_trials=2).recipes) == 2
    from gtl_ray.data import load_splits

    shared = prepare_search(config, dataclasses.replace(plan, recipes=plan.recipes[:2]), load_splits(config.data), None)
    first = score_recipe(shared, plan.recipes[0])
    assert first == score_recipe(shared, plan.recipes[0]) and first.sample_grads == plan.costs[0]
    overrides = evaluate_overrides(plan.recipes[0])
    retuned = tiny(*RECIPE_RUN, *overrides)
    assert config_recipe(retuned) == dataclasses.replace(plan.recipes[0], lifetime_lr=retuned.lifetime.lr)
    for method, message in (("learngene", "fine-tunes the learngene"), ("aft", "AFT regularizer")):
        with pytest.raises(ConfigError, match=message):
            plan_search(config, method, budget, 2)
    with pytest.raises(ConfigError, match="pays for no trial"):
        plan_search(config, "narrow", 10, 2)
    with pytest.raises(ConfigError, match="evolution.recipe: empty"):
        plan_search(tiny(), "narrow", budget, 2)
    with pytest.raises(ConfigError, match="data.splits.val: a recipe search scores on val classes"):
        plan_search(
            tiny(*RECIPE_RUN, "data.splits={base: 20, val: 0, novel: 10}", "final.selection=last_generation"),
            "narrow",
            budget,
            2,
        )
