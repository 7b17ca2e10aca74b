"""Shared by the fault, bad-input and soak tests: tiny configs written as files, run signatures to
compare runs, Rays of their own in subprocesses (and ending exactly their processes), and the
fault scenarios that need a Ray cluster of their own, all run by `python -m tests.helpers CONFIG`.

A subprocess is started with `start_new_session=True`, so every process it starts (its local
Ray's gcs_server, raylet, workers, dashboard) shares its session id; `end_session` SIGKILLs those
processes by pid and nothing else (never `ray stop`: other Ray clusters run on this machine).
"""

from __future__ import annotations

import dataclasses
import importlib.abc
import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import yaml

ROOT = Path(__file__).resolve().parents[1]
GTL_RAY = str(Path(sys.executable).with_name("gtl-ray"))
TIMING = {"lifetime_seconds"}  #: lineage columns that measure time, ignored when comparing runs
DELAY_ENV = "GTL_RAY_TEST_DELAY_S"  #: read by `slow_lifetimes`, in test processes only
SLOW_HOOK = "tests.helpers.slow_lifetimes"  #: Ray worker_process_setup_hook that stretches lifetimes
RESULT = "SCENARIO-RESULT "


def slow_lifetimes() -> None:
    """Stretch every lifetime of this process by $GTL_RAY_TEST_DELAY_S seconds (a sleep before
    living; results are unchanged), so that a fault lands inside a generation. Installed in
    Ray's worker processes as their `worker_process_setup_hook` by the fault tests only. The
    patch waits for the process to import `gtl_ray.evolution.member_life` (members do; idle
    workers and the pool never do, and importing it, torch included, costs ~2 s of CPU)."""
    delay = float(os.environ.get(DELAY_ENV) or 0)
    if delay:
        sys.meta_path.insert(0, _StretchOnImport(delay))


class _StretchOnImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself; when `gtl_ray.evolution.member_life` is imported, wraps its loader
    so that `live` sleeps `delay` seconds once the module is executed."""

    MODULE = "gtl_ray.evolution.member_life"

    def __init__(self, delay: float):
        self.delay = delay

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self.MODULE:
            return None
        sys.meta_path.remove(self)  # the real finders locate it; this finder is done
        spec = importlib.util.find_spec(fullname)
        execute, delay = spec.loader.exec_module, self.delay

        def exec_module(module: Any) -> None:
            execute(module)
            real = module.live

            def live(*args: Any, **kwargs: Any):
                time.sleep(delay)
                return real(*args, **kwargs)

            module.live = live

        spec.loader.exec_module = exec_module
        return spec


def slow_runtime_env(delay: float) -> dict[str, Any]:
    """The runtime_env that makes a Ray's workers run `slow_lifetimes` (empty without delay)."""
    return {"worker_process_setup_hook": SLOW_HOOK, "env_vars": {DELAY_ENV: str(delay)}} if delay else {}


def tiny_overrides() -> list[str]:
    from tests.conftest import TINY

    return list(TINY)


def write_config(path: Path, storage: Path | str, name: str, *overrides: str) -> Path:
    """The session's tiny config (plus overrides) as a YAML file, for the CLI and subprocesses."""
    from tests.conftest import tiny

    config = tiny(*overrides, storage=storage, name=name)
    path.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    return path


def comparable(records: list) -> list[dict]:
    return [{k: v for k, v in dataclasses.asdict(r).items() if k not in TIMING} for r in records]


def signature(storage: Path | str, name: str) -> dict[str, Any]:
    """What must not depend on faults: the final learngene (file verified against the manifest)
    and the lineage without timing columns; plus row ids to check nothing is lost or duplicated."""
    from gtl_ray.learngene import Learngene
    from gtl_ray.run.store import RunStore

    store = RunStore(str(storage), name)
    manifest = store.read_manifest()
    records = store.load_lineage(manifest)
    final = manifest.final
    if final is not None:
        assert Learngene.load(store.path(final.learngene)).checksum == final.checksum
    return {
        "generations": manifest.done,
        "final": final.checksum if final else None,
        "lineage": comparable(records),
        "ids": [r.id for r in records],
    }


