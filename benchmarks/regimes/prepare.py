"""What units need before any episode: the data, the descendant shapes, pre-trained networks
(through gtl_ray's cache), grown networks, evolved genes. Pre-trainings and evolutions run in
this process with one torch thread; their figures (sample-gradients, CPU seconds) go to the
unit's file."""

from __future__ import annotations

import json
import time
from dataclasses import asdict

import torch

from benchmarks.regimes.protocol import EVOLUTION, LIVE_SIZES, SIZES, Size
from benchmarks.regimes.units import Evolution, Pretraining, Study, cached_json
from gtl_ray.config import DescendantShape, GTLConfig
from gtl_ray.data import Splits, load_splits
from gtl_ray.evaluation.pretrain import pretrain, pretrain_narrow, pretrain_sample_grads
from gtl_ray.learngene import Learngene, extract_learngene
from gtl_ray.learngene.narrow import narrow_network
from gtl_ray.learngene.surgery import extract_tensors
from gtl_ray.learngene.widen import widen
from gtl_ray.models import Network, create_model
from gtl_ray.seeding import numpy_rng


_SPLITS: dict[str, Splits] = {}


def splits_of(config: GTLConfig) -> Splits:
    """The data set's splits, loaded once per process."""
    key = json.dumps(asdict(config.data), sort_keys=True, default=str)
    if key not in _SPLITS:
        _SPLITS[key] = load_splits(config.data)
    return _SPLITS[key]


def layout(config: GTLConfig) -> Learngene:
    """A gene of the ancestry network's layout (the blocks every gene of the study has)."""
    m = config.model
    return extract_learngene(create_model(m.arch, width=m.width, depth=m.depth), config.learngene.share)


def shape_of(config: GTLConfig, size: Size) -> DescendantShape:
    m = config.model
    rho = layout(config).rho if size.gene_shaped else None
    arch = size.arch or m.arch
    return DescendantShape(arch, m.width * size.width, m.depth if arch == m.arch else None, rho)


def fitness_sizes(config: GTLConfig, names: tuple[str, ...] = tuple(s.name for s in LIVE_SIZES)) -> str:
    """The `evolution.fitness_sizes` override of an evolution aimed at the sizes `names` (regime
    A's: every live size)."""
    shapes = [shape_of(config, size_named(name)) for name in names]
    return "evolution.fitness_sizes=[" + ", ".join(f"{{arch: {s.arch}, width: {s.width}}}" for s in shapes) + "]"


def size_named(name: str) -> Size:
    return next(s for s in SIZES if s.name == name)


def _timed(fn) -> tuple[object, float]:
    start = time.process_time()
    return fn(), time.process_time() - start


def pretrained(unit: Pretraining) -> Network:
    """The unit's network (cached by gtl_ray), its figures written to the unit's file."""
    torch.set_num_threads(1)
    config = unit.study.config(unit.seed, f"pretrain.epochs={unit.epochs}")
    base, size = splits_of(config).base, size_named(unit.size)
    if size.gene_shaped:
        build = lambda: pretrain_narrow(config, base, layout(config).rho, unit.study.cache)  # noqa: E731
    else:
        shape = shape_of(config, size)
        build = lambda: pretrain(config, base, shape.arch, shape.width, shape.depth, unit.study.cache)  # noqa: E731
    network, seconds = _timed(build)
    figures = {"sample_grads": pretrain_sample_grads(config, base), "cpu_seconds": seconds}
    cached_json(unit.path, lambda: figures)  # the first run's seconds (later runs read the cache)
    return network


def narrow_as_gene(unit: Pretraining) -> Learngene:
    """The pre-trained narrow network as a gene of the ancestry's layout (the `narrow` baseline)."""
    config = unit.study.config(unit.seed)
    return layout(config).replace_tensors(extract_tensors(pretrained(unit), 1.0), baseline="narrow")


def grown(unit: Pretraining, size: Size) -> Network:
    """The narrow network of `unit` widened (and deepened) into `size`, function-preserving."""
    config = unit.study.config(unit.seed)
    shape = shape_of(config, size)
    target = create_model(shape.arch, width=shape.width, depth=shape.depth, num_classes=1)
    target = target if shape.rho is None else narrow_network(target, shape.rho)
    return widen(pretrained(unit), target, numpy_rng(unit.seed, "grow", size.name, unit.epochs))


def evolved(unit: Evolution) -> Learngene:
    """The unit's final learngene, evolved in process (`evolve_local`) or read back."""
    from gtl_ray.evolution import evolve_local

    if unit.gene_path.exists() and unit.path.exists():
        return Learngene.load(str(unit.gene_path))
    torch.set_num_threads(1)
    base_config = unit.study.config(unit.seed)
    sizes = fitness_sizes(base_config, unit.sizes)
    config = unit.study.config(unit.seed, *EVOLUTION, sizes, *unit.rest.overrides(), *unit.extra)
    start = time.time()
    result, seconds = _timed(lambda: evolve_local(config, splits=splits_of(config), cache_dir=unit.study.cache))
    unit.gene_path.parent.mkdir(parents=True, exist_ok=True)
    result.final.save(str(unit.gene_path))
    figures = {
        "compute": result.compute,
        "curve": result.fitness,
        "cpu_seconds": seconds,
        "wall_seconds": time.time() - start,
    }
    cached_json(unit.path, lambda: figures)
    return result.final


def evolution_figures(unit: Evolution) -> dict:
    evolved(unit)
    return json.loads(unit.path.read_text())


def budget_epochs(sample_grads: int, base_images: int, share: int = 1) -> int:
    """Pre-training epochs spending `sample_grads` / `share` sample-gradients (at least 1)."""
    return max(1, round(sample_grads / (share * base_images)))


def base_images(study: Study) -> int:
    return len(splits_of(study.config(0)).base)
