"""Where a run starts: fresh, replacing an old run (--overwrite), or from the last complete
generation (--resume), with what a crash left behind cleaned up.

Every check comes before anything is deleted: --overwrite replaces only a folder whose manifest
is a valid gtl_ray manifest of this run (and keeps the writer lease, `RUN/lease/`); --resume
cleans up only after the manifest and the config passed their checks. `check_start` makes the
checks alone, reading only, before the writer lease is taken; `plan_start`, holding the lease,
makes them again and then clears and loads.
"""

from __future__ import annotations

import logging
import shlex
from dataclasses import dataclass, field
from typing import Any

from gtl_ray import storage
from gtl_ray.config import GTLConfig, from_dict
from gtl_ray.errors import StorageError
from gtl_ray.evolution.lineage import LineageRecord
from gtl_ray.evolution.strategy import EvolutionState
from gtl_ray.evolution.summary import GenerationSummary
from gtl_ray.run.layout import GENERATIONS, LEASE, WRITTEN_FOLDERS
from gtl_ray.run.manifest import Manifest
from gtl_ray.run.store import RunStore

log = logging.getLogger(__name__)
FIXED_ON_RESUME = ("population.size", "model.", "learngene.")  #: keys --force cannot change


@dataclass
class StartPlan:
    """Where `evolve` begins."""

    state: EvolutionState | None  #: None: a fresh run (generation 0 is set up once Ray is up)
    lineage: list[LineageRecord]
    summaries: list[GenerationSummary]
    pretrain_sample_grads: int = 0
    finished: bool = False  #: the run is complete, final learngene included
    #: (key, stored value, new value) of every difference --force accepted
    accepted: list[tuple[str, Any, Any]] = field(default_factory=list)


def check_start(config: GTLConfig, store: RunStore, resume: bool, force: bool, overwrite: bool) -> Manifest | None:
    """Refuse a request that does not fit the run folder (bad input), reading only: it runs
    before the writer lease is taken and anything is written. Returns the manifest of the run
    that --resume continues or --overwrite replaces (None: a fresh run)."""
    if not resume:
        if not store.exists():
            return None
        if not overwrite:
            raise StorageError(
                f"a run already exists at {store.run_dir}; pass --resume to continue it, "
                "--overwrite to replace it, or choose another --name"
            )
        manifest = store.read_manifest()
        check_owner(store, manifest)
        return manifest
    manifest = store.read_manifest()
    check_owner(store, manifest)
    differences = [key for key, _, _ in config_changes(manifest, config)]
    fixed = [d for d in differences if d.startswith(FIXED_ON_RESUME)]
    if fixed:
        raise StorageError(
            f"cannot resume {store.run_dir} with a different {', '.join(fixed)} "
            "(the stored genes and population depend on it); start a new run with another --name"
        )
    if differences and not force:
        raise StorageError(
            f"cannot resume {store.run_dir}: config differs from the stored run in {', '.join(differences)} "
            "(pass --force to resume anyway)"
        )
    return manifest


def plan_start(config: GTLConfig, store: RunStore, resume: bool, force: bool, overwrite: bool) -> StartPlan:
    """Check the run folder against the request again (`check_start`: the run may have moved
    on before this process took the lease), clear what --overwrite replaces or what a crash
    left behind, and say where the run begins. Only the holder of the writer lease calls this."""
    manifest = check_start(config, store, resume, force, overwrite)
    if not resume:
        if manifest is not None:
            clear_run(store)
        return StartPlan(None, [], [])
    removed = clean_incomplete(store, manifest)
    if removed:
        log.warning("removed what a crash left behind (not counted by the manifest): %s", ", ".join(removed))
    finished = manifest.final is not None and manifest.done >= config.evolution.generations
    state, lineage = store.load_state(manifest), store.load_lineage(manifest)
    pretrain = int(manifest.compute.get("pretrain", 0))
    return StartPlan(state, lineage, list(manifest.generations), pretrain, finished, config_changes(manifest, config))


def clear_run(store: RunStore) -> None:
    """--overwrite: remove everything in the run folder but the writer lease, which the
    overwriting process holds meanwhile."""
    for entry in storage.list_dir(store.run_dir):
        if entry != LEASE:
            where = store.path(entry)
            if storage.is_dir(where):
                storage.delete_dir(where)
            else:
                storage.delete_file(where)


def check_owner(store: RunStore, manifest: Manifest) -> None:
    if manifest.name != store.name:
        raise StorageError(
            f"{store.layout.manifest}: belongs to run {manifest.name[:80]!r}, not {store.name!r}; nothing was changed"
        )


def config_changes(manifest: Manifest, config: GTLConfig) -> list[tuple[str, Any, Any]]:
    """(key, stored value, value in `config`) for every key that differs between the stored run
    and `config` (the storage location excluded)."""
    stored = from_dict(manifest.config)
    keys = _differences(stored, config, ignore=("storage",))
    old, new = stored.to_dict(), config.to_dict()
    return [(key, _dotted(old, key), _dotted(new, key)) for key in keys]


def clean_incomplete(store: RunStore, manifest: Manifest) -> list[str]:
    """Delete what a crash left behind and the (already checked) manifest does not count:
    generation folders past the last complete one, and half-written temp files of atomic writes
    (`*.tmp-*`, in the run folder, final/, initial/, tensorboard/ and the kept generation
    folders). Only ever inside this run's folder. Returns what was removed."""
    removed, kept = [], []
    for entry in storage.list_dir(store.path(GENERATIONS)):
        if entry.isdigit() and int(entry) >= manifest.done:
            storage.delete_dir(store.path(GENERATIONS, entry))
            removed.append(entry)
        else:
            kept.append(f"{GENERATIONS}/{entry}")
    for folder in [*WRITTEN_FOLDERS, *kept]:
        for entry in storage.list_dir(store.path(folder)):
            if storage.TEMP_MARK in entry:
                storage.delete_file(store.path(folder, entry))
                removed.append(f"{folder}/{entry}".lstrip("/"))
    return removed


def resume_command(config_path: str | None, store: RunStore, checkpointed: bool) -> str:
    """How to go on after a failure, quoted for a shell (an S3 endpoint's query holds `&`):
    resume from the last checkpoint with the config the run stored (its latest, overrides
    included, so no config or --set is repeated), or start again from `config_path` when the run
    died before anything was checkpointed (`checkpointed`: whether a manifest was written)."""
    where = ["--storage", store.root, "--name", store.name]
    if checkpointed:
        return shlex.join(["gtl-ray", "evolve", "--resume", *where])
    again = shlex.join(["gtl-ray", "evolve", config_path or "CONFIG", *where])
    return f"{again} (nothing was checkpointed: start it again)"


def _dotted(raw: dict[str, Any], key: str) -> Any:
    """The value at a dotted key of a nested dict (None where a level is missing)."""
    for part in key.split("."):
        raw = raw.get(part) if isinstance(raw, dict) else None
    return raw


def _differences(a: GTLConfig, b: GTLConfig, ignore: tuple[str, ...] = ()) -> list[str]:
    """Dotted keys whose values differ between two configs (for refusing mismatched resumes)."""
    flat_a, flat_b = _flatten(a.to_dict()), _flatten(b.to_dict())
    keys = sorted(set(flat_a) | set(flat_b))
    return [k for k in keys if flat_a.get(k) != flat_b.get(k) and not k.startswith(ignore)]


def _flatten(raw: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out
