"""The learngene pool: a named async Ray actor that runs the evolution strategy for a running
evolution and owns its genes.

One generation, as the pool sees it:
1. every member asks for its assignment of generation g and gets its parent (a Parent, with its
   gene, from the object store; zero-copy) and whether it is an elite;
2. each member lives (inherits, mutates, learns, is scored: `evolution.member_life`) and submits
   the gene it passes on with its lineage record — fitness travels once, in that record;
3. when the P-th submission of g arrives, the pool's `GenerationBook` (the one `evolve_local`
   keeps too) runs `Strategy.tell` (selection and write-back), then the pool puts the next
   parents in the object store, releases the previous ones, wakes
   the members waiting for g + 1 and checkpoints g in the background (at most one write in
   flight), then writes g's figures to TensorBoard (`RUN/tensorboard/`, step g).

The pool holds everything a restarted member needs (`next_generation`), so members keep no
state, and it lives on the driver's node, so a lost worker node loses no gene.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import ray

from gtl_ray.config import GTLConfig
from gtl_ray.evolution.generation import GenerationBook, Submission
from gtl_ray.evolution.lineage import LineageRecord
from gtl_ray.evolution.strategy import EvolutionState, Strategy
from gtl_ray.evolution.summary import GenerationSummary, run_compute
from gtl_ray.learngene import Learngene
from gtl_ray.run.store import RunStore
from gtl_ray.service.metrics import RunMetrics
from gtl_ray.service.tensorboard import PopulationBoard

log = logging.getLogger(__name__)
NAMESPACE = "gtl_ray"


def pool_name(run_name: str) -> str:
    return f"gtl_pool:{run_name}"


@ray.remote(num_cpus=0, max_restarts=0)
class LearngenePool:
    """Args:
    config: the run's validated config.
    root: storage root; the run directory is root/config.name.
    data: [ObjectRef] of the base classes' arrays (what members learn from).
    state: the strategy's state for the first generation to live (init, or resume).
    lineage / summaries: what completed generations already recorded (resume).
    pretrain_sample_grads: what generation 0's pre-trained gene cost (compute accounting).
    """

    def __init__(
        self,
        config: GTLConfig,
        root: str,
        data: list,
        state: EvolutionState,
        lineage: list[LineageRecord],
        summaries: list[GenerationSummary],
        pretrain_sample_grads: int,
    ):
        self.config = config
        self.book = GenerationBook(Strategy(config), state, lineage, summaries)
        self.store = RunStore(root, self.config.name)
        self.data = data
        self.pretrain_sample_grads = pretrain_sample_grads
        self.writes: asyncio.Task | None = None
        self.metrics = RunMetrics(self.config.name, self.config.evolution.generations, len(summaries))
        self.board = PopulationBoard(self.store.layout.tensorboard_dir)
        self.changed = asyncio.Event()
        self._post()

    def _post(self) -> None:
        """Make the book's generation the one members live: its parents into the object store
        (the previous generation's references are released here), its waiters woken."""
        self.parent_refs = {p.id: ray.put(p) for p in self.book.state.parents}
        self.posted_at = time.time()
        woken, self.changed = self.changed, asyncio.Event()
        woken.set()

    # ------------------------------------------------------------ member side

    def setup_payload(self) -> tuple[GTLConfig, list]:
        return self.config, self.data

    def next_generation(self, member: int) -> int:
        return self.book.next_generation(member)

    async def assignment(self, generation: int, member: int) -> dict[str, Any]:
        """Wait until `generation` is the one being lived, then return the member's assignment
        and a reference to its parent (None for a random gene)."""
        while self.book.state.generation < generation:
            await self.changed.wait()
        state = self.book.state
        if state.generation != generation:
            raise ValueError(
                f"member {member} asked for generation {generation}, but the pool is at {state.generation}"
            )
        a = state.assignments[member]
        return {
            "assignment": a,
            "parent": [self.parent_refs[a.parent_id]] if a.parent_id is not None else None,
            "held_references": len(self.parent_refs),
        }

    async def submit(self, submission: Submission) -> None:
        """Take a member's submission; the generation's last one runs the strategy."""
        if not self.book.accept(submission):
            return
        self.metrics.member_done(submission.record.lifetime_seconds)
        if self.book.complete:
            await self._advance()

    # ------------------------------------------------------------ the generation's end

    async def _advance(self) -> None:
        concluded = await asyncio.to_thread(self.book.conclude, time.time() - self.posted_at)
        # Applied and posted in one step of the event loop: a member calling in meanwhile sees
        # either the old generation or the new one with its parents posted, never a mix.
        self.book.apply(concluded)
        summary, genes = concluded.summary, concluded.genes
        self.metrics.generation_done(summary)
        self._post()
        if self.writes is not None:
            # Backpressure: at most one checkpoint in flight, so a slow store cannot pile up
            # writes that each pin a generation of genes in memory.
            await self.writes
        compute = run_compute(self.book.lineage, self.pretrain_sample_grads, 0)
        self.writes = asyncio.ensure_future(
            self._checkpoint(genes, list(self.book.lineage), list(self.book.summaries), self.book.state, compute)
        )
        log.info(
            "generation %d/%d done: fitness %s",
            summary.generation + 1,
            self.config.evolution.generations,
            summary.fitness,
        )

    async def _checkpoint(
        self,
        genes: list[Learngene],
        lineage: list[LineageRecord],
        summaries: list[GenerationSummary],
        state: EvolutionState,
        compute: dict[str, int],
    ) -> None:
        """Write the last generation of `summaries` (a snapshot: the book moves on meanwhile)."""
        start = time.perf_counter()
        await asyncio.to_thread(self.store.write_generation, self.config, genes, lineage, summaries, state, compute)
        summary = summaries[-1]
        summary.timing["checkpoint"] = time.perf_counter() - start
        self.metrics.checkpoint_done(summary.timing["checkpoint"])
        records = [r for r in lineage if r.generation == summary.generation]
        await asyncio.to_thread(self.board.write, summary, records)

    async def generation_summary(self, generation: int) -> dict[str, Any]:
        """Wait until `generation` is complete; return its summary (the driver's progress line)."""
        while len(self.book.summaries) <= generation:
            await self.changed.wait()
        return self.book.summaries[generation].__dict__

    async def finished(self) -> dict[str, Any]:
        """Wait for every checkpoint write; return the run's summaries."""
        if self.writes is not None:
            await self.writes
        return {
            "generations_completed": len(self.book.summaries),
            "generations": [s.__dict__ for s in self.book.summaries],
            "run_dir": self.store.run_dir,
        }

    async def watch(self) -> None:
        """Never returns: the driver keeps this call pending and learns of the pool's death the
        moment its reference resolves (with RayActorError), without polling the actor."""
        await asyncio.Event().wait()
