"""Every question about room on the cluster: what a population asks for, whether it can ever
get it, how long to wait for it, and what to tell the user when it cannot.

A generation completes only when all P members have lived, so the decisions are:
- no node can hold one member: refuse now (a local Ray) or give the autoscaler
  `population.resource_timeout_s` to add one (a cluster);
- a Ray this process started (no autoscaler) cannot hold all P members at once: refuse now;
- a member has waited longer than `population.resource_timeout_s` for room (a lost node that is
  not replaced) and no node has room for it: stop the run with the resume command.

The decisions are pure functions of demand and `NodeRoom`s; `RayCluster` is the one adapter
that asks Ray about nodes and resources (and the autoscaler for nodes).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Sequence

from gtl_ray.config import GTLConfig
from gtl_ray.errors import ConfigError, RunFailed

log = logging.getLogger(__name__)
POOL_ACTOR_CPUS = 0.0  #: the pool only moves references and writes small files
RECHECK_S = 5.0  #: how often a run waiting for the autoscaler looks again


# ---------------------------------------------------------------- demand


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


# ---------------------------------------------------------------- decisions


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
        f"population.gpus_per_member={config.population.gpus_per_member:g} / population.cpus_per_member={config.population.cpus_per_member:g}{_per_actor(config)}: "
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
        f"population.gpus_per_member={config.population.gpus_per_member:g}{_per_actor(config)}: no node can hold one member actor "
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


def stall_message(config: GTLConfig, stalled: Sequence[int], rooms: Sequence[NodeRoom], checkpointed: int) -> str:
    """`stalled`: the waiting actors' first members (a pack's members are listed as a range)."""
    k = config.population.members_per_actor
    who = ", ".join(str(m) if k == 1 else f"{m}-{m + k - 1}" for m in stalled)
    return (
        f"member(s) {who} waited more than population.resource_timeout_s={config.population.resource_timeout_s:g} s "
        f"for room on the cluster: each actor needs {actor_resources(config)}, and no node has it (free/total: {describe_rooms(rooms)}). "
        f"The run is checkpointed up to generation {checkpointed}; add nodes (or ask less per member, with --force)"
    )


# ---------------------------------------------------------------- the adapter


class RayCluster:
    """The one place that asks Ray about nodes and resources, and the autoscaler for nodes.

    Args:
        started_locally: whether this process started the Ray it uses (then there is no
            autoscaler: demand beyond the local resources can never be met).
    """

    def __init__(self, started_locally: bool):
        self.started_locally = started_locally

    @classmethod
    def connect(cls, address: str | None) -> "RayCluster":
        """Join the cluster at `address` (or RAY_ADDRESS / a local `ray start` cluster), else
        start a local Ray."""
        import ray

        from gtl_ray.service.pool import NAMESPACE

        if not ray.is_initialized():
            ray.init(address=address, namespace=NAMESPACE)
        return cls(cls._this_process_started_ray())

    @staticmethod
    def starts_its_own(address: str | None) -> bool:
        """Whether `ray.init(address)` in this process would start a Ray of its own: nothing at
        `address`, RAY_ADDRESS or a local `ray start`, or `address="local"`."""
        import ray

        # Private API, on purpose: Ray resolves None / "auto" (RAY_ADDRESS, then the cluster a
        # local `ray start` recorded) only inside ray.init; this asks its resolver beforehand.
        from ray._private.services import canonicalize_bootstrap_address

        if ray.is_initialized() or (address is not None and "://" in address):
            return False
        try:
            return canonicalize_bootstrap_address(address) is None
        except (ValueError, ConnectionError, OSError):  # an address ray.init refuses with its own message
            return False

    @staticmethod
    def _this_process_started_ray() -> bool:
        # Private API, on purpose: Ray has no public way to ask whether the Ray this process is
        # connected to was started by it (`ray.init` says so only in its log, and not at all when
        # the caller initialized Ray, as a test or notebook does). Such a Ray has no autoscaler.
        import ray

        node = getattr(ray._private.worker, "_global_node", None)
        return bool(node is not None and node.head)

    def rooms(self) -> list[NodeRoom]:
        """Each live node's free and total resources, now."""
        import ray

        # Private API, on purpose: free resources per node are public only through the state API,
        # which needs the dashboard (absent in tests and on `include_dashboard=False` heads);
        # ray.available_resources() sums over nodes, and a member must fit on one node.
        free = ray._private.state.available_resources_per_node()
        return [
            NodeRoom(n["NodeManagerAddress"], n.get("Resources", {}), free.get(n["NodeID"], {}))
            for n in ray.nodes()
            if n.get("Alive")
        ]

    def total(self) -> dict[str, float]:
        import ray

        return ray.cluster_resources()

    def request(self, bundles: list[dict[str, float]]) -> None:
        """Ask the autoscaler for `bundles` (sticky until replaced; [] clears). A local Ray has
        no autoscaler to ask."""
        if self.started_locally:
            return
        from ray.autoscaler.sdk import request_resources

        request_resources(bundles=bundles)

    def wait_for_room(self, config: GTLConfig) -> None:
        """Refuse at once what can never run here; on a cluster, give the autoscaler
        `population.resource_timeout_s` to add a node that holds one member."""
        reason = no_node_fits(config, self.rooms())
        if reason is None:
            shortfall = local_shortfall(config, self.total()) if self.started_locally else None
            if shortfall:
                raise ConfigError(shortfall)
            return
        if self.started_locally:
            raise ConfigError(reason)
        timeout = config.population.resource_timeout_s
        log.warning("%s; waiting up to %.0f s for the autoscaler", reason, timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(RECHECK_S)
            reason = no_node_fits(config, self.rooms())
            if reason is None:
                return
        raise RunFailed(f"{reason} after waiting {timeout:.0f} s (population.resource_timeout_s)")
