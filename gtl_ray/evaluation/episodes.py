"""One few-shot episode for every compared method: the same fresh descendant (same seed), each
method's initialization, an instinct score before any training, then fine-tuning on the support
set (with the method's objective: cross-entropy, or cross-entropy plus the AFT regularizer; with
the config's recipe, or the learngene's own under `evaluation.recipe: gene`) and accuracy on the
query set (the protocol of `gtl_ray.fewshot`)."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from gtl_ray.compute import CPU, Compute
from gtl_ray.config import DescendantShape, GTLConfig
from gtl_ray.data import Task
from gtl_ray.evaluation.methods import Sources, finetune_objective, initialize, needs_learngene
from gtl_ray.fewshot import finetune_accuracy, fresh_descendant, nearest_centroid_accuracy
from gtl_ray.recipe import config_recipe
from gtl_ray.torch_streams import torch_generator, torch_init_seed


@dataclass(frozen=True)
class EpisodeScore:
    accuracy: float  #: query accuracy after fine-tuning (fraction)
    instinct: float  #: nearest-centroid query accuracy before any training (fraction)
    sample_grads: int  #: sample-gradients the fine-tuning spent


def episode_seed(config: GTLConfig) -> int:
    """The seed of evaluation episodes: evaluation.episode_seed, else the run seed."""
    ev = config.evaluation
    return config.seed if ev.episode_seed is None else ev.episode_seed


def run_episode(
    config: GTLConfig,
    task: Task,
    shots: int,
    index: int,
    methods: list[str],
    sources: Sources,
    compute: Compute = CPU,
    shape: DescendantShape | None = None,
) -> dict[str, EpisodeScore]:
    """{method: score} for one episode; every method starts from the same fresh descendant
    (initialized on the CPU, then moved to `compute.device`) and fine-tunes on the same batches,
    all drawn from the episode seed (`episode_seed`); `shape` is the descendant's (default
    evaluation.descendant's)."""
    seed = episode_seed(config)
    fresh = fresh_descendant(config, shots, index, shape=shape, seed=seed)
    results: dict[str, EpisodeScore] = {}
    for method in methods:
        model = copy.deepcopy(fresh)
        initialize(method, model, sources)
        compute.place(model)
        instinct = nearest_centroid_accuracy(model, task, compute)
        with torch_init_seed(seed, "finetune-objective", shots, index):
            objective = finetune_objective(method, model, sources)
        recipe = sources.learngene_recipe if needs_learngene(method) else None
        acc, spent = finetune_accuracy(
            model,
            task,
            config.evaluation,
            torch_generator(seed, "finetune", shots, index),
            compute,
            objective,
            recipe=recipe or config_recipe(config),
        )
        results[method] = EpisodeScore(acc, instinct, spent)
    return results
