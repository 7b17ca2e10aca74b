"""gtl_ray.service.handoff on Ray: parents are posted as references to the genes members handed in
(put as they arrived) plus one shared learning step, and a member that receives one computes the
same gene the strategy meant, to the bit; what did not arrive (generation 0's gene) is put whole."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from gtl_ray import create_model, extract_learngene
from gtl_ray.evolution.generation import GenerationBook
from gtl_ray.evolution.moved import MovedTensors
from gtl_ray.evolution.strategy import Strategy
from gtl_ray.service.handoff import Arrivals, post_parents, receive_parent
from tests.conftest import tiny


def _submissions(strategy: Strategy, gene, P: int) -> list:
    from benchmarks.tell_cost import submission

    rng = np.random.default_rng(1)
    born = [gene.replace_tensors({k: v + 0.01 * m for k, v in gene.tensors.items()}) for m in range(P)]
    passed = [b.replace_tensors({k: v + rng.normal(0, 0.01, v.shape).astype(v.dtype) for k, v in b.tensors.items()})
              for b in born]
    return [submission(0, m, float(rng.random()), born[m], passed[m]) for m in range(P)]


def _same(a, b) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_parents_travel_as_references_and_arrive_as_the_strategy_meant(ray_session, tmp_path):
    ray = ray_session
    config = tiny("population.size=8", "evolution.inheritance=reptile", "evolution.top_k=2", storage=tmp_path)
    strategy = Strategy(config)
    gene = extract_learngene(create_model("vgg11", width=0.125, num_classes=5))
    book, putter = GenerationBook(strategy, strategy.init(gene)), ThreadPoolExecutor(2)
    first = post_parents(book.state.parents, Arrivals(True, putter))
    assert first["initial"].step is None and _same(receive_parent(first["initial"]).gene.tensors, gene.tensors)

    arrivals = Arrivals(True, putter)
    for s in _submissions(strategy, gene, 8):
        assert book.accept(s)
        arrivals.take(s)
    concluded = book.conclude(0.0)
    posted = post_parents(concluded.state.parents, arrivals)
    assert set(posted) == {p.id for p in concluded.state.parents}
    assert len({p.step for p in posted.values()}) == 1  # one learning step, put once for all
    born_refs = {ref.result() for _, ref in arrivals.puts.values() if not ref.cancelled()}
    assert {p.base for p in posted.values()} <= born_refs  # built on what arrived: no gene put again
    for parent in concluded.state.parents:
        assert not parent.gene.tensors.computed  # the pool computed no move
        received = receive_parent(posted[parent.id])
        assert isinstance(received.gene.tensors, MovedTensors)
        assert received.id == parent.id and received.fitness == parent.fitness and received.recipe == parent.recipe
        assert received.gene.header == parent.gene.header
        assert _same(received.gene.tensors, parent.gene.tensors)  # computed by the member, to the bit


def test_plain_inheritance_posts_the_genes_passed_on_as_they_arrived(ray_session, tmp_path):
    config = tiny("population.size=4", "evolution.inheritance=lamarckian", storage=tmp_path)
    strategy = Strategy(config)
    gene = extract_learngene(create_model("vgg11", width=0.125, num_classes=5))
    book, arrivals = GenerationBook(strategy, strategy.init(gene)), Arrivals(False, ThreadPoolExecutor(1))
    submissions = _submissions(strategy, gene, 4)
    for s in submissions:
        book.accept(s)
        arrivals.take(s)
    concluded = book.conclude(0.0)
    posted = post_parents(concluded.state.parents, arrivals)
    for parent in concluded.state.parents:
        assert posted[parent.id].step is None
        assert posted[parent.id].base == arrivals.ref_of(parent.gene.tensors)
        assert _same(receive_parent(posted[parent.id]).gene.tensors, submissions[int(parent.id[-4:])].gene.tensors)
