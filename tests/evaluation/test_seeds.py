"""Two-level statistics (gtl_ray.evaluation.seeds): cases small enough to check by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gtl_ray.evaluation.seeds import T975, hierarchical_bootstrap, paired_by_seed, seed_interval, t975


def test_t_quantiles_at_hand_checked_points():
    assert t975(1) == pytest.approx(12.706, abs=1e-3)
    assert t975(2) == pytest.approx(4.303, abs=1e-3)
    assert t975(4) == pytest.approx(2.776, abs=1e-3)
    assert t975(30) == pytest.approx(2.042, abs=1e-3)
    # above the table: the expansion joins it smoothly and falls toward the normal quantile
    assert t975(30) > t975(31) > t975(120) > t975(10_000) > 1.95996
    assert t975(31) == pytest.approx(2.0395, abs=1e-4) and t975(120) == pytest.approx(1.9799, abs=1e-4)
    assert all(a > b for a, b in zip(T975, T975[1:]))
    with pytest.raises(ValueError):
        t975(0)


def test_seed_interval_by_hand():
    # three seeds 1, 2, 3: mean 2, sample std 1, half-width t(2) * 1 / sqrt(3)
    mean, half = seed_interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and half == pytest.approx(4.302652730 / math.sqrt(3))
    assert seed_interval([0.5]) == (0.5, math.inf)  # one seed says nothing of the spread
    assert seed_interval([0.3, 0.3, 0.3]) == (pytest.approx(0.3), 0.0)
    with pytest.raises(ValueError):
        seed_interval([])


def test_paired_by_seed_pairs_seed_with_seed_and_episode_with_episode():
    # 3 seeds x 4 episodes; b = a - seed-specific offset, so the per-seed differences are exact
    a = np.array([[0.8, 0.6, 0.4, 1.0], [0.7, 0.7, 0.5, 0.9], [0.6, 0.8, 0.6, 0.6]])
    b = a - np.array([[0.02], [0.03], [0.04]])
    c = paired_by_seed(a, b)
    assert c.per_seed == pytest.approx((0.02, 0.03, 0.04))
    assert c.mean == pytest.approx(0.03)
    assert c.seed_ci95 == pytest.approx(4.302652730 * 0.01 / math.sqrt(3))  # 0.0248: above 0
    assert c.episode_ci95 == pytest.approx(0.0, abs=1e-12)  # every episode's seed-mean difference is 0.03
    assert c.resolved and c.seed_interval == (pytest.approx(0.03 - c.seed_ci95), pytest.approx(0.03 + c.seed_ci95))
    # the same spread around 0.02 straddles 0: not resolved
    assert not paired_by_seed(a, a - np.array([[0.01], [0.02], [0.03]])).resolved
    # a consistent episode-level gain with seeds that disagree is not resolved
    d = paired_by_seed(a, a - np.array([[0.05], [-0.04], [0.02]]))
    assert d.episode_ci95 == pytest.approx(0.0, abs=1e-12) and not d.resolved
    with pytest.raises(ValueError):
        paired_by_seed(a, b[:2])


def test_hierarchical_bootstrap_is_seeded_and_brackets_the_mean():
    values = np.array([[0.0, 1.0, 0.5, 0.5], [0.2, 0.4, 0.6, 0.8], [1.0, 0.0, 0.0, 1.0]])
    low, high = hierarchical_bootstrap(values, np.random.default_rng(0), draws=500)
    assert low < values.mean() < high
    assert (low, high) == hierarchical_bootstrap(values, np.random.default_rng(0), draws=500)
    assert (low, high) != hierarchical_bootstrap(values, np.random.default_rng(1), draws=500)
    nested = hierarchical_bootstrap(values, np.random.default_rng(0), draws=500, shared_episodes=False)
    assert nested[0] < values.mean() < nested[1]
    # constant data: no spread at all
    assert hierarchical_bootstrap(np.full((3, 5), 0.25), np.random.default_rng(0), draws=50) == (0.25, 0.25)
    # one seed: only the episodes vary
    single = hierarchical_bootstrap(values[:1], np.random.default_rng(0), draws=500)
    assert single[0] < values[0].mean() < single[1]
    with pytest.raises(ValueError):
        hierarchical_bootstrap(np.zeros(4), np.random.default_rng(0))
