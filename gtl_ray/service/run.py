"""`evolve`: run an evolution on Ray — members as Tune trials, the learngene pool running the
strategy, the final choice — starting fresh or resuming from the last complete generation."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

import ray
import torch
from ray import tune
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from gtl_ray import storage
from gtl_ray.config import GTLConfig
from gtl_ray.data import EpisodeSampler, ImageSet, Splits, load_splits
from gtl_ray.errors import ConfigError, DataError, RunFailed, StorageError
from gtl_ray.evolution.final import choose_final
from gtl_ray.evolution.initial import initial_gene
from gtl_ray.evolution.lineage import LineageRecord
from gtl_ray.evolution.strategy import EvolutionState, Strategy
from gtl_ray.learngene import Learngene
from gtl_ray.packing import with_packs_resolved
from gtl_ray.evolution.summary import GenerationSummary
from gtl_ray.progress import Progress
from gtl_ray.run_store import RunStore
from gtl_ray.service.capacity import (
    RayCluster,
    actor_resources,
    local_gpu_shortfall,
    member_resources,
    population_demand,
    stall_message,
)
from gtl_ray.service.executors import RayExecutor
from gtl_ray.service.member import MemberTrainable
from gtl_ray.service.member_board import GenerationTBXLogger
from gtl_ray.service.pool import NAMESPACE, LearngenePool, pool_name
from gtl_ray.service.progress import PopulationProgress, quiet_tune
from gtl_ray.service.scheduler import GTLScheduler
from gtl_ray.service.tensorboard import PopulationBoard
from gtl_ray.service.watch import PlacementWatch, RunWatch

log = logging.getLogger(__name__)
FIXED_ON_RESUME = ("population.size", "model.", "learngene.")  #: keys --force cannot change


@dataclass
class RunOutcome:
    run_dir: str
    generations_completed: int
    final_learngene: str
    wall_seconds: float
    generations: list[dict]
    compute: dict[str, int] = field(default_factory=dict)  #: sample-gradients by where they went
    final: dict[str, Any] | None = None  #: the manifest's record of the final choice
    #: seconds: ray_start_s (joining or starting Ray), initial_gene_s (generation 0's gene: random,
    #: loaded or pre-trained), placement_s and first_generation_s (`PopulationProgress.startup`);
    #: None for what this session did not do
    startup: dict[str, float | None] = field(default_factory=dict)


@dataclass
class _Start:
    state: EvolutionState | None  #: None: a fresh run (generation 0 is set up once Ray is up)
    lineage: list[LineageRecord]
    summaries: list[GenerationSummary]
    pretrain_sample_grads: int = 0
    finished: bool = False  #: the run is complete, final learngene included
    accepted: list[tuple[str, Any, Any]] = field(
        default_factory=list
    )  #: (key, stored, new) differences --force accepted


def resume_command(config_path: str | None, store: RunStore) -> str:
    """How to go on after a failure: resume from the last checkpoint, or start again when the
    run died before anything was checkpointed."""
    again = "--resume" if store.exists() else "(nothing was checkpointed: start it again)"
    return f"gtl-ray evolve {config_path or 'CONFIG'} {again} --storage {store.root} --name {store.name}"


def _error_line(error: BaseException) -> str:
    """The last line of a (remote) error, e.g. "ValueError: Failed to look up actor ..."."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def plan_start(config: GTLConfig, store: RunStore, resume: bool, force: bool, overwrite: bool) -> _Start:
    """Where the run starts. Every check comes before anything is deleted: --overwrite replaces
    only a folder whose manifest is a valid gtl_ray manifest of this run; --resume cleans up
    only after the manifest and the config passed their checks."""
    if not resume:
        if store.exists():
            if not overwrite:
                raise StorageError(
                    f"a run already exists at {store.run_dir}; pass --resume to continue it, --overwrite to replace it, or choose another --name"
                )
            _check_owner(store, store.read_manifest())
            storage.delete_dir(store.run_dir)
        return _Start(None, [], [])
    manifest = store.read_manifest()
    _check_owner(store, manifest)
    changes = store.config_changes(manifest, config)
    differences = [key for key, _, _ in changes]
    fixed = [d for d in differences if d.startswith(FIXED_ON_RESUME)]
    if fixed:
        raise StorageError(
            f"cannot resume {store.run_dir} with a different {', '.join(fixed)} (the stored genes and population depend on it); start a new run with another --name"
        )
    if differences and not force:
        raise StorageError(
            f"cannot resume {store.run_dir}: config differs from the stored run in {', '.join(differences)} (pass --force to resume anyway)"
        )
    removed = store.clean_incomplete(manifest)
    if removed:
        log.warning("removed what a crash left behind (not counted by the manifest): %s", ", ".join(removed))
    finished = manifest["final"] is not None and manifest["generations_completed"] >= config.evolution.generations
    return _Start(
        store.load_state(manifest),
        store.load_lineage(manifest),
        store.summaries(manifest),
        int(manifest["compute"].get("pretrain", 0)),
        finished,
        changes,
    )


