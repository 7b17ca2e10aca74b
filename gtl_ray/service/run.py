"""`evolve`: run an evolution on Ray — generation 0's gene, the population's generations
(`service.population_run`), the final choice — starting fresh or resuming from the last complete
generation (`run.resume`).

One process writes a run at a time: `evolve` first refuses a request while another live writer
holds the run's lease (naming it, before Ray starts), then checks the request against the run
folder, the data and the room on the cluster (writing nothing), then takes the writer lease
(`run.lease`) and holds it to the end; every manifest write checks it, the learngene pool's too.
A write the storage refuses ends the run with one line
(`population_run.storage_failure`): the storage, the fault, the generations saved, the resume
command.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from gtl_ray.config import GTLConfig
from gtl_ray.data import ImageSet, Splits, load_splits
from gtl_ray.errors import ConfigError, StorageFault
from gtl_ray.evolution.final import choose_final
from gtl_ray.evolution.initial import initial_gene
from gtl_ray.evolution.strategy import Strategy
from gtl_ray.learngene import Learngene
from gtl_ray.packing import with_packs_resolved
from gtl_ray.preflight.data_fit import check_environments
from gtl_ray.preflight.room import local_gpu_shortfall, member_resources, population_demand
from gtl_ray.progress import Progress
from gtl_ray.run.manifest import Manifest
from gtl_ray.run.layout import RunLayout
from gtl_ray.run.lease import WriterLease
from gtl_ray.run.resume import StartPlan, check_start, plan_start, resume_command
from gtl_ray.run.store import RunStore
from gtl_ray.service.capacity import RayCluster
from gtl_ray.service.hparams import write_hparams
from gtl_ray.service.population_run import RunContext, run_population, storage_failure
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
    #: seconds: ray_start_s (joining or starting Ray), initial_gene_s (generation 0's gene: random,
    #: loaded or pre-trained), placement_s and first_generation_s (`PopulationProgress.startup`);
    #: None for what this session did not do
    startup: dict[str, float | None] = field(default_factory=dict)


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
    `progress` gets the live lines (none by default). LeaseHeld (bad input) while another
    process writes the run; RunFailed, in one line, when the storage refuses a write."""
    start_time = time.time()
    config = with_packs_resolved(config)
    progress = progress or Progress.quiet()
    lease = WriterLease(RunLayout(config.storage, config.name).run_dir)
    store = RunStore(config.storage, config.name, guard=lease.check)
    saved = _Saved(config, store, config_path)
    with saved.ending_on_fault():
        lease.refuse_if_held()
        stored = check_start(config, store, resume, force, overwrite)
        if resume:
            saved.generations, saved.checkpointed = stored.done, True
        finished = resume and stored.final is not None and stored.done >= config.evolution.generations
        ready = None if finished else _preflight(config, address)
        with lease:
            start = plan_start(config, store, resume, force, overwrite)
            saved.generations, saved.checkpointed = len(start.summaries), resume
            if start.finished:
                progress.line(f"run {store.run_dir} is already complete")
                return _outcome(store, store.read_manifest(), start_time)
            splits, cluster, ray_start_s = ready or _preflight(config, address)  # the run moved on since checked
            saved.startup.update(ray_start_s=ray_start_s, initial_gene_s=None)
            manifest = _evolve(config, store, lease, start, splits, cluster, progress, saved)
    return _outcome(store, manifest, start_time, saved.startup)


def _preflight(config: GTLConfig, address: str | None) -> tuple[Splits, RayCluster, float]:
    """The data, and room on the cluster, checked before the run's lease is taken: a request
    refused here leaves nothing written. Also the seconds Ray took to start or join."""
    splits = load_splits(config.data)
    check_environments(config, splits.base)
    if address == "local":  # a Ray this process starts: what no node could hold is known before it starts
        reason = local_gpu_shortfall(config, torch.cuda.device_count())
        if reason:
            raise ConfigError(reason)
    clock = time.perf_counter()
    cluster = RayCluster.connect(address)
    ray_start_s = time.perf_counter() - clock
    cluster.wait_for_room(config)
    return splits, cluster, ray_start_s


def _evolve(
    config: GTLConfig,
    store: RunStore,
    lease: WriterLease,
    start: StartPlan,
    splits: Splits,
    cluster: RayCluster,
    progress: Progress,
    saved: "_Saved",
) -> Manifest:
    """Holding the lease: generation 0's gene (a fresh run), the generations, the final choice."""
    if start.state is not None:
        progress.resuming(start.state.generation, config.evolution.generations, start.accepted)
        PopulationBoard(store.layout.tensorboard_dir).sync(start.summaries, start.lineage)  # what a stop left out
    cluster.request(population_demand(config))  # the autoscaler sees the whole population up front
    try:
        executor = RayExecutor(member_resources(config))
        if start.state is None:
            clock = time.perf_counter()
            ((_, (initial, cost)),) = executor.map(_initial, (config, splits.base, store.layout.pretrained_dir), [None])
            start.state, start.pretrain_sample_grads = Strategy(config).init(initial), cost
            store.write_start(config, start.state, {"pretrain": cost})
            saved.checkpointed = True
            saved.startup["initial_gene_s"] = time.perf_counter() - clock
        if start.state.generation < config.evolution.generations:
            context = RunContext(config, store, cluster, progress, saved.resume_hint, lease.guard)
            saved.startup.update(run_population(context, start, splits.base))
        saved.generations = config.evolution.generations
        if config.final.selection == "val":
            progress.line(f"choosing the final learngene (final.selection: val, {config.final.val_episodes} episodes)")
        manifest = _finish(config, store, splits, executor)
        write_hparams(store.run_dir)
        return manifest
    finally:
        cluster.request([])


@dataclass
class _Saved:
    """What the storage holds of the run so far: for the line that ends it on a storage fault."""

    config: GTLConfig
    store: RunStore
    config_path: str | None
    generations: int = 0  #: generations the manifest counts
    checkpointed: bool = False  #: whether a manifest was written (else the run starts again)
    startup: dict[str, float | None] = field(default_factory=dict)  #: `RunOutcome.startup`

    @property
    def resume_hint(self) -> str:
        return resume_command(self.config_path, self.store, self.checkpointed)

    @contextlib.contextmanager
    def ending_on_fault(self) -> Iterator[None]:
        """A StorageFault of the driver's own writes (the lease, clean-up, generation 0, the
        final learngene) ends the run with the same line as one of the pool's."""
        try:
            yield
        except StorageFault as fault:
            planned = self.config.evolution.generations
            raise storage_failure(fault, self.config.storage, self.generations, planned, self.resume_hint) from fault


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


def _outcome(
    store: RunStore, manifest: Manifest, start_time: float, startup: dict[str, float | None] | None = None
) -> RunOutcome:
    return RunOutcome(
        store.run_dir,
        manifest.done,
        store.layout.final_learngene,
        time.time() - start_time,
        [asdict(g) for g in manifest.generations],
        dict(manifest.compute),
        None if manifest.final is None else asdict(manifest.final),
        dict(startup or {}),
    )
