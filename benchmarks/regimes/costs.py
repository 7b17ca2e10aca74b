"""What regime A costs, measured before its budgets are fixed (`--measure`): CPU seconds of one
pre-training epoch and of one 1- and 5-shot episode per descendant size, and of one evolution,
and from them the projected CPU seconds of a profile's val choices and novel table. Scored on
base classes (no val or novel number comes out of it); one torch thread, process CPU time."""

from __future__ import annotations

import json
import time
from typing import Any

import torch

from benchmarks.regimes.prepare import evolved, pretrained, shape_of, splits_of
from benchmarks.regimes.protocol import ARMS, LIVE_SIZES, SIZES, Profile
from benchmarks.regimes.units import Evolution, Pretraining, Study
from gtl_ray.data import EpisodeSampler
from gtl_ray.evaluation.pretrain import pretrain_sample_grads
from gtl_ray.fewshot import finetune_accuracy, fresh_descendant, nearest_centroid_accuracy
from gtl_ray.recipe import config_recipe
from gtl_ray.torch_streams import torch_generator


def cpu_seconds(fn) -> float:
    """Process CPU seconds of `fn()`."""
    start = time.process_time()
    fn()
    return time.process_time() - start


def episode_seconds(study: Study, size_name: str, shots: int, repeats: int = 3) -> float:
    """Mean CPU seconds of one episode (instinct, fine-tuning, scoring) at one size."""
    config = study.config(0)
    size = next(s for s in SIZES if s.name == size_name)
    base, ev, recipe = splits_of(config).base, config.evaluation, config_recipe(config)
    sampler = EpisodeSampler(base, ev.n_way, shots, ev.query, repeats, seed=0, stream="costs")

    def one(i: int) -> None:
        model = fresh_descendant(config, "costs", i, shape=shape_of(config, size))
        nearest_centroid_accuracy(model, sampler[i])
        finetune_accuracy(model, sampler[i], ev, torch_generator(0, "costs", i), recipe=recipe)

    one(0)  # warm-up: the first network of a shape pays allocator and kernel set-up
    return sum(cpu_seconds(lambda: one(i)) for i in range(repeats)) / repeats


def measure(study: Study, rest) -> dict[str, Any]:
    """Per-size CPU seconds (pre-training epoch, 1- and 5-shot episode) and one evolution's."""
    torch.set_num_threads(1)
    config = study.config(0)
    epochs = config.pretrain.epochs
    start = Pretraining(study, "gene", epochs, 0)
    pretrained(start)  # generation 0 of the evolution, so that its time is the evolution's own
    out: dict[str, Any] = {"sizes": {}, "base_images": len(splits_of(config).base)}
    for size in SIZES:
        one_epoch = Pretraining(Study(study.data, study.overrides, study.work + "-costs"), size.name, 1, 0)
        out["sizes"][size.name] = {
            "pretrain_epoch": cpu_seconds(lambda: pretrained(one_epoch)),
            "episode": {str(k): episode_seconds(study, size.name, k) for k in (1, 5)},
        }
    evolution = Evolution(study, 0, rest)
    out["evolution"] = cpu_seconds(lambda: evolved(evolution))
    out["evolution_sample_grads"] = json.loads(evolution.path.read_text())["compute"]
    out["pretrain_sample_grads"] = pretrain_sample_grads(config, splits_of(config).base)
    return out


def projection(costs: dict[str, Any], profile: Profile, epochs: int) -> dict[str, float]:
    """Projected CPU seconds of one data set under `profile` (every gene-implanting arm costed at
    a live rest, the dearer case; scratch scored once)."""
    sizes, seeds = costs["sizes"], len(profile.seeds)
    total = costs["evolution_sample_grads"]["total"]
    n = costs["base_images"]
    eq, own = max(1, round(total / n)), max(1, round(total / (len(SIZES) * n)))
    start = epochs * sizes["gene"]["pretrain_epoch"]
    others = eq * sizes["gene"]["pretrain_epoch"] + sum(own * sizes[s.name]["pretrain_epoch"] for s in SIZES)
    others += sum(epochs * sizes[s.name]["pretrain_epoch"] for s in LIVE_SIZES)
    select = 2 * len(profile.candidates) * profile.select_episodes
    select *= sum(sizes[s.name]["episode"]["5"] for s in LIVE_SIZES)
    per_arm = sum(sizes[s.name]["episode"]["1"] + sizes[s.name]["episode"]["5"] for s in SIZES) * profile.novel_episodes
    novel = ((len(ARMS) - 1) * seeds + 1) * per_arm
    val = seeds * (start + costs["evolution"] + select)
    return {
        "val_start_pretrain": seeds * start,
        "val_evolution": seeds * costs["evolution"],
        "val_select": seeds * select,
        "val_total": val,
        "novel_pretrain": seeds * others,
        "novel_scoring": novel,
        "novel_total": seeds * others + novel,
        "total": val + seeds * others + novel,
    }
