"""One member's generation as the strategy and the lineage see it: inherit, live, record; and a
pack's members together. Used by `evolve_local` and by the Ray member actor alike (what a whole
generation amounts to is `evolution.summary`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from gtl_ray.data import ImageSet
from gtl_ray.evolution.lifetime import MemberOutcome, live, live_together
from gtl_ray.evolution.lineage import LineageRecord, member_id
from gtl_ray.evolution.mutation import MutationRecord
from gtl_ray.evolution.strategy import Assignment, Parent, Strategy
from gtl_ray.packing import pack_mode


@dataclass
class MemberResult:
    outcome: MemberOutcome
    record: LineageRecord


def live_assignment(
    strategy: Strategy,
    base: ImageSet,
    assignment: Assignment,
    parent: Parent | None,
    device: torch.device | str = "cpu",
) -> MemberResult:
    """Inherit (mutate) the parent's gene, live, and describe the life for the lineage."""
    gene, mutation = strategy.inherit(assignment, parent.gene if parent is not None else None)
    outcome = live(strategy.config, base, assignment.generation, assignment.member, gene, device)
    return MemberResult(outcome, lineage_record(assignment, parent, mutation, gene, outcome))


def live_pack(
    strategy: Strategy,
    base: ImageSet,
    assignments: Sequence[Assignment],
    parents: Sequence[Parent | None],
    device: torch.device | str = "cpu",
) -> list[MemberResult]:
    """A pack's members of one generation (`population.pack`): one after another, each as
    `live_assignment`, or vectorized, their lifetimes as one batched computation. A vectorized
    pack's results depend on which members share it: always give it the whole pack. A pack of
    one lives as `live_assignment` whatever the mode (trained alone, a member is `fit` itself)."""
    if len(assignments) == 1 or pack_mode(strategy.config, str(device)) == "sequential":
        return [live_assignment(strategy, base, a, p, device) for a, p in zip(assignments, parents)]
    inherited = [strategy.inherit(a, p.gene if p is not None else None) for a, p in zip(assignments, parents)]
    generations = {a.generation for a in assignments}
    if len(generations) != 1:
        raise ValueError(f"a pack lives one generation at a time, got generations {sorted(generations)}")
    outcomes = live_together(
        strategy.config,
        base,
        generations.pop(),
        [a.member for a in assignments],
        [gene for gene, _ in inherited],
        device,
        vectorized=True,
    )
    return [
        MemberResult(outcome, lineage_record(a, p, mutation, gene, outcome))
        for a, p, (gene, mutation), outcome in zip(assignments, parents, inherited, outcomes)
    ]


def lineage_record(
    assignment: Assignment, parent: Parent | None, mutation: MutationRecord, inherited, outcome: MemberOutcome
) -> LineageRecord:
    # Generation 0 has no parent member (a random or the pre-trained gene): parent stays None.
    member_parent = parent is not None and assignment.generation > 0
    return LineageRecord(
        generation=assignment.generation,
        member=assignment.member,
        id=member_id(assignment.generation, assignment.member),
        parent=parent.id if member_parent else None,
        elite=bool(assignment.elite) if member_parent else False,
        mutation=mutation.operator,
        channels_mutated=mutation.channels_mutated,
        environment=list(outcome.environment),
        fitness=float(outcome.fitness),
        lifetime_seconds=float(outcome.seconds),
        inherited_checksum=inherited.checksum if inherited is not None else None,
        gene_checksum=outcome.gene.checksum,
        averaged=list(parent.averaged) if member_parent else [],
        lifetime_accuracy=float(outcome.lifetime_accuracy),
        lifetime_sample_grads=int(outcome.lifetime_sample_grads),
        fitness_sample_grads=int(outcome.fitness_sample_grads),
    )
