"""The in-process reference loop: deterministic by seed, fast, and a learngene that changes."""

from __future__ import annotations

from gtl_ray.data import load_splits
from gtl_ray.evolution import evolve_local
from gtl_ray.evolution.lifetime import live
from tests.helpers import comparable


def test_two_generation_evolve_local_is_deterministic_by_seed(tiny_config):
    config = tiny_config("evolution.generations=2")
    a, b = evolve_local(config), evolve_local(config)
    assert comparable(a.lineage) == comparable(b.lineage) and a.final.checksum == b.final.checksum
    assert len(a.lineage) == 2 * config.population.size and len(a.fitness) == 2
    other = evolve_local(tiny_config("evolution.generations=2", "seed=1"))
    assert other.final.checksum != a.final.checksum


def test_lamarckian_passes_on_trained_gene_darwinian_the_inherited_one(tiny_config):
    for mode, changed in (("lamarckian", True), ("darwinian", False)):
        config = tiny_config(f"evolution.inheritance={mode}")
        base = load_splits(config.data).base
        first = live(config, base, 0, 0, None)
        child = live(config, base, 1, 0, first.gene)
        assert (child.gene.checksum != first.gene.checksum) is changed


def test_fitness_is_query_accuracy_fraction(tiny_config):
    result = evolve_local(tiny_config("evolution.generations=1"))
    assert all(0.0 <= r.fitness <= 1.0 for r in result.lineage)
    assert result.fitness[0]["max"] == max(r.fitness for r in result.lineage)
