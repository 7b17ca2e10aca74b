"""How a member is scored, by `evolution.fitness`:

- `lifetime`: query accuracy of the carrier on its own environment after its lifetime;
- `descendant`: its trained gene implanted into fresh networks (rest initialized as in
  evaluation), each fine-tuned with the evaluation protocol (and the member's recipe, under
  `evolution.recipe`) on one of `fitness_episodes` base-class episodes, scored on the query
  images — what descendants need, as in ECO;
- `instinct`: nearest-centroid accuracy of the gene in fresh networks on the same episodes.

The episodes, their descendants' shapes (one of `evolution.fitness_sizes` per episode) and the
fresh networks depend on (run seed, generation, episode) only: every member of a generation is
scored on the same tasks, sizes and starting weights (common random numbers), so fitness compares
genes, not luck. Fitness never sees val or novel classes.
"""

from __future__ import annotations

from dataclasses import dataclass

from gtl_ray.compute import CPU, Compute
from gtl_ray.config import DescendantShape, GTLConfig
from gtl_ray.data import ImageSet, Task, sample_task
from gtl_ray.fewshot import carry, finetune_accuracy, fresh_descendant, nearest_centroid_accuracy
from gtl_ray.learngene import Learngene
from gtl_ray.recipe import Recipe, config_recipe
from gtl_ray.seeding import numpy_rng
from gtl_ray.torch_streams import torch_generator


@dataclass(frozen=True)
class Score:
    value: float  #: mean accuracy (fraction 0..1)
    sample_grads: int  #: sample-gradients spent scoring


def fitness_tasks(config: GTLConfig, base: ImageSet, generation: int) -> list[Task]:
    """The generation's fitness episodes, drawn from the base classes (shared by all members)."""
    ev, evo = config.evaluation, config.evolution
    return [
        sample_task(
            base, ev.n_way, evo.fitness_shots, ev.query, numpy_rng(config.seed, "fitness-episode", generation, e)
        )
        for e in range(evo.fitness_episodes)
    ]


def fitness_shapes(config: GTLConfig, generation: int, episodes: int) -> list[DescendantShape]:
    """Each fitness episode's descendant shape: one of `config.fitness_shapes()`, drawn from
    numpy_rng(run seed, "fitness-size", generation, episode) when there are several."""
    shapes = config.fitness_shapes()
    if len(shapes) == 1:
        return shapes * episodes
    return [
        shapes[int(numpy_rng(config.seed, "fitness-size", generation, e).integers(len(shapes)))]
        for e in range(episodes)
    ]


def score_gene(
    config: GTLConfig,
    gene: Learngene,
    tasks: list[Task],
    key: str,
    instinct: bool = False,
    compute: Compute = CPU,
    recipe: Recipe | None = None,
    shapes: list[DescendantShape] | None = None,
) -> Score:
    """Mean query accuracy of descendants born with `gene` on `tasks`: fine-tuned with the
    evaluation protocol and `recipe` (None: the config's), or (instinct) nearest centroid before
    any training. `key` names the stream of fresh networks and fine-tuning draws (the same for
    every gene scored with it); `shapes` gives each task's descendant shape (default:
    evaluation.descendant's)."""
    recipe = recipe or config_recipe(config)
    total, spent = 0.0, 0
    for e, task in enumerate(tasks):
        shape = shapes[e] if shapes is not None else None
        model = compute.place(carry(fresh_descendant(config, key, e, shape=shape), gene, config.evaluation))
        if instinct:
            total += nearest_centroid_accuracy(model, task, compute)
            continue
        generator = torch_generator(config.seed, key, "finetune", e)
        acc, grads = finetune_accuracy(model, task, config.evaluation, generator, compute, recipe=recipe)
        total, spent = total + acc, spent + grads
    return Score(total / len(tasks), spent)


def member_fitness(
    config: GTLConfig,
    base: ImageSet,
    generation: int,
    gene: Learngene,
    lifetime_accuracy: float,
    compute: Compute = CPU,
    recipe: Recipe | None = None,
) -> Score:
    """The member's fitness per `evolution.fitness` (the carrier's lifetime accuracy is given);
    descendants fine-tune with the member's `recipe` (None: the config's)."""
    mode = config.evolution.fitness
    if mode == "lifetime":
        return Score(lifetime_accuracy, 0)
    tasks = fitness_tasks(config, base, generation)
    return score_gene(
        config,
        gene,
        tasks,
        f"fitness-{generation}",
        instinct=mode == "instinct",
        compute=compute,
        recipe=recipe,
        shapes=fitness_shapes(config, generation, len(tasks)),
    )
