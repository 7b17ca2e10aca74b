"""The learngene pool's bookkeeping without a cluster: who has submitted, what a restarted member
does next, duplicates ignored, and the generation's end running the strategy (computed apart,
then applied at once)."""

from __future__ import annotations

from gtl_ray.config_checks import load_config
from gtl_ray.data import load_splits
from gtl_ray.evolution.population import live_assignment
from gtl_ray.evolution.strategy import Strategy
from gtl_ray.service.pool import PoolBook
from tests.conftest import TINY


def test_a_generation_advances_once_every_member_submitted_once():
    config = load_config(None, TINY + ["evolution.generations=2"])
    strategy = Strategy(config)
    base = load_splits(config.data).base
    book = PoolBook(strategy, strategy.init(None), [], [])
    results = [live_assignment(strategy, base, a, book.state.parent(a.parent)) for a in book.state.assignments]
    for m, r in enumerate(results[:-1]):
        assert book.accept(0, m, r.outcome.gene, r.record)
        assert book.next_generation(m) == 1 and not book.complete  # submitted: next is 1
    last = len(results) - 1
    assert book.next_generation(last) == 0  # a restarted member that had not submitted relives 0
    assert not book.accept(1, last, results[last].outcome.gene, results[last].record)  # not yet
    assert not book.accept(0, 0, results[0].outcome.gene, results[0].record)  # a retried call
    assert book.accept(0, last, results[last].outcome.gene, results[last].record) and book.complete
    concluded = book.conclude(wall=1.5)  # in a thread, while members may call in: the book stays as it was
    assert (
        book.state.generation == 0
        and book.complete
        and book.next_generation(0) == 1
        and book.lineage == []
        and book.summaries == []
    )
    summary, genes = book.apply(*concluded)
    assert (
        book.state.generation == 1
        and book.submitted == {}
        and all(book.next_generation(m) == 0 + 1 for m in range(len(results)))
    )
    assert [g.checksum for g in genes] == summary.checksums == [r.record.gene_checksum for r in results]
    assert (
        summary.generation == 0
        and summary.timing["wall"] == 1.5
        and summary.fitness["max"] == max(r.outcome.fitness for r in results)
    )
    assert summary.sample_grads["lifetime"] == sum(r.outcome.lifetime_sample_grads for r in results)
    assert [r.id for r in book.lineage] == [r.record.id for r in results] and len(book.summaries) == 1
    expected, _ = strategy.tell(
        strategy.init(None), [r.outcome.fitness for r in results], [r.outcome.gene for r in results]
    )
    assert book.state.assignments == expected.assignments
