import numpy as np
import pytest

from gtl_ray.evolution.selection import rank, select_parents, tournament
from gtl_ray.seeding import numpy_rng


def test_elites_are_the_fittest_and_come_first():
    fitness = [0.1, 0.9, 0.5, 0.9, 0.3]
    slots = select_parents(fitness, 3, 2, numpy_rng(0, "t"))
    assert [s.parent_index for s in slots[:2]] == [1, 3]  # tie broken by lower index
    assert all(s.elite for s in slots[:2]) and not any(s.elite for s in slots[2:])
    assert len(slots) == len(fitness)


def test_tournament_winner_is_fittest_of_its_draw():
    fitness = np.linspace(0, 1, 20).tolist()
    for i in range(200):
        rng = numpy_rng(1, "draw", i)
        drawn = numpy_rng(1, "draw", i).choice(20, size=4, replace=False)
        assert tournament(fitness, 4, rng) == max(drawn.tolist(), key=lambda j: fitness[j])


def test_tournament_size_one_is_uniform_and_full_size_is_greedy():
    fitness = [0.2, 0.8, 0.5]
    assert {tournament(fitness, 3, numpy_rng(0, i)) for i in range(20)} == {1}
    picks = [tournament(fitness, 1, numpy_rng(0, i)) for i in range(600)]
    assert all(abs(picks.count(j) / 600 - 1 / 3) < 0.08 for j in range(3))


def test_selection_is_deterministic_by_seed():
    fitness = np.random.default_rng(3).random(16).tolist()
    a = select_parents(fitness, 3, 1, numpy_rng(7, "select", 4))
    b = select_parents(fitness, 3, 1, numpy_rng(7, "select", 4))
    c = select_parents(fitness, 3, 1, numpy_rng(8, "select", 4))
    assert a == b and a != c


def test_bad_knobs_raise():
    with pytest.raises(ValueError, match="tournament_size"):
        select_parents([0.1, 0.2], 3, 0, numpy_rng(0))
    with pytest.raises(ValueError, match="elites"):
        select_parents([0.1, 0.2], 1, 2, numpy_rng(0))
    assert rank([0.3, 0.7, 0.5]) == [1, 2, 0]
