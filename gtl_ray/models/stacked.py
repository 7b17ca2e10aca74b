"""K networks of one shape run as one network of grouped convolutions, to train K members at once.

Every Conv2d becomes one convolution with K times its groups, every BatchNorm2d one over K times
its channels and the head K heads: member k owns channel block k of every layer. A batch laid out
with the K members' images side by side in the channel dimension (B, K x C, H, W) then passes
through each member's own weights only, and BatchNorm's batch statistics and running estimates
stay per member (they are per channel). The arithmetic is each member's own, re-arranged: trained
alone, a member gets the same numbers up to the summation order of the convolution kernels (float
tolerance, not bit for bit).

Only the built-in families are stacked (`stackable`): their features combine a channel with itself
alone outside convolutions and BatchNorm (ReLU, LeakyReLU, pooling, residual additions), which is
what makes the side-by-side layout sound.
"""

from __future__ import annotations

import copy
from typing import Sequence

import torch
from torch import nn

from gtl_ray.models.layers import Network

CHANNELWISE_FAMILIES = ("vgg", "resnet12")  #: families whose features mix channels only in conv layers
CHANNELWISE_LEAVES = (nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.LeakyReLU, nn.MaxPool2d, nn.AvgPool2d, nn.Identity)
BN_STATE = ("weight", "bias", "running_mean", "running_var")


class StackedHeads(nn.Module):
    """K linear heads, each reading its member's block of the pooled features (B, K x F) and
    giving logits (B, K, classes)."""

    def __init__(self, heads: Sequence[nn.Linear]):
        super().__init__()
        self.weight = nn.Parameter(torch.stack([h.weight.detach() for h in heads]))
        self.bias = nn.Parameter(torch.stack([h.bias.detach() for h in heads]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = x.view(x.shape[0], self.weight.shape[0], -1)
        return torch.einsum("bkf,kof->bko", parts, self.weight) + self.bias


def signature(model: nn.Module) -> tuple:
    """What must agree for networks to be stacked: class, and every tensor's name and shape."""
    return (type(model).__name__, tuple((name, tuple(t.shape)) for name, t in model.state_dict().items()))


def stackable(model: nn.Module) -> bool:
    """A built-in network whose every leaf layer acts on each channel block apart (`CHANNELWISE_LEAVES`)."""
    if not isinstance(model, Network) or model.family not in CHANNELWISE_FAMILIES:
        return False
    leaves = [m for m in model.features.modules() if not list(m.children())]
    return all(isinstance(m, CHANNELWISE_LEAVES) for m in leaves)


def stack(networks: Sequence[Network]) -> Network:
    """One network computing all of `networks` (same `signature`, each `stackable`) side by
    side, on the first one's device, holding copies of their weights and running statistics;
    its forward takes (B, K x C, H, W) and returns logits (B, K, classes)."""
    first = networks[0]
    if not all(stackable(n) and signature(n) == signature(first) for n in networks):
        raise ValueError("only stackable networks of one signature can be stacked")
    k = len(networks)
    stacked = copy.deepcopy(first)
    parts = [dict(n.named_modules()) for n in networks]
    for name, module in list(stacked.named_modules()):
        if isinstance(module, nn.Conv2d):
            wide: nn.Module = _grouped_conv(module, k)
        elif isinstance(module, nn.BatchNorm2d):
            wide = _wide_batch_norm(module, k)
        else:
            continue
        wide = wide.to_empty(device=first.head.weight.device)  # filled below: no initializer draws
        _replace(stacked, name, wide)
        with torch.no_grad():
            for key, value in _state(wide).items():
                value.copy_(torch.cat([_state(p[name])[key] for p in parts]))
            _copy_counter(module, wide)
    stacked.head = StackedHeads([n.head for n in networks])
    return stacked


def unstack(stacked: Network, networks: Sequence[Network]) -> None:
    """Copy what `stacked` (from `stack(networks)`) holds back into each of `networks`."""
    parts = [dict(n.named_modules()) for n in networks]
    with torch.no_grad():
        for name, module in stacked.named_modules():
            if not isinstance(module, (nn.Conv2d, nn.BatchNorm2d)):
                continue
            for key, value in _state(module).items():
                for part, block in zip(parts, value.chunk(len(networks))):
                    _state(part[name])[key].copy_(block)
            for part in parts:
                _copy_counter(module, part[name])
        for k, network in enumerate(networks):
            network.head.weight.copy_(stacked.head.weight[k])
            network.head.bias.copy_(stacked.head.bias[k])


def side_by_side(batches: torch.Tensor) -> torch.Tensor:
    """(K, B, C, H, W) member batches -> (B, K x C, H, W), the stacked network's input."""
    return batches.transpose(0, 1).flatten(1, 2)


def _state(module: nn.Module) -> dict[str, torch.Tensor]:
    """A conv's or BatchNorm's per-channel tensors (stacked along dim 0)."""
    keys = BN_STATE if isinstance(module, nn.BatchNorm2d) else ("weight", "bias")
    return {key: getattr(module, key) for key in keys if getattr(module, key, None) is not None}


def _copy_counter(source: nn.Module, target: nn.Module) -> None:
    """BatchNorm's step count: one for all members, who take their steps together."""
    if getattr(source, "num_batches_tracked", None) is not None:
        target.num_batches_tracked.copy_(source.num_batches_tracked)


def _grouped_conv(conv: nn.Conv2d, k: int) -> nn.Conv2d:
    return nn.Conv2d(
        conv.in_channels * k,
        conv.out_channels * k,
        conv.kernel_size,
        conv.stride,
        conv.padding,
        conv.dilation,
        groups=conv.groups * k,
        bias=conv.bias is not None,
        padding_mode=conv.padding_mode,
        device="meta",
    )


def _wide_batch_norm(bn: nn.BatchNorm2d, k: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(
        bn.num_features * k,
        eps=bn.eps,
        momentum=bn.momentum,
        affine=bn.affine,
        track_running_stats=bn.track_running_stats,
        device="meta",
    )


def _replace(model: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, attr = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, attr, module)
