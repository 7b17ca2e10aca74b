"""Each option of the science loop does what its name says, and stays deterministic by seed:
shared and multiple environments, descendant and instinct fitness (common random numbers),
pre-trained initialization, Reptile write-back, the final choice on val, how the rest of a
gene-carrying network starts."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest
import torch

from gtl_ray.data import load_splits
from gtl_ray.errors import StorageError
from gtl_ray.evaluation.pretrain import pretrain
from gtl_ray.evolution import evolve_local
from gtl_ray.evolution.fitness import fitness_tasks, member_fitness
from gtl_ray.evolution.lifetime import live, newborn
from gtl_ray.evolution.strategy import INITIAL
from gtl_ray.inspection import format_inspection, inspect_path, inspect_run
from gtl_ray.learngene import Learngene, extract_learngene
from gtl_ray.learngene.info import preprocessing
from gtl_ray.models import create_model
from gtl_ray.run.store import RunStore
from tests.conftest import tiny
from tests.helpers import comparable

SCIENCE = [
    "evolution.inheritance=reptile",
    "evolution.fitness=descendant",
    "evolution.init=pretrained",
    "final.selection=val",
    "final.val_episodes=4",
    "lifetime.shared_environment=true",
    "evaluation.rest_init=zero_cross",
    "evolution.elites=1",
    "evolution.fitness_sizes=[{width: 0.25}, {arch: vgg13}]",
    "evaluation.extra_layers=identity",
]


def by_generation(lineage):
    out = {}
    for r in lineage:
        out.setdefault(r.generation, []).append(r)
    return out


def test_shared_environment_is_the_same_task_for_a_whole_generation():
    shared = evolve_local(tiny("lifetime.shared_environment=true", "evolution.generations=2"))
    for rows in by_generation(shared.lineage).values():
        assert len({tuple(r.environment) for r in rows}) == 1
    assert shared.lineage[0].environment != shared.lineage[-1].environment  # a new one each generation
    own = evolve_local(tiny("evolution.generations=1"))
    assert len({tuple(r.environment) for r in own.lineage}) > 1


def test_several_environments_per_lifetime():
    config = tiny("lifetime.environments=2")
    base = load_splits(config.data).base
    one, two = live(tiny(), base, 0, 0, None), live(config, base, 0, 0, None)
    assert len(two.environment) == 2 * config.lifetime.n_way and two.environment[:5] != two.environment[5:]
    assert two.lifetime_sample_grads == 2 * one.lifetime_sample_grads


def test_descendant_fitness_scores_the_gene_on_shared_episodes():
    config = tiny("evolution.fitness=descendant", "evolution.fitness_episodes=3")
    splits = load_splits(config.data)
    base = splits.base
    outcome = live(config, base, 0, 1, None)
    ev = config.evaluation
    assert outcome.fitness_sample_grads == 3 * ev.steps * min(25, ev.n_way * config.evolution.fitness_shots)
    again = member_fitness(config, base, 0, outcome.gene, outcome.lifetime_accuracy)
    assert again.value == outcome.fitness  # the same episodes and fresh networks for every member
    assert [t.classes for t in fitness_tasks(config, base, 0)] == [t.classes for t in fitness_tasks(config, base, 0)]
    assert [t.classes for t in fitness_tasks(config, base, 0)] != [t.classes for t in fitness_tasks(config, base, 1)]
    held_out = {bytes(x.numpy()) for x in torch.cat([splits.val.images, splits.novel.images])}
    shown = [bytes(x.numpy()) for t in fitness_tasks(config, base, 0) for x in torch.cat([t.support_x, t.query_x])]
    assert shown and not held_out.intersection(shown)  # fitness never sees val or novel images


def test_fitness_sizes_are_drawn_per_episode_and_shared_by_a_generation():
    """evolution.fitness_sizes: each fitness episode's descendant shape comes from a stream of
    (run seed, generation, episode), so every member of a generation meets the same sizes, and a
    member is scored on descendants of those shapes."""
    from gtl_ray.evolution.fitness import fitness_shapes, score_gene

    sizes = "evolution.fitness_sizes=[{width: 0.25}, {arch: vgg13}, {}]"
    config = tiny(
        "evolution.fitness=descendant", "evolution.fitness_episodes=3", sizes, "evaluation.extra_layers=identity"
    )
    drawn = [fitness_shapes(config, g, 3) for g in range(8)]
    assert drawn == [fitness_shapes(config, g, 3) for g in range(8)]
    assert {s for shapes in drawn for s in shapes} == set(config.fitness_shapes())  # all three in 8 generations
    assert len({tuple(shapes) for shapes in drawn}) > 1
    assert drawn != [fitness_shapes(tiny(sizes, "seed=1", "evolution.fitness=descendant"), g, 3) for g in range(8)]
    assert fitness_shapes(tiny("evolution.fitness=descendant"), 0, 2) == [config.descendant_shape()] * 2
    base = load_splits(config.data).base
    outcome = live(config, base, 1, 0, None)
    tasks = fitness_tasks(config, base, 1)
    assert (
        member_fitness(config, base, 1, outcome.gene, 0.0).value
        == outcome.fitness
        == pytest.approx(
            score_gene(config, outcome.gene, tasks, "fitness-1", shapes=fitness_shapes(config, 1, 3)).value
        )
    )
    deep = score_gene(config, outcome.gene, tasks, "fitness-1", instinct=True, shapes=[config.fitness_shapes()[1]] * 3)
    wide = score_gene(config, outcome.gene, tasks, "fitness-1", instinct=True, shapes=[config.fitness_shapes()[0]] * 3)
    assert deep.value != wide.value


def test_instinct_fitness_spends_no_gradient():
    config = tiny("evolution.fitness=instinct")
    outcome = live(config, load_splits(config.data).base, 0, 0, None)
    assert outcome.fitness_sample_grads == 0 and 0.0 <= outcome.fitness <= 1.0


def test_pretrained_init_starts_every_member_from_the_heuristic_gene(tmp_path):
    config = tiny("evolution.init=pretrained", "evolution.elites=1", "evolution.generations=1")
    result = evolve_local(config, cache_dir=str(tmp_path))
    base = load_splits(config.data).base
    heuristic = extract_learngene(
        pretrain(config, base, "vgg11", config.model.width, None, str(tmp_path)), config.learngene.share
    )
    elite, *others = by_generation(result.lineage)[0]
    assert elite.inherited_checksum == heuristic.checksum and elite.mutation == "none" and elite.parent is None
    assert all(r.inherited_checksum != heuristic.checksum and r.channels_mutated > 0 for r in others)
    assert result.compute["pretrain"] == config.pretrain.epochs * len(base)


def final_gene_header(store: RunStore) -> tuple[Learngene, str]:
    """The run's final gene as its file holds it, after checking that its header says which gene
    of the run it is (the manifest's final id) and how its network saw images; with what
    `gtl-ray inspect` prints of the run."""
    manifest = store.read_manifest()
    gene = Learngene.load(store.path(manifest.final.learngene))
    assert gene.checksum == manifest.final.checksum
    assert gene.preprocessing == preprocessing(manifest.config["data"]["image_size"])
    assert gene.provenance["run"] == manifest.name and gene.provenance["id"] == manifest.final.id
    assert gene.provenance["config_digest"].startswith("sha256:")
    shown = format_inspection(inspect_run(store.run_dir))
    assert f"final learngene {manifest.final.id}: {store.path(manifest.final.learngene)} (" in shown
    return gene, shown


def test_reptile_records_the_averaged_members_and_passes_on_computed_genes(tmp_path):
    config = tiny("evolution.inheritance=reptile", "evolution.top_k=2", storage=tmp_path, name="reptile")
    result = evolve_local(config, store=RunStore(config.storage, config.name))
    trained = {r.gene_checksum for r in result.lineage}
    for g, rows in by_generation(result.lineage).items():
        if g == 0:
            continue
        previous = sorted(by_generation(result.lineage)[g - 1], key=lambda r: (-r.fitness, r.member))
        assert all(r.averaged == [p.id for p in previous[:2]] for r in rows)
        assert all(r.inherited_checksum not in trained for r in rows)  # a computed parent, not a trained gene
    assert result.final.checksum not in trained
    # The computed gene keeps the header of the gene its member passed on: its id, generation, member.
    gene, _ = final_gene_header(RunStore(config.storage, config.name))
    g, m = result.choice.final.id[1:].split("m")
    assert result.choice.final.id.startswith("g0002") and gene.provenance["generation"] == int(g) == 2
    assert gene.provenance["member"] == int(m) and gene.checksum == result.final.checksum
    assert "id g0002" in format_inspection(inspect_path(str(tmp_path / "reptile" / "final" / "learngene.safetensors")))


def test_final_selection_on_val_picks_the_best_scored_candidate(caplog):
    config = tiny("final.selection=val", "final.val_episodes=3", "evolution.hall_of_fame=2")
    result = evolve_local(config)
    choice = result.choice
    assert choice.split == "val" and set(choice.val_scores) == {p.id for p in result.state.hall_of_fame} | {
        p.id for p in result.state.leaders
    }
    assert (
        choice.val_scores[choice.final.id] == max(choice.val_scores.values()) and result.compute["final_selection"] > 0
    )
    splits = load_splits(config.data)
    with caplog.at_level(logging.WARNING, logger="gtl_ray.evolution.final"):
        without_val = evolve_local(config, splits=dataclasses.replace(splits, val=None))
    assert without_val.choice.split == "base" and "no val split" in caplog.text


def test_the_start_gene_is_a_final_candidate_and_is_handed_back_when_evolution_only_harms_it(tmp_path):
    # Lifetimes at lr 5 wreck every gene they train (val scores at chance, 0.2); the narrow gene
    # evolution started from is well above it. Selection on val must then return the start.
    harmful = (
        "evolution.init=narrow",
        "pretrain.epochs=10",
        "lifetime.lr=5",
        "final.selection=val",
        "final.val_episodes=4",
        "evolution.elites=1",
        "evolution.generations=2",
    )
    config = tiny(*harmful, storage=tmp_path, name="harmful")
    result = evolve_local(config, store=RunStore(config.storage, config.name))
    scores = result.choice.val_scores
    assert set(scores) == {p.id for p in result.state.hall_of_fame} | {p.id for p in result.state.leaders} | {INITIAL}
    assert result.choice.final.id == INITIAL and result.final.checksum == result.state.start.gene.checksum
    assert scores[INITIAL] > max(v for k, v in scores.items() if k != INITIAL)
    store = RunStore(
        config.storage, config.name
    )  # the start survives the run files (resume, the service's final choice)
    manifest = store.read_manifest()
    assert store.load_state(manifest).start.gene.checksum == result.final.checksum and manifest.final.id == INITIAL
    # The start gene handed back says what it is, as any final gene does.
    gene, shown = final_gene_header(store)
    assert (
        gene.provenance["id"] == INITIAL and gene.provenance["init"] == "narrow" and "generation" not in gene.provenance
    )
    assert "the one evolution started from" in shown and f"the start gene {100 * scores[INITIAL]:.1f}%" in shown
    where = tmp_path / "harmful" / "manifest.json"
    original = where.read_text()
    for field, value, why in (
        ("id", "g0001m0000", "state.start"),
        ("path", "../../elsewhere.safetensors", "not inside the run"),
    ):
        hostile = json.loads(original)
        hostile["state"]["start"][field] = value
        where.write_text(json.dumps(hostile))
        with pytest.raises(StorageError, match=why):
            store.read_manifest()
    without = evolve_local(tiny(*harmful, "final.include_start=false"))
    assert INITIAL not in without.choice.val_scores and without.choice.final.id != INITIAL
    assert {
        k: v for k, v in scores.items() if k != INITIAL
    } == without.choice.val_scores  # the same candidates, the same episodes


def test_rest_init_shapes_only_the_weights_outside_the_gene():
    gene = extract_learngene(create_model("vgg11", width=0.125), 0.2)
    shapes = {}
    for mode in ("default", "zero_cross", "scaled"):
        config = tiny(f"evaluation.rest_init={mode}", "evaluation.rest_scale=0.5")
        shapes[mode] = newborn(config, 0, 0, gene)
    for name, unit in shapes["default"].units().items():
        k_out, k_in = gene.channels[name]
        default_w = unit.conv.weight.detach()
        zero_w = shapes["zero_cross"].units()[name].conv.weight.detach()
        scaled_w = shapes["scaled"].units()[name].conv.weight.detach()
        for w in (zero_w, scaled_w):
            assert torch.equal(w[:k_out, :k_in], torch.from_numpy(gene.tensors[f"{name}.conv.weight"]))
        assert torch.count_nonzero(zero_w[:k_out, k_in:]) == 0 and torch.equal(zero_w[k_out:], default_w[k_out:])
        assert torch.allclose(scaled_w[k_out:], 0.5 * default_w[k_out:]) and torch.allclose(
            scaled_w[:k_out, k_in:], 0.5 * default_w[:k_out, k_in:]
        )


def test_the_science_options_together_are_deterministic_by_seed(tmp_path):
    a = evolve_local(tiny(*SCIENCE), cache_dir=str(tmp_path))
    b = evolve_local(tiny(*SCIENCE), cache_dir=str(tmp_path))
    assert (
        comparable(a.lineage) == comparable(b.lineage)
        and a.final.checksum == b.final.checksum
        and a.compute == b.compute
    )
    c = evolve_local(tiny(*SCIENCE, "seed=1"), cache_dir=str(tmp_path))
    assert c.final.checksum != a.final.checksum


def test_narrow_init_starts_every_member_from_the_narrow_baseline_gene(tmp_path):
    """`init: narrow`: generation 0 inherits the `narrow` baseline's gene (the gene-shaped network
    pre-trained alone, from the same cache), mutated but for the elite; its pre-training is charged."""
    from gtl_ray.evaluation.pretrain import narrow_gene

    config = tiny("evolution.init=narrow", "evolution.elites=1", "evolution.generations=1")
    result = evolve_local(config, cache_dir=str(tmp_path))
    base = load_splits(config.data).base
    narrow = narrow_gene(config, base, config.learngene.share, str(tmp_path))
    heuristic = extract_learngene(
        pretrain(config, base, "vgg11", config.model.width, None, str(tmp_path)), config.learngene.share
    )
    assert narrow.checksum != heuristic.checksum
    elite, *others = by_generation(result.lineage)[0]
    assert elite.inherited_checksum == narrow.checksum and elite.mutation == "none" and elite.parent is None
    assert all(r.inherited_checksum != narrow.checksum and r.channels_mutated > 0 for r in others)
    assert result.compute["pretrain"] == config.pretrain.epochs * len(base)
    again = evolve_local(config, cache_dir=str(tmp_path))
    assert again.final.checksum == result.final.checksum  # deterministic by seed
