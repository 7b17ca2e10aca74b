"""The population's generations on Ray: the learngene pool on the driver's node, one Tune trial
per member actor, and what to tell the user when the run cannot finish.

Tune is the members' life-cycle and monitoring layer (placement, restarts after a lost actor or
node, per-member TensorBoard curves); the pool runs the strategy. `run_population` returns once
every planned generation is checkpointed, or raises RunFailed with the resume command; a
checkpoint the storage refused ends it with `storage_failure`'s one line.

Tune keeps its own experiment state and per-member results under `RUN/tune-from-NNNN/`, on the
run's storage (so the members' curves stay with the run), and fails to save them whenever the
run's checkpoints fail. gtl_ray never restores from that state (a resume reads the manifest), so
Tune's reports of it (tracebacks included) are held back while Tune runs (`quiet_tune`): the
pool's failure is the run's, and Tune's alone becomes one warning line.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import ray
from ray import tune
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from gtl_ray import storage
from gtl_ray.config import GTLConfig
from gtl_ray.data import ImageSet
from gtl_ray.errors import LeaseLost, RunFailed, StorageFault
from gtl_ray.preflight.room import actor_resources, member_resources
from gtl_ray.progress import Progress
from gtl_ray.run.lease_record import LeaseGuard
from gtl_ray.run.resume import StartPlan
from gtl_ray.run.store import RunStore
from gtl_ray.service.capacity import RayCluster, stall_message
from gtl_ray.service.member import MemberTrainable
from gtl_ray.service.member_board import GenerationTBXLogger, trial_names
from gtl_ray.service.pool import NAMESPACE, LearngenePool, pool_name
from gtl_ray.service.tune_progress import PopulationProgress, TuneStateReports, quiet_tune
from gtl_ray.service.scheduler import NonPausingScheduler
from gtl_ray.service.watch import PlacementWatch, RunWatch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunContext:
    """What a running evolution's driver works with."""

    config: GTLConfig
    store: RunStore
    cluster: RayCluster
    progress: Progress
    resume_hint: str  #: the command that resumes this run, for every failure message
    guard: LeaseGuard | None = None  #: the writer lease, checked by the pool before each manifest write


def run_population(context: RunContext, start: StartPlan, base: ImageSet) -> dict[str, float | None]:
    """Live the generations from `start.state` to the last one, checkpointed by the pool;
    returns the session's start-up figures (member placement, first generation)."""
    config = context.config
    pool = _start_pool(context, start, base)
    placement = PlacementWatch(context.cluster, actor_resources(config), config.population.resource_timeout_s)
    shown = PopulationProgress(
        context.progress,
        pool,
        start.state.generation,
        config.evolution.generations,
        config.population.size,
        member_resources(config),
        config.population.members_per_actor,
    )
    try:
        tuner = _member_tuner(context, start.state.generation, RunWatch(pool, placement), [placement, shown])
        with quiet_tune() as tune_state:  # progress is ours: no Tune tables
            errors = _fit(tuner, tune_state)
        try:
            finished = ray.get(pool.finished.remote())
        except ray.exceptions.RayActorError:
            raise RunFailed(
                "the learngene pool actor died; the run is safe up to its last checkpoint, "
                f"resume with: {context.resume_hint}"
            ) from None
        shown.catch_up(finished["generations"])
        if tune_state.failure and finished["failure"] is None:
            log.warning(
                "Tune could not save its own state under %s (monitoring only): %s",
                context.store.run_dir,
                tune_state.failure,
            )
        _diagnose(context, placement, errors, finished)
        return shown.startup()
    finally:
        ray.kill(pool)


def _fit(tuner: tune.Tuner, tune_state: TuneStateReports) -> list[BaseException]:
    """Run Tune; the members' errors. Tune reads its own state back from the run's storage when
    it ends, which raises once that storage is unreachable: then the pool says what happened."""
    try:
        return [r.error for r in tuner.fit() if r.error is not None]
    except OSError as exc:
        tune_state.failure = tune_state.failure or _error_line(exc)
        return []


