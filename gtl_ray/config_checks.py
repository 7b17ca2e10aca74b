"""Value checks for a GTLConfig: every range and cross-field constraint that can be checked
without reading data, each failure naming the dotted key and what is allowed; and
`load_config`, which reads and validates (what every caller uses).

It depends on the schema and on the registries (models, mutation operators, evaluation methods)
only, none of which imports it back."""

from __future__ import annotations

import math
import re
from pathlib import Path

from gtl_ray import storage
from gtl_ray.config import MAX_WIDTH, DataConfig, GTLConfig, read_config
from gtl_ray.config_sizes import validate_sizes
from gtl_ray.errors import ConfigError, StorageError, quote
from gtl_ray.evaluation.methods import GENE_SHAPED, LEARNGENE, get_method, list_methods
from gtl_ray.evolution.mutation import list_mutations
from gtl_ray.models import create_model, list_models

NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")  #: a run name is one path segment (and not . or ..)
MAX_COUNT = 1_000_000  #: upper bound of every count (classes, images, epochs, episodes, ...)
MAX_DEPTH = 32  #: VGG takes 11/13/16/19; ResNet12 blocks per stage
MAX_IMAGE_SIZE = 1024  #: pixels per side images are resized to
MAX_POPULATION = 100_000
MAX_RESOURCES = 1024  #: GPUs or CPUs per member or Ray Train workers
GENERATED_FORMATS = (
    "procedural",
    "glyphs",
)  #: data made on the fly: class counts, data.num_classes x data.images_per_class


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> GTLConfig:
    """Read a YAML config (or the defaults when `path` is None), apply `key=value` overrides,
    and validate. Raises ConfigError naming the file, key or value at fault."""
    config = read_config(path, overrides)
    validate(config)
    return config


def _require(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"{key}: {message}")


def validate(config: GTLConfig) -> None:
    """Check every value range and cross-field constraint that can be checked without data."""
    _require(
        bool(NAME.fullmatch(config.name)) and config.name not in (".", ".."),
        "name",
        f"must be one path segment of letters, digits and -_. (at most 128, not . or ..), got {quote(config.name)}",
    )
    _require(config.seed >= 0, "seed", f"must be >= 0, got {config.seed}")
    try:
        storage.check_scheme(config.storage)
        storage.check_storage_root(config.storage)
    except StorageError as exc:
        raise ConfigError(f"storage: {exc}") from None
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
        _require(width is None or width > 0, key, f"must be > 0, got {width}")
        _require(width is None or width <= MAX_WIDTH, key, f"must be <= {MAX_WIDTH:g}, got {width}")
    for key, depth in (
        ("model.depth", config.model.depth),
        ("evaluation.descendant.depth", config.evaluation.descendant.depth),
    ):
        _require(depth is None or 1 <= depth <= MAX_DEPTH, key, f"must be between 1 and {MAX_DEPTH}, got {depth}")
    _require(0.0 < config.learngene.share < 1.0, "learngene.share", f"must be in (0, 1), got {config.learngene.share}")
    _validate_input_size(config)

    pop, evo = config.population, config.evolution
    _count(pop.size, "population.size", low=1, high=MAX_POPULATION)
    _count(pop.gpus_per_member, "population.gpus_per_member", low=0, high=MAX_RESOURCES)
    _require(
        pop.gpus_per_member <= 1 or float(pop.gpus_per_member).is_integer(),
        "population.gpus_per_member",
        f"fractions are allowed only below 1, got {pop.gpus_per_member}",
    )
    _require(pop.cpus_per_member > 0, "population.cpus_per_member", f"must be > 0, got {pop.cpus_per_member}")
    _count(pop.cpus_per_member, "population.cpus_per_member", low=0, high=MAX_RESOURCES)
    _count(pop.max_failures, "population.max_failures", low=0)
    _require(
        pop.resource_timeout_s >= 0, "population.resource_timeout_s", f"must be >= 0, got {pop.resource_timeout_s}"
    )
    _validate_packing(config)
    _count(evo.generations, "evolution.generations")
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
        _count(getattr(life, key), f"lifetime.{key}")
    _require(life.n_way >= 2, "lifetime.n_way", f"must be >= 2, got {life.n_way}")
    for section, obj in (
        ("lifetime", life),
        ("pretrain", config.pretrain),
        ("descend", config.descend),
        ("evaluation.distill", config.evaluation.distill),
    ):
        _require(obj.lr > 0, f"{section}.lr", f"must be > 0, got {obj.lr}")
        if hasattr(obj, "momentum"):
            _require(0 <= obj.momentum < 1, f"{section}.momentum", f"must be in [0, 1), got {obj.momentum}")
            _require(obj.weight_decay >= 0, f"{section}.weight_decay", f"must be >= 0, got {obj.weight_decay}")

    _require(life.environments >= 1, "lifetime.environments", f"must be >= 1, got {life.environments}")
    _validate_strategy(config)
    _validate_data(config.data)
    _validate_evaluation(config)
    validate_sizes(config)
    for key in ("epochs", "batch_size"):
        _count(getattr(config.pretrain, key), f"pretrain.{key}")
    for key in ("epochs", "batch_size", "train_per_class"):
        _count(getattr(config.descend, key), f"descend.{key}")
    _count(config.descend.num_workers, "descend.num_workers", high=MAX_RESOURCES)


