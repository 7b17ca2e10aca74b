"""The few-shot protocol: a descendant is born (fresh network, gene implanted with its rest
initialized per `evaluation.rest_init`), its instinct is scored (nearest centroid, no training),
it is fine-tuned on a task's support set and scored on the query set.

One definition, shared by evaluation episodes on novel classes, `descendant` / `instinct`
fitness on base classes, and the final selection on val classes, so that evolution optimizes
exactly what evaluation measures.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from gtl_ray.compute import CPU, Compute
from gtl_ray.config import DescendantShape, EvaluationConfig, GTLConfig
from gtl_ray.data import Task
from gtl_ray.finetune import HEAD, episode_batch, finetune_setup
from gtl_ray.learngene import Learngene, implant
from gtl_ray.learngene.compact import compact
from gtl_ray.learngene.narrow import narrow_network
from gtl_ray.models import Network, create_model
from gtl_ray.recipe import Recipe
from gtl_ray.torch_streams import torch_init_seed
from gtl_ray.training import Objective, accuracy, embed, fit


def fresh_descendant(
    config: GTLConfig, *keys: int | str, shape: DescendantShape | None = None, seed: int | None = None
) -> Network:
    """A randomly initialized descendant (`shape`, default evaluation.descendant's; n_way head),
    seeded by `seed` (default the run seed) and `keys` so that every method or member compared on
    a task gets the same. A shape with `rho` is the gene's own network (`learngene.narrow`)."""
    shape = shape or config.descendant_shape()
    with torch_init_seed(config.seed if seed is None else seed, "descendant", *keys):
        model = create_model(shape.arch, width=shape.width, depth=shape.depth, num_classes=config.evaluation.n_way)
        return model if shape.rho is None else narrow_network(model, shape.rho)


def carry(model: Network, gene: Learngene, ev: EvaluationConfig) -> Network:
    """Implant `gene` (placed by `evaluation.descendant.layer_map`, else inferred) with the rest
    of the network (and a deeper one's extra layers) initialized as the protocol says."""
    return implant(
        gene,
        model,
        ev.descendant.layer_map,
        rest_init=ev.rest_init,
        rest_scale=ev.rest_scale,
        extra_layers=ev.extra_layers,
    )


def nearest_centroid_accuracy(model: Network, task: Task, compute: Compute = CPU) -> float:
    """Instinct: classify query images by the closest class centroid of support features
    (cosine), with no training on the task at all. `model` is on `compute.device`."""
    support = nn.functional.normalize(embed(model, task.support_x, compute), dim=1)
    query = nn.functional.normalize(embed(model, task.query_x, compute), dim=1)
    support_y = task.support_y.to(support.device)
    centroids = torch.stack([support[support_y == c].mean(0) for c in range(task.n_way)])
    predicted = (query @ nn.functional.normalize(centroids, dim=1).T).argmax(1)
    return float((predicted == task.query_y.to(predicted.device)).float().mean())


def linear_probe_accuracy(
    model: Network, task: Task, steps: int, lr: float, compute: Compute = CPU
) -> tuple[float, int]:
    """Train only a linear head (fp32) on frozen (eval-mode) features of the support set;
    returns (query accuracy, sample-gradients)."""
    support, query = embed(model, task.support_x, compute), embed(model, task.query_x, compute)
    support_y, query_y = task.support_y.to(support.device), task.query_y.to(support.device)
    head = copy.deepcopy(model.head)
    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.cross_entropy(head(support), support_y).backward()
        optimizer.step()
    with torch.no_grad():
        return float((head(query).argmax(1) == query_y).float().mean()), steps * len(support)


def finetune_accuracy(
    model: Network,
    task: Task,
    ev: EvaluationConfig,
    generator: torch.Generator,
    compute: Compute = CPU,
    objective: Objective | None = None,
    *,
    recipe: Recipe,
) -> tuple[float, int]:
    """Fine-tune per `evaluation.finetune` with `recipe` (`finetune.finetune_setup`; a linear
    probe takes its steps and head lr) on the support set, score the query set; returns (query
    accuracy as a fraction, sample-gradients spent). `model` is on `compute.device`.
    `objective` replaces the cross-entropy of full fine-tuning (e.g. cross-entropy plus a feature
    regularizer). A descendant whose rest is zero is fine-tuned as its narrow network
    (`learngene.compact`): the same numbers at a fraction of the work (`model` itself
    may then stay untrained: use the returned figures)."""
    if ev.finetune == "linear" and objective is not None:
        raise ValueError("a fine-tuning objective needs evaluation.finetune=full: a linear probe trains only the head")
    if objective is None:  # an objective may read the wide features (AFT): it gets the wide network
        model = compact(model) or model  # a gene with a zero rest: its narrow network, same numbers
    if ev.finetune == "linear":
        return linear_probe_accuracy(model, task, recipe.steps, recipe.stage_lrs[HEAD], compute)
    settings, groups = finetune_setup(model, recipe, episode_batch(len(task.support_x)))
    spent = fit(model, task.support_x, task.support_y, settings, generator, compute, groups, objective=objective)
    return accuracy(model, task.query_x, task.query_y, compute), spent
