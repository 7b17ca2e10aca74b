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
from typing import Callable, Sequence

import torch

from gtl_ray.compute import Compute, compute_for, to_host
from gtl_ray.config import GTLConfig
from gtl_ray.data import ImageSet, Task, sample_task
from gtl_ray.evolution.fitness import member_fitness
from gtl_ray.learngene import Learngene, extract_learngene, gene_info, implant
from gtl_ray.learngene.compact import compact, write_back
from gtl_ray.models import Network, create_model
from gtl_ray.evolution.lineage import member_id
from gtl_ray.recipe import Recipe
from gtl_ray.seeding import numpy_rng
from gtl_ray.torch_streams import torch_generator, torch_init_seed
from gtl_ray.training import SGDSettings, accuracy, fit
from gtl_ray.training_vectorized import fit_together


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
    return live_together(config, base, generation, [member], [gene], device, recipes=[recipe])[0]


def live_together(
    config: GTLConfig,
    base: ImageSet,
    generation: int,
    members: Sequence[int],
    genes: Sequence[Learngene | None],
    device: torch.device | str = "cpu",
    vectorized: bool = False,
    recipes: Sequence[Recipe | None] | None = None,
) -> list[MemberOutcome]:
    """`live` for several members of one generation; `vectorized`: their lifetimes as one
    batched computation (`training_vectorized.fit_together`: the networks actually trained, narrow
    ones included, stacked by shape), else one after another. Each member's `seconds` is its
    share of the whole (their sum is the wall time), as in a pack whose members live in turn.
    Members whose recipes give different lifetime settings are not stacked: they live in turn."""
    start = time.perf_counter()
    compute = compute_for(config, device)
    recipes = list(recipes) if recipes is not None else [None] * len(members)
    lives = [_Life(config, base, generation, m, gene, compute, r) for m, gene, r in zip(members, genes, recipes)]
    settings = lives[0].settings
    vectorized = vectorized and all(life.settings == settings for life in lives)
    for e in range(len(lives[0].tasks)):
        learners = [life.learner(e) for life in lives]
        if vectorized:
            spent = fit_together(
                learners,
                [(life.tasks[e].support_x, life.tasks[e].support_y) for life in lives],
                settings,
                [life.generator(e) for life in lives],
                compute,
                [life.after_step for life in lives],
            )
        else:
            spent = [life.fit(e, learner) for life, learner in zip(lives, learners)]
        for life, learner, grads in zip(lives, learners, spent):
            life.learned(e, learner, grads)
    outcomes = [life.outcome() for life in lives]
    share = (time.perf_counter() - start) / len(outcomes)
    for outcome in outcomes:
        outcome.seconds = share
    return outcomes


class _Life:
    """One member's generation in steps: born, then per environment a learner (the narrow
    network where the rest is zero), trained, scored and written home, then what it passes on."""

    def __init__(
        self,
        config: GTLConfig,
        base: ImageSet,
        generation: int,
        member: int,
        gene: Learngene | None,
        compute: Compute,
        recipe: Recipe | None = None,
    ):
        self.config, self.base, self.generation, self.member, self.compute = config, base, generation, member, compute
        self.recipe, self.settings = recipe, lifetime_settings(config, recipe)
        self.model = compute.place(newborn(config, generation, member, gene))
        self.frozen = gene if (gene is not None and config.evolution.inheritance == "darwinian") else None
        self.tasks = environments(config, base, generation, member)
        self.accuracies: list[float] = []
        self.spent = 0
        self.narrow: Network | None = None

    def learner(self, e: int) -> Network:
        if e > 0:
            with torch_init_seed(self.config.seed, "head", self.generation, self.member, e):
                self.model.reset_head(self.config.lifetime.n_way)
        # a zero rest stays zero: learn as the narrow network
        self.narrow = compact(self.model) if self.frozen is None else None
        return self.narrow or self.model

    def generator(self, e: int) -> torch.Generator:
        return torch_generator(self.config.seed, "lifetime", self.generation, self.member, *((e,) if e else ()))

    @property
    def after_step(self) -> Callable[[], None] | None:
        frozen = self.frozen
        return (lambda: implant(frozen, self.model)) if frozen is not None else None

    def fit(self, e: int, learner: Network) -> int:
        task = self.tasks[e]
        return fit(
            learner,
            task.support_x,
            task.support_y,
            self.settings,
            self.generator(e),
            self.compute,
            after_step=self.after_step,
        )

    def learned(self, e: int, learner: Network, spent: int) -> None:
        task = self.tasks[e]
        self.spent += spent
        self.accuracies.append(accuracy(learner, task.query_x, task.query_y, self.compute))
        if self.narrow is not None:
            write_back(self.narrow, self.model)

    def outcome(self) -> MemberOutcome:
        config, generation, member = self.config, self.generation, self.member
        recipe = None if self.recipe is None else self.recipe.to_json()
        info = gene_info(config, member_id(generation, member), recipe, generation=generation, member=member)
        passed_on = extract_learngene(to_host(self.model), config.learngene.share, **info)
        lifetime_accuracy = statistics.fmean(self.accuracies)
        score = member_fitness(config, self.base, generation, passed_on, lifetime_accuracy, self.compute, self.recipe)
        classes = tuple(int(c) for task in self.tasks for c in task.classes)
        return MemberOutcome(passed_on, score.value, lifetime_accuracy, classes, self.spent, score.sample_grads, 0.0)
