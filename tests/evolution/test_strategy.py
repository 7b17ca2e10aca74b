"""The evolution strategy as pure functions: tournaments with elitism, mutation, write-back
(Lamarckian, Darwinian, Reptile), hall of fame, final genes; deterministic by seed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gtl_ray.evolution.member_life import born_gene
from gtl_ray.evolution.strategy import INITIAL, Strategy
from gtl_ray.learngene import extract_learngene
from gtl_ray.models import create_model
from gtl_ray.torch_streams import torch_init_seed
from tests.conftest import tiny


def config(*extra: str):
    return tiny(
        "population.size=6",
        "evolution.tournament_size=2",
        "evolution.elites=2",
        "evolution.hall_of_fame=3",
        *extra,
    )


def genes(count: int, seed: int = 0):
    out = []
    for i in range(count):
        with torch_init_seed(seed, "gene", i):
            out.append(extract_learngene(create_model("vgg11", width=0.125), 0.2))
    return out


FITNESS = [0.3, 0.9, 0.5, 0.7, 0.1, 0.6]  # ranking: 1, 3, 5, 2, 0, 4


def test_init_random_and_pretrained():
    s = Strategy(config())
    state = s.init(None)
    assert (
        state.generation == 0
        and state.parents == ()
        and all(a.parent_id is None and not a.elite for a in state.assignments)
    )
    gene = genes(1)[0]
    state = s.init(gene)
    assert [p.id for p in state.parents] == [INITIAL] and math.isnan(state.parents[0].fitness)
    assert [a.elite for a in state.assignments] == [True, True, False, False, False, False]  # 2 elites
    assert s.inherit(state.assignments[0], state.parents[0]).gene is gene  # elites unmutated
    birth = s.inherit(state.assignments[3], state.parents[0])
    assert birth.gene.checksum != gene.checksum and birth.mutation.channels_mutated > 0 and birth.recipe is None


def test_tell_elites_tournaments_and_lamarckian_write_back():
    s = Strategy(config())
    trained = genes(6)
    state = s.tell(s.init(None), FITNESS, trained)
    assignments = state.assignments
    assert state.generation == 1 and [a.generation for a in assignments] == [1] * 6
    assert [(a.parent_id, a.elite) for a in assignments[:2]] == [("g0000m0001", True), ("g0000m0003", True)]
    assert all(not a.elite for a in assignments[2:])
    by_id = {p.id: p for p in state.parents}
    assert set(by_id) == {a.parent_id for a in assignments}  # exactly the genes the assignments need
    for p in state.parents:  # lamarckian: the trained gene itself, with its member's fitness
        member = int(p.id[-4:])
        assert p.gene is trained[member] and p.fitness == FITNESS[member] and p.averaged == ()
    assert [p.id for p in state.leaders] == ["g0000m0001", "g0000m0003", "g0000m0005"]  # final + 2 elites
    assert [p.id for p in state.hall_of_fame] == ["g0000m0001", "g0000m0003", "g0000m0005"]
    assert s.final_genes(state)[0].gene is trained[1]


def test_tell_is_deterministic_by_seed_and_seed_matters():
    a = Strategy(config()).tell(Strategy(config()).init(None), FITNESS, genes(6)).assignments
    b = Strategy(config()).tell(Strategy(config()).init(None), FITNESS, genes(6)).assignments
    assert a == b
    others = [
        Strategy(config(f"seed={seed}"))
        .tell(Strategy(config(f"seed={seed}")).init(None), FITNESS, genes(6))
        .assignments
        for seed in range(1, 6)
    ]
    assert any(o != a for o in others)


def test_hall_of_fame_keeps_the_best_across_generations():
    s = Strategy(config())
    state = s.tell(s.init(None), FITNESS, genes(6))
    state = s.tell(state, [f - 0.05 for f in FITNESS[::-1]], genes(6, seed=1))  # a worse generation
    assert [p.id for p in state.hall_of_fame] == ["g0000m0001", "g0001m0004", "g0000m0003"]
    assert [p.fitness for p in state.hall_of_fame] == pytest.approx([0.9, 0.85, 0.7])
    assert [p.id for p in state.leaders][0] == "g0001m0004"  # leaders: the last generation only
    assert {p.id for p in s.candidates(state)} == {p.id for p in state.hall_of_fame} | {p.id for p in state.leaders}


def test_the_start_gene_is_carried_along_and_a_candidate_unless_excluded():
    start = genes(1, seed=7)[0]
    for include in (True, False):
        s = Strategy(config(f"final.include_start={str(include).lower()}"))
        state = s.tell(s.init(start), FITNESS, genes(6))
        state = s.tell(state, FITNESS[::-1], genes(6, seed=1))
        assert state.start is not None and state.start.id == INITIAL and state.start.gene is start
        assert (INITIAL in {p.id for p in s.candidates(state)}) == include
    s = Strategy(config())
    assert s.tell(s.init(None), FITNESS, genes(6)).start is None  # random genes: no start to keep


def test_darwinian_passes_on_what_was_inherited():
    # A Darwinian member's slots are frozen, so the gene it passes on is the one it was born
    # with; the strategy treats it like any other passed-on gene.
    s = Strategy(config("evolution.inheritance=darwinian"))
    passed = genes(6)
    state = s.tell(s.init(None), FITNESS, passed)
    assert all(p.gene is passed[int(p.id[-4:])] for p in state.parents)


def test_reptile_moves_each_parent_along_the_mean_step_of_the_top_k():
    s = Strategy(
        config(
            "evolution.inheritance=reptile", "evolution.top_k=2", "evolution.step_size=0.5", "evolution.mutation_rate=0"
        )
    )
    start = genes(1, seed=7)[0]
    state = s.init(start)  # everyone inherits `start` (mutation off)
    trained = genes(6)
    state = s.tell(state, FITNESS, trained, [start] * 6)
    top = [trained[1], trained[3]]
    for p in state.parents:
        assert p.averaged == ("g0000m0001", "g0000m0003")
        for key, value in p.gene.tensors.items():
            expected = start.tensors[key].astype(np.float64) + 0.5 * np.mean(
                [t.tensors[key].astype(np.float64) - start.tensors[key] for t in top], axis=0
            )
            np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-6)


def test_reptile_step_from_random_born_members_uses_their_newborn_genes():
    s = Strategy(config("evolution.inheritance=reptile", "evolution.top_k=1", "evolution.step_size=1.0"))
    trained = genes(6)
    first = s.init(None)
    born = [born_gene(s, a, None) for a in first.assignments]  # what each member hands in
    state = s.tell(first, FITNESS, trained, born)
    # step 1 along the best member's own step from its newborn gene lands on its trained gene
    best = next(p for p in state.parents if p.id == "g0000m0001")
    for key, value in best.gene.tensors.items():
        np.testing.assert_allclose(value, trained[1].tensors[key], rtol=1e-5, atol=1e-6)


def test_reptile_needs_the_born_genes_and_keeps_the_passed_on_header():
    s = Strategy(config("evolution.inheritance=reptile", "evolution.mutation_rate=0"))
    start, trained = genes(1, seed=7)[0], genes(6)
    trained = [g.replace_tensors(g.tensors, provenance={"member": m}) for m, g in enumerate(trained)]
    with pytest.raises(ValueError, match="born with"):
        s.tell(s.init(start), FITNESS, trained)
    state = s.tell(s.init(start), FITNESS, trained, [start] * 6)
    for p in state.parents:  # the line's gene names its member, whatever the write-back computed
        assert p.gene.provenance == {"member": int(p.id[-4:])}


def test_tell_refuses_wrong_counts():
    s = Strategy(config())
    with pytest.raises(ValueError, match="6 fitness"):
        s.tell(s.init(None), FITNESS[:5], genes(5))


def test_find_parent_gives_each_assignment_its_parent_and_refuses_an_unknown_id():
    s = Strategy(config("population.size=12", "evolution.tournament_size=3"))
    state = s.tell(s.init(None), [(m * 7 % 12) / 12 for m in range(12)], genes(12))
    for a in state.assignments:  # the lookup agrees with a scan of the parents
        assert state.find_parent(a.parent_id) is next(p for p in state.parents if p.id == a.parent_id)
    assert state.find_parent(None) is None
    with pytest.raises(KeyError, match="generation 1 has no parent 'g0000m0042'"):
        state.find_parent("g0000m0042")


def test_reptile_parents_are_exactly_the_float64_step_rounded_once_over_generations():
    # The write-back's arithmetic, spelled out per tensor: born + step_size x mean(trained - born)
    # over the top_k, summed in float64 in rank order and rounded once to float32.
    s = Strategy(config("population.size=8", "evolution.inheritance=reptile", "evolution.top_k=3"))
    state, rng, hall = s.init(genes(1, seed=7)[0]), np.random.default_rng(0), {}
    for g in range(3):
        born = [s.inherit(a, state.find_parent(a.parent_id)).gene for a in state.assignments]
        trained = [
            b.replace_tensors({k: v + rng.normal(0, 0.1, v.shape).astype(v.dtype) for k, v in b.tensors.items()})
            for b in born
        ]
        fitness = rng.random(8).tolist()
        new = s.tell(state, fitness, trained, born)
        ranking = sorted(range(8), key=lambda m: (-fitness[m], m))
        top = ranking[:3]
        for p in new.parents + new.leaders:
            m = int(p.id[-4:])
            for key, value in p.gene.tensors.items():
                step = sum(np.subtract(trained[t].tensors[key], born[t].tensors[key], dtype=np.float64) for t in top)
                expected = (born[m].tensors[key] + s.evo.step_size * (step / 3)).astype(np.float32)
                assert value.dtype == np.float32 and value.tobytes() == expected.tobytes(), (p.id, key)
        hall.update({f"g{g:04d}m{m:04d}": fitness[m] for m in ranking[: s.evo.hall_of_fame]})
        state = new
        best = sorted(hall, key=lambda i: (-hall[i], i))[: s.evo.hall_of_fame]
        assert [p.id for p in state.hall_of_fame] == best  # the best of every generation so far
