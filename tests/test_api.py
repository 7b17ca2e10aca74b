"""The Python API (`gtl_ray.evolve`, `gtl_ray.open_run`, `RunResult`): a run folder read back,
finished or not, every gene verified; bad input refused before Ray; resuming from the stored
config. The README's sweep over `learngene.share` runs on Ray in tests/end_to_end/test_readme_own_model.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import gtl_ray
from gtl_ray.errors import ConfigError, StorageError
from gtl_ray.evolution.lineage import to_table
from tests.helpers import store_run


@pytest.fixture
def stored(tmp_path):
    """A complete one-generation, two-member run (evolve_local through the service's RunStore)."""
    return store_run(tmp_path)


def test_open_run_reads_a_finished_run(stored):
    _, store = stored
    run = gtl_ray.open_run(store.run_dir)
    manifest = store.read_manifest()
    assert run.finished and run.generations_completed == 1 and run.name == "stored"
    assert run.config.to_dict() == manifest.config and run.compute == manifest.compute
    assert run.final_id == manifest.final.id and run.final_gene.checksum == manifest.final.checksum
    assert run.final_gene.provenance["id"] == run.final_id
    assert [g.checksum for g in run.elites] == manifest.final.elite_checksums
    assert run.lineage.equals(to_table(store.load_lineage(manifest))) and run.lineage.num_rows == 2
    frame = run.lineage.to_pandas()
    assert list(frame["id"]) == ["g0000m0000", "g0000m0001"]
    table = run.per_generation
    assert table.num_rows == 1 and table.column("fitness_max").to_pylist() == [manifest.generations[0].fitness["max"]]
    assert (
        run.evaluation is None and repr(run) == f"RunResult({store.run_dir!r}: 1/1 generations, final {run.final_id})"
    )


def test_open_run_reads_a_run_still_running_and_verifies_genes(stored):
    _, store = stored
    where = Path(store.path("manifest.json"))
    where.write_text(json.dumps(dict(json.loads(where.read_text()), final=None)))  # the final gene not chosen yet
    running = gtl_ray.open_run(store.run_dir)
    assert not running.finished and running.final_gene is None and running.final_id is None and running.elites == []
    assert running.generations_completed == 1 and running.lineage.num_rows == 2 and "no final gene yet" in repr(running)
    with pytest.raises(StorageError, match="no run at"):
        gtl_ray.open_run(str(Path(store.root) / "absent"))


def test_a_swapped_final_gene_is_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _, store = store_run(tmp_path / "a", "stored")
    _, other = store_run(tmp_path / "b", "stored", "seed=1")
    gene = Path(store.path("final", "learngene.safetensors"))
    gene.write_bytes(Path(other.path("final", "learngene.safetensors")).read_bytes())
    with pytest.raises(StorageError, match="differs from the manifest"):
        gtl_ray.open_run(store.run_dir).final_gene  # noqa: B018


def test_evolve_resumes_from_the_stored_config_and_refuses_bad_input_before_ray(stored):
    _, store = stored
    done = gtl_ray.evolve(storage=store.root, name="stored", resume=True, progress=False)  # complete: no Ray needed
    assert done.finished and done.final_id == store.read_manifest().final.id
    again = gtl_ray.evolve(store.run_dir, resume=True, progress=False)  # the run folder as the config
    assert again.path == done.path
    with pytest.raises(StorageError, match=r"evolution.generations \(pass --force"):
        gtl_ray.evolve(store.run_dir, overrides={"evolution.generations": 2}, resume=True, progress=False)
    with pytest.raises(ConfigError, match="no config"):
        gtl_ray.evolve(progress=False)
    with pytest.raises(ConfigError, match="population.size"):
        gtl_ray.evolve(store.run_dir, overrides={"population.size": 0}, name="new", progress=False)
    with pytest.raises(ConfigError, match="a list of key=value or a mapping"):
        gtl_ray.evolve(store.run_dir, overrides="population.size=2", progress=False)
