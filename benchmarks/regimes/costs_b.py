"""What regime B costs, measured before its episode counts are fixed (`regime_b.py --measure`): CPU
seconds of one x1 episode at the fewest and the most fine-tuning steps of the recipe space (1- and
5-shot), of one pre-training epoch of the narrow and the x1 network, and of one regime B evolution;
from them the projected CPU seconds of a profile. Scored on base classes only (no val or novel
number comes out of it); one torch thread, process CPU time. Regime A's `costs` does the timing."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import torch

from benchmarks.regimes.costs import cpu_seconds, episode_seconds
from benchmarks.regimes.prepare import evolved, pretrained, splits_of
from benchmarks.regimes.protocol import B_ARMS, B_SIZE, REST_CANDIDATES, TUNED, ProfileB
from benchmarks.regimes.units import Evolution, Pretraining, Study
from gtl_ray.evaluation.recipe_search import evolution_budget

RECIPE_ARMS = ("learngene+recipe", *TUNED)  #: arms whose steps come from a recipe (costed at the most steps)


def evolution_b(study: Study, seed: int, rest, profile: ProfileB) -> Evolution:
    """Regime B's evolution from `seed`: regime A's at x1 only, the recipe space evolving."""
    return Evolution(study, seed, rest, sizes=(B_SIZE,), extra=profile.evolution_overrides())


def measure_b(study: Study, profile: ProfileB) -> dict[str, Any]:
    """Per-step-count episode seconds at x1, pre-training epochs, and one evolution's seconds and
    sample-gradients (seed 0, the first rest candidate: a live rest, the dearer case)."""
    torch.set_num_threads(1)
    config = study.config(0)
    low, high = dict(profile.space)["steps"]
    pretrained(Pretraining(study, "gene", config.pretrain.epochs, 0))  # the evolution's start, not its cost
    costs_study = Study(study.data, study.overrides, study.work + "-costs")
    out: dict[str, Any] = {"base_images": len(splits_of(config).base), "steps": [int(low), int(high)], "episode": {}}
    for steps in (int(low), int(high)):
        stepped = replace(study, overrides=(*study.overrides, f"evaluation.steps={steps}"))
        out["episode"][str(steps)] = {str(k): episode_seconds(stepped, B_SIZE, k) for k in (1, 5)}
    out["pretrain_epoch"] = {
        size: cpu_seconds(lambda size=size: pretrained(Pretraining(costs_study, size, 1, 0)))
        for size in ("gene", B_SIZE)
    }
    evolution = evolution_b(study, 0, REST_CANDIDATES[0], profile)
    out["evolution"] = cpu_seconds(lambda: evolved(evolution))
    out["evolution_sample_grads"] = json.loads(evolution.path.read_text())["compute"]
    out["config_steps"] = config.evaluation.steps
    out["pretrain_epochs"] = config.pretrain.epochs
    return out


def episode_at(costs: dict[str, Any], shots: int, steps: float) -> float:
    """CPU seconds of one x1 episode at `steps` fine-tuning steps (linear between the two measured)."""
    (low, high), per = costs["steps"], costs["episode"]
    a, b = per[str(low)][str(shots)], per[str(high)][str(shots)]
    return a + (b - a) * (steps - low) / (high - low)


def projection_b(costs: dict[str, Any], profile: ProfileB) -> dict[str, float]:
    """Projected CPU seconds of one data set: the narrow starts and the x1 pre-trainings (shared
    with regime A: free when its work folder is reused), the evolutions, the tunings (the budget
    spent at the space's mean steps), the novel table (recipe arms at the most steps)."""
    seeds, epochs = len(profile.base.seeds), costs["pretrain_epochs"]
    low, high = costs["steps"]
    mean_steps = (low + high) / 2
    support = 25  # 5-way 5-shot: one batch of min(25, support) images per step
    budget = evolution_budget(costs["evolution_sample_grads"])
    tune_episodes = budget / (support * mean_steps)
    per_seed_novel = sum(
        episode_at(costs, shots, high if arm in RECIPE_ARMS else costs["config_steps"])
        for arm in B_ARMS
        for shots in (1, 5)
    )
    parts = {
        "starts_and_x1_pretrain_shared_with_A": seeds * epochs * sum(costs["pretrain_epoch"].values()),
        "evolutions": seeds * costs["evolution"],
        "tuning": seeds * len(TUNED) * tune_episodes * episode_at(costs, 5, mean_steps),
        "novel_scoring": seeds * profile.novel_episodes * per_seed_novel,
    }
    parts["val_total"] = parts["starts_and_x1_pretrain_shared_with_A"] + parts["evolutions"] + parts["tuning"]
    parts["total"] = parts["val_total"] + parts["novel_scoring"]
    parts["tuning_budget_sample_grads"] = budget
    parts["trials_per_tuning"] = tune_episodes / profile.tune_episodes
    return parts