def assert_same_run(got: dict[str, Any], reference: dict[str, Any], population: int, generations: int) -> None:
    assert got["generations"] == reference["generations"] == generations
    assert (
        len(got["ids"]) == population * generations and len(set(got["ids"])) == population * generations
    )  # none lost or duplicated
    assert got["lineage"] == reference["lineage"]
    assert got["final"] == reference["final"] is not None


def store_run(directory: Path, name: str = "stored", *overrides: str) -> tuple[Path, Any]:
    """A complete one-generation, two-member run written by the service's own RunStore, without
    Ray (evolve_local): (its config file, its RunStore)."""
    from gtl_ray.evolution import evolve_local
    from gtl_ray.preflight import load_config
    from gtl_ray.run.store import RunStore

    path = write_config(
        directory / "config.yaml", directory / "runs", name, "evolution.generations=1", "population.size=2", *overrides
    )
    config = load_config(path)
    store = RunStore(config.storage, config.name)
    evolve_local(config, store=store)
    return path, store


# ---------------------------------------------------------------- processes of one session


def session_processes(sid: int) -> list[int]:
    """Live (not zombie) processes whose session id is `sid`."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[3]) == sid:
            pids.append(int(entry))
    return pids


def end_session(sid: int, timeout: float = 15.0) -> list[int]:
    """SIGKILL every process of session `sid` (a subprocess started with start_new_session=True
    and what it started); returns the pids that were still alive."""
    found = session_processes(sid)
    deadline = time.time() + timeout
    while True:
        alive = session_processes(sid)
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if not alive or time.time() > deadline:
            return found
        time.sleep(0.2)


def subprocess_env(delay: float = 0.0) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS")}
    env.update({"PYTHONPATH": str(ROOT), "RAY_DEDUP_LOGS": "0", "RAY_AIR_NEW_OUTPUT": "0", "PYTHONUNBUFFERED": "1"})
    if delay:
        env[DELAY_ENV] = str(delay)
    return env


def slow_cli(*args: str) -> list[str]:
    """`gtl-ray ARGS` run so that the Ray it starts stretches lifetimes by $GTL_RAY_TEST_DELAY_S
    (`python -m tests.slow_cli`)."""
    return [sys.executable, "-m", "tests.slow_cli", *args]


class OwnSession:
    """A subprocess in a new session whose processes are all ended on exit (by pid)."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str]):
        self.log = log
        self.handle = open(log, "w")
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self.handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.leftovers: list[int] = []

    def __enter__(self) -> "OwnSession":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.leftovers = end_session(self.proc.pid)
        self.handle.close()

    def tail(self, lines: int = 40) -> str:
        self.handle.flush()
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def run_fault_cluster(config_path: Path, log: Path, delay: float, timeout: float = 420.0) -> dict[str, dict[str, Any]]:
    """Run every scenario of SCENARIOS, in order, in one subprocess with a Ray cluster of its own
    (`python -m tests.helpers CONFIG`); returns {scenario: result}. A scenario that raised has an
    "exception" entry with its traceback; one that never reported is missing."""
    with OwnSession([sys.executable, "-m", "tests.helpers", str(config_path)], log, subprocess_env(delay)) as run:
        try:
            run.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass  # what was reported so far is returned; the missing scenario fails its test
    results = {}
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith(RESULT):
            scenario, _, payload = line[len(RESULT) :].partition(" ")
            results[scenario] = json.loads(payload)
    results["log_tail"] = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    return results


# ---------------------------------------------------------------- scenarios (run in a subprocess)


