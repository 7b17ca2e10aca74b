"""What a completed generation amounts to, as the manifest, the metrics, TensorBoard and the
report show it, and what a run spent (torch-free: the learngene pool builds both)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Sequence

from gtl_ray.evolution.lineage import LineageRecord
from gtl_ray.evolution.selection import rank


@dataclass
class GenerationSummary:
    """One completed generation, as the manifest, the metrics and the report show it."""

    generation: int
    fitness: dict[str, float]  #: min / median / max / mean
    best_member: int
    checksums: list[str]  #: per member, of the genes passed on
    #: seconds: wall, lifetime_max, lifetime_mean, scheduling, selection; the pool adds post and checkpoint
    timing: dict[str, float]
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
        timing={
            "wall": wall,
            "lifetime_max": max(lifetimes),
            "lifetime_mean": sum(lifetimes) / len(lifetimes),
            "scheduling": max(0.0, wall - max(lifetimes)),
            "selection": selection,
        },
        sample_grads={
            "lifetime": sum(r.lifetime_sample_grads for r in records),
            "fitness": sum(r.fitness_sample_grads for r in records),
        },
    )


def fitness_stats(fitness: Sequence[float]) -> dict[str, float]:
    """min / median / max / mean of one generation's fitness (fractions 0..1)."""
    return {
        "min": float(min(fitness)),
        "median": float(statistics.median(fitness)),
        "max": float(max(fitness)),
        "mean": float(statistics.fmean(fitness)),
    }


def run_compute(lineage: list[LineageRecord], pretrain: int, final: int) -> dict[str, int]:
    """Sample-gradients a run spent, by where (the figures benchmarks compare arms by)."""
    lifetime = sum(r.lifetime_sample_grads for r in lineage)
    fitness = sum(r.fitness_sample_grads for r in lineage)
    return {
        "pretrain": pretrain,
        "lifetime": lifetime,
        "fitness": fitness,
        "final_selection": final,
        "total": pretrain + lifetime + fitness + final,
    }
