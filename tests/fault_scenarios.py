"""The fault scenarios that need a Ray cluster of their own, run in one subprocess by
`python -m tests.fault_scenarios CONFIG` (`run_fault_cluster`): a head (1 CPU: driver and pool) and
two worker nodes (2 CPUs and 2 fake GPUs each), then every scenario on a run of its own name, one
result line each.

Every disturbed run holds its members at the gate of generation 1 (`tests.fault_gate`): once
generation 0 is checkpointed and every member waits at that gate, the fault strikes (so no member
can have finished generation 1), then the gate opens. No timing is assumed.
"""

from __future__ import annotations

import dataclasses
import glob
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

from tests.fault_gate import ENV as GATE_ENV
from tests.fault_gate import Gate, runtime_env
from tests.helpers import OwnSession, signature, subprocess_env

RESULT = "SCENARIO-RESULT "
ROOM_TIMEOUT_S = 5.0  #: population.resource_timeout_s of the run that loses room
FAULTED = 1  #: the generation every fault strikes in


def run_fault_cluster(config_path: Path, log: Path, gate: Path, timeout: float = 600.0) -> dict[str, Any]:
    """Run every scenario of SCENARIOS, in order, in one subprocess with a Ray cluster of its own;
    returns {scenario: result}. A scenario that raised has an "exception" entry with its
    traceback; one that never reported is missing."""
    command = [sys.executable, "-m", "tests.fault_scenarios", str(config_path)]
    Gate(gate)  # the folder exists before any member arrives
    with OwnSession(command, log, subprocess_env(**{GATE_ENV: str(gate)})) as run:
        try:
            run.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass  # what was reported so far is returned; the missing scenario fails its test
    results: dict[str, Any] = {}
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith(RESULT):
            scenario, _, payload = line[len(RESULT) :].partition(" ")
            results[scenario] = json.loads(payload)
    results["log_tail"] = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    return results


# ---------------------------------------------------------------- shared steps


def _gate() -> Gate:
    return Gate(os.environ[GATE_ENV])


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


def _held_at_the_gate(config, alive: Callable[[], bool], timeout: float = 150.0) -> list[int]:
    """Wait until generation 0 is checkpointed and every member waits at the gate of generation
    1; returns the pool's next generation per member ([1] * P: all inside generation 1)."""
    from gtl_ray.run.store import RunStore

    store, deadline = RunStore(config.storage, config.name), time.time() + timeout
    while not (store.exists() and store.read_manifest().done >= FAULTED):
        if not alive() or time.time() > deadline:
            raise RuntimeError(f"generation {FAULTED - 1} was not checkpointed (run alive: {alive()})")
        time.sleep(0.05)
    _gate().wait_for(FAULTED, config.population.size, timeout)
    return _pending_members(config)


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
    """Next generation of every member as the pool sees it."""
    import ray

    from gtl_ray.service.pool import NAMESPACE, pool_name

    pool = ray.get_actor(pool_name(config.name), namespace=NAMESPACE)
    return ray.get([pool.next_generation.remote(m) for m in range(config.population.size)])


# ---------------------------------------------------------------- scenarios


def scenario_placement(config, cluster) -> dict[str, Any]:
    """4 members of 1 GPU on the two 2-GPU workers (the head has none): each member's node and
    GPU ids, from its generation-0 Tune result. First, while both workers are there; no gate.
    Two generations, so that every member holds its GPU until all four have lived generation 0
    (generation 1 waits for them): with one, a member that finished early freed its GPU for a
    later-placed member, and a node could be counted three times."""
    from gtl_ray.service.run import evolve

    config = dataclasses.replace(
        config,
        population=dataclasses.replace(config.population, size=4, gpus_per_member=1.0),
        evolution=dataclasses.replace(config.evolution, generations=2, tournament_size=2),
    )
    outcome = evolve(config)
    rows = []
    for path in glob.glob(os.path.join(outcome.run_dir, "tune-from-*", "*", "result.json")):
        with open(path) as handle:
            rows += [json.loads(line) for line in handle if line.strip()]
    members = [
        {"member": r["member"], "node": r["node_id"], "gpu_ids": r["gpu_ids"]} for r in rows if r["generation"] == 0
    ]
    return {"members": members, "workers": sorted(w.node_id for w in cluster.worker_nodes)}


def scenario_member_kill(config, cluster) -> dict[str, Any]:
    """SIGKILL one member's actor process while every member waits inside generation 1."""
    started = len(_member_actors(state=None))
    _gate().close(FAULTED)
    thread, box = _evolve_in_background(config)
    pending = _held_at_the_gate(config, thread.is_alive)
    os.kill(_member_actors()[0]["Pid"], signal.SIGKILL)
    _gate().open(FAULTED)
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

    _gate().close(FAULTED)
    thread, box = _evolve_in_background(config)
    pending = _held_at_the_gate(config, thread.is_alive)
    pool_id = ray.get_actor(pool_name(config.name), namespace=NAMESPACE)._actor_id.hex()
    killed = time.time()
    os.kill(ray._private.state.actors()[pool_id]["Pid"], signal.SIGKILL)
    _gate().open(FAULTED)  # the members go on, and find the pool gone
    thread.join(300)
    error = box.get("error")
    outcome = evolve(config, resume=True)
    return {
        "pending_at_kill": pending,
        "hung": thread.is_alive(),
        "error_type": type(error).__name__ if error is not None else None,
        "is_run_failed": isinstance(error, RunFailed),
        "error": str(error) if error is not None else None,
        "member_restarts_before_error": len(
            [a for a in _member_actors(state=None) if killed < a["StartTime"] / 1000 < box.get("ended", 0)]
        ),
        "resumed_generations": outcome.generations_completed,
        "signature": signature(config.storage, config.name),
    }


