"""Weight transfer from a pre-trained network into a descendant of the same shape: every
feature-extractor weight (`full`, 100% of the backbone), or the weights a global magnitude pruning
keeps (`sparse`)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gtl_ray.errors import LearngeneError
from gtl_ray.learngene.names import BN_KEYS
from gtl_ray.learngene.units import Unit, backbone_parameter_count, find_units, model_name
from gtl_ray.models import Network


def copy_backbone(source: Network, target: Network) -> None:
    """Copy `source.features` into `target.features`; every layer must have the same shape."""
    src = source.features.state_dict()
    dst = target.features.state_dict()
    for key, value in dst.items():
        if key not in src or src[key].shape != value.shape:
            got = tuple(src[key].shape) if key in src else "no such layer"
            raise LearngeneError(
                f"full transfer: layer {key!r} has shape {got} in the pre-trained network and {tuple(value.shape)} "
                "in the descendant"
            )
    target.features.load_state_dict(src)


@dataclass
class SparseWeights:
    """What a magnitude-pruned network transfers, per unit (conv + BatchNorm, `find_units`).

    Args:
        weights: conv kernels with the pruned entries zeroed.
        masks: True where a conv kernel entry is kept.
        whole: per unit, the tensors kept whole: conv bias and BatchNorm entries (running
            statistics included), keyed `conv.bias`, `bn.weight`, ...
        kept: parameters transferred (kept kernel entries + conv biases + BatchNorm affine).
        total: the source backbone's parameters (the denominator of the share).
    """

    weights: dict[str, torch.Tensor]
    masks: dict[str, torch.Tensor]
    whole: dict[str, dict[str, torch.Tensor]]
    kept: int
    total: int

    @property
    def share(self) -> float:
        return self.kept / self.total

    def copy_into(self, target: nn.Module) -> None:
        """Write the kept weights into `target` (same shape as the source); every pruned entry
        keeps `target`'s own value."""
        units = find_units(target)
        with torch.no_grad():
            for name, weight in self.weights.items():
                conv = units[name].conv.weight if name in units else None
                if conv is None or conv.shape != weight.shape:
                    raise LearngeneError(
                        f"sparse transfer: layer {name!r} has kernel {tuple(weight.shape)} in the pruned network and "
                        f"{tuple(conv.shape) if conv is not None else 'no such layer'} in {model_name(target)}"
                    )
                conv.copy_(torch.where(self.masks[name], weight, conv))
                for key, value in self.whole[name].items():
                    module, _, attr = key.partition(".")
                    getattr(getattr(units[name], module), attr).copy_(value)


def magnitude_prune(source: nn.Module, keep: int) -> SparseWeights:
    """Global unstructured magnitude pruning of `source`'s backbone to exactly `keep` parameters:
    conv biases and BatchNorm entries are kept whole (they scale and shift channels, they are not
    connections) and count toward `keep`; the rest of it goes to the conv kernel entries of largest
    |w| over all layers together (exactly that many, whatever the ties)."""
    units = find_units(source)
    whole = {name: _whole(unit) for name, unit in units.items()}
    whole_params = sum(
        v.numel() for parts in whole.values() for k, v in parts.items() if k in ("conv.bias", "bn.weight", "bn.bias")
    )
    kernels = {name: unit.conv.weight.detach().clone() for name, unit in units.items()}
    entries = sum(w.numel() for w in kernels.values())
    budget = keep - whole_params
    if not 0 <= budget <= entries:
        raise LearngeneError(
            f"sparse transfer: cannot keep {keep} parameters of {model_name(source)}: its biases and BatchNorm hold "
            f"{whole_params}, its kernels {entries}"
        )
    flat = torch.cat([w.abs().flatten() for w in kernels.values()])
    mask = torch.zeros(flat.numel(), dtype=torch.bool)
    mask[torch.topk(flat, budget, sorted=False).indices] = True
    masks, start = {}, 0
    for name, w in kernels.items():
        masks[name] = mask[start : start + w.numel()].view_as(w)
        start += w.numel()
    weights = {name: w * masks[name] for name, w in kernels.items()}
    return SparseWeights(weights, masks, whole, keep, backbone_parameter_count(source))


def _whole(unit: Unit) -> dict[str, torch.Tensor]:
    parts = {"conv.bias": unit.conv.bias.detach().clone()} if unit.has_bias else {}
    if unit.bn is not None:
        parts.update({f"bn.{key}": getattr(unit.bn, key).detach().clone() for key in BN_KEYS})
    return parts
