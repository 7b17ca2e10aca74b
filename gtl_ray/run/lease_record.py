"""One writer lease file (`RUN/lease/EEEEEEEE.json`): who holds the run, since when, its last
heart-beat, and whether that holder is still alive. JSON with a version field, parsed strictly
(bounded size, every field type-checked), never unpickled. `newest` reads a lease folder's
current lease (its newest epoch); `LeaseGuard` checks that it is still a given holder's."""

from __future__ import annotations

import json
import math
import os
import re
import socket
import time
from dataclasses import asdict, dataclass

from gtl_ray import formats, storage
from gtl_ray.errors import LeaseLost, StorageError, quote
from gtl_ray.run.layout import LEASE as LEASE_DIR
from gtl_ray.storage_faults import writing

LEASE_VERSION = 1
STALE_AFTER_S = 120.0  #: a lease without heart-beat for this long is taken over (clock skew included)
_TOKEN = re.compile(r"[0-9a-f]{32}")
_LIMITS = {"host": 255, "pid_space": 200, "command": 64}  #: longest text of these fields
_EPOCH_FILE = re.compile(r"(\d{8})\.json")
HELD_HERE: set[str] = set()  #: tokens of the leases this process holds now (`run.lease.WriterLease`)


@dataclass(frozen=True)
class LeaseRecord:
    """A holder of epoch `epoch` of a run's lease. Times are seconds since the epoch on the
    holder's clock; `pid_space` names the machine boot and pid namespace in which `pid` means a
    process (a pid is only checked from the same space); `token` tells two holders apart."""

    epoch: int
    token: str
    host: str
    pid: int
    pid_space: str
    command: str
    since: float
    heartbeat: float
    released: bool = False

    def to_bytes(self) -> bytes:
        return json.dumps({"version": LEASE_VERSION, **asdict(self)}, indent=1, sort_keys=True).encode()

    def describe(self, now: float) -> str:
        """e.g. "pid 4242 on host node-1 (evolve) since 2026-05-01 10:00:00 UTC, last heart-beat 3 s ago"."""
        since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.since))
        return (
            f"pid {self.pid} on host {self.host} ({self.command}) since {since}, "
            f"last heart-beat {max(0.0, now - self.heartbeat):.0f} s ago"
        )

    def stale_reason(self, now: float, stale_after: float) -> str | None:
        """Why this lease no longer protects a writer (released, its process gone or no longer
        holding it, its heart-beat older than `stale_after` seconds), or None while its holder
        may still be writing."""
        if self.released:
            return "it was released"
        if self.pid_space == pid_space() and not pid_alive(self.pid):
            return f"process {self.pid} on {self.host} is gone"
        if self.pid_space == pid_space() and self.pid == os.getpid() and self.token not in HELD_HERE:
            return "this process left it behind (it could not release it) and writes the run no longer"
        if now - self.heartbeat > stale_after:
            return f"its last heart-beat is {now - self.heartbeat:.0f} s old (the bound is {stale_after:.0f} s)"
        return None


