"""gtl_ray.run.store: a run's files written and read back, each verified on read."""

from __future__ import annotations

import pytest

from gtl_ray.errors import StorageError
from gtl_ray.evolution.strategy import Strategy
from gtl_ray.run.store import RunStore


def test_a_started_run_reads_back_its_manifest_and_state(tiny_config):
    config = tiny_config("evolution.init=narrow", name="start")
    state = Strategy(config).init(None)
    store = RunStore(config.storage, config.name)
    assert not store.exists()
    with pytest.raises(StorageError, match="no run at .*; start it without --resume"):
        store.read_manifest()
    store.write_start(config, state, {"pretrain": 0})
    manifest = store.read_manifest()
    assert (manifest.name, manifest.done, manifest.finished) == ("start", 0, False)
    assert manifest.generations_planned == config.evolution.generations and manifest.config == config.to_dict()
    assert store.load_state(manifest).assignments == state.assignments


def test_a_write_the_guard_refuses_writes_nothing(tiny_config):
    config = tiny_config(name="guarded")
    state = Strategy(config).init(None)

    def refuse() -> None:
        raise StorageError("another writer holds the run")

    with pytest.raises(StorageError, match="another writer"):
        RunStore(config.storage, config.name, refuse).write_start(config, state, {})
    assert not RunStore(config.storage, config.name).exists()
