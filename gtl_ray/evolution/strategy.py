"""The evolution strategy in ask/tell form (as in evosax): a frozen `EvolutionState` and pure,
seeded transitions. This is the only place that decides who inherits what; `evolve_local` and
the Ray learngene pool both drive it (through `evolution.generation.GenerationBook`), so they give
the same lineage for the same seed.

One generation, end to end:

    state = strategy.init(initial)                              # generation 0
    for a in state.assignments:                                 # ask (wherever the member lives)
        birth = strategy.inherit(a, state.find_parent(a.parent_id))  # gene, mutation, recipe
        ... the member lives and passes on a gene ...
    state = strategy.tell(state, fitness, passed_on, born)      # select + write back
    strategy.final_genes(state) / strategy.candidates(state)    # after the last one

`tell` ranks the generation, runs tournaments with elitism (`selection`), computes what each
selected member passes on (`writeback`: its trained gene, or a Reptile step from the gene it was
born with; with `evolution.recipe`, the recipe it lived with, `explore`), and updates the hall of
fame. Numpy only: it never builds a network, so the pool that runs it imports no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

from gtl_ray.config import GTLConfig
from gtl_ray.evolution.explore import explore, toward_mean
from gtl_ray.evolution.lineage import member_id
from gtl_ray.evolution.mutation import MutationRecord, mutate_tensors
from gtl_ray.evolution.selection import rank, select_parents
from gtl_ray.evolution.writeback import mean_step, moved_lazily
from gtl_ray.learngene import Learngene
from gtl_ray.recipe import Recipe, recipe_space
from gtl_ray.seeding import numpy_rng

INITIAL = "initial"  #: Parent.id of generation 0's pre-trained gene (`evolution.init: pretrained | narrow`)
NO_MUTATION = "none"


@dataclass(frozen=True)
class Parent:
    """A gene members inherit from, and where it came from.

    Args:
        id: the member (e.g. g0003m0002) that passes this gene on, or INITIAL.
        gene: the gene itself.
        fitness: that member's fitness (fraction; nan for INITIAL).
        averaged: members whose learning steps moved this gene (reptile), fittest first.
        recipe: the recipe passed on with the gene (`evolution.recipe`; also in the gene's
            header, info["recipe"]); None without a recipe space, and for INITIAL.
    """

    id: str
    gene: Learngene
    fitness: float
    averaged: tuple[str, ...] = ()
    recipe: Recipe | None = None


@dataclass(frozen=True)
class Birth:
    """What a member is born with: its gene (after mutation; None: a random gene), the mutation
    applied, and its recipe (None without `evolution.recipe`)."""

    gene: Learngene | None
    mutation: MutationRecord
    recipe: Recipe | None


@dataclass(frozen=True)
class Assignment:
    """What member `member` of `generation` inherits: the gene of the parent `parent_id` (a
    Parent.id; None: a random gene), unmutated if `elite`."""

    generation: int
    member: int
    parent_id: str | None
    elite: bool


@dataclass(frozen=True)
class EvolutionState:
    """Everything the next generation needs, and the best genes so far.

    Args:
        generation: the generation `assignments` are for.
        parents: the genes `assignments` refer to.
        assignments: one per member, in member order.
        hall_of_fame: the best genes passed on in any generation, fittest first.
        leaders: what the fittest members of the last generation lived pass on, fittest first
            (the final learngene and the elites under `final.selection: last_generation`).
        start: generation 0's inherited gene (`evolution.init: pretrained | narrow`), kept so
            that `final.selection: val` can weigh evolution against where it started.
    """

    generation: int
    parents: tuple[Parent, ...]
    assignments: tuple[Assignment, ...]
    hall_of_fame: tuple[Parent, ...] = ()
    leaders: tuple[Parent, ...] = ()
    start: Parent | None = None

    def find_parent(self, parent_id: str | None) -> Parent | None:
        """The Parent of that id (None for None: a random gene)."""
        if parent_id is not None and parent_id not in self._parents_by_id:
            raise KeyError(f"generation {self.generation} has no parent {parent_id!r}")
        return None if parent_id is None else self._parents_by_id[parent_id]

    @cached_property
    def _parents_by_id(self) -> dict[str, Parent]:  # built once: each of P members looks its parent up
        return {p.id: p for p in reversed(self.parents)}  # reversed: the first of an id wins, as a scan would


class Strategy:
    """Tournament selection with elitism, mutation and a write-back rule, from the config.

    Args:
        config: the validated run config; reads evolution.* (tournament_size, elites,
            mutation_*, inheritance, step_size, top_k, hall_of_fame, recipe, recipe_resample),
            population.size and seed.
    """

    def __init__(self, config: GTLConfig):
        self.config = config
        self.evo = config.evolution
        self.size = config.population.size
        self.space = recipe_space(config)

    @property
    def needs_born_genes(self) -> bool:
        """Whether `tell` needs the genes members were born with (reptile steps from them)."""
        return self.evo.inheritance == "reptile"

    def init(self, initial: Learngene | None) -> EvolutionState:
        """Generation 0: every member born with a random gene, or (`initial` given, e.g. the
        pre-trained network's slots) inheriting it, mutated except for the elites."""
        if initial is None:
            return EvolutionState(0, (), tuple(Assignment(0, m, None, False) for m in range(self.size)))
        start = Parent(INITIAL, initial, math.nan)
        assignments = tuple(Assignment(0, m, INITIAL, m < self.evo.elites) for m in range(self.size))
        return EvolutionState(0, (start,), assignments, start=start)

    def inherit(self, assignment: Assignment, parent: Parent | None) -> Birth:
        """What a member is born with: its parent's gene, mutated (seeded by run seed, generation
        and member) unless it is an elite, and its recipe (`recipe_of`)."""
        recipe = self.recipe_of(assignment, parent)
        gene = parent.gene if parent is not None else None
        if gene is None or assignment.elite or self.evo.mutation_rate == 0:
            return Birth(gene, MutationRecord(NO_MUTATION, 0, 0), recipe)
        rng, evo = numpy_rng(self.config.seed, "mutate", assignment.generation, assignment.member), self.evo
        tensors, record = mutate_tensors(
            gene.tensors, evo.mutation_operator, evo.mutation_rate, evo.mutation_sigma, rng
        )
        return Birth(gene.replace_tensors(tensors), record, recipe)

    def recipe_of(self, assignment: Assignment, parent: Parent | None) -> Recipe | None:
        """A member's recipe (None without `evolution.recipe`): drawn from the space when its
        parent has none (generation 0), its parent's for an elite, else its parent's explored
        (`explore.explore`); every draw from numpy_rng(seed, "recipe", generation, member)."""
        if self.space is None:
            return None
        rng = numpy_rng(self.config.seed, "recipe", assignment.generation, assignment.member)
        if parent is None or parent.recipe is None:
            return self.space.draw(rng)
        if assignment.elite:
            return parent.recipe
        return explore(self.space, parent.recipe, rng, self.evo.recipe_resample)

    def tell(
        self,
        state: EvolutionState,
        fitness: Sequence[float],
        passed_on: Sequence[Learngene],
        born: Sequence[Learngene | None] | None = None,
    ) -> EvolutionState:
        """Selection and write-back after generation `state.generation`: `fitness[m]` and
        `passed_on[m]` are member m's score and the gene it passed on; `born[m]` the gene it
        was born with (needed under reptile only, see `needs_born_genes`)."""
        if not len(fitness) == len(passed_on) == self.size:
            raise ValueError(
                f"tell needs {self.size} fitness values and genes, got {len(fitness)} and {len(passed_on)}"
            )
        g = state.generation
        order = rank(fitness)
        slots = select_parents(
            fitness, self.evo.tournament_size, self.evo.elites, numpy_rng(self.config.seed, "select", g)
        )
        famous = order[: max(1 + self.evo.elites, self.evo.hall_of_fame)]
        needed = list(dict.fromkeys(famous + [s.parent_index for s in slots]))
        recipes = [self.recipe_of(a, state.find_parent(a.parent_id)) for a in state.assignments]
        offspring = self._offspring(g, fitness, passed_on, born, recipes, order, needed)
        assignments = tuple(Assignment(g + 1, i, offspring[s.parent_index].id, s.elite) for i, s in enumerate(slots))
        parents = tuple(offspring[m] for m in dict.fromkeys(s.parent_index for s in slots))
        hall = sorted(
            state.hall_of_fame + tuple(offspring[m] for m in order[: self.evo.hall_of_fame]),
            key=lambda p: (-p.fitness, p.id),
        )
        leaders = tuple(offspring[m] for m in order[: 1 + self.evo.elites])
        return EvolutionState(g + 1, parents, assignments, tuple(hall[: self.evo.hall_of_fame]), leaders, state.start)

    def final_genes(self, state: EvolutionState) -> list[Parent]:
        """`final.selection: last_generation`: what the last generation's fittest member passes
        on, then the elites (the next fittest)."""
        return list(state.leaders)

    def candidates(self, state: EvolutionState) -> list[Parent]:
        """`final.selection: val`: the hall of fame and the leaders, once each, then (with
        `final.include_start`) the gene evolution started from, so that a run which did not
        improve on its start as judged on val hands back the start, not something worse."""
        seen: dict[str, Parent] = {}
        for p in state.hall_of_fame + state.leaders:
            seen.setdefault(p.id, p)
        if self.config.final.include_start and state.start is not None:
            seen.setdefault(state.start.id, state.start)
        return list(seen.values())

    def _offspring(
        self,
        generation: int,
        fitness: Sequence[float],
        passed_on: Sequence[Learngene],
        born: Sequence[Learngene | None] | None,
        recipes: Sequence[Recipe | None],
        order: list[int],
        needed: list[int],
    ) -> dict[int, Parent]:
        """What each needed member's line passes on: its gene as passed on and the recipe it lived
        with, or (reptile) the gene it was born with moved along the top_k's mean learning step
        and its recipe moved toward theirs. Either way the gene keeps the passed-on gene's
        header, so its provenance names the member (g0001m0002), and carries the line's recipe.
        A moved gene is computed when first read (`moved.MovedTensors`): by whoever inherits it."""
        if not self.needs_born_genes:
            return {
                m: Parent(member_id(generation, m), passed_on[m], float(fitness[m]), recipe=recipes[m]) for m in needed
            }
        top = order[: self.evo.top_k]
        if born is None or any(born[m] is None for m in dict.fromkeys(top + needed)):
            raise ValueError("evolution.inheritance=reptile: tell needs the gene every member was born with")
        step = mean_step([born[m] for m in top], [passed_on[m] for m in top])
        moved = dict(zip(needed, moved_lazily([born[m] for m in needed], step, self.evo.step_size)))
        averaged = tuple(member_id(generation, m) for m in top)
        offspring = {}
        for m in needed:
            recipe = toward_mean(self.space, recipes[m], [recipes[t] for t in top], self.evo.step_size)
            info = {} if recipe is None else {"recipe": recipe.to_json()}
            gene = passed_on[m].replace_tensors(moved[m], checked=False, **info)
            offspring[m] = Parent(member_id(generation, m), gene, float(fitness[m]), averaged, recipe)
        return offspring
