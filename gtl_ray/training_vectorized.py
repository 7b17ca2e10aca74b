"""K `fit`s at once: networks of one shape trained as one network of grouped convolutions
(`models.stacked`), each on its own images with its own random draws.

Each network's `Plan` is drawn from its own generator exactly as `fit` draws it, and each step
gathers, normalizes and augments every network's own batch, so a vectorized fit is a pure
re-arrangement of the K fits: the same batches, the same SGD arithmetic per weight (the
optimizer's update is elementwise), each network's own mean cross-entropy (the loss is their
sum, so each network gets its own gradient). Only the convolutions and the heads' products sum in
another order: weights agree with K separate fits to float tolerance, not bit for bit
(`tests/test_training_vectorized.py` measures it).

Why grouped convolutions rather than `torch.func.vmap` over stacked parameters: vmap's batching
rule for conv2d is itself a grouped convolution, BatchNorm's running statistics need batched
buffers under vmap, and vmap adds per-operator overhead; the grouped network is an ordinary
module that `Compute` (device, autocast, layout, compile) handles as it is. On CPU it runs in
channels-last layout, the layout oneDNN's grouped kernels are fast in: for the 8 convolutions of
the quickstart's narrow VGG11, 4 members, forward and backward, one thread, contiguous grouped
convolutions took 84 ms against 63 ms for 4 separate ones, channels-last grouped ones 30 ms
(a micro-benchmark on the loaded 2-core CI machine).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import torch
from torch import nn

from gtl_ray.compute import CPU, Compute
from gtl_ray.models.stacked import side_by_side, signature, stack, stackable, unstack
from gtl_ray.training import Plan, SGDSettings, fit, prepare_batch, train_steps


def fit_together(
    models: Sequence[nn.Module],
    data: Sequence[tuple[torch.Tensor, torch.Tensor]],
    settings: SGDSettings,
    generators: Sequence[torch.Generator],
    compute: Compute = CPU,
    after_steps: Sequence[Callable[[], None] | None] | None = None,
) -> list[int]:
    """`fit(models[i], *data[i], settings, generators[i], compute, after_step=after_steps[i])`
    for every i, trained together where they can be: networks of one `signature` that are
    `stackable` and need nothing after each step. The rest (and a group of one) train alone, as
    `fit` does. Returns each network's sample-gradients."""
    after_steps = list(after_steps) if after_steps is not None else [None] * len(models)
    spent = [0] * len(models)
    for group in _groups(models, after_steps):
        if len(group) == 1:
            i = group[0]
            spent[i] = fit(models[i], *data[i], settings, generators[i], compute, after_step=after_steps[i])
            continue
        sizes = _fit_stacked(
            [models[i] for i in group], [data[i] for i in group], settings, [generators[i] for i in group], compute
        )
        for i, size in zip(group, sizes):
            spent[i] = size
    return spent


def _groups(models: Sequence[nn.Module], after_steps: Sequence[Callable[[], None] | None]) -> list[list[int]]:
    """Indices of the networks trained together (in first-seen order); singletons train alone."""
    groups: dict[object, list[int]] = {}
    for i, (model, after) in enumerate(zip(models, after_steps)):
        key = signature(model) if after is None and stackable(model) else ("alone", i)
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def _fit_stacked(
    models: list[nn.Module],
    data: list[tuple[torch.Tensor, torch.Tensor]],
    settings: SGDSettings,
    generators: list[torch.Generator],
    compute: Compute,
) -> list[int]:
    images = torch.stack([x for x, _ in data])  # (K, n, C, S, S) where the images live
    labels = torch.stack([y for _, y in data])
    plans = [Plan.draw(x.shape[0], x.shape[-1], settings, g).to(images.device) for (x, _), g in zip(data, generators)]
    if len({tuple(p.sizes) for p in plans}) != 1:
        raise ValueError("networks fitted together need as many images each (their plans differ in steps)")
    layout = dataclasses.replace(compute, channels_last=compute.device_type == "cpu" or compute.channels_last)
    stacked = layout.place(stack(models))
    batches = (
        _side_by_side_batch(images, labels, steps, layout.memory_format) for steps in zip(*(p.steps() for p in plans))
    )
    train_steps(stacked, batches, len(plans[0].sizes), settings, layout, loss=member_losses)
    unstack(stacked, models)
    return [sum(p.sizes) for p in plans]


def _side_by_side_batch(
    images: torch.Tensor, labels: torch.Tensor, steps: tuple, memory_format: torch.memory_format
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every network's own batch of one step, gathered and augmented in one `prepare_batch` over
    the K networks' images (K, n, C, S, S), as the stacked network reads it: (B, K x C, S, S)
    images, (B, K) labels."""
    k, n = labels.shape
    index = torch.stack([i for i, _, _ in steps]) + n * torch.arange(k, device=labels.device)[:, None]
    augmented = steps[0][1] is not None
    flip = torch.cat([f for _, f, _ in steps]) if augmented else None
    offsets = torch.cat([o for _, _, o in steps], dim=1) if augmented else None
    x, y = prepare_batch(images.flatten(0, 1), labels.flatten(), (index.flatten(), flip, offsets), memory_format)
    return side_by_side(x.unflatten(0, (k, -1))), y.view(k, -1).T


def member_losses(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The sum over members of each member's mean cross-entropy: logits (B, K, classes), labels
    (B, K). Each member's gradient is that of its own loss."""
    batch, members, classes = logits.shape
    each = nn.functional.cross_entropy(logits.reshape(-1, classes), labels.reshape(-1), reduction="none")
    return each.view(batch, members).mean(0).sum()
