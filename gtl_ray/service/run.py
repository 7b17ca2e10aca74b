"""`evolve`: run an evolution on Ray — members as Tune trials, the GTL scheduler, the learngene
pool — starting fresh or resuming from the last complete generation in storage."""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Any

import ray
from ray import tune
from ray.autoscaler.sdk import request_resources
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from gtl_ray import storage
from gtl_ray.config import GTLConfig
from gtl_ray.data import EpisodeSampler, ImageSet, load_splits
from gtl_ray.errors import DataError, GTLError, StorageError
from gtl_ray.evolution.lineage import LineageRecord
from gtl_ray.evolution.population import final_order, next_generation
from gtl_ray.learngene import Learngene
from gtl_ray.service.checkpoint import GenerationSummary, RunStore
from gtl_ray.service.member import MemberTrainable
from gtl_ray.service.pool import NAMESPACE, LearngenePool, pool_name
from gtl_ray.service.resources import member_resources, population_demand, total_demand
from gtl_ray.service.scheduler import GTLScheduler
from gtl_ray.service.watch import PlacementWatch, RunWatch, room_per_node

log = logging.getLogger(__name__)


@dataclass
class RunOutcome:
    run_dir: str
    generations_completed: int
    final_learngene: str
    wall_seconds: float
    generations: list[dict]


@dataclass
class _Start:
    generation: int
    parents: list[Learngene] | None
    slots: list[tuple[int, bool]] | None
    lineage: list[LineageRecord]
    summaries: list[GenerationSummary]


def resume_command(config_path: str | None, store: RunStore) -> str:
    """How to go on after a failure: resume from the last checkpoint, or start again when the
    run died before its first generation was checkpointed."""
    again = "--resume" if store.exists() else "(no generation was checkpointed: start it again)"
    return f"gtl-ray evolve {config_path or 'CONFIG'} {again} --storage {store.root} --name {store.name}"