def _evolve_in_background(config, **kwargs: Any) -> tuple[threading.Thread, dict[str, Any]]:
    from gtl_ray.service.run import evolve

    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["outcome"] = evolve(config, **kwargs)
        except BaseException as exc:  # reported to the test, not raised in the thread
            box["error"] = exc
        box["ended"] = time.time()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box


def _wait_for_generations(
    config, count: int, thread: threading.Thread, box: dict[str, Any], timeout: float = 150.0
) -> None:
    from gtl_ray.run.store import RunStore

    store, deadline = RunStore(config.storage, config.name), time.time() + timeout
    while time.time() < deadline and thread.is_alive():
        if store.exists() and store.read_manifest().done >= count:
            return
        time.sleep(0.05)
    raise RuntimeError(
        f"the run did not checkpoint {count} generation(s) (thread alive: {thread.is_alive()}, error: {box.get('error')!r})"
    )


def _member_actors(state: str | None = "ALIVE") -> list[dict]:
    # Ray's state API needs the dashboard; the GCS view of actors does not.
    import ray

    actors = ray._private.state.actors().values()
    return [
        a
        for a in actors
        if a["ActorClassName"].endswith("ResourceTrainable") and (state is None or a["State"] == state)
    ]


def _pending_members(config) -> list[int]:
    """Next generation of every member as the pool sees it ([1] * P: all inside generation 1)."""
    import ray

    from gtl_ray.service.pool import NAMESPACE, pool_name

    pool = ray.get_actor(pool_name(config.name), namespace=NAMESPACE)
    return ray.get([pool.next_generation.remote(m) for m in range(config.population.size)])


def scenario_placement(config, cluster) -> dict[str, Any]:
    """4 members of 1 GPU on the two 2-GPU workers (the head has none): each member's node and
    GPU ids, from its Tune results. First, while both workers are there."""
    import dataclasses
    import glob

    from gtl_ray.service.run import evolve

    config = dataclasses.replace(
        config,
        population=dataclasses.replace(config.population, size=4, gpus_per_member=1.0),
        evolution=dataclasses.replace(config.evolution, generations=1, tournament_size=2),
    )
    outcome = evolve(config)
    rows = []
    for path in glob.glob(os.path.join(outcome.run_dir, "tune-from-*", "*", "result.json")):
        with open(path) as handle:
            rows += [json.loads(line) for line in handle if line.strip()]
    return {
        "members": [{"member": r["member"], "node": r["node_id"], "gpu_ids": r["gpu_ids"]} for r in rows],
        "workers": sorted(w.node_id for w in cluster.worker_nodes),
    }


def scenario_member_kill(config, cluster) -> dict[str, Any]:
    """SIGKILL one member's actor process while every member is inside generation 1."""
    started = len(_member_actors(state=None))
    thread, box = _evolve_in_background(config)
    _wait_for_generations(config, 1, thread, box)
    pending = _pending_members(config)
    os.kill(_member_actors()[0]["Pid"], signal.SIGKILL)
    thread.join(300)
    return {
        "pending_at_kill": pending,
        "error": repr(box.get("error")) if "error" in box else None,
        "member_actors_started": len(_member_actors(state=None)) - started,
        "signature": signature(config.storage, config.name),
    }


def scenario_pool_kill(config, cluster) -> dict[str, Any]:
    """SIGKILL the learngene pool's process during generation 1: evolve must fail (not hang)
    naming the resume command; then resume on the same Ray."""
    import ray

    from gtl_ray.errors import RunFailed
    from gtl_ray.service.pool import NAMESPACE, pool_name
    from gtl_ray.service.run import evolve

    thread, box = _evolve_in_background(config)
    _wait_for_generations(config, 1, thread, box)
    pool_id = ray.get_actor(pool_name(config.name), namespace=NAMESPACE)._actor_id.hex()
    pending = _pending_members(config)
    killed = time.time()
    os.kill(ray._private.state.actors()[pool_id]["Pid"], signal.SIGKILL)
    thread.join(300)
    error = box.get("error")
    outcome = evolve(config, resume=True)
    return {
        "pending_at_kill": pending,
        "hung": thread.is_alive(),
        "error_type": type(error).__name__ if error is not None else None,
        "is_run_failed": isinstance(error, RunFailed),
        "error": str(error) if error is not None else None,
        "seconds_to_error": box["ended"] - killed if "ended" in box else None,
        "resumed_generations": outcome.generations_completed,
        "signature": signature(config.storage, config.name),
    }


