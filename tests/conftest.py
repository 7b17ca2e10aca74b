"""Shared fixtures: one local Ray for the whole session (4 fake GPUs to check placement), the one
way to build the tiny, fast config (`tiny`), and one tiny evolution on Ray shared by the service,
report and inspection tests (`tiny_run`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")
os.environ.setdefault("GTL_RAY_ALLOW_MOCK_STORAGE", "1")  # mock:// (in memory) is for tests only

TINY = [
    "model.width=0.125",
    "population.size=4",
    "population.cpus_per_member=0.5",
    "evolution.generations=3",
    "evolution.tournament_size=2",
    "lifetime.epochs=1",
    "lifetime.train_per_class=10",
    "lifetime.query_per_class=5",
    "data.num_classes=40",
    "data.images_per_class=20",
    "data.splits={base: 20, val: 5, novel: 10}",
    "evaluation.episodes=4",
    "evaluation.shots=[1]",
    "evaluation.query=5",
    "evaluation.steps=5",
    "pretrain.epochs=1",
]


TESTS = Path(__file__).resolve().parent

#: The files (relative to tests/) that start Ray clusters of their own or many evolutions, longest first. Under
#: `make test` (xdist, --dist loadfile --no-loadscope-reorder) files are handed to the workers in
#: collection order, so these start first and the short files fill in behind them: a long file
#: started near the end would leave the other worker idle while it runs.
LONGEST_FIRST = (
    "service/test_run.py",
    "end_to_end/test_faults.py",
    "end_to_end/test_evolve_storage.py",
    "test_cli.py",
    "end_to_end/test_monitoring.py",
    "end_to_end/test_soak.py",
    "test_benchmarks.py",
    "end_to_end/test_bad_input.py",
    "end_to_end/test_exit.py",
    "test_compute.py",
    "end_to_end/test_readme_own_model.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(_under_tests(item.path), len(rank)))  # stable: a file's own order stays


def _under_tests(path) -> str:
    """A test file's path relative to tests/ ("service/test_run.py"), as LONGEST_FIRST names it."""
    return path.relative_to(TESTS).as_posix()


@pytest.fixture(scope="session")
def ray_session():
    """A real local Ray shared by every test that needs one (address="local": never attach to
    another cluster running on the machine)."""
    import ray

    if not ray.is_initialized():
        # Ray frees released objects in batches of 100 (free_objects_batch_size): with 8 soak
        # members x 2 genes a generation (measured) that held ~6 generations of dead genes, so
        # the store sawed between ~2 and ~9 MB with a phase that differs run to run (a first 10
        # generations' peak of 4.2 MB against 6.6 MB later, once in CI). A batch of 8 frees
        # within a generation, so the soak sees what is alive. Read by the raylet ray.init starts.
        os.environ.setdefault("RAY_free_objects_batch_size", "8")
        ray.init(
            address="local", num_cpus=4, num_gpus=4, include_dashboard=False, namespace="gtl_ray", log_to_driver=False
        )
    yield ray
    ray.shutdown()


def tiny(*overrides: str, storage=None, name: str = "tiny"):
    """The tiny config (validated) with `key=value` overrides, which win: the one way the suite
    builds it in process."""
    from gtl_ray.preflight import load_config

    return load_config(None, tiny_overrides(*overrides, storage=storage, name=name))


def tiny_overrides(*overrides: str, storage=None, name: str | None = None) -> list[str]:
    """The tiny config as the `key=value` strings `tiny` loads, for a command line (`--set`) or a
    script the test starts; no name or storage unless given."""
    where = [f"storage={storage}"] if storage is not None else []
    named = [f"name={name}"] if name is not None else []
    return TINY + where + named + list(overrides)


@pytest.fixture
def tiny_config(tmp_path):
    """`tiny` with storage under tmp_path."""

    def make(*overrides: str, name: str = "tiny"):
        return tiny(*overrides, storage=tmp_path / "runs", name=name)

    return make


@pytest.fixture(scope="session")
def tiny_run(ray_session, tmp_path_factory):
    """(config, outcome, store) of one tiny evolution on the session's Ray (3 generations, 1 elite)."""
    from gtl_ray.run.store import RunStore
    from gtl_ray.service.run import evolve

    config = tiny("evolution.elites=1", storage=tmp_path_factory.mktemp("runs"), name="shared")
    return config, evolve(config), RunStore(config.storage, config.name)


@pytest.fixture(scope="session")
def resumed_run(ray_session, tmp_path_factory):
    """A tiny run of 2 generations (1 elite) resumed with --force to 3, with the progress lines of
    both sessions: (config, outcome, store, first lines, resumed lines)."""
    import dataclasses
    import io

    from gtl_ray.progress import Progress
    from gtl_ray.run.store import RunStore
    from gtl_ray.service.run import evolve

    short = tiny(
        "evolution.elites=1", "evolution.generations=2", storage=tmp_path_factory.mktemp("runs"), name="resumed"
    )
    first, resumed = io.StringIO(), io.StringIO()
    evolve(short, progress=Progress(first))
    longer = dataclasses.replace(short, evolution=dataclasses.replace(short.evolution, generations=3))
    outcome = evolve(longer, resume=True, force=True, progress=Progress(resumed))
    return (
        longer,
        outcome,
        RunStore(longer.storage, longer.name),
        first.getvalue().splitlines(),
        resumed.getvalue().splitlines(),
    )


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A local S3-compatible server (moto, 127.0.0.1) for the session, behind a relay the tests
    can cut (`stop`) and restore (`start`) without losing its data; moto is ended by its pid."""
    from tests.s3_server import S3Server

    server = S3Server(str(tmp_path_factory.mktemp("s3") / "moto.log"))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def s3_bucket(s3_server, monkeypatch):
    """A fresh bucket on the session's S3 server, reachable, with this process's environment
    (inherited by the subprocesses a test starts) pointed at it: returns "s3://BUCKET"."""
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    s3_server.start()
    return f"s3://{s3_server.new_bucket()}"


def pytest_terminal_summary(terminalreporter):
    """Print the folders where tests left artefacts for CI (screenshots): a test names one with
    `record_property("artefact", path)`, which also reaches this process from xdist workers."""
    reports = [r for key in ("passed", "failed") for r in terminalreporter.stats.get(key, [])]
    folders = sorted({value for r in reports for key, value in getattr(r, "user_properties", []) if key == "artefact"})
    for folder in folders:
        terminalreporter.write_line(f"artefacts: {folder}")
