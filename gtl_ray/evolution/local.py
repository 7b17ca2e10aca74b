"""`evolve_local`: the whole evolution in one process, with the same primitives the Ray service
uses. It is the reference the service is tested against and the baseline for its overhead."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

import torch

from gtl_ray.config import GTLConfig
from gtl_ray.data import Splits, load_splits
from gtl_ray.evolution.lifetime import live
from gtl_ray.evolution.lineage import LineageRecord
from gtl_ray.evolution.population import final_order, first_generation, fitness_stats, lineage_record, next_generation
from gtl_ray.learngene import Learngene

log = logging.getLogger(__name__)


@dataclass
class EvolutionResult:
    final: Learngene  #: fittest trained gene of the last generation
    elites: list[Learngene]  #: the next fittest genes of the last generation (evolution.elites of them)
    lineage: list[LineageRecord]
    fitness: list[dict[str, float]] = field(default_factory=list)  #: per generation: min/median/max/mean


def member_threads(config: GTLConfig) -> int:
    """Torch threads a member uses: its CPU share, at least one (fixed, for determinism)."""
    return max(1, int(config.population.cpus_per_member))


def evolve_local(config: GTLConfig, splits: Splits | None = None, on_generation: Callable[[int, dict[str, float]], None] | None = None) -> EvolutionResult:
    """Run every generation's members one after another in this process."""
    splits = splits or load_splits(config.data)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(member_threads(config))
    try:
        assignments = first_generation(config)
        genes: list[Learngene] = []
        lineage: list[LineageRecord] = []
        curve: list[dict[str, float]] = []
        for generation in range(config.evolution.generations):
            outcomes = []
            for a in assignments:
                parent = genes[a.selection.parent] if a.selection is not None else None
                elite = a.selection.elite if a.selection is not None else False
                outcomes.append(live(config, splits.base, generation, a.member, parent, elite))
            lineage += [lineage_record(a, o) for a, o in zip(assignments, outcomes)]
            fitness = [o.fitness for o in outcomes]
            genes = [o.gene for o in outcomes]
            curve.append(fitness_stats(fitness))
            log.info("generation %d/%d fitness %s", generation + 1, config.evolution.generations, curve[-1])
            if on_generation is not None:
                on_generation(generation, curve[-1])
            assignments = next_generation(config, generation, fitness)
        order = final_order(fitness)
        return EvolutionResult(genes[order[0]], [genes[i] for i in order[1 : 1 + config.evolution.elites]], lineage, curve)
    finally:
        torch.set_num_threads(previous_threads)
