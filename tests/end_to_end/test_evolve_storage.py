"""`gtl-ray evolve` and the storage under it, end to end (`tests.storage_scenarios`: the CLI on a
Ray of its own): one writer per run, and a run stopped cleanly by a storage that refuses its
writes — a full file system, a read-only one (or, where no tmpfs can be mounted, the learngene
pool limited to small files), an S3 endpoint that goes away — then resumed to the same result as
an uninterrupted run; readers (`inspect`, `evaluate`, `report`) on an `s3://` run without its
lease.

A fault strikes once every member waits at the gate of generation g (generations before g
saved). The run must then end with exit 1 and one line naming the storage, the fault, the
generations saved (g) and the resume command; no traceback, nothing of Tune's own state; no
progress line and no manifest for generation g or later; no member reaching generation g + 2.
"""

from __future__ import annotations

import json
import re
import shlex

import pytest

from gtl_ray.evolution import evolve_local
from gtl_ray.preflight import load_config
from gtl_ray.run.store import RunStore
from tests.helpers import assert_same_run, signature, write_config
from tests.storage_scenarios import run_storage_scenarios

RUN = ("population.size=2", "evolution.generations=4")


@pytest.fixture(scope="module")
def storage_runs(tmp_path_factory):
    """{scenario: result} of the storage scenarios, the config's path and config, and the
    reference: the same config evolved in process (`evolve_local`, which the service tests hold
    equal to a Ray run)."""
    where = tmp_path_factory.mktemp("storage")
    path = write_config(where / "config.yaml", where / "reference-runs", "reference", *RUN)
    results = run_storage_scenarios(path, where, where / "scenarios.log")
    config = load_config(path)
    evolve_local(config, store=RunStore(config.storage, config.name))
    return results, path, config, signature(config.storage, config.name)


def scenario(storage_runs, name: str) -> dict:
    results = storage_runs[0]
    assert name in results, f"scenario {name} did not report:\n{results['log_tail']}"
    assert "exception" not in results[name], results[name]["exception"]
    return results[name]


def assert_stopped_cleanly(storage_runs, run: dict, result: dict, kind: str, words: str, saved: int) -> None:
    """Exit 1; one line with the storage, the fault and the store's `words`, the generations
    saved and the resume command; no traceback, no Tune state; nothing shown or saved past."""
    _, _, config, _ = storage_runs
    err, name, planned = result["stderr"], run["name"], config.evolution.generations
    assert result["rc"] == 1, err
    failed = [line for line in err.splitlines() if line.startswith("gtl-ray: run failed:")]
    assert len(failed) == 1, err
    line = failed[0]
    assert f"storage {run['storage']}: {kind}: cannot write " in line and words in line, line
    assert f"the run is saved up to generation {saved} of {planned};" in line, line
    resume = ["gtl-ray", "evolve", "--resume", "--storage", run["storage"], "--name", name]
    assert line.endswith(f"resume with: {shlex.join(resume)}"), line
    assert "Traceback" not in err, err
    for tunes in ("Saving experiment state", "Last sync command failed", "Caught exception", "Failed to fetch metrics"):
        assert tunes not in err, err  # Tune's reports on its own state
    shown = [int(n) for n in re.findall(r"^generation (\d+)/", err, re.MULTILINE)]
    assert max(shown) == saved, err  # no progress line for a generation that was not saved
    assert result["saved"] == saved  # the manifest counts what it counted when the fault struck
    if saved + 2 < planned:
        assert result["arrived_two_later"] == []  # one generation in flight at most, never two


@pytest.fixture
def local(storage_runs) -> dict:
    run = scenario(storage_runs, "local")
    run["name"] = "local"
    return run


@pytest.fixture
def s3(storage_runs) -> dict:
    run = scenario(storage_runs, "s3")
    run["name"] = "s3"
    return run


