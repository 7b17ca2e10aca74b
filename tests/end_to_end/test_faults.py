"""Faults on a real Ray: a member actor killed mid-lifetime, the driver killed mid-run, the
learngene pool killed, a worker node lost (with room left for every member, and without), a
crash while a checkpoint is written. And, on the same multi-node cluster, GPU placement.

Every disturbed run must end equal to the undisturbed run of the same config and seed: the same
final learngene and the same lineage (timing columns aside), P x G rows with unique ids.

The reference is the same config evolved in process (`evolve_local`, held equal to a Ray run by
the service tests). Every Ray run here shares one subprocess with a Ray cluster of its own
(`ray.cluster_utils.Cluster`: a 1-CPU head for the driver and pool, two workers of 2 CPUs and 2
fake GPUs), so that killing processes never touches the session's cluster and Ray starts once:
placement first (4 members of 1 GPU must land 2 per worker), then the member, pool and driver
kills (the driver is `gtl-ray evolve --address CLUSTER` in a process of its own, as `ray job
submit` runs it; the resume follows at once on the same cluster), then the node losses. Every
disturbed run holds its members at a gate at the start of generation 1 (`tests.fault_gate`, through
`gtl_ray.hooks`): the fault strikes once every member waits there, so each scenario records that no
member had finished generation 1 when it struck, without assuming any timing. Runs have two
generations, so generation 1 is the last; the node loss without room runs three (its waiting member
must find every other member holding its room into the next generation), against a reference of
three.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest

from gtl_ray.cli import main
from gtl_ray.evolution import evolve_local
from gtl_ray.evolution.strategy import Strategy
from gtl_ray.preflight import load_config
from gtl_ray.run.store import RunStore
from tests.fault_scenarios import ROOM_TIMEOUT_S, run_fault_cluster
from tests.helpers import assert_same_run, signature, write_config

#: Two generations: every fault strikes inside generation 1, the last, so the run must recover
#: from it to finish; the crash test rewrites the last generation's checkpoint.
RUN = ("evolution.generations=2",)


@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    """{scenario: result} of the shared fault cluster, and "undisturbed", the reference: the same
    config evolved in process and written by the service's RunStore (`evolve_local`, which the
    service tests hold equal to a Ray run), so the cluster spends its time on faults only."""
    where = tmp_path_factory.mktemp("faults")
    path = write_config(where / "config.yaml", where / "runs", "faults", *RUN)
    results = run_fault_cluster(path, where / "cluster.log", where / "gate")
    config = load_config(path)
    for key, generations in (("undisturbed", config.evolution.generations), (LONGER, config.evolution.generations + 1)):
        reference = load_config(path, [f"name={key}", f"evolution.generations={generations}"])
        evolve_local(reference, store=RunStore(reference.storage, reference.name))
        results[key] = {
            "signature": signature(reference.storage, reference.name),
            "run_dir": os.path.join(reference.storage, reference.name),
            "generations": generations,
        }
    return results, config


#: the reference of node_loss_without_room, which runs one generation more (tests/helpers.py)
LONGER = "undisturbed-longer"


def scenario(faults, name: str) -> tuple[dict, dict, int, int]:
    """(the scenario's result, its undisturbed reference's signature, P, G)."""
    results, config = faults
    reference = LONGER if name == "node_loss_without_room" else "undisturbed"
    for needed in (reference, name):
        assert needed in results, f"scenario {needed} did not report:\n{results['log_tail']}"
        assert "exception" not in results[needed], results[needed]["exception"]
    return results[name], results[reference]["signature"], config.population.size, results[reference]["generations"]


@pytest.mark.slow
def test_four_gpu_members_fill_two_two_gpu_nodes(faults):
    """Placement, on the same cluster before any fault: 4 members of 1 GPU over two nodes of 2
    (fake) GPUs land 2 per node, each holding one GPU id of its own."""
    result, _, _, _ = scenario(faults, "placement")
    members = result["members"]
    assert sorted(m["member"] for m in members) == list(range(4))
    per_node = Counter(m["node"] for m in members)
    assert set(per_node) == set(result["workers"]) and sorted(per_node.values()) == [2, 2]
    for node in per_node:
        ids = [tuple(m["gpu_ids"]) for m in members if m["node"] == node]
        assert all(len(i) == 1 for i in ids) and len(set(ids)) == 2


@pytest.mark.slow
def test_member_killed_mid_lifetime_is_retried_to_the_same_result(faults):
    result, reference, P, G = scenario(faults, "member_kill")
    assert result["pending_at_kill"] == [1] * P  # every member was inside generation 1
    assert result["error"] is None
    assert result["member_actors_started"] > P  # Tune restarted the killed member (FailureConfig)
    assert_same_run(result["signature"], reference, P, G)


@pytest.mark.slow
def test_driver_killed_mid_run_resumes_to_the_same_result(faults):
    result, reference, P, G = scenario(faults, "driver_kill")
    assert result["pending_at_kill"] == [1] * P  # every member was inside generation 1
    assert 1 <= result["done_at_kill"] < G  # killed mid-run
    lease = result["lease"]  # the killed driver held epoch 1; the resume took it over, then released it
    assert lease["epoch"] == 2 and lease["released"] and lease["pid"] != lease["driver_pid"]
    assert result["resumed_generations"] == G
    assert_same_run(result["signature"], reference, P, G)


@pytest.mark.slow
def test_pool_killed_fails_loudly_with_the_resume_command_then_resumes(faults):
    result, reference, P, G = scenario(faults, "pool_kill")
    assert result["pending_at_kill"] == [1] * P
    assert not result["hung"] and result["is_run_failed"], result["error"]
    assert "pool" in result["error"] and "--resume --storage" in result["error"]
    # stopped at once, not after every member used up its population.max_failures restarts
    assert result["member_restarts_before_error"] < P * faults[1].population.max_failures
    assert result["resumed_generations"] == G
    assert_same_run(result["signature"], reference, P, G)


@pytest.mark.slow
def test_worker_node_lost_mid_generation_finishes_on_the_remaining_nodes(faults):
    result, reference, P, G = scenario(faults, "node_loss")
    assert result["pending_at_kill"] == [1] * P
    assert result["members_on_removed_node"] >= 1, result["placement_before"]
    assert len(result["restarted_on"]) >= result["members_on_removed_node"]  # each restarted...
    assert result["removed"] not in result["restarted_on"]  # ...on what is left
    assert result["error"] is None
    assert_same_run(result["signature"], reference, P, G)


@pytest.mark.slow
def test_node_lost_leaving_too_little_room_stops_with_the_resume_command_then_resumes(faults):
    result, reference, P, G = scenario(faults, "node_loss_without_room")
    assert result["pending_at_kill"] == [1] * P
    assert result["members_on_removed_node"] >= 2, result  # 3 CPUs left for 4 one-CPU members
    assert not result["hung"] and result["is_run_failed"], result["error"]
    error = result["error"]
    assert (
        "population.resource_timeout_s=5 s" in error
        and "--resume --storage" in error
        and "--name node_loss_without_room" in error
    )
    assert (
        f"checkpointed up to generation {result['checkpointed_at_error']}" in error
        and result["checkpointed_at_error"] >= 1
    )
    assert result["seconds_to_error"] > ROOM_TIMEOUT_S  # waited its timeout (not hung: see above), then stopped
    assert result["resumed_generations"] == G
    assert_same_run(result["signature"], reference, P, G)


def test_crash_while_writing_a_checkpoint_resumes_from_the_previous_generation(ray_session, faults, tmp_path, caplog):
    """What a crash inside the pool's write of the last generation (G-1) leaves behind: some of
    its gene files (one truncated, one only as a temp file), lineage.parquet already holding its
    rows, a truncated manifest temp file, and a manifest that still names generations 0..G-2 only."""
    undisturbed, reference, P, G = scenario(faults, "undisturbed")
    storage, name = tmp_path / "runs", "crashed"
    path = write_config(tmp_path / "config.yaml", storage, name, *RUN)
    source = RunStore.from_path(undisturbed["run_dir"])
    shutil.copytree(source.run_dir, storage / name, ignore=shutil.ignore_patterns("tune-from-*", "final"))
    store = RunStore(str(storage), name)
    full = source.read_manifest()
    config = load_config(path)
    # The strategy's state after generation G-2, replayed from the stored genes and fitness
    # (tell is pure), is what a manifest written before the crash held.
    strategy, state = Strategy(config), Strategy(config).init(None)
    lineage = source.load_lineage(full)
    for g in range(G - 1):
        fitness = [r.fitness for r in sorted((r for r in lineage if r.generation == g), key=lambda r: r.member)]
        state = strategy.tell(state, fitness, source.load_generation(full, g))
    store.write_manifest(config, full.generations[: G - 1], state, {"pretrain": 0})
    last = Path(store.path("generations", f"{G - 1:04d}"))
    gene = last / "member-0000.safetensors"
    gene.write_bytes(gene.read_bytes()[: gene.stat().st_size // 2])
    partial = last / f"member-{P - 1:04d}.safetensors"
    partial.rename(last / f"member-{P - 1:04d}.safetensors.tmp-0123abcd")
    (storage / name / "manifest.json.tmp-4567cdef").write_bytes(Path(source.path("manifest.json")).read_bytes()[:200])

    manifest = store.read_manifest()
    assert manifest.done == G - 1
    store.load_generation(manifest, G - 2)  # the previous generation is intact (checksums verified)
    assert len(store.load_lineage(manifest)) == P * (G - 1)  # extra lineage rows are not counted
    with caplog.at_level(logging.WARNING, logger="gtl_ray.service.run"):
        assert main(["evolve", str(path), "--resume", "--storage", str(storage)]) == 0
    cleaned = " ".join(r.getMessage() for r in caplog.records if "crash left behind" in r.getMessage())
    assert f"{G - 1:04d}" in cleaned and "manifest.json.tmp-4567cdef" in cleaned
    assert not [p for p in (storage / name).rglob("*") if ".tmp-" in p.name]
    store.load_generation(store.read_manifest(), G - 1)  # rewritten whole and verified
    assert_same_run(signature(storage, name), reference, P, G)
