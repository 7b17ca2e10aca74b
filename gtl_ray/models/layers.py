"""The building block every ancestry network is made of: a conv + BatchNorm unit.

Learngene surgery works on these units only: a unit's conv kernel block W[:k_out, :k_in] and the
first k_out BatchNorm entries form its share of the learngene.
"""

from __future__ import annotations

import torch
from torch import nn


class ConvBN(nn.Module):
    """conv (no bias) followed by BatchNorm; `is_input` marks the unit that reads the image, whose
    input channels (RGB) are always kept whole in a learngene."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, is_input: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.is_input = is_input

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class Network(nn.Module):
    """A feature extractor and a separate linear classifier head (so descendants can swap heads).

    `embed(x)` gives the pooled feature vector; `forward(x)` the class logits. `plain_chain`
    declares that `features` is a chain of conv+BN units, ReLUs and max pools, each unit reading
    the one before: a channel whose weights are all zero then outputs zero and gets no gradient
    (ReLU'(0) = 0), which `learngene.compact` relies on. Residual networks (LeakyReLU, shortcuts)
    are not.
    """

    def __init__(
        self,
        features: nn.Module,
        feature_dim: int,
        num_classes: int,
        *,
        arch: str,
        family: str,
        width: float,
        depth: int,
        plain_chain: bool = False,
    ):
        super().__init__()
        self.plain_chain = plain_chain
        self.features = features
        self.head = nn.Linear(feature_dim, num_classes)
        self.feature_dim = feature_dim
        self.arch = arch
        self.family = family
        self.width = width
        self.depth = depth

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(nn.functional.adaptive_avg_pool2d(self.features(x), 1), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))

    def reset_head(self, num_classes: int) -> None:
        """Replace the classifier with a fresh one for `num_classes` classes (same device)."""
        device = self.head.weight.device
        self.head = nn.Linear(self.feature_dim, num_classes).to(device)

    def units(self) -> dict[str, ConvBN]:
        """Every conv+BN unit by module name, in forward order."""
        return {name: m for name, m in self.named_modules() if isinstance(m, ConvBN)}

    def backbone_parameter_count(self) -> int:
        """Trainable parameters of the feature extractor (the denominator of a learngene's share)."""
        return sum(p.numel() for p in self.features.parameters())


def scaled(channels: int, width: float) -> int:
    return max(1, int(round(channels * width)))
