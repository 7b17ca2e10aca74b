"""`gtl-ray descend`: a descendant initialized with a learngene learns a downstream task — the
novel classes, with `descend.train_per_class` images each — through Ray Train's TorchTrainer
(data-parallel workers from `descend.num_workers` / `descend.use_gpu`), then is saved as
safetensors. With `evaluation.recipe: gene` it learns with the learning rates and weight decay of
the recipe the gene carries (its epochs and batch size stay `descend.*`)."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import ray
import safetensors.torch
import torch

from gtl_ray import formats, storage
from gtl_ray.compute import Compute
from gtl_ray.config import GTLConfig, from_dict
from gtl_ray.data import ImageSet, load_splits
from gtl_ray.errors import DataError, StorageError
from gtl_ray.finetune import finetune_setup
from gtl_ray.learngene import Learngene, implant
from gtl_ray.models import create_model
from gtl_ray.recipe import Recipe, gene_recipe
from gtl_ray.run.store import RunStore
from gtl_ray.seeding import numpy_rng
from gtl_ray.torch_streams import torch_generator, torch_init_seed
from gtl_ray.training import SGDSettings, accuracy, fit


def split_per_class(images: ImageSet, train_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train/test indices: `train_per_class` images of every class train, the rest test."""
    rng = numpy_rng(seed, "descend-split")
    train, test = [], []
    for c, index in enumerate(images.indices_by_class()):
        if len(index) <= train_per_class:
            raise DataError(
                f"descend.train_per_class={train_per_class}: class {images.class_names[c]!r} has only {len(index)} "
                "images (need at least one more to test)"
            )
        order = rng.permutation(index)
        train.append(order[:train_per_class])
        test.append(order[train_per_class:])
    return np.concatenate(train), np.concatenate(test)


def read_descendant_header(uri: str) -> dict[str, Any]:
    """The gtl_ray metadata of a saved descendant (parsed from the safetensors header only)."""
    data = storage.read_bytes(uri, "weights")
    header = formats.parse_json(data[8 : 8 + int.from_bytes(data[:8], "little")], uri)
    text = header.get("__metadata__", {}).get("gtl_ray") if isinstance(header, dict) else None
    meta = formats.parse_json(text, uri) if isinstance(text, str) else None
    if not isinstance(meta, dict):
        raise StorageError(f"{uri}: not a gtl_ray descendant (no gtl_ray header)")
    return meta


def descend_settings(
    config: GTLConfig, model: torch.nn.Module, recipe: Recipe | None
) -> tuple[SGDSettings, list[dict[str, Any]] | None]:
    """One epoch's SGD settings (and parameter groups) of `descend`: descend.lr with the fixed
    weight decay, or (`evaluation.recipe: gene`) the gene's recipe's learning rates per stage
    and weight decay (`finetune.finetune_setup`); descend.batch_size and epochs either way."""
    d = config.descend
    if recipe is None:
        return SGDSettings(lr=d.lr, momentum=0.9, weight_decay=5e-4, batch_size=d.batch_size, epochs=1), None
    return finetune_setup(model, recipe, d.batch_size, epochs=1)


def _train_loop(loop_config: dict[str, Any]) -> None:
    import ray.train
    import ray.train.torch

    config = from_dict(loop_config["config"])
    images = ImageSet.from_arrays(ray.get(loop_config["data"][0]))
    gene = ray.get(loop_config["gene"][0])
    shape = config.descendant_shape()
    with torch_init_seed(config.seed, "descend"):
        model = create_model(shape.arch, width=shape.width, depth=shape.depth, num_classes=images.num_classes)
    implant(gene, model, config.evaluation.descendant.layer_map)
    model = ray.train.torch.prepare_model(model)
    compute = Compute(str(ray.train.torch.get_device()))  # plain fp32: Ray Train's device, DDP
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    train_idx = torch.from_numpy(loop_config["train"][rank::world])
    test_idx = torch.from_numpy(loop_config["test"])
    d = config.descend
    generator = torch_generator(config.seed, "descend-train", rank)
    core = model.module if hasattr(model, "module") else model
    recipe = loop_config["recipe"]
    settings, groups = descend_settings(config, core, None if recipe is None else Recipe.from_json(recipe, "recipe"))
    for epoch in range(d.epochs):
        fit(model, images.images[train_idx], images.labels[train_idx], settings, generator, compute, groups)
        acc = (
            accuracy(core, images.images[test_idx], images.labels[test_idx], compute)
            if epoch == d.epochs - 1
            else float("nan")
        )
        ray.train.report({"epoch": epoch + 1, "test_accuracy": acc})
    if rank == 0:
        state = {k: v.detach().cpu().contiguous() for k, v in core.state_dict().items()}
        meta = {
            "gtl_ray": json.dumps(
                {
                    "kind": "descendant",
                    "arch": shape.arch,
                    "width": shape.width,
                    "depth": shape.depth,
                    "classes": list(images.class_names),
                    "learngene_checksum": gene.checksum,
                    "recipe": recipe,
                    "test_accuracy": acc,
                }
            )
        }
        storage.write_bytes_atomic(loop_config["out"], safetensors.torch.save(state, metadata=meta))


def descend(
    config: GTLConfig, learngene_uri: str, out: str | None = None, address: str | None = None
) -> dict[str, Any]:
    """Train a learngene-initialized descendant on the novel classes; returns where it went and
    its test accuracy (fraction)."""
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    gene = Learngene.load(learngene_uri)
    recipe = gene_recipe(config, gene.info, learngene_uri)
    novel = load_splits(config.data).novel
    train, test = split_per_class(novel, config.descend.train_per_class, config.seed)
    shape = config.descendant_shape()
    store = RunStore(config.storage, config.name)
    run_root = store.run_dir
    out = out or store.layout.descendant(shape.arch, shape.width)
    if not ray.is_initialized():
        ray.init(address=address, namespace="gtl_ray")
    trainer = TorchTrainer(
        _train_loop,
        train_loop_config={
            "config": config.to_dict(),
            "data": [ray.put(novel.to_arrays())],
            "gene": [ray.put(gene)],
            "train": train,
            "test": test,
            "out": out,
            "recipe": None if recipe is None else recipe.to_json(),
        },
        scaling_config=ScalingConfig(num_workers=config.descend.num_workers, use_gpu=config.descend.use_gpu),
        run_config=RunConfig(
            name="descend-train", storage_path=run_root if storage.is_uri(run_root) else os.path.abspath(run_root)
        ),
    )
    result = trainer.fit()
    if result.error is not None:
        raise result.error
    # Ray Train keeps metrics only with checkpoints; the saved file's header is the record.
    saved = read_descendant_header(out)
    return {
        "path": out,
        "test_accuracy": float(saved["test_accuracy"]),
        "train_images": int(len(train)),
        "test_images": int(len(test)),
        "arch": shape.arch,
        "width": shape.width,
        "depth": shape.depth,
    }
