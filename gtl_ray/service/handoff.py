"""How parents travel from the learngene pool to the members that inherit them.

The pool puts the gene each member hands in that a parent may be made of (under reptile the gene
it was born with, else the gene it passes on) into the object store as the submission arrives,
while the rest of the generation still lives. When the generation closes, each parent is posted
as a `PostedParent`: its fields, a reference to that gene, and, for a gene moved along the
generation's learning step (`evolution.moved`), a reference to the step, put once for all
parents. The member that inherits it fetches both and computes the move itself. So the pool
copies no gene and adds no step on the path every member waits on; before, it computed and put
every moved parent (~150 genes of 466 KB at P = 256: 90-130 ms a generation).

The pool owns every object it puts, so a member (or node) lost mid-run takes no gene with it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import ray

from gtl_ray.evolution.generation import Submission
from gtl_ray.evolution.moved import MovedTensors, ScaledStep
from gtl_ray.evolution.strategy import Parent
from gtl_ray.learngene import Learngene
from gtl_ray.learngene.header import GeneHeader
from gtl_ray.recipe import Recipe


@dataclass(frozen=True)
class PostedParent:
    """A Parent as the object store holds it: its gene's tensors (`base`) and, for a moved gene,
    the scaled step to add (`step`), by reference."""

    id: str
    header: GeneHeader
    fitness: float
    averaged: tuple[str, ...]
    recipe: Recipe | None
    base: ray.ObjectRef  #: of the tensors (a dict of arrays)
    step: ray.ObjectRef | None = None  #: of a ScaledStep; None for a gene to take as it is


class Arrivals:
    """The genes members hand in this generation that a parent may be built on, put into the
    object store by a background thread as they arrive (while the rest still live), known by
    the tensors object they came in. When the generation closes, the puts not needed are
    cancelled and the needed ones awaited: when every submission comes at once, no more is put
    on the members' path than the parents themselves."""

    def __init__(self, needs_born_genes: bool, putter: ThreadPoolExecutor):
        self.needs_born_genes = needs_born_genes
        self.putter = putter
        self.puts: dict[int, tuple[Mapping[str, np.ndarray], Future]] = {}  #: id(tensors) -> (tensors, put)
        self.put_seconds: list[float] = []  #: each put's duration (mostly while lifetimes still run)

    def take(self, submission: Submission) -> None:
        gene = submission.born if self.needs_born_genes else submission.gene
        if gene is not None:
            self.puts[id(gene.tensors)] = (gene.tensors, self.putter.submit(self._put, gene.tensors))

    def _put(self, tensors: Mapping[str, np.ndarray]) -> ray.ObjectRef:
        clock = time.perf_counter()
        ref = ray.put(dict(tensors))
        self.put_seconds.append(time.perf_counter() - clock)
        return ref

    def keep_only(self, needed: list[Mapping[str, np.ndarray]]) -> None:
        """Cancel the puts not yet begun of genes no parent is built on."""
        keep = {id(t) for t in needed}
        for key, (_, future) in self.puts.items():
            if key not in keep:
                future.cancel()

    def ref_of(self, tensors: Mapping[str, np.ndarray]) -> ray.ObjectRef | None:
        """The reference of these very tensors (waiting for their put), if they arrived."""
        held = self.puts.get(id(tensors))
        if held is None or held[0] is not tensors or held[1].cancelled():
            return None
        return held[1].result()


def parts(gene: Learngene) -> tuple[Mapping[str, np.ndarray], ScaledStep | None]:
    """What a posted gene is built on: a moved gene not computed yet is its base and its scaled
    step; any other gene is its own tensors and no step."""
    tensors = gene.tensors
    if isinstance(tensors, MovedTensors) and tensors.base is not None and tensors.scaled is not None:
        return tensors.base, tensors.scaled
    return tensors, None


def post_parents(parents: tuple[Parent, ...], arrivals: Arrivals) -> dict[str, PostedParent]:
    """Each parent by id, as members fetch it: built on what arrived where it can be (one put of
    the learning step at most), else put whole (generation 0's gene, a resumed state)."""
    distinct: dict[str, tuple[Parent, Mapping[str, np.ndarray], ScaledStep | None]] = {}
    for p in parents:
        if p.id not in distinct:
            distinct[p.id] = (p, *parts(p.gene))
    arrivals.keep_only([base for _, base, _ in distinct.values()])
    steps: dict[int, ray.ObjectRef] = {}  # id(ScaledStep) -> its ref
    posted: dict[str, PostedParent] = {}
    for p, base_tensors, scaled in distinct.values():
        base, step = arrivals.ref_of(base_tensors), None
        if base is None:
            base = ray.put(dict(p.gene.tensors))  # a moved gene is computed here
        elif scaled is not None:
            if id(scaled) not in steps:
                steps[id(scaled)] = ray.put(scaled)
            step = steps[id(scaled)]
        posted[p.id] = PostedParent(p.id, p.gene.header, p.fitness, p.averaged, p.recipe, base, step)
    return posted


def receive_parent(posted: PostedParent) -> Parent:
    """The Parent a member inherits from, its gene computed here when it is a moved one."""
    if posted.step is None:
        tensors: Mapping[str, np.ndarray] = ray.get(posted.base)
    else:
        base, scaled = ray.get([posted.base, posted.step])
        assert isinstance(scaled, ScaledStep)
        tensors = MovedTensors(base, scaled)
    gene = Learngene(header=posted.header, tensors=tensors)
    return Parent(posted.id, gene, posted.fitness, posted.averaged, posted.recipe)
