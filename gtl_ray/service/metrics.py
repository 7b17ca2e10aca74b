"""Run figures as Ray metrics (Prometheus through Ray's metrics agent), so the Ray dashboard's
metrics view and any Grafana a cluster has show generation, fitness and where time goes."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ray.util.metrics import Counter, Gauge

if TYPE_CHECKING:
    from gtl_ray.evolution.population import GenerationSummary


class RunMetrics:
    """Gauges and counters tagged with the run name; created inside the pool actor."""

    def __init__(self, run: str):
        tags = ("run",)
        self.tags = {"run": run}
        self.generation = Gauge("gtl_generations_completed", "Generations completed", tag_keys=tags)
        self.fitness = {k: Gauge(f"gtl_fitness_{k}", f"{k} member fitness (query accuracy) of the last generation", tag_keys=tags) for k in ("min", "median", "max")}
        self.best_member = Gauge("gtl_best_member", "Index of the fittest member of the last generation", tag_keys=tags)
        self.wall = Gauge("gtl_generation_seconds", "Wall time of the last generation", tag_keys=tags)
        self.lifetime = Gauge("gtl_lifetime_seconds_max", "Longest lifetime of the last generation", tag_keys=tags)
        self.scheduling = Gauge("gtl_scheduling_seconds", "Generation wall time not spent in the longest lifetime", tag_keys=tags)
        self.checkpoint = Gauge("gtl_checkpoint_seconds", "Time to write the last generation's checkpoint", tag_keys=tags)
        self.members = Counter("gtl_member_lifetimes_total", "Member lifetimes completed", tag_keys=tags)

    def member_done(self, seconds: float) -> None:
        self.members.inc(1, tags=self.tags)

    def generation_done(self, summary: "GenerationSummary") -> None:
        self.generation.set(summary.generation + 1, tags=self.tags)
        for key, gauge in self.fitness.items():
            gauge.set(summary.fitness[key], tags=self.tags)
        self.best_member.set(summary.best_member, tags=self.tags)
        self.wall.set(summary.timing["wall"], tags=self.tags)
        self.lifetime.set(summary.timing["lifetime_max"], tags=self.tags)
        self.scheduling.set(summary.timing["scheduling"], tags=self.tags)

    def checkpoint_done(self, seconds: float) -> None:
        self.checkpoint.set(seconds, tags=self.tags)
