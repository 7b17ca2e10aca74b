"""What a population asks of Ray: one bundle per member, nothing else that needs a GPU.

The autoscaler sees exactly these bundles as pending demand when a run starts, so a population
of P members with `gpus_per_member: g` asks for P x g GPUs (in bundles of g) and P x c CPUs.
The learngene pool and the driver ask for no GPU and (almost) no CPU.
"""
from __future__ import annotations

from gtl_ray.config import GTLConfig

POOL_ACTOR_CPUS = 0.0  #: the pool only moves references and writes small files


def member_resources(config: GTLConfig) -> dict[str, float]:
    """Resources one member actor holds for the whole run."""
    resources = {"CPU": float(config.population.cpus_per_member)}
    if config.population.gpus_per_member > 0:
        resources["GPU"] = float(config.population.gpus_per_member)
    return resources


def population_demand(config: GTLConfig) -> list[dict[str, float]]:
    """The resource bundles a run asks Ray for: one per member."""
    return [member_resources(config) for _ in range(config.population.size)]


def total_demand(config: GTLConfig) -> dict[str, float]:
    """Summed demand, e.g. {"CPU": 64.0, "GPU": 16.0} for 64 members of 1 CPU and 0.25 GPU."""
    total: dict[str, float] = {}
    for bundle in population_demand(config):
        for key, value in bundle.items():
            total[key] = total.get(key, 0.0) + value
    return total
