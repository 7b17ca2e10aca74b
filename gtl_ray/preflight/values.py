"""Every value range and cross-field constraint of a config that can be checked without reading
data, each failure naming the dotted key and what is allowed. The evaluation and data sections
are `preflight.evaluation_values` and `preflight.data_values`."""

from __future__ import annotations

import math

from gtl_ray import storage
from gtl_ray.config import GTLConfig
from gtl_ray.errors import ConfigError, StorageError, quote
from gtl_ray.evolution.mutation import list_mutations
from gtl_ray.models import create_model, list_models
from gtl_ray.preflight.data_values import check_data_values
from gtl_ray.preflight.evaluation_values import check_evaluation_values
from gtl_ray.preflight.sizes import check_sizes
from gtl_ray.preflight.recipe_values import check_recipe_values
from gtl_ray.preflight.rules import (
    MAX_DEPTH,
    MAX_POPULATION,
    MAX_RESOURCES,
    MAX_WIDTH,
    count,
    require,
)
from gtl_ray.packing import members_per_actor
from gtl_ray.run.layout import valid_run_name


def check_values(config: GTLConfig) -> None:
    """Check every value range and cross-field constraint that can be checked without data."""
    _identity(config)
    _networks(config)
    _population(config)
    _evolution(config)
    _training(config)
    check_data_values(config.data)
    check_evaluation_values(config)
    check_sizes(config)
    check_recipe_values(config)
    for key in ("epochs", "batch_size"):
        count(getattr(config.pretrain, key), f"pretrain.{key}")
    for key in ("epochs", "batch_size", "train_per_class"):
        count(getattr(config.descend, key), f"descend.{key}")
    count(config.descend.num_workers, "descend.num_workers", high=MAX_RESOURCES)


def _identity(config: GTLConfig) -> None:
    require(
        valid_run_name(config.name),
        "name",
        f"must be one path segment of letters, digits and -_. (at most 128, not . or ..), got {quote(config.name)}",
    )
    require(config.seed >= 0, "seed", f"must be >= 0, got {config.seed}")
    try:
        storage.check_scheme(config.storage)
        storage.check_storage_root(config.storage)
    except StorageError as exc:
        raise ConfigError(f"storage: {exc}") from None


def _networks(config: GTLConfig) -> None:
    for key, arch in (
        ("model.arch", config.model.arch),
        ("evaluation.descendant.arch", config.evaluation.descendant.arch),
    ):
        if arch is not None and arch not in list_models():
            raise ConfigError(f"{key}: unknown architecture {arch!r}; registered: {', '.join(list_models())}")
    for key, width in (
        ("model.width", config.model.width),
        ("evaluation.descendant.width", config.evaluation.descendant.width),
    ):
        require(width is None or width > 0, key, f"must be > 0, got {width}")
        require(width is None or width <= MAX_WIDTH, key, f"must be <= {MAX_WIDTH:g}, got {width}")
    for key, depth in (
        ("model.depth", config.model.depth),
        ("evaluation.descendant.depth", config.evaluation.descendant.depth),
    ):
        require(depth is None or 1 <= depth <= MAX_DEPTH, key, f"must be between 1 and {MAX_DEPTH}, got {depth}")
    require(0.0 < config.learngene.share < 1.0, "learngene.share", f"must be in (0, 1), got {config.learngene.share}")
    _input_size(config)


def _population(config: GTLConfig) -> None:
    pop = config.population
    count(pop.size, "population.size", low=1, high=MAX_POPULATION)
    count(pop.gpus_per_member, "population.gpus_per_member", low=0, high=MAX_RESOURCES)
    require(
        pop.gpus_per_member <= 1 or float(pop.gpus_per_member).is_integer(),
        "population.gpus_per_member",
        f"fractions are allowed only below 1, got {pop.gpus_per_member}",
    )
    require(pop.cpus_per_member > 0, "population.cpus_per_member", f"must be > 0, got {pop.cpus_per_member}")
    count(pop.cpus_per_member, "population.cpus_per_member", low=0, high=MAX_RESOURCES)
    count(pop.max_failures, "population.max_failures", low=0)
    require(pop.resource_timeout_s >= 0, "population.resource_timeout_s", f"must be >= 0, got {pop.resource_timeout_s}")
    _packing(config)


def _evolution(config: GTLConfig) -> None:
    pop, evo = config.population, config.evolution
    count(evo.generations, "evolution.generations")
    require(
        1 <= evo.tournament_size <= pop.size,
        "evolution.tournament_size",
        f"must be between 1 and population.size ({pop.size}), got {evo.tournament_size}",
    )
    require(
        0 <= evo.elites < pop.size,
        "evolution.elites",
        f"must be >= 0 and < population.size ({pop.size}), got {evo.elites}",
    )
    require(0.0 <= evo.mutation_rate <= 1.0, "evolution.mutation_rate", f"must be in [0, 1], got {evo.mutation_rate}")
    require(evo.mutation_sigma >= 0, "evolution.mutation_sigma", f"must be >= 0, got {evo.mutation_sigma}")
    if evo.mutation_operator not in list_mutations():
        raise ConfigError(
            f"evolution.mutation_operator: unknown operator {evo.mutation_operator!r}; "
            f"registered: {', '.join(list_mutations())}"
        )

    _strategy(config)


