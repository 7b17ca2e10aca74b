"""The learngene's circuit as a network of its own: every unit of a network shrunk to the block a
learngene keeps of it at channel fraction rho.

Building the narrow network from the wide one (rather than `create_model(width=width * rho)`)
makes its shape exactly the gene's: a learngene keeps k = ceil(rho * C) channels of every layer,
which a width multiplier's rounding (round(C * width)) does not reproduce. Its weights, cut at
rho = 1, are therefore a learngene of the wide network's layout (the `narrow` and `distilled`
baselines implant them like one).
"""

from __future__ import annotations

import copy

from torch import nn

from gtl_ray.learngene.surgery import kept, unit_block
from gtl_ray.learngene.units import find_units
from gtl_ray.models import Network


def _replace(model: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, attr = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, attr, module)


def _conv(conv: nn.Conv2d, k_in: int, k_out: int) -> nn.Conv2d:
    return nn.Conv2d(
        k_in,
        k_out,
        conv.kernel_size,
        conv.stride,
        conv.padding,
        conv.dilation,
        bias=conv.bias is not None,
        padding_mode=conv.padding_mode,
    )


def _bn(bn: nn.BatchNorm2d, k_out: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(
        k_out, eps=bn.eps, momentum=bn.momentum, affine=bn.affine, track_running_stats=bn.track_running_stats
    )


def narrow_network(model: Network, rho: float) -> Network:
    """A copy of `model` whose every unit is its learngene block at `rho` (k_out outputs, k_in
    inputs; the layer reading the image keeps its 3 inputs), freshly initialized by torch's
    initializers for those sizes (draws from torch's global generator: seed the call), with a
    fresh head on the kept features. Residual additions still agree: layers of equal width keep
    equally many channels."""
    return shrunk(
        model, {name: unit_block(unit, rho) for name, unit in find_units(model).items()}, kept(model.feature_dim, rho)
    )


def shrunk(model: Network, blocks: dict[str, tuple[int, int]], feature_dim: int) -> Network:
    """A copy of `model` with every unit cut to its (k_out, k_in) block of `blocks`, fresh
    layers of those sizes and a fresh head on `feature_dim` features (draws from torch's global
    generator)."""
    narrow = copy.deepcopy(model)
    names = {id(module): name for name, module in narrow.named_modules()}
    for name, unit in find_units(narrow).items():
        k_out, k_in = blocks[name]
        _replace(narrow, names[id(unit.conv)], _conv(unit.conv, k_in, k_out))
        if unit.bn is not None:
            _replace(narrow, names[id(unit.bn)], _bn(unit.bn, k_out))
    narrow.feature_dim = feature_dim
    narrow.head = nn.Linear(narrow.feature_dim, model.head.out_features)
    return narrow
