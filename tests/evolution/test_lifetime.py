"""gtl_ray.evolution.lifetime: a member's environments, network and SGD, each seeded by (run seed,
generation, member) and nothing else."""

from __future__ import annotations

import torch

from gtl_ray.data import load_splits
from gtl_ray.evolution.lifetime import environments, lifetime_settings, newborn
from tests.conftest import tiny


def test_environments_per_member_or_shared_by_the_generation():
    config = tiny("lifetime.environments=2")
    base = load_splits(config.data).base
    first = environments(config, base, 1, 0)
    assert len(first) == 2 and first[0].classes != first[1].classes
    assert [t.classes for t in environments(config, base, 1, 0)] == [t.classes for t in first]
    assert [t.classes for t in environments(config, base, 1, 1)] != [t.classes for t in first]
    shared = tiny("lifetime.shared_environment=true")
    assert environments(shared, base, 1, 0)[0].classes == environments(shared, base, 1, 3)[0].classes


def test_a_newborn_is_seeded_by_generation_and_member():
    config = tiny()
    weights = [next(newborn(config, g, m).parameters()).detach() for g, m in ((0, 1), (0, 1), (0, 2))]
    assert torch.equal(weights[0], weights[1]) and not torch.equal(weights[0], weights[2])


def test_the_lifetime_sgd_is_the_configs():
    config = tiny("lifetime.lr=0.03", "lifetime.epochs=2")
    settings = lifetime_settings(config)
    assert (settings.lr, settings.epochs, settings.batch_size) == (0.03, 2, config.lifetime.batch_size)