def scenario_driver_kill(config, cluster) -> dict[str, Any]:
    """SIGKILL the driver, `gtl-ray evolve --address CLUSTER` in a process of its own (as `ray job
    submit` runs it), once generation 0 is checkpointed: its job's actors (pool, members) go
    with it. Then resume on the same cluster at once, as a user would."""
    from gtl_ray.run.store import RunStore
    from gtl_ray.service.run import evolve

    store = RunStore(config.storage, config.name)
    path = Path(config.storage) / f"{config.name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    with OwnSession(
        slow_cli("evolve", str(path), "--address", cluster.address),
        path.with_suffix(".log"),
        subprocess_env(float(os.environ.get(DELAY_ENV) or 0)),
    ) as driver:
        deadline = time.time() + 180
        while not (store.exists() and store.read_manifest().done >= 1):
            if driver.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(
                    f"no generation checkpointed before the driver ended or 180 s passed:\n{driver.tail()}"
                )
            time.sleep(0.05)
        pending = _pending_members(config)
        os.kill(driver.proc.pid, signal.SIGKILL)
        driver.proc.wait()
        done_at_kill = store.read_manifest().done
    outcome = evolve(config, resume=True)
    return {
        "pending_at_kill": pending,
        "done_at_kill": done_at_kill,
        "resumed_generations": outcome.generations_completed,
        "signature": signature(config.storage, config.name),
    }


def _lose_busiest_worker_in_generation_1(config, cluster) -> tuple[threading.Thread, dict[str, Any], dict[str, Any]]:
    """Start the run in the background; once generation 0 is checkpointed (every member inside
    generation 1), remove the worker node holding most members, without a graceful shutdown."""
    thread, box = _evolve_in_background(config)
    _wait_for_generations(config, 1, thread, box)
    pending = _pending_members(config)
    placed = Counter(a["Address"]["NodeID"] for a in _member_actors())
    victim = max(cluster.worker_nodes, key=lambda node: placed.get(node.node_id, 0))
    lost = time.time()
    cluster.remove_node(victim, allow_graceful=False)
    return thread, box, {"pending": pending, "placed": placed, "victim": victim, "lost": lost}


def scenario_node_loss(config, cluster) -> dict[str, Any]:
    """Remove the worker node holding most members while every member is inside generation 1."""

    names = {cluster.head_node.node_id: "head", **{w.node_id: f"worker{i}" for i, w in enumerate(cluster.worker_nodes)}}
    thread, box, loss = _lose_busiest_worker_in_generation_1(config, cluster)
    thread.join(300)
    pending, placed, victim, lost = loss["pending"], loss["placed"], loss["victim"], loss["lost"]
    later = [a for a in _member_actors(state=None) if a["StartTime"] / 1000 > lost]
    return {
        "pending_at_kill": pending,
        "members_on_removed_node": placed.get(victim.node_id, 0),
        "placement_before": {names.get(n, n): c for n, c in placed.items()},
        "restarted_on": sorted(names.get(a["Address"]["NodeID"], "?") for a in later),
        "removed": names[victim.node_id],
        "error": repr(box.get("error")) if "error" in box else None,
        "signature": signature(config.storage, config.name),
    }


ROOM_TIMEOUT_S = 5.0  #: population.resource_timeout_s of the run that loses room


