"""One member's life in one generation: inherit (mutate) a learngene, be born, learn an
environment, be scored, pass the trained learngene on.

`live` is the single definition of a member's generation, used both by `evolve_local` and by the
Ray member actor, so the two give the same lineage for the same seed.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from gtl_ray.config import GTLConfig
from gtl_ray.data import ImageSet, Task, sample_task
from gtl_ray.evolution.mutation import MutationRecord, mutate_tensors
from gtl_ray.learngene import Learngene, extract_learngene, gene_info, implant
from gtl_ray.models import Network, create_model
from gtl_ray.seeding import numpy_rng, torch_generator, torch_init_seed
from gtl_ray.training import SGDSettings, accuracy, fit

NO_MUTATION = "none"


@dataclass
class MemberOutcome:
    gene: Learngene  #: the learngene passed on (trained if Lamarckian, as inherited if Darwinian)
    fitness: float  #: query accuracy (0..1) on the member's environment after its lifetime
    mutation: MutationRecord
    inherited_checksum: str | None
    environment: tuple[int, ...]  #: base-class ids of the environment
    seconds: float  #: wall time of the lifetime (birth to extraction)


def inherit(config: GTLConfig, parent: Learngene, elite: bool, generation: int, member: int) -> tuple[Learngene, MutationRecord]:
    """The gene a member is born with: the parent's, mutated unless it is an elite."""
    evo = config.evolution
    if elite or evo.mutation_rate == 0:
        return parent, MutationRecord(NO_MUTATION, 0, 0)
    rng = numpy_rng(config.seed, "mutate", generation, member)
    tensors, record = mutate_tensors(parent.tensors, evo.mutation_operator, evo.mutation_rate, evo.mutation_sigma, rng)
    return parent.replace_tensors(tensors), record


def newborn(config: GTLConfig, generation: int, member: int, device: torch.device | str = "cpu") -> Network:
    """A freshly initialized ancestry network for this member and generation (seeded)."""
    with torch_init_seed(config.seed, "init", generation, member):
        model = create_model(config.model.arch, width=config.model.width, depth=config.model.depth, num_classes=config.lifetime.n_way)
    return model.to(device)


def environment(config: GTLConfig, base: ImageSet, generation: int, member: int) -> Task:
    life = config.lifetime
    return sample_task(base, life.n_way, life.train_per_class, life.query_per_class, numpy_rng(config.seed, "env", generation, member))


def lifetime_settings(config: GTLConfig) -> SGDSettings:
    life = config.lifetime
    return SGDSettings(lr=life.lr, momentum=life.momentum, weight_decay=life.weight_decay, batch_size=life.batch_size, epochs=life.epochs, augment=life.augment)


def live(config: GTLConfig, base: ImageSet, generation: int, member: int, parent: Learngene | None, elite: bool = False, device: torch.device | str = "cpu") -> MemberOutcome:
    """Run one member's whole generation; `parent` is None in generation 0 (a random gene)."""
    start = time.perf_counter()
    model = newborn(config, generation, member, device)
    if parent is None:
        gene, mutation, inherited = None, MutationRecord(NO_MUTATION, 0, 0), None
    else:
        gene, mutation = inherit(config, parent, elite, generation, member)
        implant(gene, model)
        inherited = gene.checksum
    task = environment(config, base, generation, member)
    frozen = gene if (gene is not None and config.evolution.inheritance == "darwinian") else None
    fit(
        model,
        task.support_x,
        task.support_y,
        lifetime_settings(config),
        torch_generator(config.seed, "lifetime", generation, member),
        device,
        after_step=(lambda: implant(frozen, model)) if frozen is not None else None,
    )
    fitness = accuracy(model, task.query_x, task.query_y, device)
    passed_on = extract_learngene(model.cpu(), config.learngene.share, **gene_info(config, generation, member))
    return MemberOutcome(passed_on, fitness, mutation, inherited, tuple(int(c) for c in task.classes), time.perf_counter() - start)
