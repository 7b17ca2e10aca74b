"""The generation book that `evolve_local` and the learngene pool keep alike (gtl_ray.evolution.generation),
without a cluster."""

from __future__ import annotations

from gtl_ray.data import load_splits
from gtl_ray.evolution.generation import GenerationBook
from gtl_ray.evolution.member_life import live_member
from gtl_ray.evolution.strategy import Strategy
from tests.conftest import tiny


def test_a_generation_advances_once_every_member_submitted_once():
    config = tiny("evolution.generations=2")
    strategy = Strategy(config)
    base = load_splits(config.data).base
    book = GenerationBook(strategy, strategy.init(None))
    results = [live_member(strategy, base, a, book.state.find_parent(a.parent_id)) for a in book.state.assignments]
    for m, r in enumerate(results[:-1]):
        assert book.accept(r)
        assert book.next_generation(m) == 1 and not book.complete  # submitted: next is 1
    last = results[-1]
    assert book.next_generation(last.member) == 0  # a restarted member that had not submitted relives 0
    stale = type(last)(last.record.__class__(**{**last.record.__dict__, "generation": 1}), last.gene)
    assert not book.accept(stale)  # not yet
    assert not book.accept(results[0])  # a retried call
    assert book.accept(last) and book.complete
    concluded = book.conclude(wall=1.5)  # in a thread, while members may call in: the book stays as it was
    assert (
        book.state.generation == 0
        and book.complete
        and book.next_generation(0) == 1
        and book.lineage == []
        and book.summaries == []
    )
    book.apply(concluded)
    summary, genes = concluded.summary, concluded.genes
    assert (
        book.state.generation == 1
        and book.submitted == {}
        and all(book.next_generation(m) == 0 + 1 for m in range(len(results)))
    )
    assert [g.checksum for g in genes] == summary.checksums == [r.record.gene_checksum for r in results]
    assert (
        summary.generation == 0
        and summary.timing["wall"] == 1.5
        and summary.fitness["max"] == max(r.record.fitness for r in results)
    )
    assert summary.sample_grads["lifetime"] == sum(r.record.lifetime_sample_grads for r in results)
    assert [r.id for r in book.lineage] == [r.record.id for r in results] and len(book.summaries) == 1
    expected = strategy.tell(strategy.init(None), [r.record.fitness for r in results], [r.gene for r in results])
    assert book.state.assignments == expected.assignments
