"""The fair baseline of an evolved recipe: the same search space (`evolution.recipe`) tuned for a
method that does not evolve (`narrow`, `full`, ...), at no more sample-gradients than the
evolution spent beyond the pre-training both share.

Random search: trial i's recipe is drawn from the space by numpy_rng(seed, "recipe-search",
method, i), so the same seed gives the same trials on any cluster, in any order; trials are
added while their summed cost fits the budget (a trial's cost is known before it runs:
`finetune.finetune_sample_grads` per episode). Each trial fine-tunes the method's pre-trained
network (as `evaluate` initializes it) on the same `episodes` val-class episodes of the
selection stream, from the same fresh descendants and with the same batch draws (common random
numbers): trials differ by their recipe only. Selection episodes are drawn under
derive_seed(seed, "selection"), never the episodes a table reports.

Ray-free: `score_recipe` scores one trial (an `Executor` function); `service.recipe_tuning` runs
the plan as Ray Tune trials.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gtl_ray.compute import compute_for, resident
from gtl_ray.config import GTLConfig
from gtl_ray.data import EpisodeSampler, ImageSet, Splits
from gtl_ray.errors import ConfigError
from gtl_ray.evaluation.methods import Sources, initialize
from gtl_ray.evaluation.sources import prepare_sources
from gtl_ray.fewshot import finetune_accuracy, fresh_descendant
from gtl_ray.finetune import finetune_sample_grads
from gtl_ray.preflight.recipe_values import check_recipe_search
from gtl_ray.recipe import Recipe, recipe_space
from gtl_ray.seeding import derive_seed, numpy_rng
from gtl_ray.torch_streams import torch_generator

SELECTION = "selection"  #: the episode stream choices are made on (never a reported table's)
STREAM = "recipe-search"  #: names the trials' recipe draws, fresh descendants and batch draws


@dataclass(frozen=True)
class SearchPlan:
    """Args:
    method: the evaluation method whose recipe is tuned.
    recipes: trial i's recipe, in trial order.
    costs: trial i's sample-gradients (all its episodes).
    budget: the cap the trials' summed cost stays within.
    episodes / shots: selection episodes per trial, support images per class.
    """

    method: str
    recipes: list[Recipe]
    costs: list[int]
    budget: int
    episodes: int
    shots: int


@dataclass(frozen=True)
class RecipeScore:
    accuracy: float  #: mean query accuracy over the plan's episodes (fraction)
    sample_grads: int


@dataclass
class SearchResult:
    """The trials and the best recipe (highest accuracy; the earlier trial on a tie)."""

    plan: SearchPlan
    scores: list[RecipeScore]
    best: int = field(init=False)

    def __post_init__(self) -> None:
        self.best = min(range(len(self.scores)), key=lambda i: (-self.scores[i].accuracy, i))

    @property
    def spent(self) -> int:
        return sum(s.sample_grads for s in self.scores)


def evolution_budget(compute: dict[str, int]) -> int:
    """What an evolution spent beyond the pre-training a baseline shares with it: its manifest's
    compute.total minus compute.pretrain (lifetimes, fitness fine-tunings, final selection)."""
    return int(compute["total"]) - int(compute.get("pretrain", 0))


def plan_search(
    config: GTLConfig, method: str, budget: int, episodes: int, max_trials: int | None = None
) -> SearchPlan:
    """The trials a budget pays for (at most `max_trials`), after the pre-flight's checks of the
    request (`preflight.recipe_values.check_recipe_search`); ConfigError naming what is wrong."""
    check_recipe_search(config, method, episodes)
    space = recipe_space(config)
    ev, shots = config.evaluation, config.evolution.fitness_shots
    support, linear = ev.n_way * shots, ev.finetune == "linear"
    recipes, costs = [], []
    while max_trials is None or len(recipes) < max_trials:
        recipe = space.draw(numpy_rng(config.seed, STREAM, method, len(recipes)))
        cost = episodes * finetune_sample_grads(recipe, support, linear)
        if sum(costs) + cost > budget:
            break
        recipes.append(recipe)
        costs.append(cost)
    if not recipes:
        raise ConfigError(f"recipe search: a budget of {budget} sample-gradients pays for no trial")
    return SearchPlan(method, recipes, costs, budget, episodes, shots)


def val_images(config: GTLConfig, splits: Splits) -> ImageSet:
    """The val classes the trials are scored on (ConfigError when there are too few)."""
    val = getattr(splits, "val", None)
    if val is None or val.num_classes < config.evaluation.n_way:
        raise ConfigError(
            f"data.splits.val: a recipe search scores on val classes and needs >= {config.evaluation.n_way}"
        )
    return val


def prepare_search(
    config: GTLConfig, plan: SearchPlan, splits: Splits, cache_dir: str | None
) -> tuple[GTLConfig, ImageSet, SearchPlan, Sources]:
    """What every trial shares (`score_recipe`'s first argument): the method's sources, built
    (or reused from `cache_dir`) once."""
    images = val_images(config, splits)
    sources = prepare_sources(config, [plan.method], splits.base, None, cache_dir).sources
    return config, images, plan, sources


def score_recipe(shared: tuple[GTLConfig, ImageSet, SearchPlan, Sources], recipe: Recipe) -> RecipeScore:
    """One trial: the plan's method fine-tuned with `recipe` on every selection episode."""
    config, images, plan, sources = shared
    ev, compute = config.evaluation, compute_for(config)
    seed = derive_seed(config.seed, SELECTION)
    sampler = EpisodeSampler(resident(images, config, compute), ev.n_way, plan.shots, ev.query, plan.episodes, seed)
    total, spent = 0.0, 0
    for e, task in enumerate(sampler):
        model = fresh_descendant(config, STREAM, e)
        initialize(plan.method, model, sources)
        compute.place(model)
        generator = torch_generator(config.seed, STREAM, "finetune", e)
        accuracy, grads = finetune_accuracy(model, task, ev, generator, compute, recipe=recipe)
        total, spent = total + accuracy, spent + grads
    return RecipeScore(total / plan.episodes, spent)


def evaluate_overrides(recipe: Recipe) -> list[str]:
    """`--set` overrides that make `recipe` the config's, for `gtl-ray evaluate` of the tuned
    baseline (the lifetime's lr is no part of fine-tuning)."""
    stages = ("early", "middle", "late", "head")
    mults = [getattr(recipe, f"lr_mult_{stage}") for stage in stages]
    return [
        f"evaluation.lr={recipe.lr!r}",
        f"evaluation.steps={recipe.steps}",
        f"evaluation.weight_decay={recipe.weight_decay!r}",
    ] + [f"evaluation.lr_mult.{stage}={mult!r}" for stage, mult in zip(stages, mults)]
