"""Growing a trained network into a wider and deeper one that computes the same function: the
"grow it" baseline of one network for many sizes (Net2Net, Chen, Goodfellow and Shlens, ICLR 2016),
and the identity layers a deeper descendant's extra layers can start as.

- `widen` (Net2WiderNet): every channel of the wider network copies a channel of the narrow one
  (the first ones in place, the rest drawn at random) with its incoming kernels and BatchNorm
  entries; the layer reading a replicated channel splits its weight among the copies. Chen et al.
  split evenly and add noise to break the copies' symmetry (then the function is no longer
  preserved); here the split fractions are random (positive, summing to 1 per channel), which
  preserves the function exactly and still gives the copies different gradients. Replicas have
  identical batch statistics, so the wider network equals the narrow one in training mode too.
- `identity_layers` (Net2DeeperNet): a conv + BatchNorm that maps its input to itself. The conv
  is the identity kernel; the BatchNorm undoes its own normalization for the per-channel mean
  and variance its input is expected to have: that input is ReLU(y) with y the previous unit's
  BatchNorm output, whose batch mean and std are that BatchNorm's shift and scale, so its moments
  follow from a rectified Gaussian. Exact in eval mode; in training mode as close as the batch
  statistics are to those moments. Channels whose previous unit is zero stay zero (so a descendant
  with a zero rest still runs as its narrow network, `learngene.compact`).

Both need a plain chain (`Network.plain_chain`: VGG): one channel space per unit, read by the next.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import torch

from gtl_ray.errors import LearngeneError
from gtl_ray.learngene.units import Unit, find_units, model_name
from gtl_ray.models import Network


def _plain(model: Network, why: str) -> None:
    if not getattr(model, "plain_chain", False):
        raise LearngeneError(f"{model_name(model)}: {why} needs a plain chain of conv+BN units (VGG)")


def _rectified_moments(scale: torch.Tensor, shift: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of ReLU(y) for y ~ N(shift, scale^2), per channel."""
    s, b = scale.abs().double(), shift.double()
    safe = torch.where(s > 0, s, torch.ones_like(s))
    t = b / safe
    pdf = torch.exp(-0.5 * t**2) / math.sqrt(2 * math.pi)
    cdf = 0.5 * (1 + torch.erf(t / math.sqrt(2)))
    mean = torch.where(s > 0, b * cdf + s * pdf, b.clamp(min=0))
    second = torch.where(s > 0, (s**2 + b**2) * cdf + b * s * pdf, b.clamp(min=0) ** 2)
    return mean.float(), (second - mean**2).clamp(min=0).float()


def _output_moments(unit: Unit) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and variance of ReLU(unit's output) in training mode; a channel whose conv
    weights (and bias) are zero outputs its BatchNorm shift alone."""
    weight = unit.conv.weight.detach()
    dead = ~weight.flatten(1).any(1)
    if unit.conv.bias is not None:
        dead &= unit.conv.bias.detach() == 0
    scale, shift = unit.bn.weight.detach(), unit.bn.bias.detach()
    return _rectified_moments(torch.where(dead, torch.zeros_like(scale), scale), shift)


def check_identity_layers(model: Network, names: Iterable[str]) -> None:
    """Raise LearngeneError unless every named unit of `model` can start as an identity map: a
    plain chain, a unit after another, with a BatchNorm and as many outputs as inputs (checks
    shapes only: `model` may live on the meta device)."""
    wanted, units = set(names), find_units(model)
    if not wanted:
        return
    _plain(model, "identity layers")
    unknown = sorted(wanted - set(units))
    if unknown:
        raise LearngeneError(f"{model_name(model)}: no layer {unknown[0]!r} to make an identity map")
    for position, (name, unit) in enumerate(units.items()):
        conv = unit.conv
        if name in wanted and (position == 0 or conv.in_channels != conv.out_channels or unit.bn is None):
            raise LearngeneError(
                f"layer {name!r} of {model_name(model)} cannot start as an identity map: it needs a "
                f"BatchNorm, as many outputs as inputs ({conv.out_channels} vs {conv.in_channels}) "
                "and a layer before it"
            )


def identity_layers(model: Network, names: Iterable[str]) -> None:
    """Make each named unit of `model` an identity map of its input (see the module docstring);
    `check_identity_layers` first."""
    wanted = set(names)
    check_identity_layers(model, wanted)
    moments: tuple[torch.Tensor, torch.Tensor] | None = None
    with torch.no_grad():
        for name, unit in find_units(model).items():
            if name not in wanted:
                moments = _output_moments(unit)
                continue
            conv, bn = unit.conv, unit.bn
            mean, var = moments
            live = (mean != 0) | (var != 0)
            conv.weight.zero_()
            kh, kw = conv.kernel_size
            channels = torch.arange(conv.out_channels)[live]
            conv.weight[channels, channels, kh // 2, kw // 2] = 1.0
            if conv.bias is not None:
                conv.bias.zero_()
            bn.running_mean.copy_(mean)
            bn.running_var.copy_(var)
            bn.weight.copy_(torch.sqrt(var + bn.eps))
            bn.bias.copy_(mean)


def _split(groups: np.ndarray, count: int, rng: np.random.Generator) -> torch.Tensor:
    """Random positive fractions of each channel's outgoing weight, summing to 1 over its copies."""
    draw = rng.uniform(0.5, 1.5, len(groups))
    totals = np.bincount(groups, weights=draw, minlength=count)
    return torch.as_tensor(draw / totals[groups], dtype=torch.float32)


def widen(narrow: Network, target: Network, rng: np.random.Generator) -> Network:
    """Write into `target` (in place; returned) the function `narrow` computes: same-named units
    widened (Net2WiderNet, random split fractions drawn from `rng`), units only `target` has made
    identity maps (Net2DeeperNet), the head's columns split like the last layer's channels (when
    both heads have as many classes). Raises LearngeneError when `target` lacks one of `narrow`'s
    units or is narrower."""
    _plain(narrow, "widening")
    _plain(target, "widening")
    small, large = find_units(narrow), find_units(target)
    missing = [n for n in small if n not in large]
    if missing:
        raise LearngeneError(f"{model_name(target)} has no layer {missing[0]!r} of the network to widen")
    extra: list[str] = []
    copies, fractions = None, None  # the current channel space: source channel and split per target channel
    with torch.no_grad():
        for name, unit in large.items():
            if name not in small:
                extra.append(name)
                continue
            source = small[name]
            out_small, out_large = source.conv.out_channels, unit.conv.out_channels
            if out_large < out_small or (not unit.is_input and unit.conv.in_channels < source.conv.in_channels):
                raise LearngeneError(
                    f"layer {name!r}: {tuple(unit.conv.weight.shape)} is narrower than "
                    f"{tuple(source.conv.weight.shape)}"
                )
            picked = np.concatenate([np.arange(out_small), rng.integers(0, out_small, out_large - out_small)])
            weight = source.conv.weight[torch.as_tensor(picked)]
            if not unit.is_input:
                weight = weight[:, torch.as_tensor(copies)] * fractions.view(1, -1, 1, 1)
            unit.conv.weight.copy_(weight)
            for key in ("weight", "bias", "running_mean", "running_var"):
                getattr(unit.bn, key).copy_(getattr(source.bn, key)[torch.as_tensor(picked)])
            copies, fractions = picked, _split(picked, out_small, rng)
        if target.head.out_features == narrow.head.out_features:
            target.head.weight.copy_(narrow.head.weight[:, torch.as_tensor(copies)] * fractions.view(1, -1))
            target.head.bias.copy_(narrow.head.bias)
    identity_layers(target, extra)
    return target
