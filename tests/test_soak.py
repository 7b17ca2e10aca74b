"""Load: a population of tiny real members for many generations on the session's Ray, sampling
object-store use, the driver's RSS and open files, and the pool actor's RSS; none may grow.

Sizes (stated in the report): P = SOAK_P members x G = SOAK_G generations, each member 4/P of a
CPU (fractional, so P members fit the session's 4 CPUs). Lifetimes are real but the smallest the
config allows: VGG11 at width 0.125, 2-way environments of 2 training + 2 query images, one epoch.
Width 0.125 (not 0.0625) keeps a learngene at ~125 kB, above Ray's 100 kB inline limit, so genes
really go through the plasma object store being measured. 64 members x 30 generations would take
64 actor processes with torch (~0.3 GB RSS and ~3 s of start-up CPU each): more than a 2-core
machine shared with other work gives in the ~90 s this test may take.

Bound: for every figure, the max over the last 10 generations <= 1.2 x the max over the first 10
+ a small constant (object store: 1 MiB; RSS: 32 MiB; files: 8). Steady state holds two
generations of genes (parents + the generation being lived), so the figures are flat.
"""
from __future__ import annotations

import json
import os
import threading
import time
from collections import defaultdict

import pytest

from gtl_ray.config import load_config
from gtl_ray.service.checkpoint import RunStore
from gtl_ray.service.run import evolve

SOAK_P = 16
SOAK_G = 30
MiB = 1 << 20
BOUNDS = {"object_store_bytes": 1 * MiB, "driver_rss_bytes": 32 * MiB, "driver_fds": 8, "pool_rss_bytes": 32 * MiB}


def rss_bytes(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Sampler(threading.Thread):
    """Every `period` s: generations completed (manifest), object-store bytes used, driver RSS and
    open fds, pool actor RSS; keeps the max of each figure per generation."""

    def __init__(self, ray, config, period: float = 0.1):
        super().__init__(daemon=True)
        from ray._private.internal_api import get_state_from_address

        self.ray, self.config, self.period = ray, config, period
        self.state = get_state_from_address(ray.get_runtime_context().gcs_address)
        self.store = RunStore(config.storage, config.name)
        self.per_generation: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.stop = threading.Event()
        self.pool_pid: int | None = None

    def _pool_pid(self) -> int | None:
        from gtl_ray.service.pool import NAMESPACE, pool_name

        try:
            actor_id = self.ray.get_actor(pool_name(self.config.name), namespace=NAMESPACE)._actor_id.hex()
        except ValueError:
            return None
        return self.ray._private.state.actors()[actor_id]["Pid"]

    def sample(self) -> None:
        from ray._private.internal_api import get_memory_info_reply

        if not self.store.exists():
            return
        generation = json.loads(open(self.store.path("manifest.json")).read())["generations_completed"]
        figures = self.per_generation[generation]
        figures["object_store_bytes"] = max(figures["object_store_bytes"], get_memory_info_reply(self.state).store_stats.object_store_bytes_used)
        figures["driver_rss_bytes"] = max(figures["driver_rss_bytes"], rss_bytes())
        figures["driver_fds"] = max(figures["driver_fds"], len(os.listdir("/proc/self/fd")))
        self.pool_pid = self.pool_pid or self._pool_pid()
        if self.pool_pid:
            try:
                figures["pool_rss_bytes"] = max(figures["pool_rss_bytes"], rss_bytes(self.pool_pid))
            except OSError:
                pass  # the pool ended with the run

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.sample()
            except (OSError, ValueError):
                pass  # a manifest being replaced, a file gone: next sample
            self.stop.wait(self.period)


@pytest.mark.slow
def test_soak_many_members_many_generations_stays_flat(ray_session, tmp_path):
    config = load_config(
        None,
        [
            f"storage={tmp_path}",
            "name=soak",
            "model.width=0.125",
            f"population.size={SOAK_P}",
            f"population.cpus_per_member={4 / SOAK_P}",
            f"evolution.generations={SOAK_G}",
            "evolution.tournament_size=3",
            "evolution.elites=2",
            "lifetime.n_way=2",
            "lifetime.train_per_class=2",
            "lifetime.query_per_class=2",
            "lifetime.epochs=1",
            "lifetime.batch_size=4",
            "data.num_classes=10",
            "data.images_per_class=6",
            "data.splits={base: 4, val: 0, novel: 4}",
            "evaluation.n_way=2",
            "evaluation.shots=[1]",
            "evaluation.query=2",
        ],
    )
    sampler = Sampler(ray_session, config)
    started = time.time()
    sampler.start()
    try:
        outcome = evolve(config)
    finally:
        sampler.stop.set()
        sampler.join()
    wall = time.time() - started
    assert outcome.generations_completed == SOAK_G
    lineage = RunStore(config.storage, config.name)
    assert len(lineage.load_lineage(lineage.read_manifest())) == SOAK_P * SOAK_G

    seen = sorted(g for g in sampler.per_generation if g < SOAK_G)  # generation g = while g were complete
    assert len(seen) >= 20, f"too few generations sampled: {seen}"
    first, last = seen[:10], seen[-10:]
    report = {"P": SOAK_P, "G": SOAK_G, "wall_s": round(wall, 1)}
    for figure, slack in BOUNDS.items():
        early = max(sampler.per_generation[g][figure] for g in first)
        late = max(sampler.per_generation[g][figure] for g in last)
        report[figure] = (early, late)
    print("soak:", json.dumps(report))
    for figure, slack in BOUNDS.items():
        early, late = report[figure]
        assert late <= early * 1.2 + slack, f"{figure} grew from {early} (first 10 generations) to {late} (last 10): {report}"
