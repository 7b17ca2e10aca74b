"""Tensor names inside a learngene: `UNIT.conv.weight` and, for a unit with BatchNorm,
`UNIT.bn.<BN_KEYS>`. Shared by the file format (`header`) and the surgery on networks, and free
of torch so that reading a gene never imports it."""

from __future__ import annotations

from typing import Mapping

BN_KEYS = ("weight", "bias", "running_mean", "running_var")


def gene_units(tensors: Mapping[str, object]) -> list[str]:
    """Unit names held by a learngene, in insertion (forward) order."""
    return [k[: -len(".conv.weight")] for k in tensors if k.endswith(".conv.weight")]
