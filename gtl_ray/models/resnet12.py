"""ResNet12 as in the few-shot literature: four residual stages of 64-160-320-640 channels, each
block three 3x3 conv+BN (LeakyReLU 0.1) with a 1x1 conv shortcut and 2x2 max pooling.

`depth` is the number of blocks per stage (1 = ResNet12); extra blocks keep the channel count,
use an identity shortcut and no pooling, so a deeper descendant still carries the learngene's
circuit through its residual path.
"""

from __future__ import annotations

import torch
from torch import nn

from gtl_ray.errors import ConfigError
from gtl_ray.models.layers import ConvBN, Network, scaled

STAGE_CHANNELS = (64, 160, 320, 640)


class ResBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, first_in_stage: bool, is_input: bool):
        super().__init__()
        self.conv1 = ConvBN(in_channels, out_channels, 3, is_input=is_input)
        self.conv2 = ConvBN(out_channels, out_channels, 3)
        self.conv3 = ConvBN(out_channels, out_channels, 3)
        self.shortcut = ConvBN(in_channels, out_channels, 1, is_input=is_input) if first_in_stage else None
        self.act = nn.LeakyReLU(0.1)
        self.pool = nn.MaxPool2d(2) if first_in_stage else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.conv1(x))
        out = self.act(self.conv2(out))
        out = self.conv3(out)
        residual = self.shortcut(x) if self.shortcut is not None else x
        return self.pool(self.act(out + residual))


class ResNet12Features(nn.Module):
    def __init__(self, width: float, blocks_per_stage: int):
        super().__init__()
        stages, in_channels = [], 3
        for i, channels in enumerate(STAGE_CHANNELS):
            out_channels = scaled(channels, width)
            blocks = [
                ResBlock(in_channels if j == 0 else out_channels, out_channels, j == 0, is_input=i == 0 and j == 0)
                for j in range(blocks_per_stage)
            ]
            stages.append(nn.Sequential(*blocks))
            in_channels = out_channels
        self.stages = nn.Sequential(*stages)
        self.out_channels = in_channels

    def forward(self, x):
        return self.stages(x)


def resnet12(*, width: float = 1.0, depth: int | None = None, num_classes: int = 5) -> Network:
    depth = 1 if depth is None else depth
    if not isinstance(depth, int) or depth < 1:
        raise ConfigError(f"model.depth: ResNet12 depth is blocks per stage, an integer >= 1, got {depth}")
    features = ResNet12Features(width, depth)
    return Network(
        features, features.out_channels, num_classes, arch="resnet12", family="resnet12", width=width, depth=depth
    )
