"""The learngene pool: a named async Ray actor that owns the population's genes in the object
store and hands each member its next assignment.

Members submit their trained gene by value; the pool `ray.put`s it, so the pool (on the head
node) owns every gene and a lost member or worker node loses none. Only the references of the
current parents and of the generation being lived are held; older ones are released, so object
store memory stays flat. Each completed generation is checkpointed in the background.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import ray

from gtl_ray.config import GTLConfig, from_dict
from gtl_ray.evolution.lineage import LineageRecord
from gtl_ray.evolution.population import final_order, fitness_stats
from gtl_ray.learngene import Learngene
from gtl_ray.service.checkpoint import GenerationSummary, RunStore
from gtl_ray.service.metrics import RunMetrics

log = logging.getLogger(__name__)
NAMESPACE = "gtl_ray"


def pool_name(run_name: str) -> str:
    return f"gtl_pool:{run_name}"


@ray.remote(num_cpus=0, max_restarts=0)
class LearngenePool:
    """State of a running evolution: assignments out, genes and lineage records in.

    Args:
        config: the run's config as a plain dict.
        root: storage root; the run directory is root/config.name.
        data: [ObjectRef] of the base classes' arrays (what members learn from).
        start_generation: the first generation to live (> 0 when resuming).
        parents: the genes of generation start_generation - 1 (None when starting fresh).
        first_assignments: (parent, elite) per member for start_generation, None for generation 0.
        lineage / summaries: what completed generations already recorded (resume).
    """

    def __init__(self, config: dict, root: str, data: list, start_generation: int, parents: list[Learngene] | None, first_assignments: list[tuple[int, bool]] | None, lineage: list[LineageRecord], summaries: list[GenerationSummary]):
        self.config: GTLConfig = from_dict(config)
        self.store = RunStore(root, self.config.name)
        self.data = data
        self.size = self.config.population.size
        self.generations = self.config.evolution.generations
        self.parent_refs: list[ray.ObjectRef] = [ray.put(g) for g in parents] if parents else []
        self.assignments: dict[int, list[tuple[int, bool]] | None] = {start_generation: first_assignments}
        self.posted_at: dict[int, float] = {start_generation: time.time()}
        self.posted: dict[int, asyncio.Event] = {}
        self.acknowledged = start_generation  # generations below this one are complete
        self.submitted: dict[int, dict[int, tuple[ray.ObjectRef, LineageRecord, dict]]] = {}
        self.lineage = list(lineage)
        self.summaries = list(summaries)
        self.writes: asyncio.Task | None = None
        self.metrics = RunMetrics(self.config.name)

    def _event(self, generation: int) -> asyncio.Event:
        if generation not in self.posted:
            self.posted[generation] = asyncio.Event()
            if generation in self.assignments:
                self.posted[generation].set()
        return self.posted[generation]

    # ------------------------------------------------------------ member side

    def setup_payload(self) -> tuple[dict, list]:
        return self.config.to_dict(), self.data

    def next_generation(self, member: int) -> int:
        done = [g for g, subs in self.submitted.items() if member in subs]
        return max(done) + 1 if done else self.acknowledged

    def unacknowledged(self, member: int) -> dict | None:
        """The last result of `member` that the scheduler may not have seen (a member that died
        after submitting re-reports it once, so the generation can still complete)."""
        for generation in sorted(self.submitted, reverse=True):
            if generation >= self.acknowledged and member in self.submitted[generation]:
                return self.submitted[generation][member][2]
        return None

    async def assignment(self, generation: int, member: int) -> dict[str, Any]:
        """Wait until `generation` is posted, then return this member's parent gene and flags."""
        await self._event(generation).wait()
        slots = self.assignments[generation]
        previous = self.summaries[-1] if self.summaries else None
        payload = {"generation": generation, "parent": None, "parent_index": None, "elite": False, "previous": previous.__dict__ if previous else None, "held_references": self.held_references()}
        if slots is not None:
            parent, elite = slots[member]
            payload.update(parent=[self.parent_refs[parent]], parent_index=parent, elite=elite)
        return payload

    def submit(self, generation: int, member: int, gene: Learngene, record: LineageRecord, result: dict) -> None:
        self.submitted.setdefault(generation, {})[member] = (ray.put(gene), record, result)
        self.metrics.member_done(record.lifetime_seconds)

    # ------------------------------------------------------------ scheduler side

    async def advance(self, generation: int, next_assignments: list[tuple[int, bool]] | None, scheduling_seconds: float) -> None:
        """Generation `generation` is complete: post the next one (None after the last) and
        checkpoint this one in the background."""
        subs = self.submitted.pop(generation)
        refs = [subs[m][0] for m in range(self.size)]
        records = [subs[m][1] for m in range(self.size)]
        fitness = [r.fitness for r in records]
        lifetimes = [r.lifetime_seconds for r in records]
        wall = time.time() - self.posted_at.get(generation, time.time())
        summary = GenerationSummary(
            generation=generation,
            fitness=fitness_stats(fitness),
            best_member=final_order(fitness)[0],
            checksums=[r.gene_checksum for r in records],
            timing={"wall": wall, "lifetime_max": max(lifetimes), "lifetime_mean": sum(lifetimes) / len(lifetimes), "scheduling": max(0.0, wall - max(lifetimes)), "selection": scheduling_seconds},
        )
        self.lineage += records
        self.summaries.append(summary)
        self.metrics.generation_done(summary)
        self.parent_refs = refs  # the previous parents' references are released here
        self.acknowledged = generation + 1
        if next_assignments is not None:
            self.assignments[generation + 1] = next_assignments
            self.posted_at[generation + 1] = time.time()
            self._event(generation + 1).set()
        self.assignments.pop(generation, None)
        self.posted.pop(generation, None)
        if self.writes is not None:
            # Backpressure: at most one checkpoint in flight, so a slow store cannot pile up
            # writes that each pin a generation of genes in the object store.
            await self.writes
        self.writes = asyncio.ensure_future(self._checkpoint(summary, refs, list(self.lineage), list(self.summaries[:-1]), last=next_assignments is None))
        log.info("generation %d/%d done: fitness %s", generation + 1, self.generations, summary.fitness)

    async def _checkpoint(self, summary: GenerationSummary, refs: list, lineage: list[LineageRecord], earlier: list[GenerationSummary], last: bool) -> None:
        genes = list(await asyncio.gather(*refs))
        start = time.perf_counter()
        await asyncio.to_thread(self.store.write_generation, self.config, summary, genes, lineage, earlier)
        summary.timing["checkpoint"] = time.perf_counter() - start  # before the final manifest names it
        if last:
            order = final_order([r.fitness for r in lineage if r.generation == summary.generation])
            elites = [genes[i] for i in order[1 : 1 + self.config.evolution.elites]]
            await asyncio.to_thread(self.store.write_final, self.config, genes[order[0]], elites, earlier + [summary])
        self.metrics.checkpoint_done(summary.timing["checkpoint"])

    async def finished(self) -> dict[str, Any]:
        """Wait for every checkpoint write; return the run's summaries."""
        if self.writes is not None:
            await self.writes
        return {"generations_completed": len(self.summaries), "generations": [s.__dict__ for s in self.summaries], "run_dir": self.store.run_dir}

    async def watch(self) -> None:
        """Never returns: the driver keeps this call pending and learns of the pool's death the
        moment its reference resolves (with RayActorError), without polling the actor."""
        await asyncio.Event().wait()

    def held_references(self) -> int:
        """Gene references the pool holds now (parents + submissions in flight)."""
        return len(self.parent_refs) + sum(len(s) for s in self.submitted.values())
