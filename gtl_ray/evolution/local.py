"""`evolve_local`: the whole evolution in one process, driving the same strategy and lifetimes
as the Ray service. It is the reference the service is tested against and the baseline for its
overhead."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import torch

from gtl_ray.config import GTLConfig
from gtl_ray.data import ImageSet, Splits, load_splits
from gtl_ray.evolution.final import FinalChoice, choose_final
from gtl_ray.evolution.generation import GenerationBook, Submission
from gtl_ray.evolution.initial import initial_gene
from gtl_ray.evolution.lineage import LineageRecord
from gtl_ray.evolution.member_life import live_pack
from gtl_ray.evolution.strategy import EvolutionState, Strategy
from gtl_ray.evolution.summary import GenerationSummary, run_compute
from gtl_ray.executor import Executor
from gtl_ray.learngene import Learngene
from gtl_ray.packing import members_per_actor, with_packs_resolved


class Checkpoints(Protocol):
    """Where a run's files go (`gtl_ray.run.store.RunStore`)."""

    def write_start(self, config: GTLConfig, state: EvolutionState, compute: dict[str, int]) -> None: ...

    def write_generation(
        self,
        config: GTLConfig,
        genes: list[Learngene],
        lineage: list[LineageRecord],
        summaries: list[GenerationSummary],
        state: EvolutionState,
        compute: dict[str, int],
    ) -> Any: ...

    def write_final(
        self,
        config: GTLConfig,
        choice: FinalChoice,
        summaries: list[GenerationSummary],
        state: EvolutionState,
        compute: dict[str, int],
    ) -> Any: ...


log = logging.getLogger(__name__)


@dataclass
class EvolutionResult:
    final: Learngene  #: the final learngene (per final.selection)
    elites: list[Learngene]  #: the next best genes (evolution.elites of them)
    lineage: list[LineageRecord]
    fitness: list[dict[str, float]] = field(default_factory=list)  #: per generation: min/median/max/mean
    state: EvolutionState | None = None  #: the strategy's state after the last generation
    choice: FinalChoice | None = None
    compute: dict[str, int] = field(
        default_factory=dict
    )  #: sample-gradients: pretrain, lifetime, fitness, final_selection


def member_threads(config: GTLConfig) -> int:
    """Torch threads a member uses: its CPU share, at least one (fixed, for determinism). A pack,
    vectorized too, uses as many: more threads than a member's share oversubscribe a busy
    machine's cores (on the 2-core CI machine under load, 4 lifetimes on 2 threads took 2 to 5
    times as long as on one, sequential and vectorized alike)."""
    return max(1, int(config.population.cpus_per_member))


def live_generation(strategy: Strategy, base: ImageSet, state: EvolutionState) -> list[Submission]:
    """Every member of the state's generation, pack by pack as the Ray service's member actors
    live them (`population.members_per_actor` consecutive members each), on the CPU."""
    k = members_per_actor(strategy.config.population)
    assignments = state.assignments
    return [
        result
        for first in range(0, len(assignments), k)
        for result in live_pack(
            strategy,
            base,
            assignments[first : first + k],
            [state.find_parent(a.parent_id) for a in assignments[first : first + k]],
        )
    ]


def evolve_local(
    config: GTLConfig,
    splits: Splits | None = None,
    on_generation: Callable[[int, dict[str, float]], None] | None = None,
    cache_dir: str | None = None,
    executor: Executor | None = None,
    store: Checkpoints | None = None,
) -> EvolutionResult:
    """Run every generation's members one after another in this process; with `store`, write
    the same run files as the Ray service (checkpoints per generation, final learngene)."""
    config = with_packs_resolved(config)
    splits = splits or load_splits(config.data)
    strategy = Strategy(config)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(member_threads(config))
    try:
        initial, pretrain_cost = initial_gene(config, splits.base, cache_dir)
        book = GenerationBook(strategy, strategy.init(initial))
        if store is not None:
            store.write_start(config, book.state, {"pretrain": pretrain_cost})
        curve: list[dict[str, float]] = []
        for generation in range(config.evolution.generations):
            began = time.time()
            for submission in live_generation(strategy, splits.base, book.state):
                book.accept(submission)
            concluded = book.conclude(time.time() - began)
            book.apply(concluded)
            curve.append(concluded.summary.fitness)
            log.info("generation %d/%d fitness %s", generation + 1, config.evolution.generations, curve[-1])
            if on_generation is not None:
                on_generation(generation, curve[-1])
            if store is not None:
                compute = run_compute(book.lineage, pretrain_cost, 0)
                store.write_generation(config, concluded.genes, book.lineage, book.summaries, book.state, compute)
        state, lineage, summaries = book.state, book.lineage, book.summaries
        choice = choose_final(strategy, state, splits, executor)
        compute = run_compute(lineage, pretrain_cost, choice.sample_grads)
        if store is not None:
            store.write_final(config, choice, summaries, state, compute)
        return EvolutionResult(
            choice.final.gene, [p.gene for p in choice.elites], lineage, curve, state, choice, compute
        )
    finally:
        torch.set_num_threads(previous_threads)
