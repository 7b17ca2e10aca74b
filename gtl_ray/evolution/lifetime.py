"""One member's life in one generation: be born carrying the inherited learngene, learn the
environment(s), be scored, pass the learngene on.

`live` is the single definition of a member's generation, used both by `evolve_local` and by the
Ray member actor, so the two give the same lineage for the same seed. What the member inherits
(and its mutation) is the strategy's business (`evolution.strategy`), not the member's.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch

from gtl_ray.compute import compute_for, to_host
from gtl_ray.config import GTLConfig
from gtl_ray.data import ImageSet, Task, sample_task
from gtl_ray.evolution.fitness import member_fitness
from gtl_ray.evolution.lineage import member_id
from gtl_ray.learngene import Learngene, extract_learngene, gene_info, implant
from gtl_ray.learngene.compact import compact, write_back
from gtl_ray.models import Network, create_model
from gtl_ray.recipe import Recipe
from gtl_ray.seeding import numpy_rng
from gtl_ray.torch_streams import torch_generator, torch_init_seed
from gtl_ray.training import SGDSettings, accuracy, fit


@dataclass
class MemberOutcome:
    gene: Learngene  #: the learngene passed on (trained if Lamarckian/Reptile, as inherited if Darwinian)
    fitness: float  #: the selection score (0..1), per evolution.fitness
    lifetime_accuracy: float  #: query accuracy (0..1) of the carrier after learning, mean over its environments
    environment: tuple[int, ...]  #: base-class ids of the environment(s), in the order learned
    lifetime_sample_grads: int  #: images forwarded and back-propagated in the lifetime
    fitness_sample_grads: int  #: the same, spent scoring the member (descendant fitness)
    seconds: float  #: wall time of the lifetime and scoring (birth to fitness)


def newborn(config: GTLConfig, generation: int, member: int, gene: Learngene | None = None) -> Network:
    """A freshly initialized ancestry network for this member and generation (seeded, on the
    CPU whatever the device), carrying `gene` with the rest of its weights initialized as
    descendants' are (evaluation.rest_init)."""
    with torch_init_seed(config.seed, "init", generation, member):
        model = create_model(
            config.model.arch, width=config.model.width, depth=config.model.depth, num_classes=config.lifetime.n_way
        )
    if gene is not None:
        implant(gene, model, rest_init=config.evaluation.rest_init, rest_scale=config.evaluation.rest_scale)
    return model


def environments(config: GTLConfig, base: ImageSet, generation: int, member: int) -> list[Task]:
    """The member's environment(s); with lifetime.shared_environment, those of the generation."""
    life = config.lifetime
    key = (generation,) if life.shared_environment else (generation, member)
    streams = [key] if life.environments == 1 else [key + (e,) for e in range(life.environments)]
    return [
        sample_task(base, life.n_way, life.train_per_class, life.query_per_class, numpy_rng(config.seed, "env", *k))
        for k in streams
    ]


def lifetime_settings(config: GTLConfig, recipe: Recipe | None = None) -> SGDSettings:
    """The lifetime's SGD: lifetime.*, with the member's recipe's lifetime_lr when it has one."""
    life = config.lifetime
    return SGDSettings(
        lr=life.lr if recipe is None else recipe.lifetime_lr,
        momentum=life.momentum,
        weight_decay=life.weight_decay,
        batch_size=life.batch_size,
        epochs=life.epochs,
        augment=life.augment,
    )


def live(
    config: GTLConfig,
    base: ImageSet,
    generation: int,
    member: int,
    gene: Learngene | None,
    device: torch.device | str = "cpu",
    recipe: Recipe | None = None,
) -> MemberOutcome:
    """Run one member's whole generation on `device` with the run's compute settings; `gene` is
    what it inherited (after mutation), None for a random gene (generation 0 of `evolution.init:
    random`); `recipe` its lifetime lr and descendant fine-tuning (None: the config's). Episodes
    are gathered where `base` lives (`ImageSet.to`: once per member)."""
    start = time.perf_counter()
    compute = compute_for(config, device)
    model = compute.place(newborn(config, generation, member, gene))
    frozen = gene if (gene is not None and config.evolution.inheritance == "darwinian") else None
    tasks = environments(config, base, generation, member)
    accuracies, spent = [], 0
    for e, task in enumerate(tasks):
        if e > 0:
            with torch_init_seed(config.seed, "head", generation, member, e):
                model.reset_head(config.lifetime.n_way)
        stream = ("lifetime", generation, member) + ((e,) if e else ())
        narrow = compact(model) if frozen is None else None  # a zero rest stays zero: learn as the narrow network
        learner = narrow or model
        spent += fit(
            learner,
            task.support_x,
            task.support_y,
            lifetime_settings(config, recipe),
            torch_generator(config.seed, *stream),
            compute,
            after_step=(lambda: implant(frozen, model)) if frozen is not None else None,
        )
        accuracies.append(accuracy(learner, task.query_x, task.query_y, compute))
        if narrow is not None:
            write_back(narrow, model)
    recipe_json = None if recipe is None else recipe.to_json()
    info = gene_info(config, member_id(generation, member), recipe_json, generation=generation, member=member)
    passed_on = extract_learngene(to_host(model), config.learngene.share, **info)
    lifetime_accuracy = statistics.fmean(accuracies)
    score = member_fitness(config, base, generation, passed_on, lifetime_accuracy, compute, recipe)
    classes = tuple(int(c) for task in tasks for c in task.classes)
    return MemberOutcome(
        passed_on, score.value, lifetime_accuracy, classes, spent, score.sample_grads, time.perf_counter() - start
    )
