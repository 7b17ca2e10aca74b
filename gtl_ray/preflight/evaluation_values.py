"""Value checks of the `evaluation` section: the few-shot protocol, the methods compared, and what
each class split must hold for them."""

from __future__ import annotations

import math

from gtl_ray.config import GTLConfig
from gtl_ray.errors import ConfigError, quote
from gtl_ray.evaluation.methods import GENE_SHAPED, LEARNGENE, get_method, list_methods
from gtl_ray.preflight.genes import check_baseline_genes_fit
from gtl_ray.preflight.rules import GENERATED_FORMATS, MAX_COUNT, count, require


def check_evaluation_values(config: GTLConfig) -> None:
    """The few-shot protocol, the methods, and what each split must hold for them."""
    ev = config.evaluation
    require(ev.n_way >= 2, "evaluation.n_way", f"must be >= 2, got {ev.n_way}")
    count(ev.n_way, "evaluation.n_way")
    require(
        0 < len(ev.shots) <= 100, "evaluation.shots", f"must list between 1 and 100 shot counts, got {len(ev.shots)}"
    )
    for shot in ev.shots:
        require(
            isinstance(shot, int) and not isinstance(shot, bool) and 1 <= shot <= MAX_COUNT,
            "evaluation.shots",
            f"every entry must be an integer >= 1 and <= {MAX_COUNT}, got {quote(shot)}",
        )
    count(ev.query, "evaluation.query")
    count(ev.episodes, "evaluation.episodes")
    count(ev.steps, "evaluation.steps", low=0)
    require(ev.lr > 0, "evaluation.lr", f"must be > 0, got {ev.lr}")
    require(
        math.isfinite(ev.rest_scale) and 0.0 <= ev.rest_scale <= 1.0,
        "evaluation.rest_scale",
        f"must be in [0, 1], got {ev.rest_scale}",
    )
    _methods(config)
    for key, asked, split in (
        ("lifetime.n_way", config.lifetime.n_way, "base"),
        ("evaluation.n_way", ev.n_way, "novel"),
    ):
        spec = getattr(config.data.splits, split)
        if isinstance(spec, int):
            require(asked <= spec, key, f"{asked} classes asked but data.splits.{split} has only {spec}")
        elif isinstance(spec, list):
            require(asked <= len(spec), key, f"{asked} classes asked but data.splits.{split} lists only {len(spec)}")
    if config.data.format in GENERATED_FORMATS:
        per_class = config.data.images_per_class
        need = config.lifetime.train_per_class + config.lifetime.query_per_class
        require(
            need <= per_class,
            "lifetime.train_per_class",
            f"train_per_class + query_per_class = {need} but data.images_per_class is {per_class}",
        )
        need_eval = max(ev.shots) + ev.query
        require(
            need_eval <= per_class,
            "evaluation.shots",
            f"max shot + query = {need_eval} but data.images_per_class is {per_class}",
        )
        need_fit = config.evolution.fitness_shots + ev.query
        if config.evolution.fitness != "lifetime" or config.final.selection == "val":
            require(
                need_fit <= per_class,
                "evolution.fitness_shots",
                f"fitness_shots + evaluation.query = {need_fit} but data.images_per_class is {per_class}",
            )


def _methods(config: GTLConfig) -> None:
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
    require(not repeated, "evaluation.methods", f"lists {', '.join(map(repr, repeated))} more than once")
    shape, m = config.descendant_shape(), config.model
    if (shape.arch, shape.width, shape.depth) != (m.arch, m.width, m.depth):
        usable = [n for n in names if get_method(n).same_shape is None]
        for method in ev.methods:
            why = get_method(method).same_shape
            require(
                why is None,
                "evaluation.methods",
                f"{method!r} needs a descendant of the ancestry network's shape ({m.arch}, width {m.width:g}, depth "
                f"{m.depth or 'default'}), "
                f"but evaluation.descendant is {shape.arch}, width {shape.width:g}, depth "
                f"{shape.depth or 'default'}: {why}. Methods for this descendant: {', '.join(usable)}",
            )
        check_baseline_genes_fit(
            config,
            [n for n in ev.methods if get_method(n).transfers in GENE_SHAPED and get_method(n).transfers != LEARNGENE],
        )
    if ev.finetune == "linear":
        for method in ev.methods:
            require(
                not get_method(method).aft,
                "evaluation.methods",
                f"{method!r} regularizes the descendant's features while they are fine-tuned, but "
                "evaluation.finetune=linear freezes them (only a head is trained); use evaluation.finetune=full or "
                f"leave {method!r} out",
            )
    d, a = ev.distill, ev.aft
    require(
        d.epochs is None or d.epochs >= 1,
        "evaluation.distill.epochs",
        f"must be >= 1 (or null: pretrain.epochs), got {d.epochs}",
    )
    require(d.batch_size >= 1, "evaluation.distill.batch_size", f"must be >= 1, got {d.batch_size}")
    require(math.isfinite(a.beta) and a.beta >= 0, "evaluation.aft.beta", f"must be a number >= 0, got {a.beta}")
    require(math.isfinite(a.lr) and a.lr > 0, "evaluation.aft.lr", f"must be > 0, got {a.lr}")
