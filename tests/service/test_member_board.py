"""gtl_ray.service.member_board: a member actor's Tune trial named by its members."""

from __future__ import annotations

from types import SimpleNamespace

from gtl_ray.service.member_board import trial_name, trial_names


def test_trials_are_named_by_their_members():
    trial = SimpleNamespace(config={"member": 4})
    assert trial_name(1, trial) == "member-0004" and trial_names(4)(trial) == "members-0004-0007"
