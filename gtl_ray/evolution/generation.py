"""One generation's book, kept the same way by `evolve_local` and by the Ray learngene pool: take
each member's submission once, and when the last one is in, run the strategy and sum the
generation up.

    book = GenerationBook(strategy, state)
    book.accept(submission)            # once per member; a repeated or stale one is ignored
    if book.complete:
        concluded = book.conclude(wall_seconds)   # pure: the pool runs it in a thread
        book.apply(concluded)                     # the next generation begins

Numpy only (genes, lineage records, the strategy): the pool that keeps it imports no torch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

from gtl_ray.evolution.lineage import LineageRecord
from gtl_ray.evolution.strategy import EvolutionState, Strategy
from gtl_ray.evolution.summary import GenerationSummary, summarize
from gtl_ray.learngene import Learngene


@dataclass(frozen=True)
class Submission:
    """What one member hands in after its life.

    Args:
        record: its lineage record (its generation, member index and fitness included).
        gene: the gene it passes on.
        born: the gene it was born with (after mutation), when the strategy needs it
            (`Strategy.needs_born_genes`: reptile); None otherwise.
    """

    record: LineageRecord
    gene: Learngene
    born: Learngene | None = None

    @property
    def generation(self) -> int:
        return self.record.generation

    @property
    def member(self) -> int:
        return self.record.member


@dataclass(frozen=True)
class Concluded:
    """A complete generation's outcome, computed before it is applied."""

    state: EvolutionState  #: the strategy's state for the next generation
    summary: GenerationSummary
    genes: list[Learngene]  #: every gene passed on, in member order (to checkpoint)
    records: list[LineageRecord]  #: in member order


class GenerationBook:
    """Which generation is being lived, who has handed in, and what happens when the last one does.

    Args:
        strategy: the run's strategy.
        state: the strategy's state for the generation to live first (init, or resume).
        lineage / summaries: what completed generations recorded (resume).
    """

    def __init__(
        self,
        strategy: Strategy,
        state: EvolutionState,
        lineage: Sequence[LineageRecord] = (),
        summaries: Sequence[GenerationSummary] = (),
    ):
        self.strategy = strategy
        self.state = state
        self.lineage = list(lineage)
        self.summaries = list(summaries)
        self.submitted: dict[int, Submission] = {}

    @property
    def generation(self) -> int:
        """The generation being lived."""
        return self.state.generation

    def next_generation(self, member: int) -> int:
        """The generation `member` lives next (after a restart too)."""
        return self.state.generation + (1 if member in self.submitted else 0)

    def accept(self, submission: Submission) -> bool:
        """Take a member's submission; False for a stale or repeated one (a retried call)."""
        if submission.generation != self.state.generation or submission.member in self.submitted:
            return False
        if self.strategy.needs_born_genes and submission.born is None:
            raise ValueError(f"member {submission.member}: the strategy needs the gene it was born with")
        self.submitted[submission.member] = submission
        return True

    @property
    def complete(self) -> bool:
        return len(self.submitted) == self.strategy.size

    def conclude(self, wall: float) -> Concluded:
        """The complete generation's outcome, computed without changing the book (the pool runs
        this in a thread while members keep calling in, then `apply`s it)."""
        ordered = [self.submitted[m] for m in range(self.strategy.size)]
        records = [s.record for s in ordered]
        genes = [s.gene for s in ordered]
        born = [s.born for s in ordered] if self.strategy.needs_born_genes else None
        start = time.perf_counter()
        state = self.strategy.tell(self.state, [r.fitness for r in records], genes, born)
        return Concluded(state, summarize(records, wall, time.perf_counter() - start), genes, records)

    def apply(self, concluded: Concluded) -> None:
        """Move on to the next generation with what `conclude` computed."""
        self.state = concluded.state
        self.lineage += concluded.records
        self.summaries.append(concluded.summary)
        self.submitted = {}
