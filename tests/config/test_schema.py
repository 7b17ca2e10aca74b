"""gtl_ray.config.schema: a descendant's shape falls back to the ancestry network's."""

from __future__ import annotations

import dataclasses

from gtl_ray.config.schema import DescendantShape
from tests.conftest import tiny


def test_descendant_shapes_fall_back_to_the_ancestry_network():
    config = tiny("model.arch=vgg11", "model.depth=13", "model.width=0.25")
    assert config.descendant_shape() == DescendantShape("vgg11", 0.25, 13)
    wider = tiny("model.arch=vgg11", "model.depth=13", "evaluation.descendant={width: 0.5}")
    assert wider.descendant_shape() == DescendantShape("vgg11", 0.5, 13)
    other = dataclasses.replace(config.evaluation.descendant, arch="resnet12")
    assert config.model_shape(other).depth is None  # another architecture: its own default depth
    assert config.fitness_shapes() == [config.descendant_shape()]
    assert config.to_dict()["model"]["depth"] == 13
