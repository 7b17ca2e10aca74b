"""Evaluate learngene against the baselines on novel classes: the same episodes (same seed) for
every method, per-episode scores kept so that differences can be paired. Episodes run through an
`Executor` (in this process by default; as Ray tasks from the CLI)."""

from __future__ import annotations

import logging
from typing import Callable

from gtl_ray.compute import compute_for, resident
from gtl_ray.config import DescendantShape, GTLConfig
from gtl_ray.data import EpisodeSampler, ImageSet, Splits, load_splits
from gtl_ray.data.sampler import REPORT_STREAM
from gtl_ray.evaluation.episodes import EpisodeScore, episode_seed, run_episode
from gtl_ray.evaluation.methods import Sources
from gtl_ray.evaluation.results import Evaluation
from gtl_ray.evaluation.sources import prepare_sources
from gtl_ray.executor import Executor, InProcess
from gtl_ray.learngene import Learngene

log = logging.getLogger(__name__)
EPISODES_PER_TASK = 10


def _episodes(
    shared: tuple[GTLConfig, ImageSet, list[str], Sources, str, DescendantShape | None], item: tuple[int, list[int]]
) -> list[dict[str, EpisodeScore]]:
    config, images, methods, sources, stream, shape = shared
    shots, indices = item
    ev, compute = config.evaluation, compute_for(config)
    sampler = EpisodeSampler(
        resident(images, config, compute), ev.n_way, shots, ev.query, ev.episodes, episode_seed(config), stream
    )
    return [run_episode(config, sampler[i], shots, i, methods, sources, compute, shape) for i in indices]


def _check_request(config: GTLConfig, images: ImageSet, stream: str, first_episode: int) -> None:
    ev = config.evaluation
    if not 0 <= first_episode < ev.episodes:
        raise ValueError(f"first_episode {first_episode} outside 0..{ev.episodes - 1} (evaluation.episodes)")
    EpisodeSampler(images, ev.n_way, max(ev.shots), ev.query, ev.episodes, episode_seed(config), stream)


def score_episodes(
    config: GTLConfig,
    images: ImageSet,
    methods: list[str],
    sources: Sources,
    stream: str = REPORT_STREAM,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
    first_episode: int = 0,
    shape: DescendantShape | None = None,
) -> dict[int, list[dict[str, EpisodeScore]]]:
    """Per shot count, one {method: EpisodeScore} per episode first_episode..evaluation.episodes-1
    of `images`' classes, drawn from the named `stream` (`data.sampler`) under the episode seed.

    Episode i (its task, its fresh descendant, its fine-tuning draws) depends on the episode seed,
    the stream and i only: the same for every method and every `sources`, and `first_episode=k`
    scores episodes k.. exactly as a whole evaluation would (a benchmark extends a finished one).
    `shape`: the descendants' shape (default evaluation.descendant's)."""
    ev = config.evaluation
    _check_request(config, images, stream, first_episode)
    chunks = [
        (shots, list(range(start, min(start + EPISODES_PER_TASK, ev.episodes))))
        for shots in ev.shots
        for start in range(first_episode, ev.episodes, EPISODES_PER_TASK)
    ]
    total = (ev.episodes - first_episode) * len(ev.shots)
    done: dict[int, list[dict[str, EpisodeScore]]] = {}
    if progress:
        progress(0, total)  # the clock for the ETA starts here
    shared = (config, images, methods, sources, stream, shape)
    for index, scores in (executor or InProcess(threads=1)).map(_episodes, shared, chunks):
        done[index] = scores
        if progress:
            progress(sum(len(v) for v in done.values()), total)
    per_shot: dict[int, list[dict[str, EpisodeScore]]] = {s: [] for s in ev.shots}
    for index, (shots, _) in enumerate(chunks):
        per_shot[shots] += done[index]
    return per_shot


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
    """Every method on the same `evaluation.episodes` novel-class episodes per shot count (the
    report stream, `score_episodes`); see `Evaluation` for the rows, the paired differences, the
    compute and the transferred shares. Everything the methods draw from is prepared first
    (`sources.prepare_sources`)."""
    methods = methods or list(config.evaluation.methods)
    splits = splits or load_splits(config.data)
    ev = config.evaluation
    _check_request(config, splits.novel, REPORT_STREAM, first_episode)  # before any pre-training
    prepared = prepare_sources(config, methods, splits.base, learngene, cache_dir)
    per_shot = score_episodes(
        config,
        splits.novel,
        methods,
        prepared.sources,
        executor=executor,
        progress=progress,
        first_episode=first_episode,
    )
    return Evaluation(ev.n_way, methods, per_shot, prepared.sample_grads, prepared.transferred)
