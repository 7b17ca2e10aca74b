"""gtl_ray.evolution.summary: a generation's figures from its members' records, and a run's
compute by where it was spent."""

from __future__ import annotations

import dataclasses

from gtl_ray.evolution.summary import run_compute, summarize
from tests.evolution.test_lineage import record


def test_a_generation_summed_up_from_its_records():
    records = [
        dataclasses.replace(record(1, m, "g0000m0000"), fitness=f, lifetime_seconds=s, lifetime_sample_grads=10)
        for m, (f, s) in enumerate([(0.2, 1.0), (0.8, 3.0), (0.5, 2.0)])
    ]
    summary = summarize(records, wall=5.0, selection=0.1)
    assert summary.generation == 1 and summary.best_member == 1
    assert summary.fitness == {"min": 0.2, "median": 0.5, "max": 0.8, "mean": 0.5}
    assert summary.timing == {
        "wall": 5.0,
        "lifetime_max": 3.0,
        "lifetime_mean": 2.0,
        "scheduling": 2.0,
        "selection": 0.1,
    }
    assert summary.sample_grads["lifetime"] == 30


def test_a_runs_compute_by_where():
    lineage = [
        dataclasses.replace(record(0, m, None), lifetime_sample_grads=100, fitness_sample_grads=7) for m in range(2)
    ]
    assert run_compute(lineage, pretrain=50, final=3) == {
        "pretrain": 50,
        "lifetime": 200,
        "fitness": 14,
        "final_selection": 3,
        "total": 267,
    }
