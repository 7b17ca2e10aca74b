"""Networks trained on all base classes before any episode, cached as safetensors per run:
ordinary supervised pre-training (the source of `full`, `heuristic`, `random_slice`, `sparse`
and the teacher of `distilled` and `aft`), the gene-shaped narrow network pre-trained alone
(`narrow`), and the same narrow network distilled from the pre-trained one (`distilled`)."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from typing import Any, Callable

import safetensors.torch
from safetensors.torch import load as load_safetensors  # parses safetensors bytes; no pickle

from gtl_ray import storage
from gtl_ray.compute import compute_for, resident, to_host
from gtl_ray.config import GTLConfig, ModelConfig
from gtl_ray.data import ImageSet
from gtl_ray.evaluation.objectives import FeatureDistillation
from gtl_ray.learngene import Learngene, extract_learngene
from gtl_ray.learngene.narrow import narrow_network
from gtl_ray.learngene.surgery import extract_tensors
from gtl_ray.models import Network, create_model
from gtl_ray.seeding import derive_seed
from gtl_ray.torch_streams import torch_generator, torch_init_seed
from gtl_ray.training import SGDSettings, fit

log = logging.getLogger(__name__)


def pretrained_name(
    config: GTLConfig, arch: str, width: float, depth: int | None, kind: str = "pretrained", extra: Any = None
) -> str:
    """Cache file name: the network's shape plus a digest of everything else that shapes the
    weights (seed, pre-training settings, data, precision, and `extra`), so changed settings never
    reuse stale weights."""
    # fp32 adds nothing to the digest, so the caches of the default precision keep their names
    precision = [config.population.precision] if config.population.precision != "fp32" else []
    parts = (
        [config.seed, asdict(config.pretrain), asdict(config.data)] + precision + ([extra] if extra is not None else [])
    )
    settings = json.dumps(parts, sort_keys=True, default=str)
    depth_name = depth if depth is not None else "default"
    return f"{kind}-{arch}-w{width:g}-d{depth_name}-{derive_seed(0, settings):016x}.safetensors"


def pretrain_sample_grads(config: GTLConfig, base: ImageSet) -> int:
    """What a pre-training costs (whether or not it came from the cache): every base image,
    once per epoch."""
    return config.pretrain.epochs * len(base)


def distill_epochs(config: GTLConfig) -> int:
    return config.evaluation.distill.epochs or config.pretrain.epochs


def distill_sample_grads(config: GTLConfig, base: ImageSet) -> int:
    """What the distillation of the narrow network costs: every base image once per epoch
    through the student (the frozen teacher's forward passes not counted)."""
    return distill_epochs(config) * len(base)


def _cached(model: Network, cache_dir: str | None, name: str, train: Callable[[], None]) -> Network:
    """`model` with the weights cached under `name` in `cache_dir`, else trained by `train()`
    (in place) and cached."""
    cache = storage.join(cache_dir, name) if cache_dir else None
    if cache and storage.exists(cache):
        try:
            model.load_state_dict(load_safetensors(storage.read_bytes(cache, "weights")))
            log.info("%s reused from %s", name.split("-")[0], cache)
            return model
        except Exception as exc:  # a stale or damaged cache is rebuilt, not trusted
            log.warning("ignoring unreadable pre-training cache %s: %s", cache, exc)
    train()
    if cache:
        storage.write_bytes_atomic(
            cache, safetensors.torch.save({k: v.contiguous() for k, v in model.state_dict().items()})
        )
    return model


def _supervised(config: GTLConfig, base: ImageSet, model: Network, *keys: str | float) -> None:
    """Train `model` on every base class with the `pretrain` settings on this process's device
    and the run's compute settings; `model` is left on the CPU."""
    p = config.pretrain
    settings = SGDSettings(
        lr=p.lr,
        momentum=p.momentum,
        weight_decay=p.weight_decay,
        batch_size=p.batch_size,
        epochs=p.epochs,
        augment=True,
    )
    compute = compute_for(config)
    data = resident(base, config, compute)
    fit(compute.place(model), data.images, data.labels, settings, torch_generator(config.seed, *keys), compute)
    to_host(model)


def pretrain(
    config: GTLConfig, base: ImageSet, arch: str, width: float, depth: int | None, cache_dir: str | None = None
) -> Network:
    """A network of the given shape trained on every base class (seeded); reused from
    `cache_dir` when a matching file is there."""
    with torch_init_seed(config.seed, "pretrain-init", arch, width, str(depth)):
        model = create_model(arch, width=width, depth=depth, num_classes=base.num_classes)

    def train() -> None:
        log.info(
            "pre-training %s (width %g) on %d base classes for %d epochs",
            arch,
            width,
            base.num_classes,
            config.pretrain.epochs,
        )
        _supervised(config, base, model, "pretrain", arch, width, str(depth))

    return _cached(model, cache_dir, pretrained_name(config, arch, width, depth), train)


def _narrow(config: GTLConfig, base: ImageSet, rho: float) -> tuple[Network, ModelConfig]:
    """The ancestry network's gene-shaped narrow network, freshly initialized (seeded: the same
    start for `narrow` and `distilled`)."""
    m = config.model
    with torch_init_seed(config.seed, "narrow-init", m.arch, m.width, str(m.depth), f"{rho:.9f}"):
        return narrow_network(create_model(m.arch, width=m.width, depth=m.depth, num_classes=base.num_classes), rho), m


def pretrain_narrow(config: GTLConfig, base: ImageSet, rho: float, cache_dir: str | None = None) -> Network:
    """The narrow network at channel fraction `rho` trained alone on every base class with the
    `pretrain` settings."""
    model, m = _narrow(config, base, rho)

    def train() -> None:
        log.info(
            "pre-training the narrow %s (rho %.3f) on %d base classes for %d epochs",
            m.arch,
            rho,
            base.num_classes,
            config.pretrain.epochs,
        )
        _supervised(config, base, model, "pretrain-narrow", m.arch, m.width, str(m.depth), f"{rho:.9f}")

    return _cached(model, cache_dir, pretrained_name(config, m.arch, m.width, m.depth, "narrow", {"rho": rho}), train)


def narrow_gene(
    config: GTLConfig, base: ImageSet, share: float, cache_dir: str | None = None, **info: Any
) -> Learngene:
    """The narrow network pre-trained alone, as a gene of the ancestry network's layout at `share`:
    the `narrow` baseline, and generation 0 under `evolution.init: narrow` (one cache, one gene)."""
    m = config.model
    layout = extract_learngene(create_model(m.arch, width=m.width, depth=m.depth), share)
    return layout.replace_tensors(extract_tensors(pretrain_narrow(config, base, layout.rho, cache_dir), 1.0), **info)


def distill_narrow(
    config: GTLConfig, base: ImageSet, rho: float, teacher: Network, cache_dir: str | None = None
) -> Network:
    """The narrow network at `rho` trained by `FeatureDistillation` from `teacher` (the
    pre-trained ancestry network) on the base images, per `evaluation.distill`."""
    model, m = _narrow(config, base, rho)
    d = config.evaluation.distill
    keys = (m.arch, m.width, str(m.depth), f"{rho:.9f}")

    def train() -> None:
        log.info(
            "distilling the narrow %s (rho %.3f) from the pre-trained one for %d epochs",
            m.arch,
            rho,
            distill_epochs(config),
        )
        with torch_init_seed(config.seed, "distill-projector", *keys):
            objective = FeatureDistillation(teacher, model.feature_dim)
        settings = SGDSettings(
            lr=d.lr,
            momentum=d.momentum,
            weight_decay=d.weight_decay,
            batch_size=d.batch_size,
            epochs=distill_epochs(config),
            augment=d.augment,
        )
        fit(
            model,
            base.images,
            base.labels,
            settings,
            torch_generator(config.seed, "distill", *keys),
            objective=objective,
        )

    extra = {"rho": rho, "distill": asdict(d), "epochs": distill_epochs(config)}
    return _cached(model, cache_dir, pretrained_name(config, m.arch, m.width, m.depth, "distilled", extra), train)
