"""A descendant's fine-tuning recipe, and its member's lifetime learning rate, as one small value
that can evolve with the learngene (`evolution.recipe`) or be tuned for a baseline.

Numbers only, numpy only: the learngene pool draws and averages recipes without torch. How a
recipe becomes an optimizer is `gtl_ray.finetune`; how it evolves is `gtl_ray.evolution.explore`.

A search space `{key: [low, high]}` names some of `RECIPE_KEYS`; the keys it leaves out keep the
config's value (`config_recipe`). Learning rates, multipliers and weight decay are drawn
log-uniformly (their scale is what matters), `steps` as a uniform integer.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

from gtl_ray.config import GTLConfig
from gtl_ray.errors import ConfigError, GTLError, LearngeneError, quote

INTEGER_KEYS = ("steps",)
MAY_BE_ZERO = ("weight_decay",)  #: as fixed values (a search space's ranges are positive)


@dataclass(frozen=True)
class Recipe:
    """How a descendant is fine-tuned, and how fast its carrier learns in its lifetime.

    Args:
        lr: fine-tuning learning rate (SGD, momentum 0.9, cosine decay).
        lr_mult_early, lr_mult_middle, lr_mult_late: multipliers of `lr` for the backbone's conv
            units in forward order, split in thirds (VGG11: 3/3/2 of its 8 convs; ResNet12: 6/5/5
            of its 16 conv units, shortcuts included); see `gtl_ray.finetune.stage_of`.
        lr_mult_head: multiplier of `lr` for the classifier head.
        steps: fine-tuning optimizer steps on an episode's support set.
        weight_decay: fine-tuning weight decay.
        lifetime_lr: the learning rate of the member's own lifetime (evolution only).
    """

    lr: float
    lr_mult_early: float
    lr_mult_middle: float
    lr_mult_late: float
    lr_mult_head: float
    steps: int
    weight_decay: float
    lifetime_lr: float

    @property
    def stage_lrs(self) -> tuple[float, float, float, float]:
        """The learning rate of each stage: early, middle, late, head."""
        mults = (self.lr_mult_early, self.lr_mult_middle, self.lr_mult_late, self.lr_mult_head)
        return tuple(self.lr * m for m in mults)  # type: ignore[return-value]

    def to_json(self) -> dict[str, float | int]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Any, where: str, error: type[GTLError] = ConfigError) -> "Recipe":
        """A recipe from its JSON object, every key present and every value checked; `error`
        (naming `where`) otherwise."""
        if not isinstance(raw, dict) or sorted(raw) != sorted(RECIPE_KEYS):
            raise error(f"{where}: a recipe must be an object with exactly the keys {', '.join(RECIPE_KEYS)}")
        values = {}
        for key in RECIPE_KEYS:
            value = raw[key]
            number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            if key in INTEGER_KEYS:
                ok, rule = number and value >= 0 and value == int(value), "an integer >= 0"
            elif key in MAY_BE_ZERO:
                ok, rule = number and value >= 0, "a finite number >= 0"
            else:
                ok, rule = number and value > 0, "a finite number > 0"
            if not ok:
                raise error(f"{where}: recipe {key!r} must be {rule}, got {quote(value)}")
            values[key] = int(value) if key in INTEGER_KEYS else float(value)
        return cls(**values)


RECIPE_KEYS = tuple(f.name for f in fields(Recipe))


def config_recipe(config: GTLConfig) -> Recipe:
    """The config's fixed recipe: evaluation.lr / lr_mult / steps / weight_decay, lifetime.lr."""
    ev = config.evaluation
    return Recipe(
        lr=ev.lr,
        lr_mult_early=ev.lr_mult.early,
        lr_mult_middle=ev.lr_mult.middle,
        lr_mult_late=ev.lr_mult.late,
        lr_mult_head=ev.lr_mult.head,
        steps=ev.steps,
        weight_decay=ev.weight_decay,
        lifetime_lr=config.lifetime.lr,
    )


@dataclass(frozen=True)
class RecipeSpace:
    """The recipes a search may reach: `ranges` ({key: (low, high)}, keys in RECIPE_KEYS order)
    and, for every other key, the value of `base`."""

    base: Recipe
    ranges: dict[str, tuple[float, float]]

    def sample(self, key: str, rng: np.random.Generator) -> float | int:
        """One value of `key`: a uniform integer for `steps`, else log-uniform."""
        low, high = self.ranges[key]
        if key in INTEGER_KEYS:
            return int(rng.integers(int(low), int(high) + 1))
        return float(math.exp(rng.uniform(math.log(low), math.log(high))))

    def clip(self, key: str, value: float) -> float | int:
        """`value` inside `key`'s range (integers rounded half up first)."""
        low, high = self.ranges[key]
        if key in INTEGER_KEYS:
            return int(min(max(math.floor(value + 0.5), low), high))
        return float(min(max(value, low), high))

    def draw(self, rng: np.random.Generator) -> Recipe:
        """A recipe drawn from the space, keys in RECIPE_KEYS order (one stream, one order)."""
        return replace(self.base, **{key: self.sample(key, rng) for key in self.ranges})


def recipe_space(config: GTLConfig) -> RecipeSpace | None:
    """`evolution.recipe` as a space around the config's recipe; None when it is empty. The
    values were checked by the pre-flight (`preflight.recipe_values`)."""
    declared = config.evolution.recipe
    if not declared:
        return None
    ranges = {key: (declared[key][0], declared[key][1]) for key in RECIPE_KEYS if key in declared}
    return RecipeSpace(config_recipe(config), ranges)


def gene_recipe(config: GTLConfig, info: dict[str, Any], where: str) -> Recipe | None:
    """The recipe the evolved gene's methods fine-tune with under `evaluation.recipe`: None for
    `config` (the config's), else the one in the gene header's `info` (ConfigError naming the
    gene `where` when it carries none)."""
    if config.evaluation.recipe == "config":
        return None
    if "recipe" not in info:
        raise ConfigError(
            f"evaluation.recipe=gene: learngene {where} carries no recipe (it was not evolved with "
            "evolution.recipe); use evaluation.recipe=config"
        )
    return Recipe.from_json(info["recipe"], f"learngene {where}: header info", LearngeneError)
