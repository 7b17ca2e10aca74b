"""Generation bookkeeping shared by the in-process loop and the Ray scheduler: who inherits
from whom next, what is recorded, which gene is final. Pure functions of fitness and seed."""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Sequence

from gtl_ray.config import GTLConfig
from gtl_ray.evolution.lifetime import MemberOutcome
from gtl_ray.evolution.lineage import LineageRecord, member_id
from gtl_ray.evolution.selection import Selection, rank, select_parents
from gtl_ray.seeding import numpy_rng


@dataclass(frozen=True)
class Assignment:
    """What a member needs to live generation `generation`: its slot's Selection (None in
    generation 0, when every member starts from a random gene)."""

    generation: int
    member: int
    selection: Selection | None


def first_generation(config: GTLConfig) -> list[Assignment]:
    return [Assignment(0, i, None) for i in range(config.population.size)]


def next_generation(config: GTLConfig, generation: int, fitness: Sequence[float]) -> list[Assignment]:
    """Assignments for generation + 1 from the fitness of `generation` (tournament + elitism)."""
    evo = config.evolution
    slots = select_parents(fitness, evo.tournament_size, evo.elites, numpy_rng(config.seed, "select", generation))
    return [Assignment(generation + 1, i, s) for i, s in enumerate(slots)]


def lineage_record(assignment: Assignment, outcome: MemberOutcome) -> LineageRecord:
    sel = assignment.selection
    return LineageRecord(
        generation=assignment.generation,
        member=assignment.member,
        id=member_id(assignment.generation, assignment.member),
        parent=member_id(assignment.generation - 1, sel.parent) if sel is not None else None,
        elite=bool(sel.elite) if sel is not None else False,
        mutation=outcome.mutation.operator,
        channels_mutated=outcome.mutation.channels_mutated,
        environment=list(outcome.environment),
        fitness=float(outcome.fitness),
        lifetime_seconds=float(outcome.seconds),
        inherited_checksum=outcome.inherited_checksum,
        gene_checksum=outcome.gene.checksum,
    )


def fitness_stats(fitness: Sequence[float]) -> dict[str, float]:
    """min / median / max / mean of one generation's fitness (fractions 0..1)."""
    return {"min": float(min(fitness)), "median": float(statistics.median(fitness)), "max": float(max(fitness)), "mean": float(statistics.fmean(fitness))}


def final_order(fitness: Sequence[float]) -> list[int]:
    """Members of the last generation from fittest down: the first holds the final learngene."""
    return rank(fitness)