def tmpfs(run: dict) -> None:
    if run["mount_skipped"]:
        pytest.skip(f"needs a tmpfs in a private mount namespace: {run['mount_skipped']}")


@pytest.mark.slow
def test_a_full_file_system_stops_the_run_within_one_generation(storage_runs, local):
    tmpfs(local)
    assert_stopped_cleanly(storage_runs, local, local["full"], "no space", "No space left on device", 1)


@pytest.mark.slow
def test_a_read_only_file_system_stops_the_run_within_one_generation(storage_runs, local):
    tmpfs(local)
    result = local["read_only"]
    assert_stopped_cleanly(storage_runs, local, result, "permission", "Read-only file system", 2)
    assert "could not release the writer lease" in result["stderr"]  # read-only: left to the next writer


@pytest.mark.slow
def test_the_pool_limited_to_small_files_stops_the_run_within_one_generation(storage_runs, local):
    """Where no tmpfs can be mounted: RLIMIT_FSIZE on the learngene pool's process (no privilege
    needed) makes its next gene file "File too large"."""
    if not local["mount_skipped"]:
        pytest.skip("a full tmpfs is tested here; RLIMIT_FSIZE stands in for it where mounting is not permitted")
    assert_stopped_cleanly(storage_runs, local, local["file_size"], "no space", "File too large", 1)


@pytest.mark.slow
def test_a_second_evolve_is_refused_at_once_naming_the_holder(local):
    concurrent = local
    for label, refused in concurrent["refused"].items():
        lines = [line for line in refused["stderr"].splitlines() if line.strip()]
        assert refused["rc"] == 2 and len(lines) == 2, (label, refused["stderr"])  # nothing from Ray: not started
        assert lines[0] == f"run folder: {local['storage']}/local", lines
        assert lines[1].startswith(f"gtl-ray: error: run {local['storage']}/local is being written by pid "), lines
        assert f"pid {concurrent['holder_pid']} on host " in lines[1] and "(gtl-ray evolve) since " in lines[1]


@pytest.mark.slow
def test_after_each_fault_resume_completes_with_the_uninterrupted_lineage(storage_runs, local):
    """The holder of the concurrent evolves is the last --resume of the faulted run: it took
    over the lease the read-only run could not release, completed, and its lineage and final
    gene are those of the run evolved without any fault."""
    _, _, config, reference = storage_runs
    completed = local["completed"]
    assert completed["rc"] == 0, completed["stderr"]
    if not local["mount_skipped"]:  # the read-only run could not release its lease
        assert "took over the writer lease" in completed["stderr"] and "left it behind" in completed["stderr"]
    assert_same_run(local["signature"], reference, config.population.size, config.evolution.generations)


@pytest.mark.slow
def test_an_s3_endpoint_cut_mid_run_stops_it_then_resume_completes(storage_runs, s3):
    _, _, config, reference = storage_runs
    assert_stopped_cleanly(storage_runs, s3, s3["cut"], "unreachable", "Could not connect to server", 1)
    assert s3["resumed"]["rc"] == 0, s3["resumed"]["stderr"]
    assert "took over the writer lease" in s3["resumed"]["stderr"]  # the cut run could not release it
    assert_same_run(s3["signature"], reference, config.population.size, config.evolution.generations)


@pytest.mark.slow
def test_inspect_evaluate_and_report_read_an_s3_run_without_its_lease(storage_runs, s3):
    """While another process holds the run's writer lease."""
    _, _, config, _ = storage_runs
    for command in ("inspect", "evaluate", "report"):
        assert s3[command]["rc"] == 0, (command, s3[command]["stderr"])
    info = json.loads(s3["inspect"]["stdout"])
    assert info["generations_completed"] == config.evolution.generations and info["final_learngene"] is not None
    methods = {row["method"] for row in json.loads(s3["evaluate"]["stdout"])["results"]}
    assert methods == {"scratch", "learngene"}
    assert "report written to s3://" in s3["report"]["stdout"] and s3["report_written"]
