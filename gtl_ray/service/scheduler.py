"""The GTL tournament scheduler: population-based training, synchronous per generation, that
moves learngenes instead of checkpoints.

Like Tune's `PopulationBasedTraining` (also a FIFOScheduler subclass) it watches every member's
result and acts once the whole population has reached a boundary. Unlike PBT's synchronous mode
it never pauses a member and never clones a full checkpoint into a loser: it answers CONTINUE to
every result, and when the last member of a generation reports it runs tournament + elitism
(`evolution.population.next_generation`) and posts the next generation's parents to the
learngene pool, where the waiting members pick them up. Mutation is applied by each member to
its inherited gene (seeded by run seed, generation and member), in parallel.
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import ray
from ray.tune.experiment import Trial
from ray.tune.schedulers import FIFOScheduler, TrialScheduler

from gtl_ray.config import GTLConfig
from gtl_ray.evolution.population import next_generation

if TYPE_CHECKING:
    from ray.tune.execution.tune_controller import TuneController

log = logging.getLogger(__name__)


class GTLScheduler(FIFOScheduler):
    """Tournament selection across the population, one generation at a time.

    Args:
        config: the run's validated config (population size, generations, tournament size,
            elites and seed are read from it).
        pool: handle of the run's LearngenePool actor.
        start_generation: first generation this scheduler waits for (> 0 when resuming).
    """

    def __init__(self, config: GTLConfig, pool: Any, start_generation: int = 0):
        super().__init__()
        self.config = config
        self.pool = pool
        self.generation = start_generation
        self.fitness: dict[int, dict[int, float]] = {}
        self.selection_seconds: list[float] = []

    def on_trial_result(self, tune_controller: "TuneController", trial: Trial, result: dict) -> str:
        self._record(result)
        return TrialScheduler.CONTINUE

    def on_trial_complete(self, tune_controller: "TuneController", trial: Trial, result: dict) -> None:
        # A member's last generation arrives here (Tune routes `done` results to completion).
        if result and "generation" in result:
            self._record(result)

    def _record(self, result: dict) -> None:
        generation, member = int(result["generation"]), int(result["member"])
        if generation < self.generation:
            return  # a replayed result of a generation already advanced
        self.fitness.setdefault(generation, {})[member] = float(result["fitness"])
        if generation != self.generation or len(self.fitness[generation]) < self.config.population.size:
            return
        start = time.perf_counter()
        fitness = [self.fitness[generation][m] for m in range(self.config.population.size)]
        last = generation + 1 >= self.config.evolution.generations
        slots = None if last else [(a.selection.parent, a.selection.elite) for a in next_generation(self.config, generation, fitness)]
        seconds = time.perf_counter() - start
        try:
            ray.get(self.pool.advance.remote(generation, slots, seconds))
        except ray.exceptions.RayActorError:
            # The pool is gone: evolve's RunWatch stops the experiment and names the resume command.
            log.error("the learngene pool died while advancing generation %d", generation + 1)
            return
        self.selection_seconds.append(time.perf_counter() - start)
        del self.fitness[generation]
        self.generation = generation + 1
        log.info("generation %d/%d complete", self.generation, self.config.evolution.generations)

    def debug_string(self) -> str:
        return f"GTL tournament scheduler: generation {self.generation + 1}/{self.config.evolution.generations}"
