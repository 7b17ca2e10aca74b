"""A fine-tuning recipe (`gtl_ray.recipe.Recipe`) as an optimizer: which stage each parameter of
a network belongs to, the SGD parameter groups with the stages' learning rates, and the SGD
settings. One definition, used by descendant fitness, the final selection, evaluation, `descend`
and the recipe search alike, so that a recipe means the same thing wherever it is used.

Stages: the backbone's conv units (`learngene.units.find_units`, forward order for the built-in
networks) split in thirds, `early` / `middle` / `late` (unit i of n is in stage floor(3i / n):
VGG11's 8 convs 3/3/2, ResNet12's 16 conv units, shortcuts included, 6/5/5), and the classifier
`head`. A backbone parameter outside every unit joins the stage of the unit registered before it.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from gtl_ray.learngene.units import find_units
from gtl_ray.recipe import Recipe
from gtl_ray.training import SGDSettings

STAGES = ("early", "middle", "late", "head")
HEAD = 3  #: index of the head in STAGES
MOMENTUM = 0.9
MAX_BATCH = 25  #: support images per fine-tuning step at most


def stage_of(model: nn.Module) -> dict[str, int]:
    """{parameter name: index in STAGES} of every parameter of `model`."""
    units = list(find_units(model))
    unit_stage = {name: min(2, 3 * i // len(units)) for i, name in enumerate(units)}
    stages: dict[str, int] = {}
    current = 0
    for name, _ in model.named_parameters():
        if name.startswith("head."):
            stages[name] = HEAD
            continue
        owner = name.rpartition(".")[0]
        while owner and owner not in unit_stage:
            owner = owner.rpartition(".")[0]
        current = unit_stage.get(owner, current)
        stages[name] = current
    return stages


def finetune_setup(
    model: nn.Module, recipe: Recipe, batch_size: int, epochs: int | None = None
) -> tuple[SGDSettings, list[dict[str, Any]]]:
    """The SGD settings and parameter groups that fine-tune `model` with `recipe`: SGD with
    momentum 0.9, the recipe's weight decay, cosine-decayed per-stage learning rates, augmented
    batches of `batch_size`, `recipe.steps` steps (or `epochs` passes, for `descend`)."""
    settings = SGDSettings(
        lr=recipe.lr,
        momentum=MOMENTUM,
        weight_decay=recipe.weight_decay,
        batch_size=batch_size,
        epochs=epochs or 1,
        steps=None if epochs else recipe.steps,
        augment=True,
    )
    stages = stage_of(model)
    groups: list[list[nn.Parameter]] = [[] for _ in STAGES]
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            groups[stages[name]].append(parameter)
    lrs = recipe.stage_lrs
    return settings, [{"params": params, "lr": lrs[s]} for s, params in enumerate(groups) if params]


def episode_batch(support: int) -> int:
    """Images per step when fine-tuning on `support` images."""
    return min(MAX_BATCH, support)


def finetune_sample_grads(recipe: Recipe, support: int, linear: bool = False) -> int:
    """What fine-tuning one episode of `support` images with `recipe` costs (what `fit` counts):
    every step's batch, or the whole support set per step of a linear probe."""
    return recipe.steps * (support if linear else episode_batch(support))
