"""Two-level statistics: the seed (one pre-training or evolution) is the unit a claim rests on, the
episode only the measurement inside it.

An episode-level interval (`stats.mean_ci95` over episodes) tells how precisely a method was
measured from one start; it says nothing about how much another pre-training or evolution seed
would move the result. With a handful of seeds, the seed-level interval is a t interval over the
per-seed means (n - 1 degrees of freedom), and a difference is called *resolved* only when that
interval excludes 0. A hierarchical bootstrap (seeds, then episodes) is offered beside it.

No scipy: the t quantiles come from a table for 1..30 degrees of freedom and a Cornish-Fisher
expansion above (error below 2e-6 there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from gtl_ray.evaluation.stats import mean_ci95

#: two-sided 95% quantiles t_{0.975, df} for df = 1..30
T975 = (
    12.706204736,
    4.302652730,
    3.182446305,
    2.776445105,
    2.570581836,
    2.446911851,
    2.364624252,
    2.306004135,
    2.262157163,
    2.228138852,
    2.200985160,
    2.178812830,
    2.160368656,
    2.144786688,
    2.131449546,
    2.119905299,
    2.109815578,
    2.100922040,
    2.093024054,
    2.085963447,
    2.079613845,
    2.073873068,
    2.068657610,
    2.063898562,
    2.059538553,
    2.055529439,
    2.051830516,
    2.048407142,
    2.045229642,
    2.042272456,
)
Z975 = 1.959963985


def t975(df: int) -> float:
    """The 97.5% quantile of Student's t with `df` degrees of freedom (df >= 1)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df <= len(T975):
        return T975[df - 1]
    z = Z975
    terms = (z**3 + z) / 4, (5 * z**5 + 16 * z**3 + 3 * z) / 96, (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    return z + sum(term / df**power for power, term in enumerate(terms, start=1))


def seed_interval(per_seed: Sequence[float]) -> tuple[float, float]:
    """(mean, half-width of the 95% t interval) over per-seed values; the half-width is infinite
    with one seed (nothing is known about seed-to-seed spread)."""
    values = np.asarray(per_seed, dtype=float)
    if values.size == 0:
        raise ValueError("no seeds")
    if values.size == 1:
        return float(values[0]), math.inf
    spread = float(values.std(ddof=1))
    return float(values.mean()), t975(values.size - 1) * spread / math.sqrt(values.size)


def hierarchical_bootstrap(
    values: np.ndarray, rng: np.random.Generator, draws: int = 2000, shared_episodes: bool = True
) -> tuple[float, float]:
    """Percentile 95% interval of the grand mean of a (seeds x episodes) array, resampling seeds
    with replacement, then episodes with replacement. `shared_episodes`: every seed was scored
    on the same episodes (column e is one episode for all seeds), so one episode resample is
    drawn per replicate and used for every seed, keeping the pairing; otherwise each resampled
    seed draws its own."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or 0 in values.shape:
        raise ValueError(f"expected a non-empty (seeds x episodes) array, got shape {values.shape}")
    seeds, episodes = values.shape
    means = np.empty(draws)
    for i in range(draws):
        rows = rng.integers(0, seeds, seeds)
        if shared_episodes:
            cols = rng.integers(0, episodes, episodes)
            means[i] = values[np.ix_(rows, cols)].mean()
        else:
            cols = rng.integers(0, episodes, (seeds, episodes))
            means[i] = values[rows[:, None], cols].mean()
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


@dataclass(frozen=True)
class Comparison:
    """`a - b` at two levels, fractions (0..1).

    Args:
        per_seed: the mean per-episode difference of each seed (seed s of a against seed s of b).
        mean: the mean over seeds (equal to the grand mean: every seed has as many episodes).
        seed_ci95: half-width of the seed-level 95% t interval (inf with one seed).
        episode_ci95: half-width of the episode-level 95% interval of the seed-averaged
            per-episode differences (how precisely the episodes measured it; not seed spread).
        seeds, episodes: the array's shape.
    """

    per_seed: tuple[float, ...]
    mean: float
    seed_ci95: float
    episode_ci95: float
    seeds: int
    episodes: int

    @property
    def resolved(self) -> bool:
        """The seed-level interval excludes 0."""
        return abs(self.mean) > self.seed_ci95

    @property
    def seed_interval(self) -> tuple[float, float]:
        return self.mean - self.seed_ci95, self.mean + self.seed_ci95


def paired_by_seed(a: np.ndarray, b: np.ndarray) -> Comparison:
    """Compare two (seeds x episodes) arrays of per-episode scores paired seed with seed and
    episode with episode (the same start and the same episodes)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 2 or 0 in a.shape:
        raise ValueError(f"paired arrays need one non-empty (seeds x episodes) shape, got {a.shape} and {b.shape}")
    diff = a - b
    per_seed = diff.mean(axis=1)
    mean, seed_ci = seed_interval(per_seed)
    _, episode_ci = mean_ci95(list(diff.mean(axis=0)))
    return Comparison(tuple(float(x) for x in per_seed), mean, seed_ci, episode_ci, *a.shape)
