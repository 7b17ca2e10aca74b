"""Run figures as Ray metrics (Prometheus through Ray's metrics agent), so the Ray dashboard's
metrics view and any Grafana a cluster has show generation, fitness and where time goes.

Ray exports a metric named `gtl_x` as `ray_gtl_x` (`exported_name`), tagged `run` plus Ray's own
labels (`SessionName`, `NodeAddress`, `WorkerId`, ...); `cluster/grafana/gtl-ray-dashboard.json`
plots every metric of `METRICS`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ray.util.metrics import Counter, Gauge

if TYPE_CHECKING:
    from gtl_ray.evolution.summary import GenerationSummary

EXPORT_PREFIX = "ray_"  #: what Ray's Prometheus export puts before every application metric
METRICS: dict[str, tuple[str, str]] = {  #: name -> (kind, description)
    "gtl_generations_completed": ("gauge", "Generations completed"),
    "gtl_generations_planned": ("gauge", "Generations planned (evolution.generations)"),
    "gtl_fitness_min": ("gauge", "min member fitness (query accuracy, 0..1) of the last generation"),
    "gtl_fitness_median": ("gauge", "median member fitness (query accuracy, 0..1) of the last generation"),
    "gtl_fitness_max": ("gauge", "max member fitness (query accuracy, 0..1) of the last generation"),
    "gtl_best_member": ("gauge", "Index of the fittest member of the last generation"),
    "gtl_generation_seconds": ("gauge", "Wall time of the last generation"),
    "gtl_lifetime_seconds_max": ("gauge", "Longest lifetime of the last generation"),
    "gtl_scheduling_seconds": ("gauge", "Generation wall time not spent in the longest lifetime"),
    "gtl_checkpoint_seconds": ("gauge", "Time to write the last generation's checkpoint"),
    "gtl_member_lifetimes_total": ("counter", "Member lifetimes completed"),
}


def exported_name(name: str) -> str:
    """The name Prometheus (and Grafana) see for one of `METRICS`: `ray_` + name."""
    return EXPORT_PREFIX + name


class RunMetrics:
    """The `METRICS`, tagged with the run name; created inside the pool actor.

    Args:
        run: the run's name (the `run` tag).
        planned: evolution.generations.
        completed: generations already completed (a resumed run).
    """

    def __init__(self, run: str, planned: int, completed: int = 0):
        self.tags = {"run": run}
        kinds = {"gauge": Gauge, "counter": Counter}
        self.metrics = {
            name: kinds[kind](name, description, tag_keys=("run",)) for name, (kind, description) in METRICS.items()
        }
        self._set("gtl_generations_planned", planned)
        self._set("gtl_generations_completed", completed)

    def _set(self, name: str, value: float) -> None:
        self.metrics[name].set(value, tags=self.tags)

    def member_done(self, seconds: float) -> None:
        self.metrics["gtl_member_lifetimes_total"].inc(1, tags=self.tags)

    def generation_done(self, summary: "GenerationSummary") -> None:
        self._set("gtl_generations_completed", summary.generation + 1)
        for key in ("min", "median", "max"):
            self._set(f"gtl_fitness_{key}", summary.fitness[key])
        self._set("gtl_best_member", summary.best_member)
        self._set("gtl_generation_seconds", summary.timing["wall"])
        self._set("gtl_lifetime_seconds_max", summary.timing["lifetime_max"])
        self._set("gtl_scheduling_seconds", summary.timing["scheduling"])

    def checkpoint_done(self, seconds: float) -> None:
        self._set("gtl_checkpoint_seconds", seconds)
