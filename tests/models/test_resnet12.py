"""gtl_ray.models.resnet12: four residual stages of three 3x3 conv units and a 1x1 shortcut."""

from __future__ import annotations

import torch

from gtl_ray.models.resnet12 import resnet12


def test_four_stages_and_a_head_for_the_classes():
    model = resnet12(width=0.125, num_classes=4)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 4 * (3 + 1)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 4)