def _start_pool(context: RunContext, start: StartPlan, base: ImageSet) -> Any:
    """The learngene pool, pinned to this (the driver's) node: a lost worker loses no gene."""
    config = context.config
    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    data = [ray.put(base.to_arrays())]
    options = {"name": pool_name(config.name), "namespace": NAMESPACE, "scheduling_strategy": here}
    return LearngenePool.options(**options).remote(
        config,
        config.storage,
        data,
        start.state,
        start.lineage,
        start.summaries,
        start.pretrain_sample_grads,
        context.guard,
    )


def _member_tuner(context: RunContext, first: int, stop: RunWatch, callbacks: list) -> tune.Tuner:
    """One trial per member actor, named by its first member (packs of members_per_actor)."""
    config, run_dir = context.config, context.store.run_dir
    population = config.population
    return tune.Tuner(
        tune.with_resources(MemberTrainable, tune.PlacementGroupFactory([actor_resources(config)])),
        param_space={
            "member": tune.grid_search(list(range(0, population.size, population.members_per_actor))),
            "pool": pool_name(config.name),
        },
        tune_config=tune.TuneConfig(
            scheduler=NonPausingScheduler(config.evolution.generations),
            reuse_actors=True,
            trial_name_creator=trial_names(population.members_per_actor),
            trial_dirname_creator=trial_names(population.members_per_actor),
        ),
        run_config=tune.RunConfig(
            name=context.store.layout.tune_session(first),
            storage_path=run_dir if storage.is_uri(run_dir) else os.path.abspath(run_dir),
            failure_config=tune.FailureConfig(max_failures=population.max_failures),
            stop=stop,
            callbacks=[*callbacks, GenerationTBXLogger()],
            checkpoint_config=tune.CheckpointConfig(checkpoint_frequency=0, checkpoint_at_end=False),
            verbose=0,
        ),
    )


def _diagnose(context: RunContext, placement: PlacementWatch, errors: list, finished: dict[str, Any]) -> None:
    """RunFailed with the resume command when the population stopped short of its last generation."""
    config, resume = context.config, context.resume_hint
    done = finished["generations_completed"]
    if finished["failure"] is not None:
        raise storage_failure(finished["failure"], config.storage, done, config.evolution.generations, resume)
    if placement.stalled:
        stalled = stall_message(config, placement.stalled, placement.room_when_stalled, done)
        raise RunFailed(f"{stalled}; resume with: {resume}")
    if errors:
        limit = config.population.max_failures
        raise RunFailed(
            f"{len(errors)} member(s) failed beyond population.max_failures={limit} "
            f"({_error_line(errors[0])}); resume with: {resume}"
        )
    if done < config.evolution.generations:
        planned = config.evolution.generations
        raise RunFailed(f"the run stopped after {done} of {planned} generations; resume with: {resume}")


def storage_failure(failure: RunFailed, storage_root: str, saved: int, planned: int, resume_hint: str) -> RunFailed:
    """The one line that ends a run whose checkpoint could not be written: the storage, the
    kind of fault and the store's words, the generations saved, and how to go on."""
    saved_up_to = f"the run is saved up to generation {saved} of {planned}"
    if isinstance(failure, StorageFault):
        return RunFailed(
            f"storage {storage_root}: {failure.kind}: cannot write {failure.location} ({failure.detail}); "
            f"{saved_up_to}; once the storage is fixed, resume with: {resume_hint}"
        )
    if isinstance(failure, LeaseLost):  # the run is someone else's now: no resume command
        return RunFailed(f"{failure}; {saved_up_to}")
    return RunFailed(f"{failure}; {saved_up_to}; resume with: {resume_hint}")


def _error_line(error: BaseException) -> str:
    """The last line of a (remote) error, e.g. "ValueError: Failed to look up actor ..."."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
