"""Load: a population of tiny real members for many generations on the session's Ray, sampling
object-store use, the driver's RSS and open files, the pool actor's RSS and the members' private
memory; none may grow.

Sizes: P members x G generations (24 for P = 4, 30 for P = 64), each member 4/P of a CPU
(fractional, so P members fit the session's 4 CPUs). Lifetimes are real but the smallest the
config allows: VGG11 at width 0.125, 2-way environments of 2 training + 2 query images, one
epoch. Width 0.125 (not 0.0625) keeps a learngene at ~125 kB, above Ray's 100 kB inline limit,
so genes really go through the plasma object store being measured.

P = 4 runs in every `make test` (~25 s alone; P = 8 took ~40 s, P = 16 spent most of its 100 s
starting 16 actor processes, which says nothing about growth over generations; on the suite's 2
loaded cores every member process costs more). P = 64 is marked `soak` and runs with `make soak`
(`pytest -m soak`): every member is an actor process holding torch and Tune, ~320 MB of private
memory and ~3 s of start-up CPU each, so 64 of them take ~20 GB and ~3.5 min on the 2-core,
24 GiB CI machine, too close to its memory and to the suite's 10-minute budget to run on every
push. `GTL_RAY_SOAK_OUT=path.json` writes the figures (make soak: benchmarks/results/soak.json).

Bound: for every figure, the max over the last 10 generations <= ratio x the max over the first
10 + slack. Memory may not grow at all beyond the slack (ratio 1: driver RSS 32 MiB, pool RSS
32 MiB, the members' private memory 8 MiB per member; open files 8). The object store holds
between one and two generations of genes depending on how far the members are into the
generation when it is sampled, so it gets ratio 1.2 + 1 MiB: a leak of one gene per member per
generation would exceed it within a few generations. This needs the session's Ray to free dead
objects promptly (conftest: free_objects_batch_size 8, not Ray's 100, which at P = 8 keeps ~6
generations of dead genes in the store and made this bound flake).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import defaultdict

import pytest

from gtl_ray.preflight import load_config
from gtl_ray.run.store import RunStore
from gtl_ray.service.run import evolve

#: generations per population: the first 10 against the last 10, with a few between
SOAK_G = {4: 24, 64: 30}
SOAK_OUT_ENV = "GTL_RAY_SOAK_OUT"
MiB = 1 << 20
#: figure: (ratio, slack); members_private_bytes' slack is per member
BOUNDS = {
    "object_store_bytes": (1.2, 1 * MiB),
    "driver_rss_bytes": (1.0, 32 * MiB),
    "driver_fds": (1.0, 8),
    "pool_rss_bytes": (1.0, 32 * MiB),
    "members_private_bytes": (1.0, 8 * MiB),
}
#: a member actor's process names, idle and in a task (/proc/PID/comm keeps 15 characters)
MEMBER_COMMS = {"ray::ResourceTr", "ray::MemberTrai"}


def bounds(population: int) -> dict[str, tuple[float, int]]:
    """(ratio, slack) per figure, the members' slack for all P of them together."""
    ratio, per_member = BOUNDS["members_private_bytes"]
    return {**BOUNDS, "members_private_bytes": (ratio, per_member * population)}


def members_private_bytes(pids: set[int]) -> int:
    """Private memory (what no other process shares: heap, Python objects, tensors) summed over
    the member actor processes among `pids` (this cluster's actors: another test's Ray on the
    same machine, e.g. under pytest-xdist, must not count)."""
    total = 0
    for entry in map(str, pids):
        try:
            with open(f"/proc/{entry}/comm") as comm:
                if comm.read().strip() not in MEMBER_COMMS:
                    continue
            with open(f"/proc/{entry}/smaps_rollup") as rollup:
                total += sum(
                    int(line.split()[1]) * 1024
                    for line in rollup
                    if line.startswith(("Private_Clean:", "Private_Dirty:"))
                )
        except OSError:
            continue  # a process that ended meanwhile
    return total


