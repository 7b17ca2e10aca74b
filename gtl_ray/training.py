"""Plain SGD training and scoring on in-memory uint8 images, shared by lifetimes, pre-training,
descendant fine-tuning and evaluation, on the device and in the precision a `Compute` says.
Every random draw comes from the given torch.Generator (see `Plan`).

The loss is cross-entropy unless an `Objective` replaces it (feature distillation, a fine-tuning
regularizer): one training loop for all of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import torch
from torch import nn

from gtl_ray.compute import CPU, Compute
from gtl_ray.data.transforms import crop_flip, draw_augment, normalize


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

    def forward(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor
    ) -> torch.Tensor:  # pragma: no cover - abstract
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


@dataclass(frozen=True)
class Plan:
    """Every random draw of one `fit`: per step the images' indices and, when augmenting, the
    flips and crop offsets. Drawn up front on the host from the fit's generator, in the order
    the step-by-step loop draws them (batch orders first, then each step's augmentation), and
    moved to the images' device in one copy: the device gets no host work per step, and any
    device gives the same draws (CPU results are those of drawing step by step)."""

    sizes: list[int]  #: images per step
    index: torch.Tensor  #: (sum(sizes),) int64, the steps' indices concatenated
    flip: torch.Tensor | None  #: (sum(sizes),) bool, or None without augmentation
    offsets: torch.Tensor | None  #: (2, sum(sizes)) int64 crop offsets (rows, columns)

    @classmethod
    def draw(cls, n: int, size: int, settings: SGDSettings, generator: torch.Generator) -> "Plan":
        batches = list(_batches(n, settings, generator))
        sizes = [len(b) for b in batches]
        index = torch.cat(batches) if batches else torch.zeros(0, dtype=torch.int64)
        if not settings.augment or not batches:
            return cls(sizes, index, None, None)
        draws = [draw_augment(len(b), size, generator) for b in batches]
        return cls(sizes, index, torch.cat([f for f, _ in draws]), torch.cat([o for _, o in draws], dim=1))

    def to(self, device: torch.device | str) -> "Plan":
        move = lambda t: t if t is None else t.to(device, non_blocking=True)  # noqa: E731
        return Plan(self.sizes, move(self.index), move(self.flip), move(self.offsets))

    def steps(self) -> Iterator[tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]]:
        """(indices, flips, offsets) per step, as views of the plan's tensors."""
        index = self.index.split(self.sizes)
        if self.flip is None:
            yield from ((i, None, None) for i in index)
            return
        yield from zip(index, self.flip.split(self.sizes), self.offsets.split(self.sizes, dim=1))


def fit(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    settings: SGDSettings,
    generator: torch.Generator,
    compute: Compute = CPU,
    parameters: Iterable[nn.Parameter] | Iterable[dict[str, Any]] | None = None,
    after_step: Callable[[], None] | None = None,
    objective: Objective | None = None,
) -> int:
    """Train `model` (in place, already on `compute.device`) on uint8 `images` with SGD +
    momentum and cosine-decayed lr, on cross-entropy or on `objective`'s loss. `parameters`: what
    to train (default every trainable parameter), or optimizer parameter groups with an "lr" of
    their own (`gtl_ray.finetune`: per-stage rates). Batches are gathered, normalized and
    augmented where `images` live (host memory or the device), then moved to the device when they
    are not there. Returns the sample-gradients spent: images
    forwarded and back-propagated through `model`, summed (a frozen teacher's forward passes not
    counted)."""
    plan = Plan.draw(len(images), images.shape[-1], settings, generator).to(images.device)
    batches = (prepare_batch(images, labels, step, compute.memory_format) for step in plan.steps())
    train_steps(model, batches, len(plan.sizes), settings, compute, parameters, after_step, objective)
    return sum(plan.sizes)


def prepare_batch(
    images: torch.Tensor,
    labels: torch.Tensor,
    step: tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None],
    memory_format: torch.memory_format = torch.contiguous_format,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One step's (normalized, augmented images, labels) from a `Plan` step, where `images` live."""
    index, flip, offsets = step
    x = normalize(images[index])
    if flip is not None:
        x = crop_flip(x, flip, offsets, memory_format)
    return x, labels[index]


def train_steps(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    steps: int,
    settings: SGDSettings,
    compute: Compute = CPU,
    parameters: Iterable[nn.Parameter] | Iterable[dict[str, Any]] | None = None,
    after_step: Callable[[], None] | None = None,
    objective: Objective | None = None,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> None:
    """`fit`'s optimization loop over prepared (images, labels) `batches`, `steps` of them (the
    cosine schedule's length): SGD + momentum, the lr decayed per step, the loss `objective`'s,
    else `loss(logits, labels)` (cross-entropy by default)."""
    given = list(parameters) if parameters is not None else [p for p in model.parameters() if p.requires_grad]
    extra = [p for p in objective.parameters() if p.requires_grad] if objective is not None else []
    groups = (given if given and isinstance(given[0], dict) else [{"params": given}]) + (
        [{"params": extra, "lr": objective.lr or settings.lr, "weight_decay": 0.0}] if extra else []
    )
    optimizer = torch.optim.SGD(groups, lr=settings.lr, momentum=settings.momentum, weight_decay=settings.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, steps))
    loss_fn = loss or nn.CrossEntropyLoss()
    scaler, trainer = compute.scaler(), compute.trainer(model)
    model.train()
    for x, y in batches:
        x, y = compute.inputs(x), y.to(compute.device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        with compute.autocast():
            value = objective(model, x, y) if objective is not None else loss_fn(trainer(x), y)
        scaler.scale(value).backward()
        scaler.step(optimizer)
        scaler.update()
        schedule.step()
        if after_step is not None:
            after_step()


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, compute: Compute = CPU, batch_size: int = 256) -> torch.Tensor:
    """Predicted class of each uint8 image, in eval mode, on the device."""
    model.eval()
    with compute.autocast():
        return torch.cat(
            [
                model(compute.inputs(normalize(images[i : i + batch_size]))).argmax(1)
                for i in range(0, len(images), batch_size)
            ]
        )


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, compute: Compute = CPU) -> float:
    """Fraction (0..1) of `images` classified as `labels`."""
    predicted = predict(model, images, compute)
    return float((predicted == labels.to(predicted.device)).float().mean())


@torch.no_grad()
def embed(model: nn.Module, images: torch.Tensor, compute: Compute = CPU, batch_size: int = 256) -> torch.Tensor:
    """Pooled features (`model.embed`) of uint8 images, in eval mode, float32 on the device."""
    model.eval()
    with compute.autocast():
        return torch.cat(
            [
                model.embed(compute.inputs(normalize(images[i : i + batch_size]))).float()
                for i in range(0, len(images), batch_size)
            ]
        )
