"""Room on a running cluster: `RayCluster`, the one adapter that asks Ray about nodes and
resources (and the autoscaler for nodes), waiting for room before a run starts, and what to tell
the user when a member waited longer than `population.resource_timeout_s` for room (a lost node
that is not replaced) and no node has room for it. The decisions themselves (demand, what can
ever fit) are the pre-flight's: `gtl_ray.preflight.room`.
"""

from __future__ import annotations

import logging
import time
from typing import Sequence

from gtl_ray.config import GTLConfig
from gtl_ray.errors import ConfigError, RunFailed
from gtl_ray.preflight.room import NodeRoom, actor_resources, describe_rooms, local_shortfall, no_node_fits

log = logging.getLogger(__name__)
POOL_ACTOR_CPUS = 0.0  #: the pool only moves references and writes small files
RECHECK_S = 5.0  #: how often a run waiting for the autoscaler looks again


def stall_message(config: GTLConfig, stalled: Sequence[int], rooms: Sequence[NodeRoom], checkpointed: int) -> str:
    """`stalled`: the waiting actors' first members (a pack's members are listed as a range)."""
    k = config.population.members_per_actor
    who = ", ".join(str(m) if k == 1 else f"{m}-{m + k - 1}" for m in stalled)
    return (
        f"member(s) {who} waited more than population.resource_timeout_s={config.population.resource_timeout_s:g} s "
        f"for room on the cluster: each actor needs {actor_resources(config)}, and no node has it (free/total: "
        f"{describe_rooms(rooms)}). "
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
