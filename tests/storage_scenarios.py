"""`gtl-ray evolve` on storage that fails, run in one subprocess with a Ray of its own by
`python -m tests.storage_scenarios CONFIG WORKDIR` (`run_storage_scenarios`), one result line
per scenario:

- "local": one run on a local folder that fails and resumes: on a 16 MiB tmpfs (when this
  process may mount one, in a private mount namespace), the tmpfs filled up, then remounted
  read-only; without a tmpfs, the learngene pool's process limited to small files
  (RLIMIT_FSIZE, no privilege needed). Then a last `--resume` completes it while three more
  `evolve`s of the same run (fresh with another seed, --resume, --overwrite) are refused.
- "s3": one run on a local S3 endpoint (moto behind a relay, `tests.s3_server`) whose endpoint
  is cut mid-run; restored, `--resume` completes it; then `inspect`, `evaluate` and `report`
  read it while this process holds its writer lease.

Each command is the CLI's own `main` run in this process, on its Ray, with this process's stderr
(fd 2) captured meanwhile: the exit code and the lines a user gets, without a Python and torch
start-up per command. The three refused `evolve`s are CLI processes of their own
(`python -m tests.fault_gate evolve ...`), so that the lease is contended by real processes. A
run here that could not release its lease leaves it to this (live) process: the next run here
takes it over ("left behind"), as the next process would from a dead one ("is gone").
Each fault strikes once the generations before it are saved and every member waits at the gate
of the faulted generation (`tests.fault_gate`): no timing is assumed.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tests.fault_gate import ENV as GATE_ENV
from tests.fault_gate import Gate, runtime_env
from tests.helpers import ROOT, signature, subprocess_env
from tests.s3_server import CREDENTIALS, S3Server

RESULT = "SCENARIO-RESULT "
TMPFS_SIZE = "16m"
SMALL_FILES = 4096  #: bytes: the pool's file-size limit (a member's gene file is larger)
CLI_TIMEOUT_S = 300.0
PRIVATE_MOUNTS = "--private-mounts"  #: the runner runs in a mount namespace of its own: it may mount


def run_storage_scenarios(config: Path, workdir: Path, log: Path, timeout: float = 900.0) -> dict[str, Any]:
    """Run this module in a subprocess (in a private mount namespace when `unshare` is allowed:
    then the local run lives on a tmpfs); returns {scenario: result}, plus "log_tail"."""
    from tests.helpers import OwnSession

    command = [sys.executable, "-m", "tests.storage_scenarios", str(config), str(workdir)]
    if _may_unshare():
        command = ["unshare", "--mount", *command, PRIVATE_MOUNTS]
    env = subprocess_env(**CREDENTIALS, **{GATE_ENV: str(workdir / "gate")})
    with OwnSession(command, log, env) as run:
        try:
            run.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass  # what was reported so far is returned; the missing scenario fails its test
    text = log.read_text(errors="replace")
    results = {}
    for line in text.splitlines():
        if line.startswith(RESULT):
            scenario, _, payload = line[len(RESULT) :].partition(" ")
            results[scenario] = json.loads(payload)
    results["log_tail"] = "\n".join(text.splitlines()[-60:])
    return results


def _may_unshare() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "--mount", "true"], capture_output=True).returncode == 0


# ---------------------------------------------------------------- the CLI


@contextlib.contextmanager
def stderr_to(path: Path) -> Iterator[None]:
    """Everything this process writes to its stderr meanwhile (fd 2: prints, logging, the
    worker lines Ray forwards to its driver) goes to `path`: what a user of the CLI would see."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "w") as handle:
        os.dup2(handle.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


class Scenario:
    """The CLI calls of one run (`storage`/`name`), on this process's Ray."""

    def __init__(self, config: Path, workdir: Path, address: str, storage: str, name: str, members: int):
        self.config, self.workdir, self.address = config, workdir, address
        self.storage, self.name, self.members = storage, name, members
        self.gate = Gate(os.environ[GATE_ENV])
        self.run_args = [str(config), "--storage", storage, "--name", name]

    def cli(self, label: str, *argv: str) -> dict[str, Any]:
        """`gtl-ray ARGV` run by the CLI's own `main` in this process: exit code, stdout, stderr."""
        from gtl_ray.cli import main

        path, out, began = self.workdir / f"{self.name}-{label}.err", io.StringIO(), time.time()
        with stderr_to(path), contextlib.redirect_stdout(out):
            code = main(list(argv))
        err = path.read_text(errors="replace")
        return {"rc": code, "stdout": out.getvalue(), "stderr": err, "seconds": round(time.time() - began, 1)}

    def evolve_in_background(self, label: str, *flags: str) -> tuple[threading.Thread, dict[str, Any]]:
        box: dict[str, Any] = {}
        thread = threading.Thread(
            target=lambda: box.update(self.cli(label, "evolve", *self.run_args, *flags)), daemon=True
        )
        thread.start()
        return thread, box

    def cli_process(self, label: str, *flags: str) -> subprocess.Popen:
        """`gtl-ray evolve` in a process of its own (members at the gate), on this process's Ray."""
        argv = [sys.executable, "-m", "tests.fault_gate", "evolve", *self.run_args, "--address", self.address, *flags]
        env = subprocess_env(RAY_AUTH_MODE="token")
        with open(self.workdir / f"{self.name}-{label}.err", "w") as err:  # the child keeps its own copy
            return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)

    def ended(self, label: str, proc: subprocess.Popen, began: float) -> dict[str, Any]:
        """A CLI process's exit code and stderr, once it ended (killed if it never does)."""
        try:
            code: int | str = proc.wait(CLI_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = f"hung {CLI_TIMEOUT_S:.0f} s"
        err = (self.workdir / f"{self.name}-{label}.err").read_text(errors="replace")
        return {"rc": code, "stderr": err, "seconds": round(time.time() - began, 1)}

    def saved(self) -> int:
        from gtl_ray.run.store import RunStore

        store = RunStore(self.storage, self.name)
        return store.read_manifest().done if store.exists() else 0

    def held_at(self, generation: int, alive: Callable[[], bool], timeout: float = 300.0) -> None:
        """Until generations before `generation` are saved and every member waits at its gate."""
        deadline = time.time() + timeout
        while self.saved() < generation or len(self.gate.arrived(generation)) < self.members:
            if not alive() or time.time() > deadline:
                raise RuntimeError(f"{self.name}: not held at generation {generation} (run alive: {alive()})")
            time.sleep(0.05)  # polling the gate, not landing a fault

    def faulted(self, label: str, generation: int, strike: Callable[[], Callable[[], None]], *flags: str) -> dict:
        """`evolve` held at `generation`, the fault struck, the gate opened; the fault cleared
        once the run ended. The run's exit code and stderr, what the manifest then counts, and
        which members reached generation + 2."""
        self.gate.forget_arrivals()
        self.gate.close(generation)
        try:
            thread, box = self.evolve_in_background(label, *flags)
            self.held_at(generation, thread.is_alive)
            clear = strike()
        finally:
            self.gate.open(generation)  # also when the run was never held: the gate is shared
        thread.join(CLI_TIMEOUT_S)
        clear()
        result = box if not thread.is_alive() else {"rc": f"hung {CLI_TIMEOUT_S:.0f} s", "stderr": ""}
        result["saved"] = self.saved()
        result["arrived_two_later"] = sorted(self.gate.arrived(generation + 2))
        return result


# ---------------------------------------------------------------- faults


def limit_pool_files(run_name: str) -> Callable[[], None]:
    """RLIMIT_FSIZE on the learngene pool's process (prlimit: no privilege needed): its next
    gene file is too large (EFBIG). The pool's process ends with the run."""
    import ray

    from gtl_ray.service.pool import NAMESPACE, pool_name

    actor = ray.get_actor(pool_name(run_name), namespace=NAMESPACE)._actor_id.hex()
    pid = ray._private.state.actors()[actor]["Pid"]
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (SMALL_FILES, SMALL_FILES))
    return lambda: None


