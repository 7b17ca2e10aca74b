"""gtl_ray.run.lease: one writer per run folder, with holders in real processes
(tests/lease_holder.py), on a local folder and on a real S3 endpoint (moto on 127.0.0.1)."""

from __future__ import annotations

import json
import logging
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gtl_ray import storage
from gtl_ray.errors import GTLError, LeaseHeld, StorageError
from gtl_ray.run.lease import LEASE_DIR, WriterLease, epoch_path, newest

ROOT = Path(__file__).resolve().parents[2]
SETTLE_S = 0.05  #: object stores' read-back wait, short for the tests (moto answers at once)


class Holder:
    """`python -m tests.lease_holder` on `run_dir`: a lease holder in a process of its own."""

    def __init__(self, run_dir: str, *flags: str, heartbeat_s: float = 0.05, stale_after_s: float = 60):
        command = [sys.executable, "-m", "tests.lease_holder", run_dir, str(heartbeat_s), str(stale_after_s)]
        self.process = subprocess.Popen(
            command + [str(SETTLE_S), *flags], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def event(self, timeout: float = 60) -> dict:
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            assert selector.select(timeout), f"holder {self.process.pid} said nothing in {timeout} s"
        line = self.process.stdout.readline()
        assert line, f"holder {self.process.pid} ended with {self.process.wait()}"
        return json.loads(line)

    def send(self, line: str) -> None:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def finish(self) -> int:
        self.process.stdin.close()
        return self.process.wait(timeout=60)


@pytest.fixture
def holders():
    """Starts Holders; ends (SIGKILL, by pid) any still running when the test ends."""
    started: list[Holder] = []

    def start(*args, **kw) -> Holder:
        started.append(Holder(*args, **kw))
        return started[-1]

    yield start
    for holder in started:
        if holder.process.poll() is None:
            os.kill(holder.process.pid, signal.SIGCONT)
            holder.process.kill()
            holder.process.wait()


@pytest.fixture(params=["local", "s3"])
def run_dir(request, tmp_path) -> str:
    if request.param == "local":
        return str(tmp_path / "runs" / "tiny")
    return f"{request.getfixturevalue('s3_bucket')}/runs/tiny"


def lease(run_dir: str, **kw) -> WriterLease:
    return WriterLease(run_dir, settle_s=SETTLE_S, **kw)


def test_a_second_writer_is_refused_naming_the_holder(run_dir, holders, caplog):
    first = holders(run_dir)
    assert first.event() == {"status": "held", "epoch": 1, "pid": first.process.pid}
    second = holders(run_dir)
    refused = second.event()
    assert refused["status"] == "refused" and second.process.wait(timeout=60) == 2
    message = refused["error"]
    for part in (run_dir, f"pid {first.process.pid} on host {socket.gethostname()}", "since", "last heart-beat"):
        assert part in message, message
    assert "wait for it to finish" in message and "--resume" in message
    with pytest.raises(LeaseHeld) as caught:
        lease(run_dir).acquire()
    assert isinstance(caught.value, GTLError)  # bad input: the CLI exits 2
    assert first.finish() == 0  # released on exit
    with caplog.at_level(logging.WARNING, logger="gtl_ray.run.lease"), lease(run_dir) as taken:
        assert taken.record.epoch == 2
        taken.check()
    assert "took over" not in caplog.text  # a released lease is free, not taken over
    assert newest(storage.join(run_dir, LEASE_DIR), time.time()).released


def test_a_dead_holders_lease_is_taken_over(run_dir, holders, caplog):
    dead = holders(run_dir)
    assert dead.event()["status"] == "held"
    dead.process.kill()
    dead.process.wait()
    with caplog.at_level(logging.WARNING, logger="gtl_ray.run.lease"), lease(run_dir) as taken:
        assert taken.record.epoch == 2
        assert storage.list_dir(storage.join(run_dir, LEASE_DIR)) == ["00000002.json"]
    pid = dead.process.pid
    assert f"took over the writer lease of {run_dir} from pid {pid} on host" in caplog.text
    assert f"process {pid} on {socket.gethostname()} is gone" in caplog.text


def test_a_stopped_holder_goes_stale_after_the_bound_and_then_learns_it_lost(run_dir, holders, caplog):
    stopped = holders(run_dir, heartbeat_s=0.05)
    assert stopped.event()["status"] == "held"
    folder = storage.join(run_dir, LEASE_DIR)
    deadline = time.monotonic() + 60
    while newest(folder, time.time()).heartbeat == newest(folder, time.time()).since:  # the first renewal
        assert time.monotonic() < deadline, "the holder never renewed its lease"
    os.kill(stopped.process.pid, signal.SIGSTOP)
    last = newest(folder, time.time()).heartbeat  # no renewal after this one: the process is stopped
    with pytest.raises(LeaseHeld, match="last heart-beat 4 s ago"):
        lease(run_dir, heartbeat_s=1, stale_after_s=5, clock=lambda: last + 4).acquire()
    with caplog.at_level(logging.WARNING, logger="gtl_ray.run.lease"):
        taken = lease(run_dir, heartbeat_s=1, stale_after_s=5, clock=lambda: last + 6)
        assert taken.acquire().epoch == 2
    assert "its last heart-beat is 6 s old (the bound is 5 s)" in caplog.text
    os.kill(stopped.process.pid, signal.SIGCONT)
    stopped.send("check")
    lost = stopped.event()
    assert lost["status"] == "lost" and "lost the writer lease (epoch 1)" in lost["error"], lost
    assert f"pid {os.getpid()}" in lost["error"] and stopped.process.wait(timeout=60) == 1
    taken.check()  # the new holder is unaffected
    taken.release()


def test_of_contenders_for_one_local_lease_exactly_one_wins(tmp_path, holders):
    """Four processes race for the same epoch: link(2) lets exactly one create it."""
    run_dir = str(tmp_path / "runs" / "tiny")
    racers = [holders(run_dir, "--wait-go") for _ in range(4)]
    for racer in racers:
        racer.send("go")
    outcomes = sorted(racer.event()["status"] for racer in racers)
    assert outcomes == ["held", "refused", "refused", "refused"]


def _record(**changes) -> dict:
    record = {
        "version": 1,
        "epoch": 1,
        "token": "0" * 32,
        "host": "elsewhere",
        "pid": 4242,
        "pid_space": "another-machine",
        "command": "gtl-ray evolve",
        "since": 1.0,
        "heartbeat": time.time(),
        "released": False,
    }
    record.update(changes)
    return {k: v for k, v in record.items() if v is not ...}


HOSTILE = {
    "not json": (b"not json", "not valid JSON"),
    "a list": (b"[]", "not a gtl_ray lease"),
    "NaN": (json.dumps(_record()).replace('"since": 1.0', '"since": NaN').encode(), "NaN is not allowed"),
    "deep": (b'{"a": {"b": {"c": 1}}}', "nested deeper than 2 levels"),
    "huge": (b'{"host": "' + b"x" * 70_000 + b'"}', "limit for lease files"),
    "version": (json.dumps(_record(version=2)).encode(), "lease field 'version' is 2"),
    "no pid": (json.dumps(_record(pid=...)).encode(), "'pid' must be a positive integer, got None"),
    "pid text": (json.dumps(_record(pid="1")).encode(), "'pid' must be a positive integer, got '1'"),
    "pid bool": (json.dumps(_record(pid=True)).encode(), "'pid' must be a positive integer, got True"),
    "extra": (json.dumps(_record(evil=1)).encode(), "'evil' is not a lease field"),
    "token": (json.dumps(_record(token="../x")).encode(), "'token' must be 32 hex digits"),
    "host": (json.dumps(_record(host="")).encode(), "'host' must be text of 1-255 characters"),
    "epoch": (json.dumps(_record(epoch=7)).encode(), "'epoch' is 7, but the file name says 1"),
    "future": (json.dumps(_record(heartbeat=time.time() + 10**6)).encode(), "s in the future (clocks differ?)"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_lease_files_are_refused_and_kept(run_dir, case):
    data, expected = HOSTILE[case]
    where = epoch_path(storage.join(run_dir, LEASE_DIR), 1)
    storage.write_bytes_atomic(where, data)
    with pytest.raises(StorageError) as caught:
        lease(run_dir).acquire()
    message = str(caught.value)
    assert expected in message and where in message, message
    if case != "huge":
        assert f"if no gtl-ray process is writing this run, delete {where}" in message
    assert storage.list_dir(storage.join(run_dir, LEASE_DIR)) == ["00000001.json"]  # nothing deleted or added


def test_a_fifo_for_a_lease_file_is_refused_without_hanging(tmp_path):
    folder = tmp_path / "run" / LEASE_DIR
    folder.mkdir(parents=True)
    os.mkfifo(folder / "00000001.json")
    with pytest.raises(StorageError, match="a FIFO, not a regular file"):
        lease(str(tmp_path / "run")).acquire()


def test_bad_bounds_are_refused():
    with pytest.raises(ValueError, match="stale_after_s=1 must exceed 2 x heartbeat_s=1"):
        WriterLease("runs/x", heartbeat_s=1, stale_after_s=1)


def test_a_lease_this_process_left_behind_is_taken_over_and_one_it_holds_is_not(tmp_path, caplog):
    """In one Python process (a notebook, a test) an evolve whose release the storage refused
    leaves its lease unreleased under this very pid: the next writer here takes it over; a
    lease this process still holds refuses a second writer like any other."""
    run_dir = str(tmp_path / "run")
    with lease(run_dir) as first:
        with pytest.raises(LeaseHeld, match=f"pid {os.getpid()} on host"):
            lease(run_dir).acquire()
        left = first.record
    storage.write_bytes_atomic(epoch_path(storage.join(run_dir, LEASE_DIR), 1), left.to_bytes())  # as if unreleased
    with caplog.at_level(logging.WARNING, logger="gtl_ray.run.lease"), lease(run_dir) as second:
        assert second.record.epoch == 2
    assert "this process left it behind" in caplog.text


def test_a_lease_never_released_stops_its_heart_beat_before_the_interpreter_ends(tmp_path):
    """A process that ends holding its lease (no release) must not beat on while the interpreter
    finalizes: on s3:// a beat inside an S3 call then crashed a lease holder (exit -11, seen once).
    The hook registered first runs last, after the lease's own."""
    code = (
        "import atexit, threading\n"
        "beating = lambda: any(t.name == 'gtl-lease-heartbeat' and t.is_alive() for t in threading.enumerate())\n"
        "atexit.register(lambda: print('beating at exit:', beating()))\n"
        "from gtl_ray.run.lease import WriterLease\n"
        f"WriterLease({str(tmp_path / 'run')!r}, heartbeat_s=0.01, stale_after_s=1).acquire()\n"
        "print('beating while held:', beating())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["beating while held: True", "beating at exit: False"]
