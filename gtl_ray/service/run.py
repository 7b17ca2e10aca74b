"""`evolve`: run an evolution on Ray — generation 0's gene, the population's generations
(`service.population_run`), the final choice — starting fresh or resuming from the last complete
generation (`run.resume`)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from gtl_ray.config import GTLConfig
from gtl_ray.data import ImageSet, Splits, load_splits
from gtl_ray.errors import ConfigError
from gtl_ray.evolution.final import choose_final
from gtl_ray.evolution.initial import initial_gene
from gtl_ray.evolution.strategy import Strategy
from gtl_ray.learngene import Learngene
from gtl_ray.preflight.data_fit import check_environments
from gtl_ray.preflight.room import local_gpu_shortfall, member_resources, population_demand
from gtl_ray.progress import Progress
from gtl_ray.run.manifest import Manifest
from gtl_ray.run.resume import plan_start, resume_command
from gtl_ray.run.store import RunStore
from gtl_ray.service.capacity import RayCluster
from gtl_ray.service.hparams import write_hparams
from gtl_ray.service.population_run import RunContext, run_population
from gtl_ray.service.ray_executor import RayExecutor
from gtl_ray.service.tensorboard import PopulationBoard


@dataclass
class RunOutcome:
    run_dir: str
    generations_completed: int
    final_learngene: str
    wall_seconds: float
    generations: list[dict]  #: the manifest's generation summaries
    compute: dict[str, int] = field(default_factory=dict)  #: sample-gradients by where they went
    final: dict[str, Any] | None = None  #: the manifest's record of the final choice


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
    progress = progress or Progress.quiet()
    store = RunStore(config.storage, config.name)
    start = plan_start(config, store, resume, force, overwrite)
    if start.finished:
        progress.line(f"run {store.run_dir} is already complete")
        return _outcome(store, store.read_manifest(), start_time)
    if start.state is not None:
        progress.resuming(start.state.generation, config.evolution.generations, start.accepted)
        PopulationBoard(store.layout.tensorboard_dir).sync(start.summaries, start.lineage)  # what a stop left out
    splits = load_splits(config.data)
    check_environments(config, splits.base)
    if address == "local":  # a Ray this process starts: what no node could hold is known before it starts
        reason = local_gpu_shortfall(config, torch.cuda.device_count())
        if reason:
            raise ConfigError(reason)
    cluster = RayCluster.connect(address)
    cluster.wait_for_room(config)  # before anything is written
    cluster.request(population_demand(config))  # the autoscaler sees the whole population up front
    try:
        executor = RayExecutor(member_resources(config))
        if start.state is None:
            ((_, (initial, cost)),) = executor.map(_initial, (config, splits.base, store.layout.pretrained_dir), [None])
            start.state, start.pretrain_sample_grads = Strategy(config).init(initial), cost
            store.write_start(config, start.state, {"pretrain": cost})
        if start.state.generation < config.evolution.generations:
            context = RunContext(config, store, cluster, progress, resume_command(config_path, store))
            run_population(context, start, splits.base)
        if config.final.selection == "val":
            progress.line(f"choosing the final learngene (final.selection: val, {config.final.val_episodes} episodes)")
        manifest = _finish(config, store, splits, executor)
        write_hparams(store.run_dir)
    finally:
        cluster.request([])
    return _outcome(store, manifest, start_time)


def _initial(shared: tuple[GTLConfig, ImageSet, str], _: Any) -> tuple[Learngene | None, int]:
    config, base, cache_dir = shared
    return initial_gene(config, base, cache_dir)


def _finish(config: GTLConfig, store: RunStore, splits: Splits, executor: RayExecutor) -> Manifest:
    """Choose the final learngene from the checkpointed state and write it with its elites."""
    manifest = store.read_manifest()
    state = store.load_state(manifest)
    choice = choose_final(Strategy(config), state, splits, executor)
    compute = dict(manifest.compute)
    compute["final_selection"] = choice.sample_grads
    compute["total"] = sum(v for k, v in compute.items() if k != "total")
    return store.write_final(config, choice, list(manifest.generations), state, compute)


def _outcome(store: RunStore, manifest: Manifest, start_time: float) -> RunOutcome:
    return RunOutcome(
        store.run_dir,
        manifest.done,
        store.layout.final_learngene,
        time.time() - start_time,
        [asdict(g) for g in manifest.generations],
        dict(manifest.compute),
        None if manifest.final is None else asdict(manifest.final),
    )
