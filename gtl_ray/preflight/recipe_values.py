"""Value checks of the fine-tuning recipe: the config's fixed recipe and the search space it
evolves in (`evolution.recipe`), before anything is drawn from it; and what a recipe search for a
baseline (`evaluation.recipe_search`) is asked to do."""

from __future__ import annotations

import math

from gtl_ray.config import GTLConfig
from gtl_ray.errors import quote
from gtl_ray.evaluation.methods import get_method, needs_learngene
from gtl_ray.preflight.rules import MAX_COUNT, require
from gtl_ray.recipe import INTEGER_KEYS, RECIPE_KEYS

#: recipe keys that only descendant fine-tuning reads (the rest: the lifetime's own lr)
FINETUNE_KEYS = tuple(k for k in RECIPE_KEYS if k != "lifetime_lr")


def check_recipe_values(config: GTLConfig) -> None:
    """The config's recipe (weight decay, multipliers) and the space `evolution.recipe`."""
    ev, evo = config.evaluation, config.evolution
    require(
        math.isfinite(ev.weight_decay) and ev.weight_decay >= 0,
        "evaluation.weight_decay",
        f"must be >= 0, got {ev.weight_decay}",
    )
    for stage in ("early", "middle", "late", "head"):
        value = getattr(ev.lr_mult, stage)
        require(value > 0, f"evaluation.lr_mult.{stage}", f"must be > 0, got {value}")
    require(
        math.isfinite(evo.recipe_resample) and 0.0 <= evo.recipe_resample <= 1.0,
        "evolution.recipe_resample",
        f"must be in [0, 1], got {evo.recipe_resample}",
    )
    for key, bounds in evo.recipe.items():
        _range(key, bounds)
    scored = evo.fitness == "descendant" or config.final.selection == "val"
    unscored = [k for k in FINETUNE_KEYS if k in evo.recipe]
    require(
        scored or not unscored,
        "evolution.recipe",
        f"fine-tuning keys ({', '.join(unscored)}) that this run never scores: evolve them with "
        "evolution.fitness=descendant (or final.selection=val), or leave them out",
    )


def _range(key: object, bounds: object) -> None:
    """One entry `key: [low, high]` of the space: a known key, positive numbers, low < high."""
    require(
        key in RECIPE_KEYS,
        "evolution.recipe",
        f"unknown key {quote(key)}; recipe keys: {', '.join(RECIPE_KEYS)}",
    )
    name = f"evolution.recipe.{key}"
    pair = isinstance(bounds, list) and len(bounds) == 2
    numbers = pair and all(isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b) for b in bounds)
    require(numbers, name, f"must be [low, high], two finite numbers, got {quote(bounds)}")
    low, high = bounds
    require(0 < low < high, name, f"must be 0 < low < high, got [{low}, {high}]")
    if key in INTEGER_KEYS:
        whole = all(isinstance(b, int) for b in bounds)
        require(whole and high <= MAX_COUNT, name, f"must be integers in [1, {MAX_COUNT}], got [{low}, {high}]")


def check_recipe_search(config: GTLConfig, method: str, episodes: int) -> None:
    """A search needs the space the evolution searched, a method that transfers a pre-trained
    network as it is, at least one episode, and val classes to score on (when counted)."""
    require(bool(config.evolution.recipe), "evolution.recipe", "empty; a recipe search needs the evolution's space")
    require(
        not (get_method(method).aft or needs_learngene(method)),
        "recipe search",
        f"method {method!r} fine-tunes the learngene or with the AFT regularizer; search the recipe of a "
        "baseline that transfers a pre-trained network as it is (narrow, full)",
    )
    require(episodes >= 1, "recipe search", f"episodes must be >= 1, got {episodes}")
    val = config.data.splits.val
    classes = val if isinstance(val, int) else len(val) if isinstance(val, list) else None if val else 0
    require(
        classes is None or classes >= config.evaluation.n_way,
        "data.splits.val",
        f"a recipe search scores on val classes and needs >= {config.evaluation.n_way}, got {classes}",
    )
