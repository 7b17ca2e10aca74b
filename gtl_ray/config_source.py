"""Where a command's (or `gtl_ray.evolve`'s) config comes from: a YAML file, or the config a run
folder stored, so that a run folder is enough to evaluate, descend, resume or print it.

A run's manifest holds its effective config (defaults filled in, overrides applied, the latest
`--force` included). Read back from a folder, its `storage` and `name` are where the folder is
now (a folder moved or copied elsewhere still works); `--set` overrides apply on top, then
`--storage` / `--name` (another name: a new run with the stored settings). Every value is checked
as for a YAML file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gtl_ray import storage
from gtl_ray.config import GTLConfig, apply_override, from_dict
from gtl_ray.errors import ConfigError, StorageError
from gtl_ray.run.layout import MANIFEST, RunLayout
from gtl_ray.run.store import RunStore

Source = str | Path | GTLConfig | None  #: a YAML file, a run folder, a config, or None (the run at --storage/--name)


def run_folder(location: object) -> str | None:
    """`location` as a run folder (it holds a manifest), else None."""
    if not isinstance(location, (str, Path)) or str(location).startswith("hf://"):
        return None
    text = str(location).rstrip("/") or "/"
    return text if storage.exists(storage.join(text, MANIFEST)) else None


def as_overrides(overrides: Mapping[str, Any] | Sequence[str] | None) -> list[str]:
    """`key=value` strings (as `--set` takes them) from a list of them or a mapping of dotted
    keys to values (a value becomes its JSON, which YAML reads back as the same value)."""
    if overrides is None:
        return []
    if isinstance(overrides, Mapping):
        return [f"{key}={json.dumps(value)}" for key, value in overrides.items()]
    if isinstance(overrides, str):
        raise ConfigError(f"overrides: expected a list of key=value or a mapping, got the string {overrides[:80]!r}")
    return [str(item) for item in overrides]


def stored_mapping(run_dir: str) -> dict[str, Any]:
    """The config the run at `run_dir` stored, with its storage and name where the folder is now."""
    store = RunStore.from_path(run_dir)
    raw = dict(store.read_manifest().config)
    return {**raw, "storage": store.root, "name": store.name}


def load(
    source: Source,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    storage_root: str | None = None,
    name: str | None = None,
) -> GTLConfig:
    """The checked config of `source` (a YAML file, a run folder, a GTLConfig, or None: the run
    stored at `storage_root`/`name`), with `overrides`, then `storage_root` and `name`, applied.
    Raises a GTLError naming the file, folder or key at fault."""
    from gtl_ray.preflight.values import check_values  # the checks know the models: torch

    raw = _mapping(source, storage_root, name)
    where = [f"storage={json.dumps(str(storage_root))}"] if storage_root else []
    where += [f"name={json.dumps(name)}"] if name is not None else []
    for item in as_overrides(overrides) + where:  # strings as typed (JSON quoting is YAML)
        apply_override(raw, item)
    config = from_dict(raw)
    check_values(config)
    return config


def _mapping(source: Source, storage_root: str | None, name: str | None) -> dict[str, Any]:
    """The raw config mapping `source` names, before overrides."""
    from gtl_ray.yaml_loader import read_mapping

    if isinstance(source, GTLConfig):
        return source.to_dict()
    if source is None:
        if name is None:
            raise ConfigError("no config: give a config file or a run folder, or --storage S --name N of a stored run")
        layout = RunLayout(str(storage_root or GTLConfig().storage), name)
        if not storage.exists(layout.manifest):
            raise StorageError(f"no run at {layout.run_dir} (no {MANIFEST}): give a config file to start one")
        return stored_mapping(layout.run_dir)
    folder = run_folder(source)
    if folder is not None:
        return stored_mapping(folder)
    if storage.is_dir(str(source)):
        raise ConfigError(f"{source}: a folder without {MANIFEST}; give a config file (YAML) or a run folder")
    return read_mapping(str(source))
