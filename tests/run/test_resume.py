"""gtl_ray.run.resume and run.layout: --overwrite replaces a run but keeps the lease its writer
holds, and nothing is written for a request refused before the lease; the resume command is
quoted for a shell; a run folder on an S3 URI keeps its endpoint query."""

from __future__ import annotations

import os
import shlex

import pytest

from gtl_ray.errors import StorageError
from gtl_ray.preflight import load_config
from gtl_ray.run.layout import RunLayout
from gtl_ray.run.lease import WriterLease
from gtl_ray.run.resume import plan_start, resume_command
from gtl_ray.run.store import RunStore
from tests.helpers import store_run


def test_overwrite_keeps_the_lease_its_writer_holds(tmp_path):
    path, stored = store_run(tmp_path)
    config = load_config(path)
    with WriterLease(stored.run_dir) as lease:
        assert {"lease", "manifest.json", "generations"} <= set(os.listdir(stored.run_dir))
        start = plan_start(config, RunStore(config.storage, config.name, lease.check), False, False, True)
        assert start.state is None and os.listdir(stored.run_dir) == ["lease"]
        lease.check()  # still this process's


def test_a_resume_of_a_missing_run_writes_nothing(tmp_path):
    from gtl_ray.service.run import evolve
    from tests.conftest import tiny

    config = tiny(storage=tmp_path / "runs", name="never")
    with pytest.raises(StorageError, match="no run at"):
        evolve(config, resume=True)
    assert not (tmp_path / "runs" / "never").exists()  # refused before the lease was taken


def test_the_resume_command_is_quoted_for_a_shell():
    storage = "s3://b/runs?endpoint_override=h:9000&scheme=http"
    store = RunStore(storage, "r")
    words = shlex.split(resume_command("my config.yaml", store, True))
    assert words == ["gtl-ray", "evolve", "--resume", "--storage", storage, "--name", "r"]  # the stored config
    assert resume_command(None, store, False).endswith("(nothing was checkpointed: start it again)")


def test_a_run_folder_on_a_uri_keeps_its_endpoint_query():
    layout = RunLayout.from_path("s3://b/runs/r?endpoint_override=h:9000&scheme=http")
    assert (layout.root, layout.name) == ("s3://b/runs?endpoint_override=h:9000&scheme=http", "r")
    assert layout.manifest == "s3://b/runs/r/manifest.json?endpoint_override=h:9000&scheme=http"
    assert RunLayout.from_path("/x/runs/r/") == RunLayout("/x/runs", "r")