def _check_owner(store: RunStore, manifest: dict[str, Any]) -> None:
    if manifest["name"] != store.name:
        raise StorageError(
            f"{store.path('manifest.json')}: belongs to run {str(manifest['name'])[:80]!r}, not {store.name!r}; nothing was changed"
        )


def check_environments(config: GTLConfig, base: ImageSet) -> None:
    """Fail before Ray starts when the base classes cannot give every member its environment or
    its fitness episodes (otherwise every member would fail, and be retried, in generation 0)."""
    life, ev, evo = config.lifetime, config.evaluation, config.evolution
    try:
        EpisodeSampler(base, life.n_way, life.train_per_class, life.query_per_class, episodes=0, seed=config.seed)
    except DataError as exc:
        raise DataError(
            f"lifetime.n_way={life.n_way}, lifetime.train_per_class={life.train_per_class}, lifetime.query_per_class={life.query_per_class} do not fit the base split: {exc}"
        ) from None
    if evo.fitness != "lifetime":
        try:
            EpisodeSampler(base, ev.n_way, evo.fitness_shots, ev.query, episodes=0, seed=config.seed)
        except DataError as exc:
            raise DataError(
                f"evolution.fitness={evo.fitness}: evaluation.n_way={ev.n_way}, evolution.fitness_shots={evo.fitness_shots}, evaluation.query={ev.query} do not fit the base split: {exc}"
            ) from None


def _initial(shared: tuple[GTLConfig, ImageSet, str], _: Any) -> tuple[Learngene | None, int]:
    config, base, cache_dir = shared
    return initial_gene(config, base, cache_dir)


def evolve(
    config: GTLConfig,
    *,
    resume: bool = False,
    force: bool = False,
    overwrite: bool = False,
    address: str | None = None,
    config_path: str | None = None,
    progress: Progress | None = None,
) -> RunOutcome:
    """Run (or resume) the evolution described by `config`; returns where the results are.
    `progress` gets the live lines (none by default)."""
    start_time = time.time()
    config = with_packs_resolved(config)
    progress = progress or Progress.quiet()
    store = RunStore(config.storage, config.name)
    start = plan_start(config, store, resume, force, overwrite)
    if start.finished:
        progress.line(f"run {store.run_dir} is already complete")
        return _outcome(store, start_time)
    if start.state is not None:
        progress.resuming(start.state.generation, config.evolution.generations, start.accepted)
        PopulationBoard(store.tensorboard_dir).sync(
            start.summaries, start.lineage
        )  # what a stop before the figures left out
    splits = load_splits(config.data)
    check_environments(config, splits.base)
    if address == "local":  # a Ray this process starts: what no node could hold is known before it starts
        reason = local_gpu_shortfall(config, torch.cuda.device_count())
        if reason:
            raise ConfigError(reason)
    clock = time.perf_counter()
    cluster = RayCluster.connect(address)
    startup: dict[str, float | None] = {"ray_start_s": time.perf_counter() - clock, "initial_gene_s": None}
    cluster.wait_for_room(config)  # before anything is written
    cluster.request(population_demand(config))  # the autoscaler sees the whole population up front
    try:
        executor = RayExecutor(member_resources(config))
        if start.state is None:
            clock = time.perf_counter()
            ((_, (initial, cost)),) = executor.map(_initial, (config, splits.base, store.pretrained_dir), [None])
            start.state, start.pretrain_sample_grads = Strategy(config).init(initial), cost
            store.write_start(config, start.state, {"pretrain": cost})
            startup["initial_gene_s"] = time.perf_counter() - clock
        if start.state.generation < config.evolution.generations:
            startup.update(_run_population(config, store, start, cluster, splits, config_path, progress))
        if config.final.selection == "val":
            progress.line(f"choosing the final learngene (final.selection: val, {config.final.val_episodes} episodes)")
        _finish(config, store, splits, executor)
    finally:
        cluster.request([])
    return _outcome(store, start_time, startup)