def rss_bytes(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Sampler(threading.Thread):
    """Every `period` s: generations completed (manifest), object-store bytes used, driver RSS and
    open fds, pool actor RSS, and every `members_every` samples the members' private memory
    (slower to read); keeps the max of each figure per generation."""

    def __init__(self, ray, config, period: float = 0.1, members_every: int = 20):
        super().__init__(daemon=True)
        from ray._private.internal_api import get_state_from_address

        self.ray, self.config, self.period = ray, config, period
        self.state = get_state_from_address(ray.get_runtime_context().gcs_address)
        self.store = RunStore(config.storage, config.name)
        self.per_generation: dict[int, dict[str, int]] = defaultdict(dict)
        self.stop = threading.Event()
        self.pool_pid: int | None = None
        self.members_every, self.samples = members_every, 0

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
        self.note(figures, "object_store_bytes", get_memory_info_reply(self.state).store_stats.object_store_bytes_used)
        self.note(figures, "driver_rss_bytes", rss_bytes())
        self.note(figures, "driver_fds", len(os.listdir("/proc/self/fd")))
        self.pool_pid = self.pool_pid or self._pool_pid()
        if self.pool_pid:
            try:
                self.note(figures, "pool_rss_bytes", rss_bytes(self.pool_pid))
            except OSError:
                pass  # the pool ended with the run
        self.samples += 1
        if self.samples % self.members_every == 0:
            actors = self.ray._private.state.actors().values()
            self.note(
                figures,
                "members_private_bytes",
                members_private_bytes({a["Pid"] for a in actors if a.get("State") == "ALIVE" and a.get("Pid")}),
            )

    @staticmethod
    def note(figures: dict[str, int], figure: str, value: int) -> None:
        figures[figure] = max(figures.get(figure, 0), value)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.sample()
            except (OSError, ValueError):
                pass  # a manifest being replaced, a file gone: next sample
            self.stop.wait(self.period)


def write_report(path: str, report: dict, sampler: Sampler, seen: list[int]) -> None:
    """The soak's figures as JSON: first/last-10 maxima, bounds and the per-generation series."""
    import platform

    import ray
    import torch

    series = {
        figure: [sampler.per_generation[g].get(figure) for g in seen] for figure in report["bounds"]
    }  # None: not sampled
    machine = {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "ray": ray.__version__,
    }
    out = {
        **report,
        "bounds": {k: f"last10 <= {ratio:g} x first10 + {slack}" for k, (ratio, slack) in report["bounds"].items()},
        "generations_sampled": seen,
        "series": series,
        "machine": machine,
    }
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as handle:
        json.dump(out, handle, indent=1)


@pytest.mark.slow
@pytest.mark.parametrize("population", [pytest.param(4, id="P4"), pytest.param(64, id="P64", marks=pytest.mark.soak)])
def test_soak_many_members_many_generations_stays_flat(ray_session, tmp_path, population):
    generations = SOAK_G[population]
    config = load_config(
        None,
        [
            f"storage={tmp_path}",
            "name=soak",
            "model.width=0.125",
            f"population.size={population}",
            f"population.cpus_per_member={4 / population}",
            f"evolution.generations={generations}",
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
    assert outcome.generations_completed == generations
    lineage = RunStore(config.storage, config.name)
    assert len(lineage.load_lineage(lineage.read_manifest())) == population * generations

    seen = sorted(g for g in sampler.per_generation if g < generations)  # generation g = while g were complete
    assert len(seen) >= 20, f"too few generations sampled: {seen}"
    first, last = seen[:10], seen[-10:]
    limits = bounds(population)
    report = {"P": population, "G": generations, "wall_s": round(wall, 1), "bounds": limits}
    for figure in limits:
        early = max(sampler.per_generation[g].get(figure, 0) for g in first)
        late = max(sampler.per_generation[g].get(figure, 0) for g in last)
        report[figure] = (early, late)
    print("soak:", json.dumps(report))
    if os.environ.get(SOAK_OUT_ENV):
        write_report(os.environ[SOAK_OUT_ENV], report, sampler, seen)
    assert report["members_private_bytes"][0] > 0, "the members' memory was never sampled"
    for figure, (ratio, slack) in limits.items():
        early, late = report[figure]
        assert late <= early * ratio + slack, (
            f"{figure} grew from {early} (first 10 generations) to {late} (last 10): {report}"
        )
