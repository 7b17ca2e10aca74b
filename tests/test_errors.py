"""gtl_ray.errors: bad input is a GTLError (exit 2), a run that could not finish a RunFailed
(exit 1); a bad value is quoted short; a storage fault survives the trip between processes."""

from __future__ import annotations

import pickle

from gtl_ray.errors import ConfigError, GTLError, LeaseHeld, RunFailed, StorageError, StorageFault, quote


def test_bad_input_and_failed_runs_are_apart():
    assert issubclass(ConfigError, GTLError) and issubclass(LeaseHeld, StorageError)
    assert not issubclass(StorageFault, GTLError) and issubclass(StorageFault, RunFailed)


def test_quote_cuts_a_long_or_deep_value_short():
    assert quote("abc") == "'abc'"
    assert len(quote("x" * 500, limit=40)) <= 40 and "..." in quote("x" * 500, limit=40)
    deep: list = []
    for _ in range(50):
        deep = [deep, deep]  # an alias bomb: never expanded
    assert len(quote(deep)) <= 80


def test_a_storage_fault_keeps_its_fields_through_pickling():
    """Ray carries exceptions between processes by pickling them (the pool's fault to the driver)."""
    fault = StorageFault("no space", "runs/x/generations/0001", "[Errno 28] No space left on device")
    back = pickle.loads(pickle.dumps(fault))
    assert (back.kind, back.location, back.detail) == (fault.kind, fault.location, fault.detail)
    assert str(back) == "cannot write runs/x/generations/0001: no space ([Errno 28] No space left on device)"
