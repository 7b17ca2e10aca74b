"""Prepare what the chosen methods draw from, once, before any episode: pre-trained, narrow and
distilled networks (cached), the genes cut from them, the pruned network; and account for each
method's preparation in sample-gradients and for the share of the descendant's backbone it
transfers.

Every gene-shaped baseline has the learngene's layout: the blocks of the ancestry network
(`model.*`) at the learngene's share (`--learngene`'s, else `learngene.share`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from gtl_ray.config import GTLConfig
from gtl_ray.data import ImageSet
from gtl_ray.errors import ConfigError
from gtl_ray.evaluation.methods import LEARNGENE, TEACHER, Sources, get_method, transferred_parameters
from gtl_ray.evaluation.pretrain import (
    distill_narrow,
    distill_sample_grads,
    narrow_gene,
    pretrain,
    pretrain_sample_grads,
)
from gtl_ray.learngene import Learngene, extract_learngene
from gtl_ray.learngene.channels import random_channels
from gtl_ray.learngene.surgery import extract_tensors
from gtl_ray.learngene.transfer import magnitude_prune
from gtl_ray.models import Network, create_model
from gtl_ray.recipe import gene_recipe
from gtl_ray.seeding import numpy_rng

#: the sources each source is made from (their preparation counts toward every method using it)
DEPENDS = {"heuristic": (TEACHER,), "random_slice": (TEACHER,), "sparse": (TEACHER,), "distilled": (TEACHER,)}


@dataclass
class Prepared:
    """Args:
    sources: what the initializers and fine-tuning objectives draw from.
    sample_grads: per method, sample-gradients of everything prepared for it (pre-training,
        distillation), whether built now, cached or shared with another method.
    transferred: per method, the fraction of the descendant's backbone parameters it transfers.
    """

    sources: Sources
    sample_grads: dict[str, int]
    transferred: dict[str, float]


class _Builder:
    """Builds each source on first use; remembers what each cost on its own."""

    def __init__(self, config: GTLConfig, base: ImageSet, learngene: Learngene | None, cache_dir: str | None):
        self.config, self.base, self.learngene, self.cache_dir = config, base, learngene, cache_dir
        self.share = learngene.share if learngene is not None else config.learngene.share
        self.values: dict[str, Any] = {}
        self.own: dict[str, int] = {}
        self._networks: dict[tuple, Network] = {}

    def get(self, name: str) -> Any:
        if name not in self.values:
            build: Callable[[], tuple[Any, int]] = getattr(self, f"_{name}")
            self.values[name], self.own[name] = build()
        return self.values[name]

    def _pretrained_network(self, arch: str, width: float, depth: int | None) -> Network:
        key = (arch, width, depth)
        if key not in self._networks:  # full and teacher are one network when the shapes agree
            self._networks[key] = pretrain(self.config, self.base, arch, width, depth, self.cache_dir)
        return self._networks[key]

    def layout(self) -> Learngene:
        """A gene of the learngene's layout (values: a fresh ancestry network's)."""
        m = self.config.model
        return extract_learngene(create_model(m.arch, width=m.width, depth=m.depth), self.share)

    def _learngene(self) -> tuple[Learngene, int]:
        return self.learngene, 0  # its evolution is accounted in its run's manifest

    def _pretrained(self) -> tuple[Network, int]:
        shape = self.config.descendant_shape()
        return self._pretrained_network(shape.arch, shape.width, shape.depth), pretrain_sample_grads(
            self.config, self.base
        )

    def _teacher(self) -> tuple[Network, int]:
        m = self.config.model
        return self._pretrained_network(m.arch, m.width, m.depth), pretrain_sample_grads(self.config, self.base)

    def _heuristic(self) -> tuple[Learngene, int]:
        return extract_learngene(self.get(TEACHER), self.share, baseline="heuristic"), 0

    def _narrow(self) -> tuple[Learngene, int]:
        return narrow_gene(
            self.config, self.base, self.share, self.cache_dir, baseline="narrow"
        ), pretrain_sample_grads(self.config, self.base)

    def _distilled(self) -> tuple[Learngene, int]:
        layout = self.layout()
        student = distill_narrow(self.config, self.base, layout.rho, self.get(TEACHER), self.cache_dir)
        return layout.replace_tensors(extract_tensors(student, 1.0), baseline="distilled"), distill_sample_grads(
            self.config, self.base
        )

    def _random_slice(self) -> tuple[Learngene, int]:
        teacher, layout = self.get(TEACHER), self.layout()
        channels = random_channels(teacher, layout.rho, numpy_rng(self.config.seed, "random_slice"))
        return layout.replace_tensors(extract_tensors(teacher, layout.rho, channels), baseline="random_slice"), 0

    def _sparse(self) -> tuple[Any, int]:
        return magnitude_prune(self.get(TEACHER), self.layout().num_params), 0


def _closure(names: set[str]) -> set[str]:
    out = set(names)
    for name in names:
        out |= _closure(set(DEPENDS.get(name, ())))
    return out


def prepare_sources(
    config: GTLConfig, methods: list[str], base: ImageSet, learngene: Learngene | None, cache_dir: str | None
) -> Prepared:
    """Build (or reuse from `cache_dir`) everything `methods` draw from; see `Prepared`."""
    for name in methods:
        if LEARNGENE in get_method(name).needs and learngene is None:
            raise ConfigError(f"evaluation.methods: {name!r} needs --learngene URI")
    ev = config.evaluation
    builder = _Builder(config, base, learngene, cache_dir)
    for name in methods:
        for source in get_method(name).needs:
            builder.get(source)
    sources = Sources(
        rest_init=ev.rest_init,
        rest_scale=ev.rest_scale,
        extra_layers=ev.extra_layers,
        aft=ev.aft,
        layer_map=ev.descendant.layer_map,
        **builder.values,
    )
    if learngene is not None:
        sources.learngene_recipe = gene_recipe(config, learngene.info, "--learngene")
    if sources.pretrained is not None:
        sources.pretrained.reset_head(ev.n_way)
    shape = config.descendant_shape()
    total = create_model(shape.arch, width=shape.width, depth=shape.depth).backbone_parameter_count()
    sample_grads, transferred = {}, {}
    for name in methods:
        method = get_method(name)
        sample_grads[name] = sum(builder.own[s] for s in _closure(method.needs))
        transferred[name] = transferred_parameters(builder.values.get(method.transfers)) / total
    return Prepared(sources, sample_grads, transferred)
