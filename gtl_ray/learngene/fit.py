"""Which width of a registered network a learngene fits (the pre-flight names it when a gene is
too wide for the descendant asked for: `gtl_ray.preflight.genes`)."""

from __future__ import annotations

import math

from gtl_ray.errors import LearngeneError
from gtl_ray.learngene import surgery
from gtl_ray.learngene.gene import GENERIC_FAMILY, Learngene
from gtl_ray.learngene.units import find_units
from gtl_ray.models import create_model

WIDTH_STEP = 0.01  #: suggested widths are multiples of this


def smallest_width(
    gene: Learngene, arch: str, depth: int | None, layer_map: dict[str, str] | None = None
) -> float | None:
    """The narrowest width (a multiple of WIDTH_STEP) of the registered `arch` whose every slot
    holds its gene block; None when no width helps (another kernel size, family or depth)."""
    reference = create_model(arch, width=1.0, depth=depth)
    if layer_map is None and gene.family not in (GENERIC_FAMILY, reference.family):
        return None
    units = find_units(reference)
    try:
        mapping = layer_map if layer_map is not None else surgery.infer_layer_map(gene.tensors, units)
        # A layer of C channels at width w has round(C * w): it holds k channels once C * w > k - 1/2.
        need = max(
            max(
                (block[0] - 0.5) / unit.conv.weight.shape[0],
                0 if unit.is_input else (block[1] - 0.5) / unit.conv.weight.shape[1],
            )
            for target, source in mapping.items()
            for unit, block in [(units[target], gene.tensors[f"{source}.conv.weight"].shape)]
        )
    except (LearngeneError, KeyError):  # no map to be had, or one naming layers neither side has
        return None
    width = max(WIDTH_STEP, math.floor(need / WIDTH_STEP) * WIDTH_STEP)
    for _ in range(20):  # round() at exactly .5 goes to even: a step or two more at most
        try:
            surgery.gene_slots(gene.tensors, create_model(arch, width=width, depth=depth), layer_map)
            return round(width, 6)
        except LearngeneError:
            width += WIDTH_STEP
    return None
