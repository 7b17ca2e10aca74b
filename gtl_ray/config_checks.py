"""Value checks for a GTLConfig: every range and cross-field constraint that can be checked
without reading data, each failure naming the dotted key and what is allowed; and
`load_config`, which reads and validates (what every caller uses).

It depends on the schema and on the registries (models, mutation operators, evaluation methods)
only, none of which imports it back."""
from __future__ import annotations

import math
from pathlib import Path

from gtl_ray import storage
from gtl_ray.config import DataConfig, GTLConfig, read_config
from gtl_ray.errors import ConfigError, StorageError
from gtl_ray.evaluation.methods import list_methods
from gtl_ray.evolution.mutation import list_mutations
from gtl_ray.models import create_model, list_models


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> GTLConfig:
    """Read a YAML config (or the defaults when `path` is None), apply `key=value` overrides,
    and validate. Raises ConfigError naming the file, key or value at fault."""
    config = read_config(path, overrides)
    validate(config)
    return config

GENERATED_FORMATS = ("procedural", "glyphs")  #: data made on the fly: class counts, data.num_classes x data.images_per_class


def _require(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"{key}: {message}")


def validate(config: GTLConfig) -> None:
    """Check every value range and cross-field constraint that can be checked without data."""
    _require(bool(config.name) and "/" not in config.name, "name", f"must be a non-empty name without '/', got {config.name!r}")
    _require(config.seed >= 0, "seed", f"must be >= 0, got {config.seed}")
    try:
        storage.check_scheme(config.storage)
    except StorageError as exc:
        raise ConfigError(f"storage: {exc}") from None
    for key, arch in (("model.arch", config.model.arch), ("evaluation.descendant.arch", config.evaluation.descendant.arch)):
        if arch is not None and arch not in list_models():
            raise ConfigError(f"{key}: unknown architecture {arch!r}; registered: {', '.join(list_models())}")
    for key, width in (("model.width", config.model.width), ("evaluation.descendant.width", config.evaluation.descendant.width)):
        _require(width is None or width > 0, key, f"must be > 0, got {width}")
    _require(0.0 < config.learngene.share < 1.0, "learngene.share", f"must be in (0, 1), got {config.learngene.share}")
    _validate_input_size(config)

    pop, evo = config.population, config.evolution
    _require(pop.size >= 1, "population.size", f"must be >= 1 (1: no selection), got {pop.size}")
    _require(pop.gpus_per_member >= 0, "population.gpus_per_member", f"must be >= 0, got {pop.gpus_per_member}")
    _require(
        pop.gpus_per_member <= 1 or float(pop.gpus_per_member).is_integer(),
        "population.gpus_per_member",
        f"fractions are allowed only below 1, got {pop.gpus_per_member}",
    )
    _require(pop.cpus_per_member > 0, "population.cpus_per_member", f"must be > 0, got {pop.cpus_per_member}")
    _require(pop.max_failures >= 0, "population.max_failures", f"must be >= 0, got {pop.max_failures}")
    _require(pop.resource_timeout_s >= 0, "population.resource_timeout_s", f"must be >= 0, got {pop.resource_timeout_s}")
    _validate_packing(config)
    _require(evo.generations >= 1, "evolution.generations", f"must be >= 1, got {evo.generations}")
    _require(
        1 <= evo.tournament_size <= pop.size,
        "evolution.tournament_size",
        f"must be between 1 and population.size ({pop.size}), got {evo.tournament_size}",
    )
    _require(
        0 <= evo.elites < pop.size,
        "evolution.elites",
        f"must be >= 0 and < population.size ({pop.size}), got {evo.elites}",
    )
    _require(0.0 <= evo.mutation_rate <= 1.0, "evolution.mutation_rate", f"must be in [0, 1], got {evo.mutation_rate}")
    _require(evo.mutation_sigma >= 0, "evolution.mutation_sigma", f"must be >= 0, got {evo.mutation_sigma}")
    if evo.mutation_operator not in list_mutations():
        raise ConfigError(
            f"evolution.mutation_operator: unknown operator {evo.mutation_operator!r}; "
            f"registered: {', '.join(list_mutations())}"
        )

    life = config.lifetime
    for key in ("n_way", "train_per_class", "query_per_class", "epochs", "batch_size"):
        value = getattr(life, key)
        _require(value >= 1, f"lifetime.{key}", f"must be >= 1, got {value}")
    _require(life.n_way >= 2, "lifetime.n_way", f"must be >= 2, got {life.n_way}")
    for section, obj in (("lifetime", life), ("pretrain", config.pretrain)):
        _require(obj.lr > 0, f"{section}.lr", f"must be > 0, got {obj.lr}")
        _require(0 <= obj.momentum < 1, f"{section}.momentum", f"must be in [0, 1), got {obj.momentum}")
        _require(obj.weight_decay >= 0, f"{section}.weight_decay", f"must be >= 0, got {obj.weight_decay}")

    _require(life.environments >= 1, "lifetime.environments", f"must be >= 1, got {life.environments}")
    _validate_strategy(config)
    _validate_data(config.data)
    _validate_evaluation(config)
    _require(config.pretrain.epochs >= 1, "pretrain.epochs", f"must be >= 1, got {config.pretrain.epochs}")
    _require(config.descend.num_workers >= 1, "descend.num_workers", f"must be >= 1, got {config.descend.num_workers}")
    _require(config.descend.epochs >= 1, "descend.epochs", f"must be >= 1, got {config.descend.epochs}")
    _require(config.descend.train_per_class >= 1, "descend.train_per_class", f"must be >= 1, got {config.descend.train_per_class}")


