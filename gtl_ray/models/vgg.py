"""VGG with BatchNorm, CIFAR-style: conv stages, global average pooling, one linear head.

`depth` picks the classic layouts (11, 13, 16, 19 conv/linear layers); the ancestry default is
VGG11. Works at 32x32 (1x1 maps before pooling) and 84x84 (2x2).
"""

from __future__ import annotations

from torch import nn

from gtl_ray.errors import ConfigError
from gtl_ray.models.layers import ConvBN, Network, scaled

STAGE_CHANNELS = (64, 128, 256, 512, 512)
LAYOUTS = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}


class VGGStage(nn.Sequential):
    def __init__(self, in_channels: int, out_channels: int, convs: int, is_input: bool):
        layers: list[nn.Module] = []
        for i in range(convs):
            layers += [
                ConvBN(in_channels if i == 0 else out_channels, out_channels, 3, is_input=is_input and i == 0),
                nn.ReLU(inplace=True),
            ]
        layers.append(nn.MaxPool2d(2))
        super().__init__(*layers)


class VGGFeatures(nn.Module):
    def __init__(self, width: float, layout: tuple[int, ...]):
        super().__init__()
        stages, in_channels = [], 3
        for i, (channels, convs) in enumerate(zip(STAGE_CHANNELS, layout)):
            out_channels = scaled(channels, width)
            stages.append(VGGStage(in_channels, out_channels, convs, is_input=i == 0))
            in_channels = out_channels
        self.stages = nn.Sequential(*stages)
        self.out_channels = in_channels

    def forward(self, x):
        return self.stages(x)


def vgg(*, width: float = 1.0, depth: int | None = None, num_classes: int = 5) -> Network:
    depth = 11 if depth is None else depth
    if depth not in LAYOUTS:
        raise ConfigError(f"model.depth: VGG depth must be one of {sorted(LAYOUTS)}, got {depth}")
    features = VGGFeatures(width, LAYOUTS[depth])
    return Network(
        features,
        features.out_channels,
        num_classes,
        arch="vgg11" if depth == 11 else f"vgg{depth}",
        family="vgg",
        width=width,
        depth=depth,
        plain_chain=True,
    )
