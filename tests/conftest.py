"""Shared fixtures: one local Ray for the whole session (4 fake GPUs to check placement) and a
tiny, fast config."""
from __future__ import annotations

import os

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


@pytest.fixture(scope="session")
def ray_session():
    """A real local Ray shared by every test that needs one (address="local": never attach to
    another cluster running on the machine)."""
    import ray

    if not ray.is_initialized():
        ray.init(address="local", num_cpus=4, num_gpus=4, include_dashboard=False, namespace="gtl_ray", log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def tiny_config(tmp_path):
    """Build a GTLConfig with fast settings and storage under tmp_path; extra `key=value`
    overrides win."""
    from gtl_ray.config import load_config

    def make(*overrides: str, name: str = "tiny"):
        return load_config(None, TINY + [f"storage={tmp_path / 'runs'}", f"name={name}"] + list(overrides))

    return make
