"""One few-shot episode for every compared method: the same fresh descendant (same seed), each
method's initialization, an instinct score before any training, then fine-tuning on the support
set and accuracy on the query set."""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from gtl_ray.config import GTLConfig
from gtl_ray.data import Task
from gtl_ray.evaluation.methods import Sources, initializer
from gtl_ray.models import Network, create_model
from gtl_ray.seeding import torch_generator, torch_init_seed
from gtl_ray.training import SGDSettings, accuracy, embed, fit


@dataclass(frozen=True)
class DescendantShape:
    arch: str
    width: float
    depth: int | None


def descendant_shape(config: GTLConfig) -> DescendantShape:
    d = config.evaluation.descendant
    return DescendantShape(d.arch or config.model.arch, d.width if d.width is not None else config.model.width, d.depth if d.depth is not None else (config.model.depth if d.arch in (None, config.model.arch) else None))


def nearest_centroid_accuracy(model: Network, task: Task, n_way: int) -> float:
    """Instinct: classify query images by the closest class centroid of support features
    (cosine), with no training on the task at all."""
    support = nn.functional.normalize(embed(model, task.support_x), dim=1)
    query = nn.functional.normalize(embed(model, task.query_x), dim=1)
    centroids = torch.stack([support[task.support_y == c].mean(0) for c in range(n_way)])
    predicted = (query @ nn.functional.normalize(centroids, dim=1).T).argmax(1)
    return float((predicted == task.query_y).float().mean())


def linear_probe_accuracy(model: Network, task: Task, n_way: int, steps: int, lr: float) -> float:
    """Train only a linear head on frozen (eval-mode) features of the support set."""
    support, query = embed(model, task.support_x), embed(model, task.query_x)
    head = copy.deepcopy(model.head)
    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.cross_entropy(head(support), task.support_y).backward()
        optimizer.step()
    with torch.no_grad():
        return float((head(query).argmax(1) == task.query_y).float().mean())


def run_episode(config: GTLConfig, task: Task, shots: int, index: int, methods: list[str], sources: Sources, shape: DescendantShape) -> dict[str, tuple[float, float]]:
    """{method: (accuracy after fine-tuning, instinct accuracy)} for one episode (fractions)."""
    ev = config.evaluation
    with torch_init_seed(config.seed, "descendant", shots, index):
        fresh = create_model(shape.arch, width=shape.width, depth=shape.depth, num_classes=ev.n_way)
    results: dict[str, tuple[float, float]] = {}
    for method in methods:
        model = copy.deepcopy(fresh)
        initializer(method)(model, sources)
        instinct = nearest_centroid_accuracy(model, task, ev.n_way)
        if ev.finetune == "linear":
            acc = linear_probe_accuracy(model, task, ev.n_way, ev.steps, ev.lr)
        else:
            settings = SGDSettings(lr=ev.lr, momentum=0.9, weight_decay=5e-4, batch_size=min(25, len(task.support_x)), steps=ev.steps, augment=True)
            fit(model, task.support_x, task.support_y, settings, torch_generator(config.seed, "finetune", shots, index))
            acc = accuracy(model, task.query_x, task.query_y)
        results[method] = (acc, instinct)
    return results