def fill(folder: str) -> Callable[[], None]:
    """Fill the file system of `folder` up (ENOSPC); the clean-up frees it again."""
    filler = os.path.join(folder, "filler")
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * (1 << 20))
                handle.flush()
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    return lambda: os.unlink(filler)


def remount(folder: str, mode: str) -> Callable[[], None]:
    """Remount the tmpfs at `folder` read-only ("ro"); the clean-up makes it writable again."""
    subprocess.run(["mount", "-o", f"remount,{mode}", folder], check=True)
    return lambda: subprocess.run(["mount", "-o", "remount,rw", folder], check=True)


def mount_tmpfs(folder: Path) -> str | None:
    """A small tmpfs at `folder` in this process's mount namespace; None, or why not."""
    folder.mkdir(parents=True)
    for command in (["mount", "--make-rprivate", "/"], ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs"]):
        done = subprocess.run(command + ([str(folder)] if "tmpfs" in command else []), capture_output=True, text=True)
        if done.returncode != 0:
            return f"cannot mount a tmpfs ({' '.join(command[:3])}: {done.stderr.strip()[-200:]})"
    return None


# ---------------------------------------------------------------- scenarios


def scenario_local(config: Path, workdir: Path, address: str, members: int, may_mount: bool) -> dict:
    """Full, then read-only (a tmpfs), or the pool's small files (no tmpfs); then concurrent."""
    folder = workdir / "tmpfs"
    skipped = mount_tmpfs(folder) if may_mount else "unshare --mount is not permitted here"
    storage = str(workdir / "local") if skipped else str(folder)
    run = Scenario(config, workdir, address, storage, "local", members)
    out: dict[str, Any] = {"storage": storage, "mount_skipped": skipped}
    if skipped:
        out["file_size"] = run.faulted("file_size", 1, lambda: limit_pool_files(run.name))
    else:
        out["full"] = run.faulted("full", 1, lambda: fill(storage))
        out["read_only"] = run.faulted("read_only", 2, lambda: remount(storage, "ro"), "--resume")
    out.update(concurrent(run, run.saved()))
    out["signature"] = signature(storage, run.name)
    return out


def concurrent(run: Scenario, first: int) -> dict[str, Any]:
    """The last --resume, held at the gate of its first generation, while three more evolves of
    the run (fresh with another seed, --resume, --overwrite), each a CLI process of its own,
    start; then the gate opens and it completes."""
    run.gate.forget_arrivals()
    run.gate.close(first)
    try:
        thread, completed = run.evolve_in_background("holder", "--resume")
        run.held_at(first, thread.is_alive)
        seconds, others = time.time(), {}
        for label, flags in (("second_fresh", ["--set", "seed=1"]), ("second_resume", ["--resume"])):
            others[label] = run.cli_process(label, *flags)
        others["second_overwrite"] = run.cli_process("second_overwrite", "--overwrite")
        refused = {label: run.ended(label, proc, seconds) for label, proc in others.items()}
    finally:
        run.gate.open(first)  # also when the run was never held: the gate is shared
    thread.join(CLI_TIMEOUT_S)
    return {"holder_pid": os.getpid(), "refused": refused, "completed": completed}


def cut(server: S3Server) -> Callable[[], None]:
    """The endpoint disappears (the relay stops); the clean-up brings it back with its data."""
    server.stop()
    return server.start


def scenario_s3(config: Path, workdir: Path, address: str, members: int, may_mount: bool) -> dict:
    """Cut, resumed, then read by inspect, evaluate and report while this process holds the lease."""
    from gtl_ray.run.lease import WriterLease
    from gtl_ray.run.store import RunStore
    from gtl_ray.storage import exists as storage_exists

    server = S3Server(str(workdir / "moto.log"))
    try:
        storage = f"s3://{server.new_bucket()}/runs?endpoint_override={server.endpoint}&scheme=http"
        run = Scenario(config, workdir, address, storage, "s3", members)
        out = {"storage": storage, "cut": run.faulted("cut", 1, lambda: cut(server))}
        out["resumed"] = run.cli("resumed", "evolve", *run.run_args, "--resume")
        out["signature"] = signature(storage, run.name)
        store = RunStore(storage, run.name)
        gene, results = store.layout.final_learngene, store.path("evaluation.json")
        with WriterLease(store.run_dir, command="a test"):  # readers never need it
            out["inspect"] = run.cli("inspect", "inspect", store.run_dir, "--json")
            methods = ["--methods", "scratch,learngene", "--learngene", gene, "--out", results, "--json"]
            out["evaluate"] = run.cli("evaluate", "evaluate", *run.run_args, *methods)
            out["report"] = run.cli("report", "report", store.run_dir)
        out["report_written"] = storage_exists(store.path("report", "report.html"))
        return out
    finally:
        server.close()


SCENARIOS = {"local": scenario_local, "s3": scenario_s3}


def main(argv: list[str]) -> int:
    import ray

    from gtl_ray.preflight import load_config

    config, workdir, may_mount = Path(argv[0]), Path(argv[1]), PRIVATE_MOUNTS in argv[2:]
    members = load_config(config).population.size
    started = time.time()
    gate = runtime_env(os.environ[GATE_ENV])  # members of this process's runs stop at the gate
    ray.init(address="local", num_cpus=2, include_dashboard=False, namespace="gtl_ray", runtime_env=gate)
    address = ray.get_runtime_context().gcs_address
    print(f"{RESULT}ray_start {json.dumps({'seconds': round(time.time() - started, 1)})}", flush=True)
    try:
        for name, scenario in SCENARIOS.items():
            began = time.time()
            try:
                result = scenario(config, workdir, address, members, may_mount)
            except Exception:
                result = {"exception": traceback.format_exc()}
            result["seconds"] = round(time.time() - began, 1)
            print(f"{RESULT}{name} {json.dumps(result)}", flush=True)
    finally:
        ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
