"""The fair baseline of regime B on Ray Tune: a `tune.Tuner` whose trials are the recipes of a
`evaluation.recipe_search.SearchPlan`, each scored by `score_recipe` (the method's pre-trained
network fine-tuned on the val classes' selection episodes), at most the evolution's budget of
sample-gradients in all.

Random search, not ASHA: the recipes are drawn by gtl_ray's seeded streams and handed to Tune as
a grid of trial indices, so the trials, their scores and the winner are the same for the same
seed on any cluster, and the plan's cost is known before any trial runs. ASHA would stop weak
trials early and fit more into the budget, but which trials it stops depends on the order
results arrive, which Tune does not keep from run to run.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import torch
from ray import tune

from gtl_ray import storage
from gtl_ray.config import GTLConfig
from gtl_ray.data import Splits, load_splits
from gtl_ray.errors import RunFailed
from gtl_ray.evaluation.recipe_search import (
    RecipeScore,
    SearchPlan,
    SearchResult,
    prepare_search,
    score_recipe,
)
from gtl_ray.service.tune_progress import quiet_tune


def _trial(trial_config: dict[str, Any], shared: tuple, threads: int) -> None:
    """One Tune trial: score the plan's recipe number `index` and report it once."""
    torch.set_num_threads(threads)
    _, _, plan, _ = shared
    index = int(trial_config["index"])
    score = score_recipe(shared, plan.recipes[index])
    tune.report({"index": index, "accuracy": score.accuracy, "sample_grads": score.sample_grads})


def tune_recipes(
    config: GTLConfig,
    plan: SearchPlan,
    splits: Splits | None = None,
    cache_dir: str | None = None,
    storage_path: str | None = None,
    cpus_per_trial: float = 1.0,
) -> SearchResult:
    """Run every trial of `plan` as a Tune trial of `cpus_per_trial` CPUs (its torch threads)
    on the Ray this process is connected to; Tune's files go under `storage_path` (default a
    temporary folder). RunFailed when a trial fails."""
    splits = splits or load_splits(config.data)
    shared = prepare_search(config, plan, splits, cache_dir)
    threads = max(1, int(cpus_per_trial))
    trainable = tune.with_resources(
        tune.with_parameters(_trial, shared=shared, threads=threads), {"cpu": cpus_per_trial}
    )
    with tempfile.TemporaryDirectory(prefix="gtl-recipe-tuning-") as scratch:
        where = storage_path or scratch
        tuner = tune.Tuner(
            trainable,
            param_space={"index": tune.grid_search(list(range(len(plan.recipes))))},
            tune_config=tune.TuneConfig(metric="accuracy", mode="max"),
            run_config=tune.RunConfig(
                name=f"recipe-search-{plan.method}",
                storage_path=where if storage.is_uri(where) else os.path.abspath(where),
                checkpoint_config=tune.CheckpointConfig(checkpoint_frequency=0, checkpoint_at_end=False),
                verbose=0,
            ),
        )
        with quiet_tune():
            results = tuner.fit()
    errors = [r.error for r in results if r.error is not None]
    if errors:
        raise RunFailed(f"{len(errors)} recipe-search trial(s) failed: {' '.join(str(errors[0]).split())[-300:]}")
    scores: dict[int, RecipeScore] = {}
    for result in results:
        metrics = result.metrics
        scores[int(metrics["index"])] = RecipeScore(float(metrics["accuracy"]), int(metrics["sample_grads"]))
    return SearchResult(plan, [scores[i] for i in range(len(plan.recipes))])
