"""gtl_ray.run.manifest: the manifest spelled once, its JSON checked on read, field by field."""

from __future__ import annotations

import json

import pytest

from gtl_ray.errors import StorageError
from gtl_ray.evolution.strategy import Strategy
from gtl_ray.run.manifest import MANIFEST_VERSION, Manifest
from gtl_ray.run.store import RunStore


def _manifest_json(tiny_config) -> dict:
    config = tiny_config(name="manifest")
    store = RunStore(config.storage, config.name)
    store.write_start(config, Strategy(config).init(None), {"pretrain": 0})
    return json.loads(store.read_manifest().to_json())


def test_round_trip(tiny_config):
    raw = _manifest_json(tiny_config)
    manifest = Manifest.from_json(json.dumps(raw).encode(), "m.json")
    assert raw["version"] == MANIFEST_VERSION and json.loads(manifest.to_json()) == raw


@pytest.mark.parametrize(
    "change,names",
    [
        ({"version": 99}, ["field 'version' is 99", f"manifest version {MANIFEST_VERSION}"]),
        ({"generations_completed": 2}, ["m.json", "generations_completed"]),
        ({"population": "four"}, ["m.json", "population"]),
    ],
)
def test_a_damaged_manifest_is_refused_naming_the_field(tiny_config, change, names):
    raw = _manifest_json(tiny_config) | change
    with pytest.raises(StorageError) as refused:
        Manifest.from_json(json.dumps(raw).encode(), "m.json")
    assert all(name in str(refused.value) for name in names), refused.value


def test_not_a_manifest():
    with pytest.raises(StorageError, match="not a gtl_ray manifest"):
        Manifest.from_json(b"[1, 2]", "m.json")
