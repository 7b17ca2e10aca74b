"""Does a learngene fit the descendant a config asks for, and if it is too wide, which width
would it fit: checked on a throwaway network before anything is trained or Ray starts."""

from __future__ import annotations

import math

from gtl_ray.config import GTLConfig
from gtl_ray.errors import LearngeneError
from gtl_ray.learngene import surgery
from gtl_ray.learngene.gene import GENERIC_FAMILY, Learngene
from gtl_ray.learngene.transplant import implant
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


def check_descendant(
    gene: Learngene, config: GTLConfig, width_fix: str = "evaluation.descendant.width={width:g}"
) -> None:
    """Implant `gene` into a throwaway copy of the config's descendant (with
    `evaluation.descendant.layer_map`); a gene that does not fit raises LearngeneError, which
    names the smallest width it fits when a wider descendant would do (`width_fix`, formatted
    with `width`, says how to ask for it)."""
    shape = config.descendant_shape()
    layer_map = config.evaluation.descendant.layer_map
    model = create_model(shape.arch, width=shape.width, depth=shape.depth, num_classes=config.evaluation.n_way)
    try:
        implant(gene, model, layer_map)
    except LearngeneError as exc:
        width = smallest_width(gene, shape.arch, shape.depth, layer_map)
        fix = (
            ""
            if width is None or width <= shape.width
            else f"; a {shape.arch} of width {width:g} or wider takes it: {width_fix.format(width=width)}"
        )
        raise LearngeneError(f"{exc}{fix}") from None
