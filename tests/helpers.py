"""Shared by the fault, bad-input and soak tests: tiny configs written as files, run signatures to
compare runs, and Rays of their own in subprocesses (ending exactly their processes). The fault
scenarios that need a Ray cluster of their own are `tests.fault_scenarios`.

A subprocess is started with `start_new_session=True`, so every process it starts (its local
Ray's gcs_server, raylet, workers, dashboard) shares its session id; `end_session` SIGKILLs those
processes by pid and nothing else (never `ray stop`: other Ray clusters run on this machine).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
GTL_RAY = str(Path(sys.executable).with_name("gtl-ray"))
TIMING = {"lifetime_seconds"}  #: lineage columns that measure time, ignored when comparing runs


def write_config(path: Path, storage: Path | str, name: str, *overrides: str) -> Path:
    """The session's tiny config (plus overrides) as a YAML file, for the CLI and subprocesses."""
    from tests.conftest import tiny

    config = tiny(*overrides, storage=storage, name=name)
    path.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    return path


def comparable(records: list) -> list[dict]:
    return [{k: v for k, v in dataclasses.asdict(r).items() if k not in TIMING} for r in records]


def signature(storage: Path | str, name: str) -> dict[str, Any]:
    """What must not depend on faults: the final learngene (file verified against the manifest)
    and the lineage without timing columns; plus row ids to check nothing is lost or duplicated."""
    from gtl_ray.learngene import Learngene
    from gtl_ray.run.store import RunStore

    store = RunStore(str(storage), name)
    manifest = store.read_manifest()
    records = store.load_lineage(manifest)
    final = manifest.final
    if final is not None:
        assert Learngene.load(store.path(final.learngene)).checksum == final.checksum
    return {
        "generations": manifest.done,
        "final": final.checksum if final else None,
        "lineage": comparable(records),
        "ids": [r.id for r in records],
    }


def assert_same_run(got: dict[str, Any], reference: dict[str, Any], population: int, generations: int) -> None:
    assert got["generations"] == reference["generations"] == generations
    assert (
        len(got["ids"]) == population * generations and len(set(got["ids"])) == population * generations
    )  # none lost or duplicated
    assert got["lineage"] == reference["lineage"]
    assert got["final"] == reference["final"] is not None


def store_run(directory: Path, name: str = "stored", *overrides: str) -> tuple[Path, Any]:
    """A complete one-generation, two-member run written by the service's own RunStore, without
    Ray (evolve_local): (its config file, its RunStore)."""
    from gtl_ray.evolution import evolve_local
    from gtl_ray.preflight import load_config
    from gtl_ray.run.store import RunStore

    path = write_config(
        directory / "config.yaml", directory / "runs", name, "evolution.generations=1", "population.size=2", *overrides
    )
    config = load_config(path)
    store = RunStore(config.storage, config.name)
    evolve_local(config, store=store)
    return path, store


# ---------------------------------------------------------------- processes of one session


def session_processes(sid: int) -> list[int]:
    """Live (not zombie) processes whose session id is `sid`."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[3]) == sid:
            pids.append(int(entry))
    return pids


def end_session(sid: int, timeout: float = 15.0) -> list[int]:
    """SIGKILL every process of session `sid` (a subprocess started with start_new_session=True
    and what it started); returns the pids that were still alive."""
    found = session_processes(sid)
    deadline = time.time() + timeout
    while True:
        alive = session_processes(sid)
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if not alive or time.time() > deadline:
            return found
        time.sleep(0.2)


def subprocess_env(**extra: str) -> dict[str, str]:
    """This process's environment for a test subprocess: no RAY_ADDRESS, the repo importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS")}
    env.update({"PYTHONPATH": str(ROOT), "RAY_DEDUP_LOGS": "0", "RAY_AIR_NEW_OUTPUT": "0", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


class OwnSession:
    """A subprocess in a new session whose processes are all ended on exit (by pid)."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str]):
        self.log = log
        self.handle = open(log, "w")
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self.handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.leftovers: list[int] = []

    def __enter__(self) -> "OwnSession":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.leftovers = end_session(self.proc.pid)
        self.handle.close()

    def tail(self, lines: int = 40) -> str:
        self.handle.flush()
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
