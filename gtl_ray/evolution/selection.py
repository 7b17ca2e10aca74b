"""Tournament selection with elitism: pure functions on fitness values and a numpy Generator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class Selection:
    """Who fills one slot of the next generation: `parent_index` is the index of the member (in
    the previous generation) whose learngene is inherited; elites are not mutated."""

    parent_index: int
    elite: bool


def rank(fitness: Sequence[float]) -> list[int]:
    """Member indices from fittest to least fit; ties go to the lower index."""
    return sorted(range(len(fitness)), key=lambda i: (-fitness[i], i))


def tournament(fitness: Sequence[float], size: int, rng: np.random.Generator) -> int:
    """Draw `size` distinct members at random and return the fittest of the draw."""
    drawn = rng.choice(len(fitness), size=size, replace=False)
    return min(drawn.tolist(), key=lambda i: (-fitness[i], i))


def select_parents(
    fitness: Sequence[float], tournament_size: int, elites: int, rng: np.random.Generator
) -> list[Selection]:
    """One Selection per slot of the next generation (same population size): the top `elites`
    first, then a tournament winner for every other slot."""
    n = len(fitness)
    if not 1 <= tournament_size <= n:
        raise ValueError(f"tournament_size must be in [1, {n}], got {tournament_size}")
    if not 0 <= elites < n:
        raise ValueError(f"elites must be in [0, {n}), got {elites}")
    slots = [Selection(parent_index=i, elite=True) for i in rank(fitness)[:elites]]
    slots += [Selection(parent_index=tournament(fitness, tournament_size, rng), elite=False) for _ in range(n - elites)]
    return slots
