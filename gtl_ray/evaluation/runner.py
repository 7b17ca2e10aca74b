"""Evaluate learngene against the baselines on novel classes: the same episodes (same seed) for
every method, mean and 95% CI per (method, shots). Episodes run as Ray tasks when Ray is up."""
from __future__ import annotations

import logging
from typing import Any, Callable

import torch

from gtl_ray.config import GTLConfig
from gtl_ray.data import EpisodeSampler, ImageSet, Splits, load_splits
from gtl_ray.errors import ConfigError
from gtl_ray.evaluation.episodes import DescendantShape, descendant_shape, run_episode
from gtl_ray.evaluation.methods import Sources
from gtl_ray.evaluation.pretrain import pretrain
from gtl_ray.evaluation.stats import mean_ci95
from gtl_ray.learngene import Learngene, extract_learngene

log = logging.getLogger(__name__)
EPISODES_PER_TASK = 10


def prepare_sources(config: GTLConfig, methods: list[str], base: ImageSet, learngene: Learngene | None, cache_dir: str | None) -> Sources:
    """Pre-train what the chosen methods need (once, cached) and cut the heuristic gene."""
    if "learngene" in methods and learngene is None:
        raise ConfigError("evaluation.methods: 'learngene' needs --learngene URI")
    shape = descendant_shape(config)
    sources = Sources(learngene=learngene)
    if "full" in methods:
        sources.pretrained = pretrain(config, base, shape.arch, shape.width, shape.depth, cache_dir)
    if "heuristic" in methods:
        ancestry = config.model
        same = (shape.arch, shape.width, shape.depth) == (ancestry.arch, ancestry.width, ancestry.depth)
        source = sources.pretrained if same and sources.pretrained is not None else pretrain(config, base, ancestry.arch, ancestry.width, ancestry.depth, cache_dir)
        share = learngene.share if learngene is not None else config.learngene.share
        sources.heuristic = extract_learngene(source, share, baseline="heuristic")
    if sources.pretrained is not None:
        sources.pretrained.reset_head(config.evaluation.n_way)
    return sources


def _episodes(config: GTLConfig, novel: ImageSet, shots: int, indices: list[int], methods: list[str], sources: Sources, shape: DescendantShape) -> list[dict[str, tuple[float, float]]]:
    torch.set_num_threads(1)
    ev = config.evaluation
    sampler = EpisodeSampler(novel, ev.n_way, shots, ev.query, ev.episodes, seed=config.seed)
    return [run_episode(config, sampler[i], shots, i, methods, sources, shape) for i in indices]


def evaluate(
    config: GTLConfig,
    learngene: Learngene | None,
    methods: list[str] | None = None,
    splits: Splits | None = None,
    cache_dir: str | None = None,
    use_ray: bool | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Result rows {method, n_way, shots, mean, ci95, episodes, instinct_mean, instinct_ci95}."""
    import ray

    methods = methods or list(config.evaluation.methods)
    splits = splits or load_splits(config.data)
    ev = config.evaluation
    EpisodeSampler(splits.novel, ev.n_way, max(ev.shots), ev.query, ev.episodes, seed=config.seed)  # fail fast
    sources = prepare_sources(config, methods, splits.base, learngene, cache_dir)
    shape = descendant_shape(config)
    use_ray = ray.is_initialized() if use_ray is None else use_ray
    chunks = [(shots, list(range(start, min(start + EPISODES_PER_TASK, ev.episodes)))) for shots in ev.shots for start in range(0, ev.episodes, EPISODES_PER_TASK)]
    per_shot: dict[int, list[dict[str, tuple[float, float]]]] = {s: [] for s in ev.shots}
    done = 0
    if use_ray:
        remote = ray.remote(num_cpus=1)(_episodes)
        refs = [ray.put(x) for x in (config, splits.novel, sources, shape)]
        pending = {remote.remote(refs[0], refs[1], shots, idx, methods, refs[2], refs[3]): (shots, idx) for shots, idx in chunks}
        results: dict[tuple[int, int], list] = {}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            shots, idx = pending.pop(ready[0])
            results[(shots, idx[0])] = ray.get(ready[0])
            done += len(idx)
            if progress:
                progress(done, ev.episodes * len(ev.shots))
        for shots, idx in chunks:
            per_shot[shots] += results[(shots, idx[0])]
    else:
        threads = torch.get_num_threads()
        try:
            for shots, idx in chunks:
                per_shot[shots] += _episodes(config, splits.novel, shots, idx, methods, sources, shape)
                done += len(idx)
                if progress:
                    progress(done, ev.episodes * len(ev.shots))
        finally:
            torch.set_num_threads(threads)
    rows = []
    for shots in ev.shots:
        for method in methods:
            accs = [ep[method][0] for ep in per_shot[shots]]
            instincts = [ep[method][1] for ep in per_shot[shots]]
            mean, ci = mean_ci95(accs)
            imean, ici = mean_ci95(instincts)
            rows.append({"method": method, "n_way": ev.n_way, "shots": shots, "mean": mean, "ci95": ci, "episodes": len(accs), "instinct_mean": imean, "instinct_ci95": ici})
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table: one line per method, one column per shot count, accuracy in percent
    as mean ± 95% CI, then the instinct (nearest centroid before training) columns."""
    shots = sorted({r["shots"] for r in rows})
    methods = list(dict.fromkeys(r["method"] for r in rows))
    n_way = rows[0]["n_way"] if rows else 0
    by = {(r["method"], r["shots"]): r for r in rows}
    head = ["method"] + [f"{n_way}-way {s}-shot" for s in shots] + [f"instinct {s}-shot" for s in shots]
    lines = [head]
    for m in methods:
        cells = [m]
        cells += [f"{100 * by[(m, s)]['mean']:.2f} ± {100 * by[(m, s)]['ci95']:.2f}" for s in shots]
        cells += [f"{100 * by[(m, s)]['instinct_mean']:.2f} ± {100 * by[(m, s)]['instinct_ci95']:.2f}" for s in shots]
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    episodes = rows[0]["episodes"] if rows else 0
    out.append(f"accuracy in % (mean ± 95% CI over {episodes} episodes, same episodes for every method)")
    return "\n".join(out)
