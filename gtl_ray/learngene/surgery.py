"""Learngene surgery: which channel slots a learngene holds, cutting them out of a network and
implanting them into another (same, wider or deeper).

For every conv+BN unit the learngene keeps the block W[:k_out, :k_in] with k = ceil(rho * C)
(the image input's RGB channels are kept whole) and the first k_out BatchNorm entries. Because
every unit keeps a channel *prefix*, the kept outputs of one layer are exactly the kept inputs of
the next: the learngene is a narrow sub-network inside the wide one.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from gtl_ray.errors import LearngeneError
from gtl_ray.models.layers import ConvBN, Network

BN_KEYS = ("weight", "bias", "running_mean", "running_var")


def kept(channels: int, rho: float) -> int:
    return min(channels, max(1, math.ceil(rho * channels - 1e-9)))


def unit_block(unit: ConvBN, rho: float) -> tuple[int, int]:
    """(k_out, k_in) of the block a learngene keeps from `unit` at channel fraction `rho`."""
    out_channels, in_channels = unit.conv.weight.shape[:2]
    return kept(out_channels, rho), in_channels if unit.is_input else kept(in_channels, rho)


def gene_parameter_count(model: Network, rho: float) -> int:
    """Parameters (conv weights + BN affine) a learngene at fraction `rho` holds."""
    total = 0
    for unit in model.units().values():
        k_out, k_in = unit_block(unit, rho)
        kh, kw = unit.conv.weight.shape[2:]
        total += k_out * k_in * kh * kw + 2 * k_out
    return total


def solve_rho(model: Network, share: float) -> float:
    """The channel fraction whose learngene holds the share of backbone parameters closest to
    `share` (solved, not hard-coded: the share grows roughly with rho squared)."""
    if not 0.0 < share < 1.0:
        raise LearngeneError(f"learngene.share must be in (0, 1), got {share}")
    total = model.backbone_parameter_count()
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if gene_parameter_count(model, mid) / total < share:
            lo = mid
        else:
            hi = mid
    # `hi` is the smallest fraction at or above the target; its step below may be closer.
    candidates = [hi, max(lo - 1e-9, 1e-9)]
    return min(candidates, key=lambda r: abs(gene_parameter_count(model, r) / total - share))


def extract_tensors(model: Network, rho: float) -> dict[str, np.ndarray]:
    """Copies of every unit's kept block, keyed `{unit}.conv.weight` / `{unit}.bn.{key}`."""
    tensors: dict[str, np.ndarray] = {}
    with torch.no_grad():
        for name, unit in model.units().items():
            k_out, k_in = unit_block(unit, rho)
            tensors[f"{name}.conv.weight"] = unit.conv.weight[:k_out, :k_in].detach().cpu().numpy().copy()
            for key in BN_KEYS:
                tensors[f"{name}.bn.{key}"] = getattr(unit.bn, key)[:k_out].detach().cpu().numpy().copy()
    return tensors


def gene_units(tensors: dict[str, np.ndarray]) -> list[str]:
    """Unit names held by a learngene, in insertion (forward) order."""
    return [k[: -len(".conv.weight")] for k in tensors if k.endswith(".conv.weight")]


def implant_tensors(tensors: dict[str, np.ndarray], model: Network, layer_map: dict[str, str] | None) -> list[str]:
    """Write the learngene's blocks into `model`'s matching slots; returns the target units filled.

    `layer_map` maps target unit -> learngene unit; by default every learngene unit goes to the
    target unit of the same name (which covers wider networks and the deeper layouts of each
    family, whose extra units then keep their fresh initialization).
    """
    units = model.units()
    sources = gene_units(tensors)
    if layer_map is None:
        missing = [u for u in sources if u not in units]
        if missing:
            raise LearngeneError(
                f"learngene layer {missing[0]!r} has no unit of that name in the target {model.arch}; "
                f"pass layer_map={{target_unit: learngene_unit}}. Target units: {', '.join(units)}"
            )
        layer_map = {u: u for u in sources}
    for target, source in layer_map.items():
        if target not in units:
            raise LearngeneError(f"layer_map: unknown target layer {target!r} in {model.arch}; units: {', '.join(units)}")
        if source not in sources:
            raise LearngeneError(f"layer_map: learngene has no layer {source!r}; it holds: {', '.join(sources)}")
    for target, source in layer_map.items():  # check every layer before writing any
        block, shape = tensors[f"{source}.conv.weight"].shape, tuple(units[target].conv.weight.shape)
        if block[2:] != shape[2:] or block[0] > shape[0] or block[1] > shape[1]:
            raise LearngeneError(
                f"layer {target!r}: learngene block {tuple(block)} (from {source!r}) does not fit "
                f"the target kernel {shape}; the target must be at least as wide with the same kernel size"
            )
    with torch.no_grad():
        for target, source in layer_map.items():
            unit = units[target]
            block = tensors[f"{source}.conv.weight"]
            k_out, k_in = block.shape[:2]
            weight = unit.conv.weight
            # torch.tensor copies: genes read from the object store are read-only views.
            weight[:k_out, :k_in].copy_(torch.tensor(block, dtype=weight.dtype))
            for key in BN_KEYS:
                target_param = getattr(unit.bn, key)
                target_param[:k_out].copy_(torch.tensor(tensors[f"{source}.bn.{key}"], dtype=target_param.dtype))
    return list(layer_map)
