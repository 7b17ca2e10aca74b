"""Run figures go to Ray's metrics (Prometheus through the metrics agent) from the pool."""

from __future__ import annotations

from gtl_ray.evolution.summary import GenerationSummary
from gtl_ray.service.metrics import METRICS, RunMetrics, exported_name


def test_run_metrics_record_a_generation(ray_session):
    @ray_session.remote(num_cpus=0)
    def record() -> dict:
        metrics = RunMetrics("metrics-test", planned=6, completed=2)
        summary = GenerationSummary(
            3,
            {"min": 0.2, "median": 0.5, "max": 0.9, "mean": 0.5},
            2,
            ["c"] * 4,
            {"wall": 2.0, "lifetime_max": 1.8, "lifetime_mean": 1.5, "scheduling": 0.2, "selection": 0.001},
            {"lifetime": 1000, "fitness": 0},
        )
        metrics.member_done(1.0)
        metrics.generation_done(summary)
        metrics.checkpoint_done(0.05)
        return {"names": sorted(m.info["name"] for m in metrics.metrics.values()), "tags": metrics.tags}

    info = ray_session.get(record.remote())
    assert info == {"names": sorted(METRICS), "tags": {"run": "metrics-test"}}
    assert "gtl_generations_planned" in METRICS and exported_name("gtl_fitness_max") == "ray_gtl_fitness_max"
