"""Ordinary supervised pre-training on all base classes: the source of the `full` (100%
transfer) and `heuristic` (non-evolved 20% slots) baselines. Cached as safetensors per run."""
from __future__ import annotations

import json
import logging
from dataclasses import asdict

import safetensors.torch
from safetensors.torch import load as load_safetensors  # parses safetensors bytes; no pickle

from gtl_ray import storage
from gtl_ray.compute import compute_for, resident, to_host
from gtl_ray.config import GTLConfig
from gtl_ray.data import ImageSet
from gtl_ray.models import Network, create_model
from gtl_ray.seeding import derive_seed, torch_generator, torch_init_seed
from gtl_ray.training import SGDSettings, fit

log = logging.getLogger(__name__)


def pretrained_name(config: GTLConfig, arch: str, width: float, depth: int | None) -> str:
    """Cache file name: the network's shape plus a digest of everything else that shapes the
    weights (seed, pre-training settings, data, precision), so changed settings never reuse stale weights."""
    precision = [config.population.precision] if config.population.precision != "fp32" else []  # fp32 keeps its old names
    settings = json.dumps([config.seed, asdict(config.pretrain), asdict(config.data)] + precision, sort_keys=True, default=str)
    return f"pretrained-{arch}-w{width:g}-d{depth if depth is not None else 'default'}-{derive_seed(0, settings):016x}.safetensors"


def pretrain_sample_grads(config: GTLConfig, base: ImageSet) -> int:
    """What a pre-training costs (whether or not it came from the cache): every base image,
    once per epoch."""
    return config.pretrain.epochs * len(base)


def pretrain(config: GTLConfig, base: ImageSet, arch: str, width: float, depth: int | None, cache_dir: str | None = None) -> Network:
    """A network of the given shape trained on every base class (seeded) on this process's
    device with the run's compute settings, returned on the CPU; reused from `cache_dir` when a
    matching file is there."""
    cache = storage.join(cache_dir, pretrained_name(config, arch, width, depth)) if cache_dir else None
    with torch_init_seed(config.seed, "pretrain-init", arch, width, str(depth)):
        model = create_model(arch, width=width, depth=depth, num_classes=base.num_classes)
    if cache and storage.exists(cache):
        try:
            state = load_safetensors(storage.read_bytes(cache))
            model.load_state_dict(state)
            log.info("pre-trained %s reused from %s", arch, cache)
            return model
        except Exception as exc:  # a stale or damaged cache is rebuilt, not trusted
            log.warning("ignoring unreadable pre-training cache %s: %s", cache, exc)
    p = config.pretrain
    settings = SGDSettings(lr=p.lr, momentum=p.momentum, weight_decay=p.weight_decay, batch_size=p.batch_size, epochs=p.epochs, augment=True)
    log.info("pre-training %s (width %g) on %d base classes for %d epochs", arch, width, base.num_classes, p.epochs)
    compute = compute_for(config)
    data = resident(base, config, compute)
    fit(compute.place(model), data.images, data.labels, settings, torch_generator(config.seed, "pretrain", arch, width, str(depth)), compute)
    to_host(model)
    if cache:
        storage.write_bytes_atomic(cache, safetensors.torch.save({k: v.contiguous() for k, v in model.state_dict().items()}))
    return model
