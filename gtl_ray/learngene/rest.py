"""How the weights outside a learngene's slots start in a network that carries it.

With torch's default initialization, 80% of a descendant is random and feeds the gene's output
channels through the blocks W[:k_out, k_in:]: the gene's circuit is drowned at birth. Two
alternatives keep it legible, for every gene-carrying network alike (members, fitness
descendants, evaluation descendants, and the non-evolved baselines implanted like a gene):

- `scaled`: every conv weight outside the gene's block is multiplied by `scale`;
- `zero_cross`: the blocks that feed gene channels from non-gene channels are zeroed, so the
  gene's channels compute exactly what the narrow gene network computes.
"""

from __future__ import annotations

from typing import Mapping

import torch
from torch import nn

REST_INITS = ("default", "scaled", "zero_cross")


def shape_rest(
    convs: Mapping[str, nn.Conv2d], blocks: Mapping[str, tuple[int, int]], mode: str, scale: float = 0.1
) -> None:
    """Apply `mode` to each conv of `convs` whose gene block (k_out, k_in) is in `blocks`."""
    if mode not in REST_INITS:
        raise ValueError(f"rest_init must be one of {REST_INITS}, got {mode!r}")
    if mode == "default":
        return
    with torch.no_grad():
        for name, (k_out, k_in) in blocks.items():
            weight = convs[name].weight
            if mode == "zero_cross":
                weight[:k_out, k_in:] = 0.0
                continue
            inside = weight[:k_out, :k_in].clone()
            weight.mul_(scale)
            weight[:k_out, :k_in] = inside
