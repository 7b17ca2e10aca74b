"""gtl_ray.evaluation.stats: mean and 95% CI over episodes, and the paired difference."""

from __future__ import annotations

import math

import pytest

from gtl_ray.evaluation.stats import mean_ci95, paired_difference


def test_mean_and_interval_by_hand():
    mean, ci = mean_ci95([0.2, 0.4, 0.6])
    assert mean == pytest.approx(0.4) and ci == pytest.approx(1.96 * 0.2 / math.sqrt(3))
    assert mean_ci95([0.7]) == (0.7, 0.0)
    with pytest.raises(ValueError, match="no values"):
        mean_ci95([])


def test_a_shared_difficulty_cancels_in_the_paired_difference():
    hard_and_easy = [0.1, 0.9, 0.1, 0.9]
    assert paired_difference([a + 0.05 for a in hard_and_easy], hard_and_easy) == pytest.approx((0.05, 0.0))
    with pytest.raises(ValueError, match="equal lengths, got 2 and 1"):
        paired_difference([0.1, 0.2], [0.1])
