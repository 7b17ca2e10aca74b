"""Whether a gene fits the network it is meant to initialize, checked before Ray starts and
before anything is pre-trained: the gene is implanted into a throwaway copy of the descendant."""

from __future__ import annotations

from gtl_ray.config import GTLConfig
from gtl_ray.errors import ConfigError, LearngeneError
from gtl_ray.learngene import Learngene
from gtl_ray.learngene.fit import smallest_width
from gtl_ray.learngene.transplant import extract_learngene, implant
from gtl_ray.models import create_model
from gtl_ray.recipe import gene_recipe


def check_gene_fits(
    config: GTLConfig, gene: Learngene, source: str, width_fix: str = "evaluation.descendant.width={width:g}"
) -> None:
    """The learngene (`--learngene SOURCE`) fits `evaluation.descendant` (a gene too wide for it
    names the smallest width it fits, and how to ask for it: `width_fix`, formatted with
    `width`), and carries a valid recipe when `evaluation.recipe: gene` asks for it."""
    try:
        _implant_into_descendant(config, gene)
    except LearngeneError as exc:
        shape = config.descendant_shape()
        width = smallest_width(gene, shape.arch, shape.depth, config.evaluation.descendant.layer_map)
        wider = width is not None and width > shape.width
        fix = f"; a {shape.arch} of width {width:g} or wider takes it: {width_fix.format(width=width)}" if wider else ""
        raise LearngeneError(f"--learngene {source}: {exc}{fix}") from None
    gene_recipe(config, gene.info, source)


def check_baseline_genes_fit(config: GTLConfig, methods: list[str]) -> None:
    """The gene-shaped baselines `methods` implant a gene of the ancestry network's layout: it
    fits `evaluation.descendant`."""
    if not methods:
        return
    m = config.model
    layout = extract_learngene(create_model(m.arch, width=m.width, depth=m.depth), config.learngene.share)
    try:
        _implant_into_descendant(config, layout)
    except LearngeneError as exc:
        raise ConfigError(
            f"evaluation.methods: {', '.join(map(repr, methods))} implant a gene of the ancestry network "
            f"({m.arch}, width {m.width:g}), which does not fit evaluation.descendant: {exc}"
        ) from None


def _implant_into_descendant(config: GTLConfig, gene: Learngene) -> None:
    shape = config.descendant_shape()
    model = create_model(shape.arch, width=shape.width, depth=shape.depth, num_classes=config.evaluation.n_way)
    implant(gene, model, config.evaluation.descendant.layer_map)
