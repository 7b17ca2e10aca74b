"""Room on the cluster, decided before anything runs: what a population asks for, and whether a
Ray can ever hold it. Pure functions of the config and of each node's resources (`NodeRoom`);
`gtl_ray.service.capacity.RayCluster` is the adapter that asks Ray for them.

A generation completes only when all P members have lived, so:
- no node can hold one member actor: refuse now (a local Ray) or give the autoscaler
  `population.resource_timeout_s` to add one (a cluster);
- a Ray this process started (no autoscaler) cannot hold all P members at once: refuse now.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from gtl_ray.config import GTLConfig


def member_resources(config: GTLConfig, members: int = 1) -> dict[str, float]:
    """Resources `members` members hold together: one member's share (also what one evaluation
    or pre-training task holds), or a member actor's when `members` is its pack size."""
    resources = {"CPU": round(members * config.population.cpus_per_member, 6)}
    if config.population.gpus_per_member > 0:
        resources["GPU"] = round(members * config.population.gpus_per_member, 6)
    return resources


def actor_resources(config: GTLConfig) -> dict[str, float]:
    """Resources one member actor (Tune trial) holds for the whole run: its
    `population.members_per_actor` members' shares."""
    return member_resources(config, config.population.members_per_actor)


def population_demand(config: GTLConfig) -> list[dict[str, float]]:
    """The resource bundles a run asks Ray (and the autoscaler) for: one per member actor, P / K
    of them (the total does not depend on K). The pool and the driver ask for no GPU and no CPU."""
    return [actor_resources(config) for _ in range(config.population.size // config.population.members_per_actor)]


def total_demand(config: GTLConfig) -> dict[str, float]:
    """Summed demand, e.g. {"CPU": 64.0, "GPU": 16.0} for 64 members of 1 CPU and 0.25 GPU."""
    total: dict[str, float] = {}
    for bundle in population_demand(config):
        for key, value in bundle.items():
            total[key] = total.get(key, 0.0) + value
    return total


@dataclass(frozen=True)
class NodeRoom:
    address: str
    total: dict[str, float]
    free: dict[str, float]  #: what placement groups and actors have not taken

    def fits(self, need: dict[str, float], free: bool = True) -> bool:
        have = self.free if free else self.total
        return all(have.get(k, 0.0) >= v for k, v in need.items())

    def describe(self) -> str:
        return f"{self.address} " + ", ".join(
            f"{k} {self.free.get(k, 0.0):g}/{self.total.get(k, 0.0):g}" for k in ("CPU", "GPU")
        )


def describe_rooms(rooms: Sequence[NodeRoom]) -> str:
    return "; ".join(node.describe() for node in rooms) or "no live node"


def no_node_fits(config: GTLConfig, rooms: Sequence[NodeRoom]) -> str | None:
    """Why no node could ever hold one member actor (by total resources), or None when one can."""
    need = actor_resources(config)
    if any(node.fits(need, free=False) for node in rooms):
        return None
    return (
        f"population.gpus_per_member={config.population.gpus_per_member:g} / "
        f"population.cpus_per_member={config.population.cpus_per_member:g}{_per_actor(config)}: "
        f"no node can hold one member actor (needs {need}; free/total: {describe_rooms(rooms)})"
    )


def local_gpu_shortfall(config: GTLConfig, gpus: int) -> str | None:
    """Why the Ray `--address local` is about to start on this machine, which has `gpus` GPUs
    (as torch sees them), could never hold one member actor; None when it could. Asked before
    Ray starts: a local Ray gets no more GPUs than the machine has."""
    need = actor_resources(config)
    if need.get("GPU", 0.0) <= gpus:
        return None
    return (
        f"population.gpus_per_member={config.population.gpus_per_member:g}{_per_actor(config)}: no node can hold one "
        "member actor "
        f"(needs {need}; this machine has GPU {gpus}, as torch sees it, and the local Ray would have no more)"
    )


def local_shortfall(config: GTLConfig, have: dict[str, float]) -> str | None:
    """Why a Ray without autoscaler holding `have` in all can never run a generation (all P
    members at once), or None when it can."""
    short = {k: (v, have.get(k, 0.0)) for k, v in total_demand(config).items() if v > have.get(k, 0.0) + 1e-6}
    if not short:
        return None
    return (
        f"population.size={config.population.size} members of {member_resources(config)}{_per_actor(config)} need "
        + ", ".join(f"{k} {need:g}" for k, (need, _) in short.items())
        + " at once, but this local Ray has "
        + ", ".join(f"{k} {got:g}" for k, (_, got) in short.items())
        + " (lower population.cpus_per_member / population.gpus_per_member, or run on a cluster)"
    )


def _per_actor(config: GTLConfig) -> str:
    k = config.population.members_per_actor
    return f" x population.members_per_actor={k}" if k > 1 else ""