def _validate_packing(config: GTLConfig) -> None:
    """Members per actor and the compute settings: a pack must split the population evenly and
    hold a GPU amount Ray can place; fp16 runs on CUDA only (`gtl_ray.compute`)."""
    pop = config.population
    k = pop.members_per_actor
    _require(k >= 1, "population.members_per_actor", f"must be >= 1, got {k}")
    _require(pop.size % k == 0, "population.members_per_actor", f"must divide population.size ({pop.size}) so that every actor holds as many members, got {k}")
    gpus = round(k * pop.gpus_per_member, 6)
    _require(
        gpus <= 1 or gpus.is_integer(),
        "population.members_per_actor",
        f"{k} members of population.gpus_per_member={pop.gpus_per_member:g} make an actor of {gpus:g} GPUs; Ray takes fractions only below 1 (choose K so that K x gpus_per_member is below 1 or whole)",
    )
    _require(
        pop.precision != "fp16" or pop.gpus_per_member > 0,
        "population.precision",
        "fp16 runs on CUDA only and needs population.gpus_per_member > 0 (on CPU choose bf16 or fp32)",
    )


def _validate_strategy(config: GTLConfig) -> None:
    """The evolution options of the strategy: write-back, fitness, hall of fame, final choice."""
    evo, size = config.evolution, config.population.size
    _require(math.isfinite(evo.step_size) and 0.0 < evo.step_size <= 1.0, "evolution.step_size", f"must be in (0, 1], got {evo.step_size}")
    _require(1 <= evo.top_k <= size, "evolution.top_k", f"must be between 1 and population.size ({size}), got {evo.top_k}")
    _require(evo.fitness_episodes >= 1, "evolution.fitness_episodes", f"must be >= 1, got {evo.fitness_episodes}")
    _require(evo.fitness_shots >= 1, "evolution.fitness_shots", f"must be >= 1, got {evo.fitness_shots}")
    _require(evo.hall_of_fame >= 1, "evolution.hall_of_fame", f"must be >= 1, got {evo.hall_of_fame}")
    _require(config.final.val_episodes >= 1, "final.val_episodes", f"must be >= 1, got {config.final.val_episodes}")
    if evo.fitness != "lifetime" or config.final.selection == "val":
        _require(config.evaluation.n_way <= _class_count(config, "base"), "evaluation.n_way", f"{config.evaluation.n_way}-way fitness / final-selection episodes need that many base classes")


def _class_count(config: GTLConfig, split: str) -> float:
    """Classes in a split when the config names them (count or list); infinity when a path."""
    spec = getattr(config.data.splits, split)
    return spec if isinstance(spec, int) else len(spec) if isinstance(spec, list) else math.inf