def _training(config: GTLConfig) -> None:
    life = config.lifetime
    for key in ("n_way", "train_per_class", "query_per_class", "epochs", "batch_size"):
        count(getattr(life, key), f"lifetime.{key}")
    require(life.n_way >= 2, "lifetime.n_way", f"must be >= 2, got {life.n_way}")
    for section, obj in (
        ("lifetime", life),
        ("pretrain", config.pretrain),
        ("descend", config.descend),
        ("evaluation.distill", config.evaluation.distill),
    ):
        require(obj.lr > 0, f"{section}.lr", f"must be > 0, got {obj.lr}")
        if hasattr(obj, "momentum"):
            require(0 <= obj.momentum < 1, f"{section}.momentum", f"must be in [0, 1), got {obj.momentum}")
            require(obj.weight_decay >= 0, f"{section}.weight_decay", f"must be >= 0, got {obj.weight_decay}")

    require(life.environments >= 1, "lifetime.environments", f"must be >= 1, got {life.environments}")


def _packing(config: GTLConfig) -> None:
    """Members per actor and the compute settings: a pack must split the population evenly and
    hold a GPU amount Ray can place; fp16 runs on CUDA only (`gtl_ray.compute`)."""
    pop = config.population
    k = members_per_actor(pop)
    require(k >= 1, "population.members_per_actor", f"must be >= 1 or auto, got {k}")
    require(
        pop.size % k == 0,
        "population.members_per_actor",
        f"must divide population.size ({pop.size}) so that every actor holds as many members, got {k}",
    )
    gpus = round(k * pop.gpus_per_member, 6)
    require(
        gpus <= 1 or gpus.is_integer(),
        "population.members_per_actor",
        f"{k} members of population.gpus_per_member={pop.gpus_per_member:g} make an actor of {gpus:g} GPUs; Ray "
        "takes fractions only below 1 (choose K so that K x gpus_per_member is below 1 or whole)",
    )
    require(
        pop.precision != "fp16" or pop.gpus_per_member > 0,
        "population.precision",
        "fp16 runs on CUDA only and needs population.gpus_per_member > 0 (on CPU choose bf16 or fp32)",
    )


def _strategy(config: GTLConfig) -> None:
    """The evolution options of the strategy: write-back, fitness, hall of fame, final choice."""
    evo, size = config.evolution, config.population.size
    require(
        math.isfinite(evo.step_size) and 0.0 < evo.step_size <= 1.0,
        "evolution.step_size",
        f"must be in (0, 1], got {evo.step_size}",
    )
    require(
        1 <= evo.top_k <= size, "evolution.top_k", f"must be between 1 and population.size ({size}), got {evo.top_k}"
    )
    require(evo.fitness_episodes >= 1, "evolution.fitness_episodes", f"must be >= 1, got {evo.fitness_episodes}")
    require(evo.fitness_shots >= 1, "evolution.fitness_shots", f"must be >= 1, got {evo.fitness_shots}")
    require(evo.hall_of_fame >= 1, "evolution.hall_of_fame", f"must be >= 1, got {evo.hall_of_fame}")
    require(config.final.val_episodes >= 1, "final.val_episodes", f"must be >= 1, got {config.final.val_episodes}")
    if evo.fitness != "lifetime" or config.final.selection == "val":
        require(
            config.evaluation.n_way <= _classcount(config, "base"),
            "evaluation.n_way",
            f"{config.evaluation.n_way}-way fitness / final-selection episodes need that many base classes",
        )


def _classcount(config: GTLConfig, split: str) -> float:
    """Classes in a split when the config names them (count or list); infinity when a path."""
    spec = getattr(config.data.splits, split)
    return spec if isinstance(spec, int) else len(spec) if isinstance(spec, list) else math.inf


def _input_size(config: GTLConfig) -> None:
    """Each network halves its input once per 2x2 max-pool: data.image_size must survive them
    all (VGG: 5 halvings, >= 32 px; ResNet12: 4, >= 16 px). Building a tiny copy of the network
    also checks its depth."""
    from torch import nn

    shape = config.descendant_shape()
    for key, arch, depth in (
        ("model.arch", config.model.arch, config.model.depth),
        ("evaluation.descendant.arch", shape.arch, shape.depth),
    ):
        try:
            pools = sum(isinstance(m, nn.MaxPool2d) for m in create_model(arch, width=0.0625, depth=depth).modules())
        except ConfigError as exc:  # create_model names model.*; say which network it was
            section = key.rsplit(".", 1)[0]
            raise ConfigError(str(exc).replace("model.", f"{section}.", 1)) from None
        need = 2**pools
        require(
            config.data.image_size >= need,
            "data.image_size",
            f"{config.data.image_size} px is too small for {key}={arch} ({pools} halvings need >= {need} px)",
        )
