"""gtl_ray.evolution.final: the classes the final candidates are scored on."""

from __future__ import annotations

import dataclasses

from gtl_ray.data import load_splits
from gtl_ray.evolution.final import scoring_split
from tests.conftest import tiny


def test_val_classes_when_there_are_enough_else_base(caplog):
    config = tiny()
    splits = load_splits(config.data)
    assert scoring_split(config, splits) == (splits.val, "val")
    without_val = dataclasses.replace(splits, val=None)
    with caplog.at_level("WARNING"):
        assert scoring_split(config, without_val) == (splits.base, "base")
    assert "no val split" in caplog.text