def scenario_driver_kill(config, cluster) -> dict[str, Any]:
    """SIGKILL the driver, `gtl-ray evolve --address CLUSTER` in a process of its own (as `ray job
    submit` runs it), while every member waits inside generation 1: its job's actors (pool,
    members) go with it, its writer lease stays. Then resume on the same cluster at once, as a
    user would: the resume takes the dead driver's lease over."""
    from gtl_ray import storage
    from gtl_ray.run.lease import LEASE_DIR, newest
    from gtl_ray.run.store import RunStore
    from gtl_ray.service.run import evolve

    store = RunStore(config.storage, config.name)
    path = Path(config.storage) / f"{config.name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    _gate().close(FAULTED)
    command = [sys.executable, "-m", "tests.fault_gate", "evolve", str(path), "--address", cluster.address]
    with OwnSession(command, path.with_suffix(".log"), subprocess_env()) as driver:
        pending = _held_at_the_gate(config, lambda: driver.proc.poll() is None)
        os.kill(driver.proc.pid, signal.SIGKILL)
        driver.proc.wait()
        done_at_kill = store.read_manifest().done
    _gate().open(FAULTED)
    outcome = evolve(config, resume=True)
    lease = newest(storage.join(store.run_dir, LEASE_DIR), time.time())
    return {
        "pending_at_kill": pending,
        "done_at_kill": done_at_kill,
        "resumed_generations": outcome.generations_completed,
        "signature": signature(config.storage, config.name),
        "lease": {"epoch": lease.epoch, "pid": lease.pid, "released": lease.released, "driver_pid": driver.proc.pid},
    }


def _lose_busiest_worker(config, cluster) -> tuple[threading.Thread, dict[str, Any], dict[str, Any]]:
    """Start the run in the background; once every member waits inside generation 1, remove the
    worker node holding most members without a graceful shutdown, then open the gate."""
    _gate().close(FAULTED)
    thread, box = _evolve_in_background(config)
    pending = _held_at_the_gate(config, thread.is_alive)
    placed = Counter(a["Address"]["NodeID"] for a in _member_actors())
    victim = max(cluster.worker_nodes, key=lambda node: placed.get(node.node_id, 0))
    lost = time.time()
    cluster.remove_node(victim, allow_graceful=False)
    _gate().open(FAULTED)
    return thread, box, {"pending": pending, "placed": placed, "victim": victim, "lost": lost}


def scenario_node_loss(config, cluster) -> dict[str, Any]:
    """Remove the worker node holding most members while every member is inside generation 1."""
    names = {cluster.head_node.node_id: "head", **{w.node_id: f"worker{i}" for i, w in enumerate(cluster.worker_nodes)}}
    thread, box, loss = _lose_busiest_worker(config, cluster)
    thread.join(300)
    placed, victim = loss["placed"], loss["victim"]
    later = [a for a in _member_actors(state=None) if a["StartTime"] / 1000 > loss["lost"]]
    return {
        "pending_at_kill": loss["pending"],
        "members_on_removed_node": placed.get(victim.node_id, 0),
        "placement_before": {names.get(n, n): c for n, c in placed.items()},
        "restarted_on": sorted(names.get(a["Address"]["NodeID"], "?") for a in later),
        "removed": names[victim.node_id],
        "error": repr(box.get("error")) if "error" in box else None,
        "signature": signature(config.storage, config.name),
    }


def scenario_node_loss_without_room(config, cluster) -> dict[str, Any]:
    """Members of 1 CPU on head (1) + two 2-CPU workers; remove the worker holding most members
    inside generation 1: what is left cannot hold all four, so one member waits for room. The
    run must stop after population.resource_timeout_s with the resume command (not hang); with
    a node added back, the resume finishes the run."""
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
    thread, box, loss = _lose_busiest_worker(config, cluster)
    thread.join(ROOM_TIMEOUT_S + 120)
    error = box.get("error")
    checkpointed = RunStore(config.storage, config.name).read_manifest().done
    cluster.add_node(num_cpus=2)
    cluster.wait_for_nodes()
    outcome = evolve(config, resume=True)
    return {
        "pending_at_kill": loss["pending"],
        "members_on_removed_node": loss["placed"].get(loss["victim"].node_id, 0),
        "hung": thread.is_alive(),
        "is_run_failed": isinstance(error, RunFailed),
        "error": str(error) if error is not None else None,
        "seconds_to_error": box["ended"] - loss["lost"] if "ended" in box else None,
        "checkpointed_at_error": checkpointed,
        "resumed_generations": outcome.generations_completed,
        "signature": signature(config.storage, config.name),
    }


#: Run in this order on one cluster: placement first (it needs both workers); node loss last (it
#: leaves the cluster a node short), then the loss that leaves too little room (it adds the nodes
#: it needs). The undisturbed reference is evolved in process by the test (tests/end_to_end/test_faults.py).
SCENARIOS: dict[str, Callable] = {
    "placement": scenario_placement,
    "member_kill": scenario_member_kill,
    "pool_kill": scenario_pool_kill,
    "driver_kill": scenario_driver_kill,
    "node_loss": scenario_node_loss,
    "node_loss_without_room": scenario_node_loss_without_room,
}


def main(argv: list[str]) -> int:
    import traceback

    import ray
    from ray.cluster_utils import Cluster

    from gtl_ray.preflight import load_config

    (config_path,) = argv
    started = time.time()
    head = {"num_cpus": 1, "num_gpus": 0, "include_dashboard": False}
    cluster = Cluster(initialize_head=True, connect=False, head_node_args=head)
    ray.init(address=cluster.address, runtime_env=runtime_env(os.environ[GATE_ENV]))
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