def pid_space() -> str:
    """This machine's boot and pid namespace: where a pid names the same process as here."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            boot = handle.read().strip()
        return f"{boot}/{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:  # no /proc: the pid of a holder is never checked, its heart-beat is
        return f"unknown/{socket.gethostname()}/{os.getpid()}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def parse_record(data: bytes, source: str, epoch: int, now: float, stale_after: float) -> LeaseRecord:
    """A lease file's record; refuses anything but a well-formed record of `epoch`, naming the
    field and what to do (a damaged lease file is deleted by hand once no writer runs)."""
    advice = f"; if no gtl-ray process is writing this run, delete {source}"

    def fail(field: str, why: str) -> StorageError:
        return StorageError(f"{source}: lease field {field!r} {why}{advice}")

    try:
        raw = formats.parse_json(data, source, max_depth=2)
    except StorageError as exc:
        raise StorageError(f"{exc}{advice}") from None
    if not isinstance(raw, dict):
        raise StorageError(f"{source}: not a gtl_ray lease (a JSON object expected){advice}")
    if raw.get("version") != LEASE_VERSION:
        raise fail("version", f"is {quote(raw.get('version'))}; this gtl_ray reads lease version {LEASE_VERSION}")
    fields = set(LeaseRecord.__dataclass_fields__)
    unknown = sorted(set(raw) - fields - {"version"})
    if unknown:
        raise fail(unknown[0], "is not a lease field")
    for name in sorted(fields):
        _check_field(name, raw.get(name), fail)
    if raw["epoch"] != epoch:
        raise fail("epoch", f"is {raw['epoch']}, but the file name says {epoch}")
    if raw["heartbeat"] > now + stale_after:
        raise fail("heartbeat", f"lies {raw['heartbeat'] - now:.0f} s in the future (clocks differ?)")
    return LeaseRecord(**{name: raw[name] for name in fields})


def _check_field(name: str, value: object, fail) -> None:
    if name in ("epoch", "pid"):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**31:
            raise fail(name, f"must be a positive integer, got {quote(value)}")
    elif name in ("since", "heartbeat"):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
            raise fail(name, f"must be a time in seconds, got {quote(value)}")
    elif name == "released":
        if not isinstance(value, bool):
            raise fail(name, f"must be true or false, got {quote(value)}")
    elif name == "token":
        if not isinstance(value, str) or not _TOKEN.fullmatch(value):
            raise fail(name, f"must be 32 hex digits, got {quote(value)}")
    elif not isinstance(value, str) or not 0 < len(value) <= _LIMITS[name]:
        raise fail(name, f"must be text of 1-{_LIMITS[name]} characters, got {quote(value)}")


def epoch_path(folder: str, epoch: int) -> str:
    return storage.join(folder, f"{epoch:08d}.json")


def epoch_of(name: str) -> int | None:
    """The epoch a lease folder's entry `name` holds (EEEEEEEE.json), or None for other names."""
    match = _EPOCH_FILE.fullmatch(name)
    return int(match[1]) if match else None


def read_epoch(folder: str, epoch: int, now: float, stale_after_s: float) -> LeaseRecord:
    where = epoch_path(folder, epoch)
    return parse_record(storage.read_bytes(where, "lease"), where, epoch, now, stale_after_s)


def newest(folder: str, now: float, stale_after_s: float = STALE_AFTER_S) -> LeaseRecord | None:
    """The lease of a run's lease folder (its newest epoch), or None if it was never taken.
    Names other than EEEEEEEE.json (temp files of a crashed renewal) are ignored."""
    for attempt in range(3):
        epochs = [e for e in map(epoch_of, storage.list_dir(folder)) if e is not None]
        if not epochs:
            return None
        try:
            return read_epoch(folder, max(epochs), now, stale_after_s)
        except StorageError:
            if attempt == 2 or storage.exists(epoch_path(folder, max(epochs))):
                raise  # a damaged lease file, not one a take-over removed since the listing
    return None


@dataclass(frozen=True)
class LeaseGuard:
    """Epoch `epoch` of the lease of `run_dir`, as held by the process that took it (`token`):
    what another process writing for that holder (the learngene pool) needs to check that the
    lease is still the holder's. Picklable; reads the lease folder on every check."""

    run_dir: str
    epoch: int
    token: str
    stale_after_s: float = STALE_AFTER_S

    def check(self, now: float | None = None) -> None:
        """LeaseLost unless the lease is still this holder's; StorageFault if the lease folder
        cannot be read (the storage is gone: the write this check guards would fail too)."""
        folder, now = storage.join(self.run_dir, LEASE_DIR), time.time() if now is None else now
        with writing(folder):
            current = newest(folder, now, self.stale_after_s)
        if current is None or (current.epoch, current.token) != (self.epoch, self.token):
            who = current.describe(now) if current else "nobody (the lease folder was emptied)"
            raise LeaseLost(
                f"{self.run_dir}: this process lost the writer lease (epoch {self.epoch}) to {who}; "
                "it stopped writing so as not to mix its generations with the new writer's"
            )