def _count(value: int | float, key: str, low: int | float = 1, high: int | float = MAX_COUNT) -> None:
    """`low <= value <= high`; the message names the bound that was broken."""
    _require(value >= low, key, f"must be >= {low}, got {value}")
    _require(value <= high, key, f"must be <= {high}, got {value}")


def _validate_packing(config: GTLConfig) -> None:
    """Members per actor and the compute settings: a pack must split the population evenly and
    hold a GPU amount Ray can place; fp16 runs on CUDA only (`gtl_ray.compute`)."""
    pop = config.population
    k = pop.members_per_actor
    _require(k >= 1, "population.members_per_actor", f"must be >= 1, got {k}")
    _require(
        pop.size % k == 0,
        "population.members_per_actor",
        f"must divide population.size ({pop.size}) so that every actor holds as many members, got {k}",
    )
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
    _require(
        math.isfinite(evo.step_size) and 0.0 < evo.step_size <= 1.0,
        "evolution.step_size",
        f"must be in (0, 1], got {evo.step_size}",
    )
    _require(
        1 <= evo.top_k <= size, "evolution.top_k", f"must be between 1 and population.size ({size}), got {evo.top_k}"
    )
    _require(evo.fitness_episodes >= 1, "evolution.fitness_episodes", f"must be >= 1, got {evo.fitness_episodes}")
    _require(evo.fitness_shots >= 1, "evolution.fitness_shots", f"must be >= 1, got {evo.fitness_shots}")
    _require(evo.hall_of_fame >= 1, "evolution.hall_of_fame", f"must be >= 1, got {evo.hall_of_fame}")
    _require(config.final.val_episodes >= 1, "final.val_episodes", f"must be >= 1, got {config.final.val_episodes}")
    if evo.fitness != "lifetime" or config.final.selection == "val":
        _require(
            config.evaluation.n_way <= _class_count(config, "base"),
            "evaluation.n_way",
            f"{config.evaluation.n_way}-way fitness / final-selection episodes need that many base classes",
        )


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
        _require(
            config.data.image_size >= need,
            "data.image_size",
            f"{config.data.image_size} px is too small for {key}={arch} ({pools} halvings need >= {need} px)",
        )


def _validate_data(data: DataConfig) -> None:
    _count(data.image_size, "data.image_size", low=8, high=MAX_IMAGE_SIZE)
    _require(data.seed >= 0, "data.seed", f"must be >= 0, got {data.seed}")
    _count(data.num_classes, "data.num_classes")
    _count(data.images_per_class, "data.images_per_class")
    if data.format in ("cifar100", "folder") and not data.path:
        raise ConfigError(f"data.path: required for data.format={data.format}")
    splits = data.splits
    for name in ("base", "val", "novel"):
        spec = getattr(splits, name)
        key = f"data.splits.{name}"
        if isinstance(spec, int):
            _require(
                spec >= 0 if name == "val" else spec >= 2,
                key,
                f"class count must be >= {0 if name == 'val' else 2}, got {spec}",
            )
            _require(spec <= MAX_COUNT, key, f"class count must be <= {MAX_COUNT}, got {spec}")
        if isinstance(spec, list):
            bad = next(
                (c for c in spec if isinstance(c, bool) or not isinstance(c, (str, int)) or len(str(c)) > 256), None
            )
            _require(
                bad is None and len(spec) <= MAX_COUNT,
                key,
                f"must list at most {MAX_COUNT} class names (strings of at most 256 characters), got {quote(bad if bad is not None else spec)}",
            )
        if data.format == "parquet":
            _require(
                isinstance(spec, str) or (name == "val" and spec in (None, 0)),
                key,
                f"data.format=parquet needs a file or folder path per split, got {quote(spec)}",
            )
    if data.format in GENERATED_FORMATS:
        counts = [0 if getattr(splits, n) is None else getattr(splits, n) for n in ("base", "val", "novel")]
        _require(
            all(isinstance(c, int) for c in counts),
            "data.splits",
            f"{data.format} data takes class counts, got {quote(counts)}",
        )
        _require(
            sum(counts) <= data.num_classes,
            "data.splits",
            f"base+val+novel = {sum(counts)} classes but data.num_classes is {data.num_classes}",
        )
        _require(data.images_per_class >= 2, "data.images_per_class", f"must be >= 2, got {data.images_per_class}")
        decoded = data.num_classes * data.images_per_class * 3 * data.image_size**2
        _require(
            decoded <= storage.limit("decoded"),
            "data.images_per_class",
            f"data.num_classes x data.images_per_class images of {data.image_size} px take {decoded} bytes, more than {storage.limit('decoded')} (GTL_RAY_MAX_DECODED_BYTES)",
        )


