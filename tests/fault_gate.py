"""A gate that holds every member at the start of a chosen generation, so that a fault test lands
its fault inside that generation without sleeping or guessing.

The gate is a folder ($GTL_RAY_TEST_GATE). While it holds a file `closed-NNNN`, a member about to
live generation NNNN waits at `gtl_ray.hooks.BEFORE_LIFE` (after leaving a file
`arrived-NNNN-MMMM`); removing the file opens the gate. Member processes install the gate through
Ray's `worker_process_setup_hook` (`runtime_env`); the driver of `gtl-ray evolve` in a process of
its own through `python -m tests.fault_gate evolve ...`.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from pathlib import Path
from typing import Any

ENV = "GTL_RAY_TEST_GATE"  #: the gate folder, in test processes only
SETUP_HOOK = "tests.fault_gate.install"
POLL_S = 0.05


def install() -> None:
    """Ray's worker_process_setup_hook: hold members at the gate of this process's $GTL_RAY_TEST_GATE."""
    folder = os.environ.get(ENV)
    if folder:
        from gtl_ray import hooks

        hooks.register(hooks.BEFORE_LIFE, functools.partial(_wait, Path(folder)))


def _wait(folder: Path, generation: int, member: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"arrived-{generation:04d}-{member:04d}").touch()
    while (folder / f"closed-{generation:04d}").exists():
        time.sleep(POLL_S)


def runtime_env(folder: Path | str | None) -> dict[str, Any]:
    """What a Ray job needs so that its member workers stop at the gate in `folder`."""
    if not folder:
        return {}
    return {"worker_process_setup_hook": SETUP_HOOK, "env_vars": {ENV: str(folder)}}


class Gate:
    """The test's side: close a generation's gate, see who arrived, open it."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def close(self, generation: int) -> None:
        (self.folder / f"closed-{generation:04d}").touch()

    def open(self, generation: int) -> None:
        (self.folder / f"closed-{generation:04d}").unlink(missing_ok=True)

    def forget_arrivals(self) -> None:
        """Before a run is held again: who arrived in an earlier run no longer counts."""
        for arrival in self.folder.glob("arrived-*"):
            arrival.unlink()

    def arrived(self, generation: int) -> set[int]:
        """Members that reached the gate of `generation` (some may have died there since)."""
        return {int(p.name[-4:]) for p in self.folder.glob(f"arrived-{generation:04d}-*")}

    def wait_for(self, generation: int, members: int, timeout: float = 150.0) -> None:
        """Until `members` distinct members reached the gate of `generation`."""
        deadline = time.monotonic() + timeout
        while len(self.arrived(generation)) < members:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"only {sorted(self.arrived(generation))} reached the gate of generation {generation}"
                )
            time.sleep(POLL_S)


if __name__ == "__main__":  # `gtl-ray ...` whose Ray jobs stop members at $GTL_RAY_TEST_GATE
    import ray

    ray.init = functools.partial(ray.init, runtime_env=runtime_env(os.environ.get(ENV)))
    from gtl_ray.cli import main

    sys.exit(main(sys.argv[1:]))
