"""One member's generation as the strategy and the lineage see it: inherit, live, record. Used
by `evolve_local` and by the Ray member actor alike (what a whole generation amounts to is
`evolution.summary`)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gtl_ray.data import ImageSet
from gtl_ray.evolution.lifetime import MemberOutcome, live
from gtl_ray.evolution.lineage import LineageRecord, member_id
from gtl_ray.evolution.mutation import MutationRecord
from gtl_ray.evolution.strategy import Assignment, Parent, Strategy


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