def _validate_evaluation(config: GTLConfig) -> None:
    ev = config.evaluation
    _require(ev.n_way >= 2, "evaluation.n_way", f"must be >= 2, got {ev.n_way}")
    _count(ev.n_way, "evaluation.n_way")
    _require(
        0 < len(ev.shots) <= 100, "evaluation.shots", f"must list between 1 and 100 shot counts, got {len(ev.shots)}"
    )
    for shot in ev.shots:
        _require(
            isinstance(shot, int) and not isinstance(shot, bool) and 1 <= shot <= MAX_COUNT,
            "evaluation.shots",
            f"every entry must be an integer >= 1 and <= {MAX_COUNT}, got {quote(shot)}",
        )
    _count(ev.query, "evaluation.query")
    _count(ev.episodes, "evaluation.episodes")
    _count(ev.steps, "evaluation.steps", low=0)
    _require(ev.lr > 0, "evaluation.lr", f"must be > 0, got {ev.lr}")
    _require(
        math.isfinite(ev.rest_scale) and 0.0 <= ev.rest_scale <= 1.0,
        "evaluation.rest_scale",
        f"must be in [0, 1], got {ev.rest_scale}",
    )
    _validate_methods(config)
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
        _require(
            need <= per_class,
            "lifetime.train_per_class",
            f"train_per_class + query_per_class = {need} but data.images_per_class is {per_class}",
        )
        need_eval = max(ev.shots) + ev.query
        _require(
            need_eval <= per_class,
            "evaluation.shots",
            f"max shot + query = {need_eval} but data.images_per_class is {per_class}",
        )
        need_fit = config.evolution.fitness_shots + ev.query
        if config.evolution.fitness != "lifetime" or config.final.selection == "val":
            _require(
                need_fit <= per_class,
                "evolution.fitness_shots",
                f"fitness_shots + evaluation.query = {need_fit} but data.images_per_class is {per_class}",
            )


def _validate_methods(config: GTLConfig) -> None:
    """Known names, no repeats, and every method compatible with the descendant and the
    fine-tuning protocol; the options of the distilled and AFT baselines."""
    ev = config.evaluation
    names = list_methods()
    for method in ev.methods:
        if not isinstance(method, str) or method not in names:
            raise ConfigError(
                f"evaluation.methods: unknown method {quote(method)}; choose from {', '.join(names)} (or --methods all)"
            )
    repeated = sorted({m for m in ev.methods if ev.methods.count(m) > 1})
    _require(not repeated, "evaluation.methods", f"lists {', '.join(map(repr, repeated))} more than once")
    shape, m = config.descendant_shape(), config.model
    if (shape.arch, shape.width, shape.depth) != (m.arch, m.width, m.depth):
        usable = [n for n in names if get_method(n).same_shape is None]
        for method in ev.methods:
            why = get_method(method).same_shape
            _require(
                why is None,
                "evaluation.methods",
                f"{method!r} needs a descendant of the ancestry network's shape ({m.arch}, width {m.width:g}, depth {m.depth or 'default'}), "
                f"but evaluation.descendant is {shape.arch}, width {shape.width:g}, depth {shape.depth or 'default'}: {why}. Methods for this descendant: {', '.join(usable)}",
            )
        _check_baseline_genes_fit(
            config,
            [n for n in ev.methods if get_method(n).transfers in GENE_SHAPED and get_method(n).transfers != LEARNGENE],
        )
    if ev.finetune == "linear":
        for method in ev.methods:
            _require(
                not get_method(method).aft,
                "evaluation.methods",
                f"{method!r} regularizes the descendant's features while they are fine-tuned, but evaluation.finetune=linear freezes them (only a head is trained); use evaluation.finetune=full or leave {method!r} out",
            )
    d, a = ev.distill, ev.aft
    _require(
        d.epochs is None or d.epochs >= 1,
        "evaluation.distill.epochs",
        f"must be >= 1 (or null: pretrain.epochs), got {d.epochs}",
    )
    _require(d.batch_size >= 1, "evaluation.distill.batch_size", f"must be >= 1, got {d.batch_size}")
    _require(math.isfinite(a.beta) and a.beta >= 0, "evaluation.aft.beta", f"must be a number >= 0, got {a.beta}")
    _require(math.isfinite(a.lr) and a.lr > 0, "evaluation.aft.lr", f"must be > 0, got {a.lr}")


def _check_baseline_genes_fit(config: GTLConfig, methods: list[str]) -> None:
    """The gene-shaped baselines implant a gene of the ancestry network's layout: refuse a
    descendant it does not fit before anything is pre-trained (the learngene itself is checked
    against the descendant by the CLI, once loaded)."""
    if not methods:
        return
    from gtl_ray.errors import LearngeneError
    from gtl_ray.learngene import extract_learngene, implant

    m, shape = config.model, config.descendant_shape()
    layout = extract_learngene(create_model(m.arch, width=m.width, depth=m.depth), config.learngene.share)
    try:
        implant(layout, create_model(shape.arch, width=shape.width, depth=shape.depth))
    except LearngeneError as exc:
        raise ConfigError(
            f"evaluation.methods: {', '.join(map(repr, methods))} implant a gene of the ancestry network ({m.arch}, width {m.width:g}), which does not fit evaluation.descendant: {exc}"
        ) from None
