"""Value checks of the keys that shape descendants beyond evaluation.descendant:
evaluation.episode_seed, evaluation.extra_layers and evolution.fitness_sizes (`check_values`
calls `check_sizes`). Shapes are built on the meta device (no memory),
so that a wide entry costs nothing to check."""

from __future__ import annotations

from gtl_ray.config import DescendantShape, GTLConfig
from gtl_ray.errors import ConfigError
from gtl_ray.models import create_model, list_models
from gtl_ray.preflight.rules import MAX_WIDTH, require


MAX_FITNESS_SIZES = 16  #: entries of evolution.fitness_sizes


def check_sizes(config: GTLConfig) -> None:
    """evaluation.episode_seed, and the descendants of evolution.fitness_sizes: known shapes the
    images survive, into which a gene of the ancestry's layout goes (evaluation.extra_layers
    included), used only by a fitness that builds descendants."""
    ev, evo = config.evaluation, config.evolution
    require(
        ev.episode_seed is None or ev.episode_seed >= 0,
        "evaluation.episode_seed",
        f"must be >= 0, got {ev.episode_seed}",
    )
    sizes = evo.fitness_sizes
    require(
        len(sizes) <= MAX_FITNESS_SIZES,
        "evolution.fitness_sizes",
        f"lists at most {MAX_FITNESS_SIZES} shapes, got {len(sizes)}",
    )
    require(
        not sizes or evo.fitness in ("descendant", "instinct"),
        "evolution.fitness_sizes",
        f"sizes are for evolution.fitness descendant or instinct (fitness on descendants), not {evo.fitness!r}",
    )
    shapes = [("evolution.fitness_sizes", s) for s in (config.fitness_shapes() if sizes else [])]
    if ev.extra_layers != "default":
        shapes.append(("evaluation.descendant", config.descendant_shape()))
    for key, shape in shapes:
        _check_shape_takes_gene(config, shape, key)


def _check_shape_takes_gene(config: GTLConfig, shape: DescendantShape, key: str) -> None:
    """Refuse a descendant shape that cannot be built, that the images do not survive, or that a
    gene of the ancestry network's layout does not go into (built on the meta device: no memory)."""
    import torch
    from torch import nn

    from gtl_ray.errors import LearngeneError
    from gtl_ray.learngene import extract_learngene
    from gtl_ray.learngene.surgery import gene_slots
    from gtl_ray.learngene.units import find_units
    from gtl_ray.learngene.widen import check_identity_layers

    named = f"{shape.arch}, width {shape.width:g}, depth {shape.depth or 'default'}"
    require(
        shape.arch in list_models(), key, f"unknown architecture {shape.arch!r}; registered: {', '.join(list_models())}"
    )
    require(0 < shape.width <= MAX_WIDTH, key, f"width must be in (0, {MAX_WIDTH:g}], got {shape.width}")
    try:
        with torch.device("meta"):
            model = create_model(shape.arch, width=shape.width, depth=shape.depth)
    except ConfigError as exc:
        raise ConfigError(f"{key}: {named}: {exc}") from None
    need = 2 ** sum(isinstance(m, nn.MaxPool2d) for m in model.modules())
    require(
        config.data.image_size >= need,
        key,
        f"{named} halves its input to 1 px below {need} px, data.image_size is {config.data.image_size}",
    )
    m, ev = config.model, config.evaluation
    layout = extract_learngene(create_model(m.arch, width=m.width, depth=m.depth), config.learngene.share)
    try:
        if model.family != layout.family:
            raise LearngeneError(f"a {layout.family!r} gene goes by layer names into networks of its family only")
        filled = {slot.target for slot in gene_slots(layout.tensors, model)}
        if ev.extra_layers == "identity":
            check_identity_layers(model, [name for name in find_units(model) if name not in filled])
    except LearngeneError as exc:
        raise ConfigError(
            f"{key}: a gene of {m.arch} (width {m.width:g}) does not go into {named} "
            f"with evaluation.extra_layers={ev.extra_layers}: {exc}"
        ) from None
