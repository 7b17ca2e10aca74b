"""One member's generation as the strategy and the lineage see it: inherit, live, hand in; and a
pack's members together (`population.pack`). Used by `evolve_local` and by the Ray member actor
alike, so both give the same lineage for the same seed (what a whole generation amounts to is
`evolution.generation`)."""

from __future__ import annotations

from typing import Sequence

import torch

from gtl_ray import hooks
from gtl_ray.data import ImageSet
from gtl_ray.evolution.generation import Submission
from gtl_ray.evolution.lifetime import MemberOutcome, live, live_together, newborn
from gtl_ray.evolution.lineage import LineageRecord, member_id
from gtl_ray.evolution.mutation import MutationRecord
from gtl_ray.evolution.strategy import Assignment, Parent, Strategy
from gtl_ray.learngene import Learngene, extract_learngene
from gtl_ray.packing import pack_mode
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


def live_pack(
    strategy: Strategy,
    base: ImageSet,
    assignments: Sequence[Assignment],
    parents: Sequence[Parent | None],
    device: torch.device | str = "cpu",
) -> list[Submission]:
    """A pack's members of one generation (`population.pack`): one after another, each as
    `live_member`, or vectorized, their lifetimes as one batched computation. A vectorized pack's
    results depend on which members share it: always give it the whole pack. A pack of one lives
    as `live_member` whatever the mode."""
    if len(assignments) == 1 or pack_mode(strategy.config, str(device)) == "sequential":
        return [live_member(strategy, base, a, p, device) for a, p in zip(assignments, parents)]
    generations = {a.generation for a in assignments}
    if len(generations) != 1:
        raise ValueError(f"a pack lives one generation at a time, got generations {sorted(generations)}")
    for a in assignments:
        hooks.run(hooks.BEFORE_LIFE, a.generation, a.member)
    births = [strategy.inherit(a, p) for a, p in zip(assignments, parents)]
    members, genes = [a.member for a in assignments], [b.gene for b in births]
    recipes = [b.recipe for b in births]
    outcomes = live_together(strategy.config, base, generations.pop(), members, genes, device, True, recipes)
    out = []
    for a, p, birth, outcome in zip(assignments, parents, births, outcomes):
        record = lineage_record(a, p, birth.mutation, birth.gene, outcome, birth.recipe)
        born = born_gene(strategy, a, birth.gene) if strategy.needs_born_genes else None
        out.append(Submission(record, outcome.gene, born))
    return out


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