def _error_line(error: BaseException) -> str:
    """The last line of a (remote) error, e.g. "ValueError: Failed to look up actor ..."."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def plan_start(config: GTLConfig, store: RunStore, resume: bool, force: bool, overwrite: bool) -> _Start:
    """Where the run starts: generation 0, or after the last generation the manifest counts."""
    if not resume:
        if store.exists():
            if not overwrite:
                raise StorageError(f"a run already exists at {store.run_dir}; pass --resume to continue it, --overwrite to replace it, or choose another --name")
            storage.delete_dir(store.run_dir)
        return _Start(0, None, None, [], [])
    manifest = store.read_manifest()
    differences = store.config_differences(manifest, config)
    if differences and not force:
        raise GTLError(f"cannot resume {store.run_dir}: config differs from the stored run in {', '.join(differences)} (pass --force to resume anyway)")
    removed = store.clean_incomplete(manifest)
    if removed:
        log.warning("removed what a crash left behind (not counted by the manifest): %s", ", ".join(removed))
    done = manifest["generations_completed"]
    lineage = store.load_lineage(manifest)
    summaries = store.summaries(manifest)
    if done == 0:
        return _Start(0, None, None, [], [])
    parents = store.load_generation(manifest, done - 1)
    fitness = [r.fitness for r in sorted((r for r in lineage if r.generation == done - 1), key=lambda r: r.member)]
    if done >= config.evolution.generations:
        if manifest.get("final") is None:
            order = final_order(fitness)
            store.write_final(config, parents[order[0]], [parents[i] for i in order[1 : 1 + config.evolution.elites]], summaries)
        return _Start(done, parents, None, lineage, summaries)
    slots = [(a.selection.parent, a.selection.elite) for a in next_generation(config, done - 1, fitness)]
    return _Start(done, parents, slots, lineage, summaries)


def check_environments(config: GTLConfig, base: ImageSet) -> None:
    """Fail before Ray starts when the base classes cannot give every member its environment
    (otherwise each member would fail, and be retried, inside its first lifetime)."""
    life = config.lifetime
    try:
        EpisodeSampler(base, life.n_way, life.train_per_class, life.query_per_class, episodes=0, seed=config.seed)
    except DataError as exc:
        raise DataError(f"lifetime.n_way={life.n_way}, lifetime.train_per_class={life.train_per_class}, lifetime.query_per_class={life.query_per_class} do not fit the base split: {exc}") from None


def connect(address: str | None) -> None:
    """Join the cluster at `address` (or RAY_ADDRESS / a local `ray start` cluster), else start a
    local Ray."""
    if not ray.is_initialized():
        ray.init(address=address, namespace=NAMESPACE)


def runs_own_local_ray() -> bool:
    """True when this process started the Ray it uses (ray.init without a cluster): then no
    autoscaler can add nodes, and a member that fits no node will never run."""
    node = getattr(ray._private.worker, "_global_node", None)
    return bool(node is not None and node.head)


def fits_somewhere(config: GTLConfig) -> bool:
    need = member_resources(config)
    for node in ray.nodes():
        if node.get("Alive") and all(node.get("Resources", {}).get(k, 0.0) >= v for k, v in need.items()):
            return True
    return False


def check_local_capacity(config: GTLConfig) -> None:
    """A Ray this process started has no autoscaler: when it cannot hold all P members at once,
    a generation (which waits for every member) could never complete, so say so now."""
    have = ray.cluster_resources()
    short = {k: (v, have.get(k, 0.0)) for k, v in total_demand(config).items() if v > have.get(k, 0.0) + 1e-6}
    if short:
        raise GTLError(
            f"population.size={config.population.size} members of {member_resources(config)} need "
            + ", ".join(f"{k} {need:g}" for k, (need, _) in short.items())
            + " at once, but this local Ray has "
            + ", ".join(f"{k} {got:g}" for k, (_, got) in short.items())
            + " (lower population.cpus_per_member / population.gpus_per_member, or run on a cluster)"
        )


def wait_for_resources(config: GTLConfig, started_locally: bool) -> None:
    """Fail fast when no node can ever hold one member; on a cluster, give the autoscaler time."""
    if fits_somewhere(config):
        if started_locally:
            check_local_capacity(config)
        return
    message = (
        f"population.gpus_per_member={config.population.gpus_per_member} / population.cpus_per_member={config.population.cpus_per_member}: "
        f"no node can hold one member (needs {member_resources(config)}; free/total: {'; '.join(node.describe() for node in room_per_node())})"
    )
    if started_locally:
        raise GTLError(message)
    deadline = time.time() + config.population.resource_timeout_s
    log.warning("%s; waiting up to %.0f s for the autoscaler", message, config.population.resource_timeout_s)
    while time.time() < deadline:
        time.sleep(5)
        if fits_somewhere(config):
            return
    raise GTLError(message + f" after waiting {config.population.resource_timeout_s:.0f} s (population.resource_timeout_s)")


def stall_message(config: GTLConfig, placement: PlacementWatch, checkpointed: int) -> str:
    nodes = "; ".join(node.describe() for node in placement.room_when_stalled)
    return (
        f"member(s) {', '.join(map(str, placement.stalled))} waited more than population.resource_timeout_s={config.population.resource_timeout_s:g} s "
        f"for room on the cluster: each needs {member_resources(config)}, and no node has it (free/total: {nodes}). "
        f"The run is checkpointed up to generation {checkpointed}; add nodes (or ask less per member, with --force)"
    )


def evolve(config: GTLConfig, *, resume: bool = False, force: bool = False, overwrite: bool = False, address: str | None = None, config_path: str | None = None) -> RunOutcome:
    """Run (or resume) the evolution described by `config`; returns where the results are."""
    start_time = time.time()
    store = RunStore(config.storage, config.name)
    start = plan_start(config, store, resume, force, overwrite)
    if start.generation >= config.evolution.generations:
        log.info("run %s is already complete", store.run_dir)
        return RunOutcome(store.run_dir, start.generation, store.final_learngene, 0.0, [s.__dict__ for s in start.summaries])
    splits = load_splits(config.data)
    check_environments(config, splits.base)
    connect(address)
    started_locally = runs_own_local_ray()
    if not started_locally:
        # Tell the autoscaler the whole population's demand up front (sticky until cleared).
        request_resources(bundles=population_demand(config))
    try:
        return _run(config, store, start, started_locally, splits, config_path, start_time)
    finally:
        if not started_locally:
            request_resources(bundles=[])


def _run(config: GTLConfig, store: RunStore, start: _Start, started_locally: bool, splits, config_path: str | None, start_time: float) -> RunOutcome:
    wait_for_resources(config, started_locally)
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # progress is ours ("generation x/y"); no Tune tables
    data = [ray.put(splits.base.to_arrays())]
    name = pool_name(config.name)
    pool = LearngenePool.options(name=name, namespace=NAMESPACE, scheduling_strategy=NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)).remote(
        config.to_dict(), config.storage, data, start.generation, start.parents, start.slots, start.lineage, start.summaries
    )
    placement = PlacementWatch(member_resources(config), config.population.resource_timeout_s)
    watch = RunWatch(pool, placement)
    try:
        tuner = tune.Tuner(
            tune.with_resources(MemberTrainable, tune.PlacementGroupFactory([member_resources(config)])),
            param_space={"member": tune.grid_search(list(range(config.population.size))), "pool": name},
            tune_config=tune.TuneConfig(scheduler=GTLScheduler(config, pool, start.generation), reuse_actors=True),
            run_config=tune.RunConfig(
                name=f"tune-from-{start.generation:04d}",
                storage_path=store.run_dir if storage.is_uri(store.run_dir) else os.path.abspath(store.run_dir),
                failure_config=tune.FailureConfig(max_failures=config.population.max_failures),
                stop=watch,
                callbacks=[placement],
                checkpoint_config=tune.CheckpointConfig(checkpoint_frequency=0, checkpoint_at_end=False),
                verbose=0,
            ),
        )
        results = tuner.fit()
        try:
            summary = ray.get(pool.finished.remote())
        except ray.exceptions.RayActorError:
            raise GTLError(f"the learngene pool actor died; the run is safe up to its last checkpoint, resume with: {resume_command(config_path, store)}") from None
        if placement.stalled:
            raise GTLError(stall_message(config, placement, summary["generations_completed"]) + f"; resume with: {resume_command(config_path, store)}")
        failed = [r for r in results if r.error is not None]
        if failed:
            raise GTLError(f"{len(failed)} member(s) failed beyond population.max_failures={config.population.max_failures} ({_error_line(failed[0].error)}); resume with: {resume_command(config_path, store)}")
        if summary["generations_completed"] < config.evolution.generations:
            raise GTLError(f"the run stopped after {summary['generations_completed']} of {config.evolution.generations} generations; resume with: {resume_command(config_path, store)}")
    finally:
        ray.kill(pool)
    return RunOutcome(store.run_dir, summary["generations_completed"], store.final_learngene, time.time() - start_time, summary["generations"])
