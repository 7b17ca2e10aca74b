"""Learngene surgery: which channel slots a learngene holds, cutting them out of a network and
implanting them into another (same, wider, deeper, or another CNN).

For every unit (conv + its BatchNorm, see `units.py`) the learngene keeps the block
W[:k_out, :k_in] with k = ceil(rho * C) (a conv reading the image keeps all its input channels),
the first k_out conv-bias entries if the conv has a bias, and the first k_out BatchNorm entries.
Because every unit keeps a channel *prefix*, the kept outputs of one layer are exactly the kept
inputs of the next: the learngene is a narrow sub-network inside the wide one.

Tensors are keyed `{unit}.conv.weight`, `{unit}.conv.bias` (only for convs with a bias) and
`{unit}.bn.{weight,bias,running_mean,running_var}` (only for units with a BatchNorm).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from gtl_ray.errors import LearngeneError
from gtl_ray.learngene.names import BN_KEYS, gene_units
from gtl_ray.learngene.units import Unit, backbone_parameter_count, find_units, model_name

__all__ = [
    "LAYER_MAP_HINT",
    "Channels",
    "Slot",
    "extract_tensors",
    "gene_parameter_count",
    "gene_slots",
    "implant_tensors",
    "infer_layer_map",
    "kept",
    "solve_rho",
    "unit_block",
]


def kept(channels: int, rho: float) -> int:
    return min(channels, max(1, math.ceil(rho * channels - 1e-9)))


def unit_block(unit: Unit, rho: float) -> tuple[int, int]:
    """(k_out, k_in) of the block a learngene keeps from `unit` at channel fraction `rho`."""
    out_channels, in_channels = unit.conv.weight.shape[:2]
    return kept(out_channels, rho), in_channels if unit.is_input else kept(in_channels, rho)


def gene_parameter_count(model: nn.Module, rho: float, units: dict[str, Unit] | None = None) -> int:
    """Parameters (conv weights and biases, BN affine) a learngene at fraction `rho` holds."""
    total = 0
    for unit in (units or find_units(model)).values():
        k_out, k_in = unit_block(unit, rho)
        kh, kw = unit.kernel
        total += k_out * k_in * kh * kw + k_out * (int(unit.has_bias) + 2 * int(unit.bn is not None))
    return total


def solve_rho(model: nn.Module, share: float) -> float:
    """The channel fraction whose learngene holds the share of backbone parameters closest to
    `share` (solved, not hard-coded: the share grows roughly with rho squared)."""
    if not 0.0 < share < 1.0:
        raise LearngeneError(f"learngene.share must be in (0, 1), got {share}")
    units = find_units(model)
    total = backbone_parameter_count(model)

    def share_at(rho: float) -> float:
        return gene_parameter_count(model, rho, units) / total

    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if share_at(mid) < share:
            lo = mid
        else:
            hi = mid
    # `hi` is the smallest fraction at or above the target; its step below may be closer.
    return min([hi, max(lo - 1e-9, 1e-9)], key=lambda r: abs(share_at(r) - share))


Channels = Mapping[str, tuple[Sequence[int], Sequence[int]]]  #: unit -> (output channels, input channels)


def _numpy(value: torch.Tensor, rows: slice | torch.Tensor) -> np.ndarray:
    return value[rows].detach().cpu().numpy().copy()


def extract_tensors(model: nn.Module, rho: float, channels: Channels | None = None) -> dict[str, np.ndarray]:
    """Copies of every unit's kept block, keyed as in the module docstring, in unit order.

    `channels` picks other channels than the prefix for every unit (the same block sizes, in the
    order given): `W[out][:, in]` and the BatchNorm / bias entries `[out]`. The caller keeps
    them chained (see `learngene.channels`)."""
    tensors: dict[str, np.ndarray] = {}
    with torch.no_grad():
        for name, unit in find_units(model).items():
            k_out, k_in = unit_block(unit, rho)
            rows, cols = (
                (slice(k_out), slice(k_in))
                if channels is None
                else (torch.as_tensor(c, dtype=torch.long) for c in channels[name])
            )
            if channels is not None and (len(rows), len(cols)) != (k_out, k_in):
                raise LearngeneError(
                    f"layer {name!r}: {len(rows)} output / {len(cols)} input channels picked, the block at "
                    f"rho={rho:.4f} is {k_out} x {k_in}"
                )
            tensors[f"{name}.conv.weight"] = _numpy(unit.conv.weight[:, cols], rows)
            if unit.has_bias:
                tensors[f"{name}.conv.bias"] = _numpy(unit.conv.bias, rows)
            if unit.bn is not None:
                for key in BN_KEYS:
                    tensors[f"{name}.bn.{key}"] = _numpy(getattr(unit.bn, key), rows)
    return tensors


#: how to place gene layers by hand, in every form a user has: the CLI, a config, Python
LAYER_MAP_HINT = (
    "give a layer map: --layer-map unit=gene_unit,... (gtl-ray evaluate / descend), "
    "evaluation.descendant.layer_map (config) or implant(..., layer_map={unit: gene_unit}) (Python)"
)


def units_listing(tensors: dict[str, np.ndarray], units: Mapping[str, Unit]) -> str:
    """Both sides of a layer map, for an error message: the target's units and the gene's."""
    return f"units: {', '.join(units)}; gene units: {', '.join(gene_units(tensors))}"


def _kernel_name(kernel: tuple[int, ...]) -> str:
    return "x".join(map(str, kernel))


def infer_layer_map(
    tensors: dict[str, np.ndarray], units: dict[str, Unit], target: str = "the target"
) -> dict[str, str]:
    """target unit -> learngene unit when no layer map is given.

    Same names when the target has a unit of every learngene unit's name (the same network, or a
    wider or deeper one of its family). Otherwise, another architecture: the n-th learngene layer
    with an h x w kernel goes to the n-th target layer with an h x w kernel, both in forward
    (registration) order; target layers left over keep their initialization. Refused when a
    learngene layer has no target layer left of its kernel size, or when the learngene's first
    layer (which reads the image) would land on a layer that does not.
    """
    sources = gene_units(tensors)
    if all(s in units for s in sources):
        return {s: s for s in sources}
    free: dict[tuple[int, ...], list[str]] = defaultdict(list)
    for name, unit in units.items():
        free[unit.kernel].append(name)
    mapping: dict[str, str] = {}
    for source in sources:
        kernel = tuple(tensors[f"{source}.conv.weight"].shape[2:])
        if not free[kernel]:
            counts = sum(1 for s in sources if tuple(tensors[f"{s}.conv.weight"].shape[2:]) == kernel)
            raise LearngeneError(
                f"cannot infer a layer map: learngene layer {source!r} ({_kernel_name(kernel)} kernel) has no "
                f"{_kernel_name(kernel)} layer left in {target} (the learngene has {counts}, the target "
                f"{sum(1 for u in units.values() if u.kernel == kernel)}); {LAYER_MAP_HINT}; "
                + units_listing(tensors, units)
            )
        mapping[free[kernel].pop(0)] = source
    first_target = next(t for t, s in mapping.items() if s == sources[0])
    if not units[first_target].is_input:
        raise LearngeneError(
            f"cannot infer a layer map: the learngene's first layer {sources[0]!r} reads the image but would go to "
            f"layer {first_target!r} of {target}, which does not; {LAYER_MAP_HINT}; {units_listing(tensors, units)}"
        )
    return mapping


@dataclass(frozen=True)
class Slot:
    """Where one learngene unit goes: W[:k_out, :k_in] (and the first k_out bias / BatchNorm
    entries) of the target unit; everything outside is not the learngene's."""

    target: str
    source: str
    unit: Unit
    k_out: int
    k_in: int