def _validate_input_size(config: GTLConfig) -> None:
    """Each network halves its input once per 2x2 max-pool: data.image_size must survive them
    all (VGG: 5 halvings, >= 32 px; ResNet12: 4, >= 16 px). Building a tiny copy of the network
    also checks its depth."""
    from torch import nn

    shape = config.descendant_shape()
    for key, arch, depth in (("model.arch", config.model.arch, config.model.depth), ("evaluation.descendant.arch", shape.arch, shape.depth)):
        pools = sum(isinstance(m, nn.MaxPool2d) for m in create_model(arch, width=0.0625, depth=depth).modules())
        need = 2**pools
        _require(config.data.image_size >= need, "data.image_size", f"{config.data.image_size} px is too small for {key}={arch} ({pools} halvings need >= {need} px)")


def _validate_data(data: DataConfig) -> None:
    _require(data.image_size >= 8, "data.image_size", f"must be >= 8, got {data.image_size}")
    if data.format in ("cifar100", "folder") and not data.path:
        raise ConfigError(f"data.path: required for data.format={data.format}")
    splits = data.splits
    for name in ("base", "val", "novel"):
        spec = getattr(splits, name)
        key = f"data.splits.{name}"
        if isinstance(spec, int):
            _require(spec >= 0 if name == "val" else spec >= 2, key, f"class count must be >= {0 if name == 'val' else 2}, got {spec}")
        if data.format == "parquet":
            _require(isinstance(spec, str) or (name == "val" and spec in (None, 0)), key, f"data.format=parquet needs a file or folder path per split, got {spec!r}")
    if data.format in GENERATED_FORMATS:
        counts = [0 if getattr(splits, n) is None else getattr(splits, n) for n in ("base", "val", "novel")]
        _require(all(isinstance(c, int) for c in counts), "data.splits", f"{data.format} data takes class counts, got {counts}")
        _require(
            sum(counts) <= data.num_classes,
            "data.splits",
            f"base+val+novel = {sum(counts)} classes but data.num_classes is {data.num_classes}",
        )
        _require(data.images_per_class >= 2, "data.images_per_class", f"must be >= 2, got {data.images_per_class}")


def _validate_evaluation(config: GTLConfig) -> None:
    ev = config.evaluation
    _require(ev.n_way >= 2, "evaluation.n_way", f"must be >= 2, got {ev.n_way}")
    _require(len(ev.shots) > 0, "evaluation.shots", "must list at least one shot count")
    for shot in ev.shots:
        _require(isinstance(shot, int) and not isinstance(shot, bool) and shot >= 1, "evaluation.shots", f"every entry must be an integer >= 1, got {shot!r}")
    _require(ev.query >= 1, "evaluation.query", f"must be >= 1, got {ev.query}")
    _require(ev.episodes >= 1, "evaluation.episodes", f"must be >= 1, got {ev.episodes}")
    _require(ev.steps >= 0, "evaluation.steps", f"must be >= 0, got {ev.steps}")
    _require(ev.lr > 0, "evaluation.lr", f"must be > 0, got {ev.lr}")
    _require(math.isfinite(ev.rest_scale) and 0.0 <= ev.rest_scale <= 1.0, "evaluation.rest_scale", f"must be in [0, 1], got {ev.rest_scale}")
    for method in ev.methods:
        if method not in list_methods():
            raise ConfigError(f"evaluation.methods: unknown method {method!r}; choose from {', '.join(list_methods())}")
    for key, count, split in (
        ("lifetime.n_way", config.lifetime.n_way, "base"),
        ("evaluation.n_way", ev.n_way, "novel"),
    ):
        spec = getattr(config.data.splits, split)
        if isinstance(spec, int):
            _require(count <= spec, key, f"{count} classes asked but data.splits.{split} has only {spec}")
        elif isinstance(spec, list):
            _require(count <= len(spec), key, f"{count} classes asked but data.splits.{split} lists only {len(spec)}")
    if config.data.format in GENERATED_FORMATS:
        per_class = config.data.images_per_class
        need = config.lifetime.train_per_class + config.lifetime.query_per_class
        _require(need <= per_class, "lifetime.train_per_class", f"train_per_class + query_per_class = {need} but data.images_per_class is {per_class}")
        need_eval = max(ev.shots) + ev.query
        _require(need_eval <= per_class, "evaluation.shots", f"max shot + query = {need_eval} but data.images_per_class is {per_class}")
        need_fit = config.evolution.fitness_shots + ev.query
        if config.evolution.fitness != "lifetime" or config.final.selection == "val":
            _require(need_fit <= per_class, "evolution.fitness_shots", f"fitness_shots + evaluation.query = {need_fit} but data.images_per_class is {per_class}")
