"""The learngene pool: a named async Ray actor that runs the evolution strategy for a running
evolution and owns its genes.

One generation, as the pool sees it:
1. every member asks for its assignment of generation g and gets its parent (a `PostedParent`:
   references into the object store, `service.handoff`) and whether it is an elite;
2. each member lives (inherits, mutates, learns, is scored: `evolution.member_life`) and submits
   the gene it passes on with its lineage record — fitness travels once, in that record; the
   pool puts the gene a parent may be built on into the object store as it arrives;
3. when the P-th submission of g arrives, the pool's `GenerationBook` (the one `evolve_local`
   keeps too) runs `Strategy.tell` (selection and write-back); once the checkpoint of g - 1 is
   written, the pool posts the next parents (references to what arrived, and to the one
   learning step moved parents add), releases the previous ones, wakes the members waiting for
   g + 1 and checkpoints g in the background while g + 1 is lived, then writes g's figures to
   TensorBoard (`RUN/tensorboard/`, step g).

A checkpoint that cannot be written (a `StorageFault`: no space, permission, unreachable; a
`LeaseLost`: another writer took the run over) stops the pool: it records the failure, accepts
no further submission, hands out no further assignment, and `watch` returns, so the driver stops
Tune at once. At most one generation is lived past the last one saved, and it is never saved.

The pool holds everything a restarted member needs (`next_generation`), so members keep no
state, and it lives on the driver's node, so a lost worker node loses no gene.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import ray

from gtl_ray.config import GTLConfig
from gtl_ray.errors import RunFailed
from gtl_ray.evolution.generation import GenerationBook, Submission
from gtl_ray.evolution.lineage import LineageRecord
from gtl_ray.evolution.strategy import EvolutionState, Strategy
from gtl_ray.evolution.summary import GenerationSummary, run_compute
from gtl_ray.learngene import Learngene
from gtl_ray.run.lease_record import LeaseGuard
from gtl_ray.run.store import RunStore
from gtl_ray.service.handoff import Arrivals, post_parents
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
    guard: the driver's writer lease, checked before each manifest write (None: unguarded).
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
        guard: LeaseGuard | None = None,
    ):
        self.config = config
        self.book = GenerationBook(Strategy(config), state, lineage, summaries)
        self.store = RunStore(root, self.config.name, guard.check if guard else None)
        self.saved = len(summaries)  #: generations whose checkpoint is written
        self.failure: RunFailed | None = None  #: why the pool stopped: a checkpoint not written
        self.failed = asyncio.Event()
        self.data = data
        self.pretrain_sample_grads = pretrain_sample_grads
        self.writes: asyncio.Task | None = None
        self.metrics = RunMetrics(self.config.name, self.config.evolution.generations, len(summaries))
        self.board = PopulationBoard(self.store.layout.tensorboard_dir)
        self.changed = asyncio.Event()
        self.putter = ThreadPoolExecutor(2, thread_name_prefix="gene-put")  # puts overlap (~1 ms each)
        self.arrivals = Arrivals(self.book.strategy.needs_born_genes, self.putter)  #: what generation 0 hands in
        self._post()

    def _post(self) -> None:
        """Make the book's generation the one members live: its parents posted (the previous
        generation's references are released here), its waiters woken."""
        self.posted = post_parents(self.book.state.parents, self.arrivals)
        self.arrivals = Arrivals(self.book.strategy.needs_born_genes, self.putter)
        self.posted_at = time.time()
        self._wake()

    def _wake(self) -> None:
        woken, self.changed = self.changed, asyncio.Event()
        woken.set()

    # ------------------------------------------------------------ member side

    def setup_payload(self) -> tuple[GTLConfig, list]:
        return self.config, self.data

    def next_generation(self, member: int) -> int:
        return self.book.next_generation(member)

    async def assignment(self, generation: int, member: int) -> dict[str, Any]:
        """Wait until `generation` is the one being lived, then return the member's assignment
        and its parent as posted (None for a random gene). Once the pool failed, never
        returns: the driver is stopping the run."""
        while self.failure is not None or self.book.state.generation < generation:
            await self.changed.wait()
        state = self.book.state
        if state.generation != generation:
            raise ValueError(
                f"member {member} asked for generation {generation}, but the pool is at {state.generation}"
            )
        a = state.assignments[member]
        return {
            "assignment": a,
            "parent": self.posted[a.parent_id] if a.parent_id is not None else None,
            "held_references": len(self.posted) + len(self.arrivals.puts),
        }

    async def submit(self, submission: Submission) -> None:
        """Take a member's submission; the generation's last one runs the strategy. Once the
        pool failed, nothing is taken."""
        if self.failure is not None or not self.book.accept(submission):
            return
        self.arrivals.take(submission)
        self.metrics.member_done(submission.record.lifetime_seconds)
        if self.book.complete:
            await self._advance()

    # ------------------------------------------------------------ the generation's end

    async def _advance(self) -> None:
        concluded = await asyncio.to_thread(self.book.conclude, time.time() - self.posted_at)
        if self.writes is not None:
            # The next generation is posted only once the previous checkpoint is written: at most
            # one generation is lived past the last one saved, and one write is in flight.
            await self.writes
        if self.failure is not None:
            return
        # Applied and posted in one step of the event loop: a member calling in meanwhile sees
        # either the old generation or the new one with its parents posted, never a mix.
        self.book.apply(concluded)
        summary, genes = concluded.summary, concluded.genes
        self.metrics.generation_done(summary)
        summary.timing["arrivals"] = sum(self.arrivals.put_seconds)  # the puts as submissions came in
        clock = time.perf_counter()
        self._post()
        summary.timing["post"] = time.perf_counter() - clock  # the next parents posted
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
        summary = summaries[-1]
        try:
            await asyncio.to_thread(self.store.write_generation, self.config, genes, lineage, summaries, state, compute)
        except Exception as exc:  # the storage, the lease, or a bug: no generation is saved after this one
            self._fail(exc, summary.generation)
            return
        summary.timing["checkpoint"] = time.perf_counter() - start
        self.metrics.checkpoint_done(summary.timing["checkpoint"])
        self.saved = summary.generation + 1
        self._wake()
        records = [r for r in lineage if r.generation == summary.generation]
        await asyncio.to_thread(self.board.write, summary, records)

    def _fail(self, exc: Exception, generation: int) -> None:
        if isinstance(exc, RunFailed):
            self.failure = exc
        else:
            log.error("checkpoint of generation %d failed", generation + 1, exc_info=exc)
            self.failure = RunFailed(
                f"the checkpoint of generation {generation + 1} failed: {type(exc).__name__}: {exc}"
            )
        self.failed.set()
        self._wake()

    async def generation_summary(self, generation: int) -> dict[str, Any]:
        """Wait until `generation` is saved; return its summary (the driver's progress line)."""
        while self.saved <= generation:
            await self.changed.wait()
        return self.book.summaries[generation].__dict__

    async def finished(self) -> dict[str, Any]:
        """Wait for every checkpoint write; return the saved generations' summaries and the
        failure that stopped the pool, if any."""
        if self.writes is not None:
            await self.writes
        return {
            "generations_completed": self.saved,
            "generations": [s.__dict__ for s in self.book.summaries[: self.saved]],
            "run_dir": self.store.run_dir,
            "failure": self.failure,
        }

    async def watch(self) -> None:
        """Returns once the pool failed; the driver keeps this call pending and learns of the
        failure, or of the pool's death (RayActorError), the moment its reference resolves,
        without polling the actor."""
        await self.failed.wait()
