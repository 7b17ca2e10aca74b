"""A writer-lease holder in a process of its own, for tests/run/test_lease.py:

    python -m tests.lease_holder RUN_DIR HEARTBEAT_S STALE_AFTER_S SETTLE_S [--wait-go]

Prints one JSON line per event on stdout ({"status": "held", "epoch": E, "pid": P},
{"status": "refused", "error": ...}, {"status": "ok"} or {"status": "lost", "error": ...}) and
obeys lines on stdin: "go" (with --wait-go: acquire now), "check" (LeaseLost or ok), "release".
End of input releases too.
"""

from __future__ import annotations

import json
import os
import sys

from gtl_ray.errors import LeaseHeld, LeaseLost
from gtl_ray.run.lease import WriterLease


def say(**event: object) -> None:
    print(json.dumps(event), flush=True)


def main(argv: list[str]) -> int:
    run_dir, heartbeat, stale, settle = argv[0], float(argv[1]), float(argv[2]), float(argv[3])
    if "--wait-go" in argv and sys.stdin.readline().strip() != "go":
        return 1
    lease = WriterLease(run_dir, heartbeat_s=heartbeat, stale_after_s=stale, settle_s=settle)
    try:
        record = lease.acquire()
    except LeaseHeld as exc:
        say(status="refused", error=str(exc))
        return 2
    say(status="held", epoch=record.epoch, pid=os.getpid())
    try:
        for line in sys.stdin:
            if line.strip() == "release":
                break
            try:
                lease.check()
                say(status="ok")
            except LeaseLost as exc:
                say(status="lost", error=str(exc))
                return 1
    finally:
        lease.release()  # as `evolve` does (a lost lease is left alone): the heart-beat stopped first
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
