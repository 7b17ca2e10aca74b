"""gtl_ray.run.lease_record: one lease file, read back only if well formed, and why it no longer
protects a writer."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

from gtl_ray.errors import StorageError
from gtl_ray.run.lease_record import LeaseRecord, epoch_of, newest, parse_record, pid_space


def _record(**changes) -> LeaseRecord:
    base = LeaseRecord(3, "ab" * 16, "node-1", os.getpid(), pid_space(), "evolve", 1000.0, 1000.0)
    return dataclasses.replace(base, **changes)


def test_a_record_round_trips_and_the_newest_epoch_is_the_lease(tmp_path):
    record = _record(pid=1, pid_space="elsewhere")
    assert parse_record(record.to_bytes(), "l.json", 3, now=1001.0, stale_after=30.0) == record
    (tmp_path / "00000002.json").write_bytes(_record(epoch=2, pid_space="elsewhere").to_bytes())
    (tmp_path / "00000003.json").write_bytes(record.to_bytes())
    (tmp_path / "00000004.json.tmp").write_text("half written")
    assert epoch_of("00000004.json.tmp") is None and newest(str(tmp_path), now=1001.0).epoch == 3
    assert newest(str(tmp_path / "empty"), now=0.0) is None


def test_a_damaged_record_names_the_field_and_the_way_out():
    raw = json.loads(_record().to_bytes()) | {"epoch": 4}
    with pytest.raises(StorageError, match="lease field 'epoch' is 4, but the file name says 3; if no gtl-ray"):
        parse_record(json.dumps(raw).encode(), "l.json", 3, now=1000.0, stale_after=30.0)


def test_why_a_lease_is_stale():
    elsewhere = _record(pid_space="another machine")
    assert elsewhere.stale_reason(now=1010.0, stale_after=30.0) is None
    assert "heart-beat is 40 s old" in elsewhere.stale_reason(now=1040.0, stale_after=30.0)
    assert _record(released=True).stale_reason(now=1000.0, stale_after=30.0) == "it was released"
    assert "last heart-beat 5 s ago" in elsewhere.describe(now=1005.0)
