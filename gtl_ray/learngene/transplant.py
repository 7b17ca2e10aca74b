"""Cutting a learngene out of a network and implanting one into a network: the surgery on torch
modules behind `Learngene` (which itself is numpy only)."""

from __future__ import annotations

from typing import Any, TypeVar

from torch import nn

from gtl_ray.errors import LearngeneError
from gtl_ray.learngene import surgery
from gtl_ray.learngene.gene import GENERIC_FAMILY, Learngene
from gtl_ray.learngene.header import GeneHeader
from gtl_ray.learngene.names import gene_units
from gtl_ray.learngene.rest import shape_rest
from gtl_ray.learngene.units import backbone_parameter_count, find_units
from gtl_ray.learngene.widen import check_identity_layers, identity_layers
from gtl_ray.models.layers import Network

M = TypeVar("M", bound=nn.Module)
EXTRA_LAYERS = ("default", "identity")


def extract_learngene(model: nn.Module, share: float = 0.20, **info: Any) -> Learngene:
    """Cut the learngene out of `model`: the chained channel blocks holding `share` of its backbone.

    `model` is a built-in network (`create_model`) or any CNN made of Conv2d (+ BatchNorm2d)
    layers (see `gtl_ray.learngene.units`); for the latter `architecture` is its class name,
    `family` "generic", `width` 1 and `depth` its number of conv layers. Keyword arguments go into
    the file's `info` (e.g. `preprocessing=...`, `provenance=...`, see `gene_info`).
    """
    rho = surgery.solve_rho(model, share)
    num_params = surgery.gene_parameter_count(model, rho)
    total = backbone_parameter_count(model)
    tensors = surgery.extract_tensors(model, rho)
    if isinstance(model, Network):
        described = {
            "architecture": model.arch,
            "family": model.family,
            "width": float(model.width),
            "depth": int(model.depth),
        }
    else:
        described = {
            "architecture": type(model).__name__,
            "family": GENERIC_FAMILY,
            "width": 1.0,
            "depth": len(gene_units(tensors)),
        }
    header = GeneHeader(
        **described, rho=rho, share=num_params / total, num_params=num_params, source_params=total, info=dict(info)
    )
    return Learngene(header=header, tensors=tensors)


def implant(
    gene: Learngene,
    model: M,
    layer_map: dict[str, str] | None = None,
    rest_init: str = "default",
    rest_scale: float = 0.1,
    extra_layers: str = "default",
) -> M:
    """Write `gene` into `model`'s channel slots; every slot not covered keeps its initialization,
    shaped by `rest_init` (`default`, `scaled` by `rest_scale`, or `zero_cross`: see
    `learngene.rest`). `extra_layers`: the layers no gene layer goes to (a deeper descendant's)
    keep torch's init (`default`) or start as identity maps (`identity`, `learngene.widen`).
    Returns `model`.

    `model` is a network of the gene's family (same, wider or deeper) or any other CNN made of
    Conv2d (+ BatchNorm2d). `layer_map` maps target unit -> learngene unit (a subset is fine);
    None infers it (`surgery.infer_layer_map`: same names, else by kernel size in forward order).
    Raises LearngeneError naming the layer and both shapes when a block does not fit.
    """
    if layer_map is None and isinstance(model, Network) and gene.family not in (GENERIC_FAMILY, model.family):
        raise LearngeneError(
            f"learngene of family {gene.family!r} ({gene.architecture}) cannot go into a {model.family!r} network "
            f"({model.arch}) by layer names; to place it anyway, {surgery.LAYER_MAP_HINT}; {model.arch} "
            + surgery.units_listing(gene.tensors, find_units(model))
        )
    if extra_layers not in EXTRA_LAYERS:
        raise ValueError(f"extra_layers must be one of {EXTRA_LAYERS}, got {extra_layers!r}")
    filled = {s.target for s in surgery.gene_slots(gene.tensors, model, layer_map)}
    unfilled = [name for name in find_units(model) if name not in filled] if extra_layers == "identity" else []
    check_identity_layers(model, unfilled)  # refused before anything is written
    slots = surgery.implant_tensors(gene.tensors, model, layer_map)
    shape_rest(
        {s.target: s.unit.conv for s in slots}, {s.target: (s.k_out, s.k_in) for s in slots}, rest_init, rest_scale
    )
    if unfilled:
        identity_layers(model, unfilled)
    return model
