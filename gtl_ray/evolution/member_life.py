"""One member's generation as the strategy and the lineage see it: inherit, live, hand in. Used by
`evolve_local` and by the Ray member actor alike, so both give the same lineage for the same seed
(what a whole generation amounts to is `evolution.generation`)."""

from __future__ import annotations

import torch

from gtl_ray import hooks
from gtl_ray.data import ImageSet
from gtl_ray.evolution.generation import Submission
from gtl_ray.evolution.lifetime import MemberOutcome, live, newborn
from gtl_ray.evolution.lineage import LineageRecord, member_id
from gtl_ray.evolution.mutation import MutationRecord
from gtl_ray.evolution.strategy import Assignment, Parent, Strategy
from gtl_ray.learngene import Learngene, extract_learngene
from gtl_ray.recipe import Recipe


def live_member(
    strategy: Strategy,
    base: ImageSet,
    assignment: Assignment,
    parent: Parent | None,
    device: torch.device | str = "cpu",
) -> Submission:
    """Inherit (mutate) the parent's gene and take the recipe the strategy gives, live with it,
    and hand in the gene passed on with the lineage record (and, where the strategy needs it,
    the gene the member was born with)."""
    hooks.run(hooks.BEFORE_LIFE, assignment.generation, assignment.member)
    birth = strategy.inherit(assignment, parent)
    outcome = live(strategy.config, base, assignment.generation, assignment.member, birth.gene, device, birth.recipe)
    record = lineage_record(assignment, parent, birth.mutation, birth.gene, outcome, birth.recipe)
    born = born_gene(strategy, assignment, birth.gene) if strategy.needs_born_genes else None
    return Submission(record, outcome.gene, born)


def born_gene(strategy: Strategy, assignment: Assignment, inherited: Learngene | None) -> Learngene:
    """The gene a member was born with: what it inherited, or (a random-born member) the slots
    of its seeded newborn network."""
    if inherited is not None:
        return inherited
    config = strategy.config
    model = newborn(config, assignment.generation, assignment.member)
    return extract_learngene(model, config.learngene.share)


def lineage_record(
    assignment: Assignment,
    parent: Parent | None,
    mutation: MutationRecord,
    inherited: Learngene | None,
    outcome: MemberOutcome,
    recipe: Recipe | None = None,
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
        recipe=None if recipe is None else recipe.to_json(),
    )
