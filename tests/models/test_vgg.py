"""gtl_ray.models.vgg: VGG with BatchNorm at the depths it takes."""

from __future__ import annotations

import torch

from gtl_ray.models.vgg import vgg


def test_depth_sets_the_conv_units_and_the_head_the_classes():
    for depth in (11, 13):
        model = vgg(width=0.125, depth=depth, num_classes=3)
        convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
        assert len(convs) == depth - 3  # VGG-n: n - 3 conv layers, 3 linear ones in the original
        assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 3)
