"""The single-writer lease of a run folder: one `evolve` writes a run at a time.

The writer takes the lease before it writes anything, renews it from a background thread every
`heartbeat_s` seconds, checks it before each manifest write (`check`; `LeaseGuard.check` in the
learngene pool, which writes the generations) and releases it on exit. A second writer is
refused with `LeaseHeld` (bad input: exit 2) naming the holder. A stale lease (released; its
process gone from this machine, or this very process, which no longer holds it; no heart-beat
for `stale_after_s` seconds) is taken over with a logged warning naming whose and why.

Layout: `RUN/lease/EEEEEEEE.json`, one file per *epoch* (a take-over is the next epoch); the
newest file is the lease. Each epoch file is created only if absent, so two contenders for one
lease race for one name:
- local and shared POSIX file systems: created by link(2) of a complete temp file, which is
  atomic, so exactly one contender wins each epoch and the take-over is race-free;
- object stores (s3://, gs://): pyarrow offers no conditional put, so the create is a check
  then a put. The winner is decided by reading the file back `settle_s` seconds after the put
  (the last put wins). This is best-effort: two contenders can both believe they won only if one
  stalls between its check and its put for longer than `settle_s`. Then the loser learns it at
  its next heart-beat or at its next `check`, before its next manifest write, and stops with
  `LeaseLost`; what it wrote in between is not counted by any manifest of its own.
A holder stopped past the bound (SIGSTOP, a paused VM) learns the same way once it runs again.

Readers (`evaluate`, `inspect`, `report`) never need the lease: the manifest is written last,
atomically (a rename, a single object put), naming only complete generations.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import time
import uuid
from typing import Callable

from gtl_ray import storage
from gtl_ray.errors import LeaseHeld, LeaseLost, StorageError, StorageFault
from gtl_ray.run.layout import LEASE as LEASE_DIR
from gtl_ray.run.lease_record import HELD_HERE, STALE_AFTER_S, LeaseGuard, LeaseRecord, epoch_of, epoch_path
from gtl_ray.run.lease_record import newest, pid_space, read_epoch
from gtl_ray.storage_faults import writing

log = logging.getLogger(__name__)
HEARTBEAT_S = 10.0  #: seconds between two renewals of a held lease
SETTLE_S = 1.0  #: object stores: seconds between the put of a new epoch and its read-back


class WriterLease:
    """The lease of the run folder `run_dir` (local path or URI), as a context manager.

    Args:
        run_dir: the run folder (created if absent: the lease is its first file).
        command: what holds it, shown to a refused writer (e.g. "gtl-ray evolve").
        heartbeat_s: seconds between renewals.
        stale_after_s: a holder without heart-beat this long is taken over; more than twice
            `heartbeat_s`, and larger than the clock difference between the writers' machines.
        settle_s: object stores only: wait between putting a new epoch and reading it back.
        clock: seconds since the epoch (time.time); tests pass a later clock to age a lease.
    """

    def __init__(
        self,
        run_dir: str,
        command: str = "gtl-ray evolve",
        heartbeat_s: float = HEARTBEAT_S,
        stale_after_s: float = STALE_AFTER_S,
        settle_s: float = SETTLE_S,
        clock: Callable[[], float] = time.time,
    ):
        if not (0 < heartbeat_s and stale_after_s > 2 * heartbeat_s):
            raise ValueError(f"stale_after_s={stale_after_s} must exceed 2 x heartbeat_s={heartbeat_s} > 0")
        if settle_s < 0:
            raise ValueError(f"settle_s={settle_s} must be >= 0")
        self.run_dir, self.command = str(run_dir), command
        self.heartbeat_s, self.stale_after_s, self.settle_s, self.clock = heartbeat_s, stale_after_s, settle_s, clock
        self.folder = storage.join(self.run_dir, LEASE_DIR)
        self.record: LeaseRecord | None = None
        self.lost: LeaseLost | None = None
        self._stop = threading.Event()
        self._beating: threading.Thread | None = None

    def __enter__(self) -> "WriterLease":
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    # ------------------------------------------------------------ taking and giving back

    def refuse_if_held(self) -> None:
        """LeaseHeld if a live writer holds the lease now. Reads only: a second writer hears
        who holds the run before any other check of its request, and before it writes."""
        with writing(self.folder):
            current = newest(self.folder, self.clock(), self.stale_after_s)
        if current is not None and current.stale_reason(self.clock(), self.stale_after_s) is None:
            raise LeaseHeld(self._held_message(current))

    def acquire(self) -> LeaseRecord:
        """Take the lease (a fresh one, or over a stale one); LeaseHeld if a live writer has it."""
        for _ in range(3):  # lost a race for an epoch: look again (the winner now holds it)
            with writing(self.folder):
                current = newest(self.folder, self.clock(), self.stale_after_s)
            reason = None if current is None else current.stale_reason(self.clock(), self.stale_after_s)
            if current is not None and reason is None:
                raise LeaseHeld(self._held_message(current))
            now = self.clock()
            mine = LeaseRecord(
                1 if current is None else current.epoch + 1,
                uuid.uuid4().hex,
                socket.gethostname()[:255] or "unknown",
                os.getpid(),
                pid_space(),
                self.command[:64] or "unknown",
                now,
                now,
            )
            if self._create(mine):
                self._taken(mine, current, reason)
                return mine
        current = newest(self.folder, self.clock(), self.stale_after_s)
        raise LeaseHeld(self._held_message(current) if current else f"{self.run_dir}: lease contended; try again")

    def _create(self, mine: LeaseRecord) -> bool:
        where = epoch_path(self.folder, mine.epoch)
        if not storage.create_exclusive(where, mine.to_bytes()):
            return False
        if storage.check_scheme(where) not in ("", "file"):
            time.sleep(self.settle_s)  # object stores: the last put of this epoch wins; read it back
            with writing(where):
                return read_epoch(self.folder, mine.epoch, self.clock(), self.stale_after_s).token == mine.token
        return True

    def _taken(self, mine: LeaseRecord, previous: LeaseRecord | None, reason: str | None) -> None:
        self.record, self.lost = mine, None
        HELD_HERE.add(mine.token)
        self._stop.clear()
        self._beating = threading.Thread(target=self._beat, name="gtl-lease-heartbeat", daemon=True)
        self._beating.start()
        atexit.register(self._stop_beating)  # a lease never released: no beat while the interpreter ends
        if previous is not None and not previous.released:
            log.warning(
                "took over the writer lease of %s from %s: %s", self.run_dir, previous.describe(self.clock()), reason
            )
        try:  # older epochs: only the newest file is the lease, the rest is clutter
            for name in storage.list_dir(self.folder):
                epoch = epoch_of(name)
                if epoch is not None and epoch < mine.epoch:
                    storage.delete_file(storage.join(self.folder, name))
        except (OSError, StorageFault) as exc:
            log.warning("could not remove old lease files of %s: %s", self.run_dir, exc)

    def release(self) -> None:
        """Stop the heart-beat and mark the lease released (if it is still ours). A store that
        cannot be written now leaves the lease to be taken over: at once by the next writer on
        this machine (this process is gone by then), after `stale_after_s` from elsewhere."""
        self._stop_beating()
        if self.record is not None:
            HELD_HERE.discard(self.record.token)
        if self.record is None or self.lost is not None:
            return
        record, self.record = self.record, None
        try:
            self.guard_of(record).check(self.clock())
            released = LeaseRecord(**{**record.__dict__, "heartbeat": self.clock(), "released": True})
            storage.write_bytes_atomic(epoch_path(self.folder, record.epoch), released.to_bytes())
        except LeaseLost:
            pass
        except (StorageError, StorageFault) as exc:
            log.warning(
                "could not release the writer lease of %s (the next writer takes it over): %s", self.run_dir, exc
            )

    # ------------------------------------------------------------ while held

    @property
    def guard(self) -> LeaseGuard:
        """What the learngene pool checks before each manifest write it makes for this holder."""
        if self.record is None:
            raise LeaseLost(f"{self.run_dir}: the writer lease is not held")
        return self.guard_of(self.record)

    def guard_of(self, record: LeaseRecord) -> LeaseGuard:
        return LeaseGuard(self.run_dir, record.epoch, record.token, self.stale_after_s)

    def check(self) -> None:
        """Raise LeaseLost unless this process still holds the lease (before a manifest write)."""
        if self.lost is None:
            try:
                self.guard.check(self.clock())
            except LeaseLost as lost:
                self.lost = lost
        if self.lost is not None:
            raise self.lost

    def _stop_beating(self) -> None:
        """Stop the heart-beat and wait for it: on release, and at exit for a lease never released
        (a daemon thread inside an S3 call while pyarrow finalizes S3 crashes the process)."""
        atexit.unregister(self._stop_beating)
        self._stop.set()
        if self._beating is not None:
            self._beating.join()
            self._beating = None

    def _beat(self) -> None:
        failing = False  # an unreachable store is reported once, not at every beat
        while not self._stop.wait(self.heartbeat_s):
            record = self.record
            if record is None:
                return
            try:
                self.guard_of(record).check(self.clock())
                renewed = LeaseRecord(**{**record.__dict__, "heartbeat": self.clock()})
                storage.write_bytes_atomic(epoch_path(self.folder, record.epoch), renewed.to_bytes())
                failing = False
            except LeaseLost as lost:
                self.lost = lost
                log.error("%s", lost)
                return
            except (StorageError, StorageFault) as exc:  # the run's own next write reports the fault
                if not failing:
                    log.warning("writer lease heart-beat of %s failed: %s", self.run_dir, exc)
                failing = True

    def _held_message(self, holder: LeaseRecord) -> str:
        return (
            f"run {self.run_dir} is being written by {holder.describe(self.clock())}; wait for it to finish, "
            f"or, if that process is gone, run again (e.g. with --resume): its lease is taken over once "
            f"its process is gone from this machine or its heart-beat is {self.stale_after_s:.0f} s old"
        )
