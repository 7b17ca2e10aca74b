"""Few-shot reporting convention: mean and 95% confidence interval over episodes."""

from __future__ import annotations

import math
from typing import Sequence


def mean_ci95(values: Sequence[float]) -> tuple[float, float]:
    """(mean, 1.96 * std / sqrt(n)) of per-episode accuracies (fractions 0..1); ci 0 for n=1."""
    n = len(values)
    if n == 0:
        raise ValueError("no values")
    mean = sum(values) / n
    if n == 1:
        return mean, 0.0
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, 1.96 * math.sqrt(var) / math.sqrt(n)


def paired_difference(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """(mean, 95% CI half-width) of a[i] - b[i] over shared episodes: the episode's difficulty
    cancels, so the interval is much tighter than combining the two methods' own intervals."""
    if len(a) != len(b):
        raise ValueError(f"paired values need equal lengths, got {len(a)} and {len(b)}")
    return mean_ci95([x - y for x, y in zip(a, b)])
