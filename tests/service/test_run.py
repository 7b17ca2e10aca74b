"""The Ray service end to end on the session's local Ray: evolve, lineage, elites, checkpoints,
equality with the in-process reference, resume, placement and flat object-store use."""

from __future__ import annotations

import dataclasses
import glob
import json
import os

import pytest

from gtl_ray.evolution import evolve_local
from gtl_ray.learngene import Learngene
from gtl_ray.preflight.room import population_demand, total_demand
from gtl_ray.run.store import RunStore
from gtl_ray.service.run import evolve
from tests.helpers import comparable


def member_results(run_dir: str) -> list[dict]:
    rows = []
    for path in glob.glob(os.path.join(run_dir, "tune-from-*", "*", "result.json")):
        with open(path) as handle:
            rows += [json.loads(line) for line in handle if line.strip()]
    return rows


@pytest.fixture(scope="module")
def finished_run(tiny_run):
    return tiny_run


def test_evolve_completes_every_generation(finished_run):
    config, outcome, store = finished_run
    assert outcome.generations_completed == config.evolution.generations == 3
    manifest = store.read_manifest()
    assert manifest.done == 3 and manifest.final is not None
    assert [g.generation for g in manifest.generations] == [0, 1, 2]


def test_lineage_has_a_row_per_member_per_generation_with_valid_parents(finished_run):
    config, _, store = finished_run
    lineage = store.load_lineage(store.read_manifest())
    P, G = config.population.size, config.evolution.generations
    assert len(lineage) == P * G and len({r.id for r in lineage}) == P * G
    ids = {r.id for r in lineage}
    for r in lineage:
        if r.generation == 0:
            assert r.parent is None and r.inherited_checksum is None
        else:
            assert r.parent in ids and r.parent.startswith(f"g{r.generation - 1:04d}")


def test_elites_are_carried_unchanged(finished_run):
    _, _, store = finished_run
    lineage = store.load_lineage(store.read_manifest())
    by_id = {r.id: r for r in lineage}
    elites = [r for r in lineage if r.elite]
    assert len(elites) == 2  # one per generation after the first
    for r in elites:
        parent = by_id[r.parent]
        assert r.inherited_checksum == parent.gene_checksum and r.mutation == "none"
        assert parent.fitness == max(x.fitness for x in lineage if x.generation == parent.generation)
    mutated = [r for r in lineage if r.generation > 0 and not r.elite]
    assert all(r.inherited_checksum != by_id[r.parent].gene_checksum for r in mutated if r.channels_mutated > 0)


def test_checkpoint_files_present_and_verified(finished_run):
    config, outcome, store = finished_run
    manifest = store.read_manifest()
    for generation in range(config.evolution.generations):
        genes = store.load_generation(manifest, generation)  # verifies every checksum
        assert len(genes) == config.population.size
    final = Learngene.load(outcome.final_learngene)
    last = manifest.generations[-1]
    assert final.checksum == last.checksums[last.best_member] == manifest.final.checksum
    assert len(manifest.final.elites) == config.evolution.elites
    assert abs(final.share - 0.20) <= 0.01


def test_ray_run_equals_in_process_reference(finished_run):
    config, outcome, store = finished_run
    reference = evolve_local(config)
    assert comparable(store.load_lineage(store.read_manifest())) == comparable(reference.lineage)
    assert Learngene.load(outcome.final_learngene).checksum == reference.final.checksum


def test_pool_holds_at_most_two_generations_of_genes(finished_run):
    config, outcome, _ = finished_run
    held = [r["pool_references"] for r in member_results(outcome.run_dir)]
    assert held and max(held) <= 2 * config.population.size


def test_resume_extends_an_interrupted_run_to_the_same_result(resumed_run, finished_run):
    _, outcome_full, full_store = finished_run
    longer, outcome, store, _, _ = resumed_run  # 2 generations, then resumed with --force to 3
    assert outcome.generations_completed == 3
    assert comparable(store.load_lineage(store.read_manifest())) == comparable(
        full_store.load_lineage(full_store.read_manifest())
    )
    assert Learngene.load(outcome.final_learngene).checksum == Learngene.load(outcome_full.final_learngene).checksum
    from gtl_ray.errors import GTLError

    further = dataclasses.replace(longer, evolution=dataclasses.replace(longer.evolution, generations=4))
    with pytest.raises(GTLError, match="evolution.generations"):
        evolve(further, resume=True)


def test_each_member_actor_holds_its_gpu_share(ray_session, tiny_config):
    """Half a GPU per member: every member actor is handed one (fake) GPU id of the session's
    four, two members per GPU. Whole GPUs, one distinct id per member across nodes, are
    tests/end_to_end/test_faults.py's (placement on its multi-node cluster)."""
    # Two generations: all four hold their share together at the end of generation 0 (with one,
    # a member may end and free its share before a slow one starts: 3 on one id, CI under load).
    half = tiny_config("population.gpus_per_member=0.5", "evolution.generations=2", name="halfgpus")
    rows = member_results(evolve(half).run_dir)
    held = {r["member"]: tuple(r["gpu_ids"]) for r in rows}
    assert len(rows) == 8 and all(tuple(r["gpu_ids"]) == held[r["member"]] for r in rows)  # one id per member, kept
    ids = list(held.values())
    assert len(ids) == 4 and all(len(i) == 1 for i in ids) and max(ids.count(i) for i in set(ids)) <= 2
    assert population_demand(half) == [{"CPU": 0.5, "GPU": 0.5}] * 4 and total_demand(half) == {"CPU": 2.0, "GPU": 2.0}


