"""Plain SGD training and scoring on in-memory uint8 images, shared by lifetimes, pre-training,
descendant fine-tuning and evaluation. Every random draw comes from the given torch.Generator.

The loss is cross-entropy unless an `Objective` replaces it (feature distillation, a fine-tuning
regularizer): one training loop for all of them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import torch
from torch import nn

from gtl_ray.data import augment as augment_batch
from gtl_ray.data import normalize


@dataclass(frozen=True)
class SGDSettings:
    """`steps` (if set) overrides `epochs`: that many minibatches drawn with replacement of order."""

    lr: float
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 64
    epochs: int = 1
    steps: int | None = None
    augment: bool = True


class Objective(nn.Module):
    """A training loss other than plain cross-entropy: `forward(model, x, y)` returns the loss of
    the normalized (augmented) batch `x` with labels `y`. Its own trainable parameters (a
    projector) are optimized beside the model's, at `lr` (None: the model's lr), without weight
    decay. A frozen network it compares with (a teacher) must not be a registered submodule:
    see `frozen_embed`."""

    lr: float | None = None

    def forward(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


@torch.no_grad()
def frozen_embed(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Pooled features (`model.embed`) of an already normalized batch, in eval mode, no gradient:
    how a frozen teacher sees the batch a student trains on."""
    model.eval()
    return model.embed(x)


def _batches(n: int, settings: SGDSettings, generator: torch.Generator) -> Iterable[torch.Tensor]:
    batch = min(settings.batch_size, n)
    if settings.steps is not None:
        for _ in range(settings.steps):
            yield torch.randperm(n, generator=generator)[:batch]
        return
    for _ in range(settings.epochs):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch):
            yield order[start : start + batch]


def fit(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    settings: SGDSettings,
    generator: torch.Generator,
    device: torch.device | str = "cpu",
    parameters: Iterable[nn.Parameter] | None = None,
    after_step: Callable[[], None] | None = None,
    objective: Objective | None = None,
) -> int:
    """Train `model` (in place) on uint8 `images` with SGD + momentum and cosine-decayed lr, on
    cross-entropy or on `objective`'s loss. Returns the sample-gradients spent: images forwarded
    and back-propagated through `model`, summed (a frozen teacher's forward passes not counted)."""
    params = list(parameters) if parameters is not None else [p for p in model.parameters() if p.requires_grad]
    extra = [p for p in objective.parameters() if p.requires_grad] if objective is not None else []
    groups = [{"params": params}] + ([{"params": extra, "lr": objective.lr or settings.lr, "weight_decay": 0.0}] if extra else [])
    optimizer = torch.optim.SGD(groups, lr=settings.lr, momentum=settings.momentum, weight_decay=settings.weight_decay)
    batches = list(_batches(len(images), settings, generator))
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, len(batches)))
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    spent = 0
    for index in batches:
        x = normalize(images[index])
        if settings.augment:
            x = augment_batch(x, generator)
        x, y = x.to(device, non_blocking=True), labels[index].to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        loss = objective(model, x, y) if objective is not None else loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        schedule.step()
        spent += len(index)
        if after_step is not None:
            after_step()
    return spent


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, device: torch.device | str = "cpu", batch_size: int = 256) -> torch.Tensor:
    model.eval()
    out = [model(normalize(images[i : i + batch_size]).to(device)).argmax(1).cpu() for i in range(0, len(images), batch_size)]
    return torch.cat(out)


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, device: torch.device | str = "cpu") -> float:
    """Fraction (0..1) of `images` classified as `labels`."""
    return float((predict(model, images, device) == labels).float().mean())


@torch.no_grad()
def embed(model: nn.Module, images: torch.Tensor, device: torch.device | str = "cpu", batch_size: int = 256) -> torch.Tensor:
    """Pooled features (`model.embed`) of uint8 images, in eval mode."""
    model.eval()
    return torch.cat([model.embed(normalize(images[i : i + batch_size]).to(device)).cpu() for i in range(0, len(images), batch_size)])