def scenario_node_loss_without_room(config, cluster) -> dict[str, Any]:
    """Members of 1 CPU on head (1) + two 2-CPU workers; remove the worker holding most members
    inside generation 1: what is left cannot hold all four, so one member waits for room. The
    run must stop after population.resource_timeout_s with the resume command (not hang); with
    a node added back, the resume finishes the run."""
    import dataclasses

    from gtl_ray.errors import RunFailed
    from gtl_ray.run.store import RunStore
    from gtl_ray.service.run import evolve

    # One generation more than the other scenarios: the members that finish generation 1 keep
    # their room into generation 2, so the one waiting never gets any (after the last generation
    # they would free it).
    config = dataclasses.replace(
        config,
        population=dataclasses.replace(config.population, cpus_per_member=1.0, resource_timeout_s=ROOM_TIMEOUT_S),
        evolution=dataclasses.replace(config.evolution, generations=config.evolution.generations + 1),
    )
    cluster.add_node(num_cpus=2)
    cluster.wait_for_nodes()
    thread, box, loss = _lose_busiest_worker_in_generation_1(config, cluster)
    thread.join(ROOM_TIMEOUT_S + 120)
    pending, placed, victim, lost = loss["pending"], loss["placed"], loss["victim"], loss["lost"]
    error = box.get("error")
    checkpointed = RunStore(config.storage, config.name).read_manifest().done
    cluster.add_node(num_cpus=2)
    cluster.wait_for_nodes()
    outcome = evolve(config, resume=True)
    return {
        "pending_at_kill": pending,
        "members_on_removed_node": placed.get(victim.node_id, 0),
        "hung": thread.is_alive(),
        "is_run_failed": isinstance(error, RunFailed),
        "error": str(error) if error is not None else None,
        "seconds_to_error": box["ended"] - lost if "ended" in box else None,
        "checkpointed_at_error": checkpointed,
        "resumed_generations": outcome.generations_completed,
        "signature": signature(config.storage, config.name),
    }


#: Run in this order on one cluster: placement first (it needs both workers); node loss last (it
#: leaves the cluster a node short), then the loss that leaves too little room (it adds the nodes
#: it needs). The undisturbed reference is evolved in process by the test (tests/test_faults.py).
SCENARIOS: dict[str, Callable] = {
    "placement": scenario_placement,
    "member_kill": scenario_member_kill,
    "pool_kill": scenario_pool_kill,
    "driver_kill": scenario_driver_kill,
    "node_loss": scenario_node_loss,
    "node_loss_without_room": scenario_node_loss_without_room,
}


def main(argv: list[str]) -> int:
    """A head (1 CPU: driver and pool) and two worker nodes (2 CPUs and 2 fake GPUs each), then
    every scenario on a run of its own name; one result line per scenario."""
    import traceback

    import ray
    from ray.cluster_utils import Cluster

    from gtl_ray.preflight import load_config

    (config_path,) = argv
    started = time.time()
    cluster = Cluster(
        initialize_head=True, connect=False, head_node_args={"num_cpus": 1, "num_gpus": 0, "include_dashboard": False}
    )
    ray.init(address=cluster.address, runtime_env=slow_runtime_env(float(os.environ.get(DELAY_ENV) or 0)))
    try:
        for _ in range(2):
            cluster.add_node(num_cpus=2, num_gpus=2)  # fake GPUs: only the placement scenario asks for them
        cluster.wait_for_nodes()
        print(f"{RESULT}cluster_start {json.dumps({'seconds': round(time.time() - started, 1)})}", flush=True)
        for name, scenario in SCENARIOS.items():
            began = time.time()
            try:
                result = scenario(load_config(config_path, [f"name={name}"]), cluster)
            except Exception:
                result = {"exception": traceback.format_exc()}
            result["seconds"] = round(time.time() - began, 1)
            print(f"{RESULT}{name} {json.dumps(result)}", flush=True)
    finally:
        ray.shutdown()
        cluster.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
