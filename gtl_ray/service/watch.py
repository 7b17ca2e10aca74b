"""What stops a run early instead of letting it hang: the learngene pool dying or failing (a
checkpoint it could not write), or a member that finds no room on the cluster.

A generation completes only when all P members report, so one member that can never be placed
(a lost node the autoscaler does not replace, a cluster too small for the population) would
leave the others waiting forever. `PlacementWatch` notes since when each member has been waiting
for its resources; `RunWatch`, Tune's stopper, ends the experiment once one has waited longer
than `population.resource_timeout_s` with no node that has room for it, or once the pool is
gone or has failed. `evolve` then fails loudly with the resume command: every completed generation is
already checkpointed.
"""

from __future__ import annotations

import time
from typing import Any

import ray
from ray import tune
from ray.tune.experiment import Trial

from gtl_ray.preflight.room import NodeRoom
from gtl_ray.service.capacity import RayCluster


class PlacementWatch(tune.Callback):
    """Flags the run stalled when a member has waited longer than `timeout_s` for an actor
    (Tune keeps a trial PENDING until its placement group is ready and its actor started: at
    start-up, and again after a lost node or a dead actor) and no node has room for it now.

    The room check keeps a slow start-up (actors importing torch on a busy machine) from
    counting as a stall; waits shorter than the timeout never cost a query to the GCS.

    Args:
        cluster: the adapter that answers where there is room.
        need: one member's resources, e.g. {"CPU": 1.0, "GPU": 0.25}.
        timeout_s: how long a member may wait before the run counts as stalled.
    """

    def __init__(self, cluster: RayCluster, need: dict[str, float], timeout_s: float, recheck_s: float = 1.0):
        self.cluster = cluster
        self.need = need
        self.timeout_s = timeout_s
        self.recheck_s = recheck_s
        self.waiting_since: dict[int, float] = {}
        self.checked_at = 0.0
        self.stalled: list[int] = []
        self.room_when_stalled: list[NodeRoom] = []

    def on_step_begin(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        if self.stalled:
            return
        now = time.monotonic()
        waiting = [int(t.config["member"]) for t in trials if t.status == Trial.PENDING]
        self.waiting_since = {m: self.waiting_since.get(m, now) for m in waiting}
        overdue = sorted(m for m, since in self.waiting_since.items() if now - since > self.timeout_s)
        if not overdue or now - self.checked_at < self.recheck_s:
            return
        self.checked_at = now
        room = self.cluster.rooms()
        if not any(node.fits(self.need) for node in room):
            self.stalled, self.room_when_stalled = overdue, room


class RunWatch(tune.Stopper):
    """Stops the whole experiment as soon as the learngene pool actor dies (instead of letting
    every member spend its population.max_failures retries failing to reach it) or fails (a
    checkpoint not written: no generation after it may be lived), or a member has waited too
    long for room (see `PlacementWatch`)."""

    def __init__(self, pool: Any, placement: PlacementWatch):
        self._watch = pool.watch.remote()
        self.placement = placement
        self.pool_stopped = False

    def __call__(self, trial_id: str, result: dict) -> bool:
        return False

    def stop_all(self) -> bool:
        if not self.pool_stopped and self._watch is not None:
            self.pool_stopped = bool(ray.wait([self._watch], timeout=0)[0])
        return self.pool_stopped or bool(self.placement.stalled)

    def __getstate__(self) -> dict:
        # Tune saves its stopper with the experiment; the pool watch stays in this process.
        return {"_watch": None, "placement": self.placement, "pool_stopped": self.pool_stopped}
