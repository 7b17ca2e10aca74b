"""The protocol's rules on per-episode rows: how a rest is chosen on val, how arms are averaged
over descendant sizes, and the decision rule of issue 23 (benchmarks/protocol.md)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from benchmarks.regimes.protocol import REGIME_A, SELECT_SHOTS, Regime
from gtl_ray.evaluation.episode_file import score_matrix, select
from gtl_ray.evaluation.seeds import Comparison, paired_by_seed

TARGET = 0.01  #: learngene - the best equal-compute baseline must reach +1 point (fractions)


def selection_means(table: pa.Table, dataset: str, arm: str) -> dict[str, float]:
    """{variant: mean accuracy} of `arm` on val over the selection shots, sizes, seeds, episodes."""
    rows = select(table, dataset=dataset, method=arm)
    out: dict[str, list[float]] = {}
    for variant, shots, accuracy in zip(*(rows.column(k).to_pylist() for k in ("variant", "shots", "accuracy"))):
        if shots in SELECT_SHOTS:
            out.setdefault(variant, []).append(accuracy)
    return {variant: float(np.mean(values)) for variant, values in out.items()}


def choose(means: dict[str, float], order: list[str]) -> str:
    """The highest mean; a tie goes to the candidate earlier in `order`."""
    candidates = [v for v in order if v in means]
    return max(candidates, key=lambda v: (means[v], -candidates.index(v)))


def over_sizes(table: pa.Table, dataset: str, arm: str, shots: int, sizes: list[str]) -> np.ndarray:
    """(seeds x episodes) accuracy of `arm` averaged over `sizes` (every size meets the same
    episode indices, every seed the same episodes)."""
    grids = [score_matrix(table, dataset=dataset, method=arm, shots=shots, size=size)[0] for size in sizes]
    return np.mean(grids, axis=0)


def decision(table: pa.Table, dataset: str, sizes: list[str], shots: int = 5, regime: Regime = REGIME_A) -> dict:
    """Issue 23's target on one data set: the regime's learngene arm minus its best equal-compute
    baseline (the one with the highest mean over sizes), averaged over sizes, must be >= TARGET
    with its seed-level 95% interval above 0."""
    learngene = over_sizes(table, dataset, regime.lead, shots, sizes)
    means = {arm: float(over_sizes(table, dataset, arm, shots, sizes).mean()) for arm in regime.equal_compute}
    best = max(regime.equal_compute, key=lambda arm: means[arm])
    c = paired_by_seed(learngene, over_sizes(table, dataset, best, shots, sizes))
    return {
        "best_equal_compute": best,
        "equal_compute_means": means,
        "difference": comparison_json(c),
        "met": bool(c.mean >= TARGET and c.mean - c.seed_ci95 > 0),
    }


def comparison_json(c: Comparison) -> dict:
    return {
        "mean": c.mean,
        "seed_ci95": c.seed_ci95 if np.isfinite(c.seed_ci95) else None,
        "episode_ci95": c.episode_ci95,
        "per_seed": list(c.per_seed),
        "resolved": c.resolved,
        "seeds": c.seeds,
        "episodes": c.episodes,
    }
