"""Learngenes: extract, implant, save and load the evolved core of a network (any CNN).

`Learngene` (numpy) is imported at once; the names that work on torch networks are imported on
first use, so that code that only reads, averages and writes genes (the learngene pool,
`gtl-ray inspect`) never imports torch.
"""

from typing import Any

from gtl_ray.learngene.gene import Learngene, tensors_checksum

__all__ = ["Learngene", "extract_learngene", "find_units", "gene_info", "implant", "tensors_checksum"]


def __getattr__(name: str) -> Any:
    if name in ("extract_learngene", "implant"):
        from gtl_ray.learngene import transplant

        return getattr(transplant, name)
    if name == "gene_info":
        from gtl_ray.learngene.info import gene_info

        return gene_info
    if name == "find_units":
        from gtl_ray.learngene.units import find_units

        return find_units
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
