"""`gtl_ray.create_model`: a registered network, optionally born with a learngene.

Sits above both `models` and `learngene` (which imports `models`), so neither imports the other's
user-facing entry point.
"""

from __future__ import annotations

import os

from gtl_ray import models
from gtl_ray.learngene import Learngene, implant
from gtl_ray.models.layers import Network


def create_model(
    arch: str,
    *,
    width: float = 1.0,
    depth: int | None = None,
    num_classes: int = 5,
    learngene: Learngene | str | os.PathLike | None = None,
    layer_map: dict[str, str] | None = None,
) -> Network:
    """Build a registered network (`gtl_ray.list_models()`); with `learngene` (a Learngene, or a
    local path / URI of a learngene file, checksum-verified) its slots are initialized from the
    gene and everything else keeps its fresh random initialization.

    Args:
        arch: registered architecture name; unknown names list the registered ones.
        width: channel multiplier (at least the gene's width for the gene to fit).
        depth: architecture-specific depth (None: the architecture's default).
        num_classes: outputs of the (always fresh) classifier head.
        learngene: the gene to implant, or None for a randomly initialized network.
        layer_map: target unit -> learngene unit; None infers it (see `gtl_ray.implant`).
    """
    model = models.create_model(arch, width=width, depth=depth, num_classes=num_classes)
    if learngene is None:
        return model
    gene = learngene if isinstance(learngene, Learngene) else Learngene.load(os.fspath(learngene))
    return implant(gene, model, layer_map)
