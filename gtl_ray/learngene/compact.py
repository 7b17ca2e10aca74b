"""A network whose weights outside its learngene are exactly zero, run as the narrow network it is.

With `evaluation.rest_init: scaled` and `rest_scale: 0` (the shipped configs), every weight of a
gene-carrying network outside the gene's blocks W[:k_out, :k_in] is zero. In a plain chain of
conv+BN, ReLU and max pooling (`Network.plain_chain`: VGG) those channels then output zero, pass
no gradient back (ReLU'(0) = 0) and get none, so with SGD (momentum, weight decay) they stay zero
for the whole fine-tuning or lifetime: the wide network computes and learns exactly what its
narrow sub-network does, at about rho^2 of the work. `compact` returns that sub-network (same
numbers; results differ from the wide network's only by floating-point summation order), or None
where the premise does not hold, checked on the weights themselves; `write_back` copies it home.
"""

from __future__ import annotations

import torch

from gtl_ray.learngene.narrow import shrunk
from gtl_ray.learngene.units import Unit, find_units
from gtl_ray.models import Network


def _zero(value: torch.Tensor) -> bool:
    return value.numel() == 0 or not bool(value.any())


def dead_rest_blocks(model: Network) -> dict[str, tuple[int, int]] | None:
    """{unit: (k_out, k_in)} of the live prefix blocks when everything outside them is exactly
    zero and the network is a plain chain; None otherwise."""
    if not getattr(model, "plain_chain", False):
        return None
    blocks: dict[str, tuple[int, int]] = {}
    live: int | None = None  # the previous unit's live outputs: this unit's live inputs
    for name, unit in find_units(model).items():
        weight = unit.conv.weight.detach()
        k_in = weight.shape[1] if unit.is_input else live
        if k_in is None or not _zero(weight[:, k_in:]):
            return None
        rows = weight[:, :k_in].flatten(1).any(1)
        k_out = int(rows.nonzero().max()) + 1 if bool(rows.any()) else 0
        if k_out in (0, weight.shape[0]) or not _outside_zero(unit, k_out):
            return None  # nothing live, or nothing dead: no narrower network to run
        blocks[name], live = (k_out, k_in), k_out
    return blocks


def _outside_zero(unit: Unit, k_out: int) -> bool:
    """A dead output channel stays dead: no conv bias, BatchNorm shift and running mean zero."""
    if unit.conv.bias is not None and not _zero(unit.conv.bias.detach()[k_out:]):
        return False
    return unit.bn is None or (_zero(unit.bn.bias.detach()[k_out:]) and _zero(unit.bn.running_mean[k_out:]))


def compact(model: Network) -> Network | None:
    """The narrow network holding `model`'s live blocks (and the head's columns on live
    features), on `model`'s device; None where `dead_rest_blocks` finds no dead rest."""
    blocks = dead_rest_blocks(model)
    if blocks is None:
        return None
    with torch.random.fork_rng(devices=[]):  # shrunk's fresh layers draw from the global generator
        narrow = shrunk(model, blocks, blocks[next(reversed(blocks))][0]).to(
            model.head.weight.device, model.head.weight.dtype
        )
    _copy(model, narrow, blocks, into_narrow=True)
    return narrow


def write_back(narrow: Network, model: Network) -> None:
    """Copy what `narrow` (from `compact(model)`) learned into `model`'s live blocks and head; its
    dead rest stays zero, as it would have after the same training."""
    blocks = {name: tuple(unit.conv.weight.shape[:2]) for name, unit in find_units(narrow).items()}
    _copy(model, narrow, blocks, into_narrow=False)


def _copy(model: Network, narrow: Network, blocks: dict[str, tuple[int, int]], into_narrow: bool) -> None:
    wide_units, narrow_units = find_units(model), find_units(narrow)
    pairs: list[tuple[torch.Tensor, torch.Tensor]] = []
    for name, (k_out, k_in) in blocks.items():
        wide, small = wide_units[name], narrow_units[name]
        pairs.append((wide.conv.weight[:k_out, :k_in], small.conv.weight))
        if wide.conv.bias is not None:
            pairs.append((wide.conv.bias[:k_out], small.conv.bias))
        if wide.bn is not None:
            pairs += [
                (getattr(wide.bn, key)[:k_out], getattr(small.bn, key))
                for key in ("weight", "bias", "running_mean", "running_var")
            ]
            pairs.append((wide.bn.num_batches_tracked, small.bn.num_batches_tracked))
    features = narrow.feature_dim
    pairs += [(model.head.weight[:, :features], narrow.head.weight), (model.head.bias, narrow.head.bias)]
    with torch.no_grad():
        for wide_part, narrow_part in pairs:
            (narrow_part if into_narrow else wide_part).copy_(wide_part if into_narrow else narrow_part)