def test_existing_run_is_not_overwritten_by_accident(ray_session, finished_run):
    from gtl_ray.errors import StorageError

    config, _, _ = finished_run
    with pytest.raises(StorageError, match="--resume"):
        evolve(config)


def test_packed_members_give_the_same_lineage_as_one_actor_each(ray_session, tiny_config, finished_run):
    """population.members_per_actor=2, sequential packs: two trials of two members each, holding
    two members' resources, reach the lineage and final learngene of four actors. (Packs across a
    resume: the vectorized test below; a pack restarted mid-generation: service/test_member.py.)"""
    _, outcome_full, full_store = finished_run
    packed = tiny_config(
        "evolution.elites=1", "population.members_per_actor=2", "population.pack=sequential", name="packed"
    )
    assert population_demand(packed) == [{"CPU": 1.0}] * 2 and total_demand(packed) == {"CPU": 2.0}
    outcome = evolve(packed)
    store = RunStore(packed.storage, packed.name)
    assert comparable(store.load_lineage(store.read_manifest())) == comparable(
        full_store.load_lineage(full_store.read_manifest())
    )
    assert Learngene.load(outcome.final_learngene).checksum == Learngene.load(outcome_full.final_learngene).checksum
    rows = member_results(outcome.run_dir)
    assert {tuple(r["members"]) for r in rows} == {(0, 1), (2, 3)} and len(rows) == 2 * 3


def test_the_science_options_and_a_recipe_on_ray_equal_evolve_local_across_a_resume(ray_session, tiny_config):
    """Every science option (reptile across a generation's end, descendant fitness on several
    sizes, a pretrained start, shared environments, a zero-cross rest, the val choice) and
    evolution.recipe together: members draw, explore and average recipes on Ray exactly as in one
    process, and a run resumed after generation 1 (parents and recipes read back from the
    manifest's state, verified) ends where evolve_local does, compute counted alike."""
    from tests.end_to_end.test_recipe_runs import RECIPE_RUN
    from tests.end_to_end.test_science_options import SCIENCE

    short = tiny_config(*SCIENCE, *RECIPE_RUN, "evolution.generations=1", name="science")
    evolve(short)
    longer = dataclasses.replace(short, evolution=dataclasses.replace(short.evolution, generations=2))
    outcome = evolve(longer, resume=True, force=True)
    store = RunStore(longer.storage, longer.name)
    manifest = store.read_manifest()
    reference = evolve_local(longer, cache_dir=store.layout.pretrained_dir)
    lineage = store.load_lineage(manifest)
    assert comparable(lineage) == comparable(reference.lineage) and all(r.recipe for r in lineage)
    final = Learngene.load(outcome.final_learngene)
    assert final.checksum == reference.final.checksum == manifest.final.checksum
    assert final.info["recipe"] == reference.final.info["recipe"]
    assert manifest.final.scored_on == "val" and manifest.final.val_scores == pytest.approx(reference.choice.val_scores)
    assert outcome.compute == reference.compute and outcome.compute["pretrain"] > 0 and outcome.compute["fitness"] > 0
    state = store.load_state(manifest)  # reptile parents come back from their own files, verified
    assert [p.gene.checksum for p in state.parents] == [p.gene.checksum for p in reference.state.parents]
    assert [p.recipe for p in state.parents] == [p.recipe for p in reference.state.parents]
    rows = member_results(outcome.run_dir)  # each member's recipe is among its Tune figures
    assert {(r["generation"], r["member"], r["recipe_lr"]) for r in rows} == {
        (r.generation, r.member, r.recipe["lr"]) for r in lineage
    }


def test_vectorized_packs_on_ray_equal_evolve_local_across_a_resume(ray_session, tiny_config):
    """population.pack=vectorized, packs of 2 (members_per_actor auto: two members of 0.5 CPU make
    one CPU): the Ray run, stopped after 2 generations and resumed to 3, reaches the lineage and
    final learngene of evolve_local living the same packs."""
    short = tiny_config(
        "population.members_per_actor=auto",
        "population.pack=vectorized",
        "evaluation.rest_init=scaled",
        "evaluation.rest_scale=0",
        "evolution.generations=2",
        name="vectorized",
    )
    assert short.population.members_per_actor == 2
    evolve(short)
    full = dataclasses.replace(short, evolution=dataclasses.replace(short.evolution, generations=3))
    outcome = evolve(full, resume=True, force=True)
    store = RunStore(short.storage, short.name)
    reference = evolve_local(full)
    assert comparable(store.load_lineage(store.read_manifest())) == comparable(reference.lineage)
    assert Learngene.load(outcome.final_learngene).checksum == reference.final.checksum
    assert {tuple(r["members"]) for r in member_results(outcome.run_dir)} == {(0, 1), (2, 3)}


def test_evolve_reports_its_start_up_apart_from_the_generations(finished_run):
    """Joining Ray, generation 0's gene, placing every member actor and the first generation, in
    seconds (the session's Ray was up already: joining it is quick, not free of cost)."""
    _, outcome, _ = finished_run
    figures = outcome.startup
    assert set(figures) == {"ray_start_s", "initial_gene_s", "placement_s", "first_generation_s"}
    assert all(isinstance(v, float) and v >= 0 for v in figures.values())
    assert figures["placement_s"] > 0 and figures["first_generation_s"] > 0
