"""One member's generation as the strategy and the lineage see it: inherit, live, record. Used
by `evolve_local` and by the Ray member actor alike, plus the generation's fitness summary."""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Sequence

import torch

from gtl_ray.data import ImageSet
from gtl_ray.evolution.lifetime import MemberOutcome, live
from gtl_ray.evolution.lineage import LineageRecord, member_id
from gtl_ray.evolution.mutation import MutationRecord
from gtl_ray.evolution.selection import rank
from gtl_ray.evolution.strategy import Assignment, Parent, Strategy


@dataclass
class MemberResult:
    outcome: MemberOutcome
    record: LineageRecord


def live_assignment(strategy: Strategy, base: ImageSet, assignment: Assignment, parent: Parent | None, device: torch.device | str = "cpu") -> MemberResult:
    """Inherit (mutate) the parent's gene, live, and describe the life for the lineage."""
    gene, mutation = strategy.inherit(assignment, parent.gene if parent is not None else None)
    outcome = live(strategy.config, base, assignment.generation, assignment.member, gene, device)
    return MemberResult(outcome, lineage_record(assignment, parent, mutation, gene, outcome))


def lineage_record(assignment: Assignment, parent: Parent | None, mutation: MutationRecord, inherited, outcome: MemberOutcome) -> LineageRecord:
    # Generation 0 has no parent member (a random or the pre-trained gene): parent stays None.
    member_parent = parent is not None and assignment.generation > 0
    return LineageRecord(
        generation=assignment.generation,
        member=assignment.member,
        id=member_id(assignment.generation, assignment.member),
        parent=parent.id if member_parent else None,
        elite=bool(assignment.elite) if member_parent else False,
        mutation=mutation.operator,
        channels_mutated=mutation.channels_mutated,
        environment=list(outcome.environment),
        fitness=float(outcome.fitness),
        lifetime_seconds=float(outcome.seconds),
        inherited_checksum=inherited.checksum if inherited is not None else None,
        gene_checksum=outcome.gene.checksum,
        averaged=list(parent.averaged) if member_parent else [],
        lifetime_accuracy=float(outcome.lifetime_accuracy),
        lifetime_sample_grads=int(outcome.lifetime_sample_grads),
        fitness_sample_grads=int(outcome.fitness_sample_grads),
    )


@dataclass
class GenerationSummary:
    """One completed generation, as the manifest, the metrics and the report show it."""

    generation: int
    fitness: dict[str, float]  #: min / median / max / mean
    best_member: int
    checksums: list[str]  #: per member, of the genes passed on
    timing: dict[str, float]  #: seconds: wall, lifetime_max, lifetime_mean, scheduling, selection, checkpoint
    sample_grads: dict[str, int]  #: lifetime, fitness: summed over the generation's members


def summarize(records: list[LineageRecord], wall: float, selection: float) -> GenerationSummary:
    """A generation's summary from its members' records (in member order) and its timing."""
    fitness = [r.fitness for r in records]
    lifetimes = [r.lifetime_seconds for r in records]
    return GenerationSummary(
        generation=records[0].generation,
        fitness=fitness_stats(fitness),
        best_member=rank(fitness)[0],
        checksums=[r.gene_checksum for r in records],
        timing={"wall": wall, "lifetime_max": max(lifetimes), "lifetime_mean": sum(lifetimes) / len(lifetimes), "scheduling": max(0.0, wall - max(lifetimes)), "selection": selection},
        sample_grads={"lifetime": sum(r.lifetime_sample_grads for r in records), "fitness": sum(r.fitness_sample_grads for r in records)},
    )


def fitness_stats(fitness: Sequence[float]) -> dict[str, float]:
    """min / median / max / mean of one generation's fitness (fractions 0..1)."""
    return {"min": float(min(fitness)), "median": float(statistics.median(fitness)), "max": float(max(fitness)), "mean": float(statistics.fmean(fitness))}