def _run_population(
    config: GTLConfig,
    store: RunStore,
    start: _Start,
    cluster: RayCluster,
    splits: Splits,
    config_path: str | None,
    progress: Progress,
) -> dict[str, float | None]:
    """Live the population's generations on Tune; returns the start-up figures of the session."""
    data = [ray.put(splits.base.to_arrays())]
    name = pool_name(config.name)
    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    pool = LearngenePool.options(name=name, namespace=NAMESPACE, scheduling_strategy=here).remote(
        config.to_dict(), config.storage, data, start.state, start.lineage, start.summaries, start.pretrain_sample_grads
    )
    placement = PlacementWatch(cluster, actor_resources(config), config.population.resource_timeout_s)
    watch = RunWatch(pool, placement)
    first = start.state.generation
    pop = config.population
    live = PopulationProgress(
        progress, pool, first, config.evolution.generations, pop.size, member_resources(config), pop.members_per_actor
    )
    try:
        tuner = tune.Tuner(
            tune.with_resources(MemberTrainable, tune.PlacementGroupFactory([actor_resources(config)])),
            # one trial per member actor, named by its first member (packs of members_per_actor)
            param_space={
                "member": tune.grid_search(list(range(0, config.population.size, config.population.members_per_actor))),
                "pool": name,
            },
            tune_config=tune.TuneConfig(scheduler=GTLScheduler(config.evolution.generations), reuse_actors=True),
            run_config=tune.RunConfig(
                name=f"tune-from-{first:04d}",
                storage_path=store.run_dir if storage.is_uri(store.run_dir) else os.path.abspath(store.run_dir),
                failure_config=tune.FailureConfig(max_failures=config.population.max_failures),
                stop=watch,
                callbacks=[placement, live, GenerationTBXLogger()],
                checkpoint_config=tune.CheckpointConfig(checkpoint_frequency=0, checkpoint_at_end=False),
                verbose=0,
            ),
        )
        with quiet_tune():  # progress is ours: no Tune tables
            results = tuner.fit()
        resume = resume_command(config_path, store)
        try:
            finished = ray.get(pool.finished.remote())
        except ray.exceptions.RayActorError:
            raise RunFailed(
                f"the learngene pool actor died; the run is safe up to its last checkpoint, resume with: {resume}"
            ) from None
        live.catch_up(finished["generations"])
        done = finished["generations_completed"]
        if placement.stalled:
            raise RunFailed(
                stall_message(config, placement.stalled, placement.room_when_stalled, done) + f"; resume with: {resume}"
            )
        failed = [r for r in results if r.error is not None]
        if failed:
            raise RunFailed(
                f"{len(failed)} member(s) failed beyond population.max_failures={config.population.max_failures} ({_error_line(failed[0].error)}); resume with: {resume}"
            )
        if done < config.evolution.generations:
            raise RunFailed(
                f"the run stopped after {done} of {config.evolution.generations} generations; resume with: {resume}"
            )
        return live.startup()
    finally:
        ray.kill(pool)


def _finish(config: GTLConfig, store: RunStore, splits: Splits, executor: RayExecutor) -> None:
    """Choose the final learngene from the checkpointed state and write it with its elites."""
    manifest = store.read_manifest()
    state = store.load_state(manifest)
    choice = choose_final(Strategy(config), state, splits, executor)
    compute = dict(manifest["compute"])
    compute["final_selection"] = choice.sample_grads
    compute["total"] = sum(v for k, v in compute.items() if k != "total")
    store.write_final(config, choice, store.summaries(manifest), state, compute)


def _outcome(store: RunStore, start_time: float, startup: dict[str, float | None] | None = None) -> RunOutcome:
    manifest = store.read_manifest()
    return RunOutcome(
        store.run_dir,
        manifest["generations_completed"],
        store.final_learngene,
        time.time() - start_time,
        manifest["generations"],
        manifest["compute"],
        manifest["final"],
        startup or {},
    )
