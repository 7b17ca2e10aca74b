"""Evaluate learngene against the baselines on novel classes: the same episodes (same seed) for
every method, per-episode scores kept so that differences can be paired. Episodes run through an
`Executor` (in this process by default; as Ray tasks from the CLI)."""

from __future__ import annotations

import logging
from typing import Callable

from gtl_ray.compute import compute_for, resident
from gtl_ray.config import GTLConfig
from gtl_ray.data import EpisodeSampler, ImageSet, Splits, load_splits
from gtl_ray.evaluation.episodes import EpisodeScore, run_episode
from gtl_ray.evaluation.methods import Sources
from gtl_ray.evaluation.results import Evaluation
from gtl_ray.evaluation.sources import prepare_sources
from gtl_ray.executor import Executor, InProcess
from gtl_ray.learngene import Learngene

log = logging.getLogger(__name__)
EPISODES_PER_TASK = 10


def _episodes(
    shared: tuple[GTLConfig, ImageSet, list[str], Sources], item: tuple[int, list[int]]
) -> list[dict[str, EpisodeScore]]:
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
    first_episode: int = 0,
) -> Evaluation:
    """Every method on the same `evaluation.episodes` episodes per shot count; see `Evaluation`
    for the rows, the paired differences, the compute and the transferred shares. Everything
    the methods draw from is prepared first (`sources.prepare_sources`).

    Episode i (its task and its descendants' seeds) depends on the seed and i only, so
    `first_episode=k` scores episodes k..episodes-1 exactly as a whole evaluation would: a
    benchmark extends a finished evaluation to more episodes without redoing the first k."""
    methods = methods or list(config.evaluation.methods)
    splits = splits or load_splits(config.data)
    ev = config.evaluation
    if not 0 <= first_episode < ev.episodes:
        raise ValueError(f"first_episode {first_episode} outside 0..{ev.episodes - 1} (evaluation.episodes)")
    EpisodeSampler(splits.novel, ev.n_way, max(ev.shots), ev.query, ev.episodes, seed=config.seed)  # fail fast
    prepared = prepare_sources(config, methods, splits.base, learngene, cache_dir)
    chunks = [
        (shots, list(range(start, min(start + EPISODES_PER_TASK, ev.episodes))))
        for shots in ev.shots
        for start in range(first_episode, ev.episodes, EPISODES_PER_TASK)
    ]
    total = (ev.episodes - first_episode) * len(ev.shots)
    done: dict[int, list[dict[str, EpisodeScore]]] = {}
    count = 0
    if progress:
        progress(0, total)  # the clock for the ETA starts here
    for index, scores in (executor or InProcess(threads=1)).map(
        _episodes, (config, splits.novel, methods, prepared.sources), chunks
    ):
        done[index] = scores
        count += len(scores)
        if progress:
            progress(count, total)
    per_shot: dict[int, list[dict[str, EpisodeScore]]] = {s: [] for s in ev.shots}
    for index, (shots, _) in enumerate(chunks):
        per_shot[shots] += done[index]
    return Evaluation(ev.n_way, methods, per_shot, prepared.sample_grads, prepared.transferred)
