"""gtl_ray.evolution.moved: a gene moved along a learning step is computed when first read, to
the bit what computing it at once gives, and pickles as plain tensors."""

from __future__ import annotations

import pickle

import numpy as np

from gtl_ray import create_model, extract_learngene
from gtl_ray.evolution.moved import MovedTensors, ScaledStep, add_step
from gtl_ray.evolution.strategy import Strategy
from gtl_ray.evolution.writeback import mean_step, take_steps
from tests.conftest import tiny


def _gene_and_step():
    gene = extract_learngene(create_model("vgg11", width=0.125, num_classes=5))
    rng = np.random.default_rng(0)
    step = {k: rng.normal(0.0, 0.01, v.shape) for k, v in gene.tensors.items()}
    return gene, step


def test_a_move_is_computed_on_first_read_and_equals_the_eager_one():
    gene, step = _gene_and_step()
    lazy = MovedTensors(gene.tensors, ScaledStep.of(step, 0.3))
    assert not lazy.computed
    eager = take_steps([gene], step, 0.3)[0]
    assert list(lazy) == list(eager) and lazy.computed and lazy.base is None  # inputs let go
    assert all(lazy[k].dtype == eager[k].dtype and np.array_equal(lazy[k], eager[k]) for k in eager)
    assert not np.array_equal(lazy[next(iter(eager))], gene.tensors[next(iter(eager))])  # it moved


def test_a_moved_gene_pickles_as_its_tensors():
    gene, step = _gene_and_step()
    scaled = ScaledStep.of(step, 0.5)
    expected = add_step(gene.tensors, scaled)
    back = pickle.loads(pickle.dumps(MovedTensors(gene.tensors, scaled)))
    assert type(back) is dict and back.keys() == expected.keys()
    assert all(np.array_equal(back[k], v) for k, v in expected.items())


def test_reptile_parents_are_moved_lazily_and_equal_the_eager_write_back(tmp_path):
    config = tiny("population.size=4", "evolution.inheritance=reptile", "evolution.top_k=2", storage=tmp_path)
    strategy = Strategy(config)
    gene, step = _gene_and_step()
    born = [gene.replace_tensors({k: v + 0.01 * m for k, v in gene.tensors.items()}) for m in range(4)]
    passed = [b.replace_tensors({k: v + step[k].astype(v.dtype) for k, v in b.tensors.items()}) for b in born]
    fitness = [0.1, 0.9, 0.5, 0.7]
    state = strategy.tell(strategy.init(gene), fitness, passed, born)
    top = [1, 3]  # the two fittest
    mean = mean_step([born[m] for m in top], [passed[m] for m in top])
    for parent in state.parents:
        assert isinstance(parent.gene.tensors, MovedTensors) and not parent.gene.tensors.computed
        m = int(parent.id[-4:])
        eager = take_steps([born[m]], mean, config.evolution.step_size)[0]
        assert all(np.array_equal(parent.gene.tensors[k], eager[k]) for k in eager)
        assert parent.gene.checksum != born[m].checksum
