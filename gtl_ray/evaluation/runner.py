"""Evaluate learngene against the baselines on novel classes: the same episodes (same seed) for
every method, per-episode scores kept so that differences can be paired. Episodes run through an
`Executor` (in this process by default; as Ray tasks from the CLI)."""
from __future__ import annotations

import logging
from typing import Callable

from gtl_ray.compute import compute_for, resident
from gtl_ray.config import GTLConfig
from gtl_ray.data import EpisodeSampler, ImageSet, Splits, load_splits
from gtl_ray.errors import ConfigError
from gtl_ray.evaluation.episodes import EpisodeScore, run_episode
from gtl_ray.evaluation.methods import Sources
from gtl_ray.evaluation.pretrain import pretrain, pretrain_sample_grads
from gtl_ray.evaluation.results import Evaluation
from gtl_ray.executor import Executor, InProcess
from gtl_ray.learngene import Learngene, extract_learngene

log = logging.getLogger(__name__)
EPISODES_PER_TASK = 10


def prepare_sources(config: GTLConfig, methods: list[str], base: ImageSet, learngene: Learngene | None, cache_dir: str | None) -> tuple[Sources, dict[str, int]]:
    """Pre-train what the chosen methods need (once, cached) and cut the heuristic gene; returns
    the sources and the sample-gradients each method's preparation cost."""
    if "learngene" in methods and learngene is None:
        raise ConfigError("evaluation.methods: 'learngene' needs --learngene URI")
    shape = config.descendant_shape()
    ev = config.evaluation
    sources = Sources(learngene=learngene, rest_init=ev.rest_init, rest_scale=ev.rest_scale)
    cost = {m: 0 for m in methods}
    if "full" in methods:
        sources.pretrained = pretrain(config, base, shape.arch, shape.width, shape.depth, cache_dir)
        cost["full"] = pretrain_sample_grads(config, base)
    if "heuristic" in methods:
        ancestry = config.model
        same = (shape.arch, shape.width, shape.depth) == (ancestry.arch, ancestry.width, ancestry.depth)
        source = sources.pretrained if same and sources.pretrained is not None else pretrain(config, base, ancestry.arch, ancestry.width, ancestry.depth, cache_dir)
        share = learngene.share if learngene is not None else config.learngene.share
        sources.heuristic = extract_learngene(source, share, baseline="heuristic")
        cost["heuristic"] = pretrain_sample_grads(config, base)
    if sources.pretrained is not None:
        sources.pretrained.reset_head(ev.n_way)
    return sources, cost


def _episodes(shared: tuple[GTLConfig, ImageSet, list[str], Sources], item: tuple[int, list[int]]) -> list[dict[str, EpisodeScore]]:
    config, novel, methods, sources = shared
    shots, indices = item
    ev, compute = config.evaluation, compute_for(config)
    sampler = EpisodeSampler(resident(novel, config, compute), ev.n_way, shots, ev.query, ev.episodes, seed=config.seed)
    return [run_episode(config, sampler[i], shots, i, methods, sources, compute) for i in indices]


def evaluate(
    config: GTLConfig,
    learngene: Learngene | None,
    methods: list[str] | None = None,
    splits: Splits | None = None,
    cache_dir: str | None = None,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Evaluation:
    """Every method on the same `evaluation.episodes` episodes per shot count; see `Evaluation`
    for the rows, the paired differences and the compute."""
    methods = methods or list(config.evaluation.methods)
    splits = splits or load_splits(config.data)
    ev = config.evaluation
    EpisodeSampler(splits.novel, ev.n_way, max(ev.shots), ev.query, ev.episodes, seed=config.seed)  # fail fast
    sources, preparation = prepare_sources(config, methods, splits.base, learngene, cache_dir)
    chunks = [(shots, list(range(start, min(start + EPISODES_PER_TASK, ev.episodes)))) for shots in ev.shots for start in range(0, ev.episodes, EPISODES_PER_TASK)]
    done: dict[int, list[dict[str, EpisodeScore]]] = {}
    count = 0
    for index, scores in (executor or InProcess(threads=1)).map(_episodes, (config, splits.novel, methods, sources), chunks):
        done[index] = scores
        count += len(scores)
        if progress:
            progress(count, ev.episodes * len(ev.shots))
    per_shot: dict[int, list[dict[str, EpisodeScore]]] = {s: [] for s in ev.shots}
    for index, (shots, _) in enumerate(chunks):
        per_shot[shots] += done[index]
    return Evaluation(ev.n_way, methods, per_shot, preparation)