def gene_slots(tensors: dict[str, np.ndarray], model: nn.Module, layer_map: dict[str, str] | None = None) -> list[Slot]:
    """The target slots of every learngene unit, checked (names, kernel sizes, widths, BatchNorm
    and bias) before anything is written. `layer_map` maps target unit -> learngene unit and may
    name a subset; None infers it (`infer_layer_map`)."""
    units, target = find_units(model), model_name(model)
    sources = gene_units(tensors)
    if layer_map is None:
        layer_map = infer_layer_map(tensors, units, target)
    for name, source in layer_map.items():
        if name not in units:
            raise LearngeneError(
                f"layer map: unknown target layer {name!r} in {target}; {units_listing(tensors, units)}"
            )
        if source not in sources:
            raise LearngeneError(f"layer map: the learngene has no layer {source!r}; {units_listing(tensors, units)}")
    slots = []
    for name, source in layer_map.items():
        unit, block = units[name], tensors[f"{source}.conv.weight"].shape
        shape = tuple(unit.conv.weight.shape)
        if block[2:] != shape[2:] or block[0] > shape[0] or block[1] > shape[1]:
            raise LearngeneError(
                f"layer {name!r}: learngene block {tuple(block)} (from {source!r}) does not fit "
                f"the target kernel {shape}; the target must be at least as wide with the same kernel size"
            )
        if f"{source}.bn.weight" in tensors and unit.bn is None:
            raise LearngeneError(
                f"layer {name!r} of {target}: the learngene's {source!r} has BatchNorm entries but this conv (kernel "
                f"{shape}) is followed by no BatchNorm2d of {shape[0]} features"
            )
        if f"{source}.conv.bias" in tensors and not unit.has_bias:
            raise LearngeneError(
                f"layer {name!r} of {target}: the learngene's {source!r} has a conv bias but this conv (kernel "
                f"{shape}) has none"
            )
        slots.append(Slot(name, source, unit, int(block[0]), int(block[1])))
    return slots


def _copy(target: torch.Tensor, value: np.ndarray) -> None:
    # torch.tensor copies: genes read from the object store are read-only views.
    target[: value.shape[0]].copy_(torch.tensor(value, dtype=target.dtype))


def implant_tensors(tensors: dict[str, np.ndarray], model: nn.Module, layer_map: dict[str, str] | None) -> list[Slot]:
    """Write the learngene's blocks into `model`'s slots (`gene_slots`); returns the slots
    filled. Everything outside the slots keeps its value."""
    slots = gene_slots(tensors, model, layer_map)
    with torch.no_grad():
        for slot in slots:
            unit, source = slot.unit, slot.source
            _copy(unit.conv.weight[:, : slot.k_in], tensors[f"{source}.conv.weight"])
            if f"{source}.conv.bias" in tensors:
                _copy(unit.conv.bias, tensors[f"{source}.conv.bias"])
            if f"{source}.bn.weight" in tensors:
                for key in BN_KEYS:
                    _copy(getattr(unit.bn, key), tensors[f"{source}.bn.{key}"])
    return slots
