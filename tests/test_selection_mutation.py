import numpy as np
import pytest

from gtl_ray.evolution.mutation import list_mutations, mutate_tensors
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


def _gene(rng):
    return {f"u{i}.conv.weight": rng.normal(size=(64, 32, 3, 3)).astype(np.float32) for i in range(6)} | {
        "u0.bn.weight": np.ones(64, np.float32)
    }


@pytest.mark.parametrize("operator", ["gaussian", "redraw"])
def test_mutation_rate_matches_and_only_masked_channels_change(operator):
    tensors = _gene(np.random.default_rng(0))
    out, record = mutate_tensors(tensors, operator, 0.1, 0.1, numpy_rng(0, "m"))
    assert record.channels_total == 6 * 64
    assert abs(record.channels_mutated / record.channels_total - 0.1) < 0.04
    changed = sum(
        int((~np.all(out[k] == v, axis=(1, 2, 3))).sum()) for k, v in tensors.items() if k.endswith("conv.weight")
    )
    assert changed == record.channels_mutated
    assert np.array_equal(out["u0.bn.weight"], tensors["u0.bn.weight"])


def test_gaussian_noise_scale_follows_sigma_and_inputs_stay_intact():
    tensors = _gene(np.random.default_rng(1))
    copy = {k: v.copy() for k, v in tensors.items()}
    out, _ = mutate_tensors(tensors, "gaussian", 1.0, 0.1, numpy_rng(0))
    delta = out["u1.conv.weight"] - tensors["u1.conv.weight"]
    assert delta.std() == pytest.approx(0.1 * tensors["u1.conv.weight"].std(), rel=0.05)
    assert all(np.array_equal(copy[k], tensors[k]) for k in tensors)


def test_rate_zero_changes_nothing_and_registry_lists_operators():
    tensors = _gene(np.random.default_rng(2))
    out, record = mutate_tensors(tensors, "gaussian", 0.0, 0.1, numpy_rng(0))
    assert record.channels_mutated == 0 and all(out[k] is tensors[k] for k in tensors)
    assert {"gaussian", "redraw"} <= set(list_mutations())
